/**
 * `samsa console-consumer`, as kafka-console-consumer.sh: prints records to standard output,
 * one per line, formatted like Kafka's DefaultMessageFormatter (`--property print.key=true`,
 * print.timestamp, print.offset, print.partition, print.headers, print.value, key.separator,
 * line.separator, headers.separator, null.literal).
 *
 * Reads by assigning partitions (every partition of the topic, or `--partition P`), not
 * through a consumer group: the client library has no group membership yet (the broker's group
 * coordinator is being built alongside). `--group G` is accepted with a one-line notice and
 * otherwise ignored (no offsets are committed); once groups exist the tool will join G — or a
 * generated console-consumer-NNNNN group — as Kafka's does.
 *
 * Stops after --max-messages, after --timeout-ms without a record, or on Ctrl-C, and always
 * ends with "Processed a total of N messages" on stderr.
 */
import type { Command } from 'commander'
import { Fetcher, type Assignment, type ConsumerRecord, type StartOffset } from '../../client/fetcher.ts'
import { ClientError, KafkaError } from '../../client/errors.ts'
import {
  UsageError, addConnectionOptions, collect, configureTool, createClient, intArg, keyValues, readPropertiesFile,
  runAction, type ConnectionFlags,
} from '../common.ts'

const TOOL = 'samsa console-consumer'

interface ConsumerFlags extends ConnectionFlags {
  topic?: string
  partition?: number
  offset: string
  fromBeginning: boolean
  maxMessages?: number
  timeoutMs?: number
  property: string[]
  consumerProperty: string[]
  consumerConfig?: string
  group?: string
  isolationLevel: string
  formatter?: string
  skipMessageOnError: boolean
}

export interface FormatterSettings {
  printTimestamp: boolean
  printKey: boolean
  printOffset: boolean
  printPartition: boolean
  printHeaders: boolean
  printValue: boolean
  keySeparator: string
  lineSeparator: string
  headersSeparator: string
  nullLiteral: string
}

const FORMATTER_KEYS = ['print.timestamp', 'print.key', 'print.offset', 'print.partition', 'print.headers', 'print.value',
  'key.separator', 'line.separator', 'headers.separator', 'null.literal', 'key.deserializer', 'value.deserializer', 'headers.deserializer']

export function formatterSettings(props: Map<string, string>): FormatterSettings {
  for (const k of props.keys()) {
    if (!FORMATTER_KEYS.includes(k)) throw new UsageError(`--property: unknown setting '${k}' (known: ${FORMATTER_KEYS.slice(0, 10).join(', ')})`)
  }
  const bool = (k: string, dflt: boolean): boolean => {
    const v = props.get(k)
    if (v === undefined) return dflt
    if (!/^(true|false)$/i.test(v.trim())) throw new UsageError(`--property ${k} expects true or false, got '${v}'`)
    return v.trim().toLowerCase() === 'true'
  }
  return {
    printTimestamp: bool('print.timestamp', false),
    printKey: bool('print.key', false),
    printOffset: bool('print.offset', false),
    printPartition: bool('print.partition', false),
    printHeaders: bool('print.headers', false),
    printValue: bool('print.value', true),
    keySeparator: props.get('key.separator') ?? '\t',
    lineSeparator: props.get('line.separator') ?? '\n',
    headersSeparator: props.get('headers.separator') ?? ',',
    nullLiteral: props.get('null.literal') ?? 'null',
  }
}

/** Kafka's DefaultMessageFormatter.writeTo, as a string. */
export function formatRecord(r: ConsumerRecord, s: FormatterSettings): string {
  let out = ''
  const sep = (more: boolean): void => {
    if (more) out += s.keySeparator
  }
  const text = (b: Buffer | null): string => (b === null ? s.nullLiteral : b.toString('utf8'))
  if (s.printTimestamp) {
    out += r.timestamp >= 0 ? `${r.timestampType}:${r.timestamp}` : 'NO_TIMESTAMP'
    sep(s.printPartition || s.printOffset || s.printHeaders || s.printKey || s.printValue)
  }
  if (s.printPartition) {
    out += `Partition:${r.partition}`
    sep(s.printOffset || s.printHeaders || s.printKey || s.printValue)
  }
  if (s.printOffset) {
    out += `Offset:${r.offset}`
    sep(s.printHeaders || s.printKey || s.printValue)
  }
  if (s.printHeaders) {
    out += r.headers.length === 0 ? 'NO_HEADERS' : r.headers.map((h) => `${h.key}:${text(h.value)}`).join(s.headersSeparator)
    sep(s.printKey || s.printValue)
  }
  if (s.printKey) {
    out += text(r.key)
    sep(s.printValue)
  }
  if (s.printValue) out += text(r.value)
  return out + s.lineSeparator
}

function parseOffset(value: string): StartOffset {
  const v = value.trim().toLowerCase()
  if (v === 'earliest' || v === 'latest') return v
  const n = Number(v)
  if (v === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--offset expects earliest, latest or a non-negative offset, got '${value}'`)
  return n
}

export function registerConsoleConsumer(program: Command): void {
  const cmd = program
    .command('console-consumer')
    .description('print records of a topic to standard output (as kafka-console-consumer.sh; reads by partition assignment, no consumer group yet)')
    .option('--topic <topic>', 'REQUIRED: the topic to consume')
    .option('--partition <n>', 'consume only this partition (default: all partitions)', intArg('a partition number', 0))
    .option('--offset <offset>', 'where to start: earliest, latest, or an offset (needs --partition)', 'latest')
    .option('--from-beginning', 'start from the earliest record rather than the latest', false)
    .option('--max-messages <n>', 'exit after this many records (default: run until Ctrl-C)', intArg('a number', 1))
    .option('--timeout-ms <ms>', 'exit when no record arrived for this long (default: wait forever)', intArg('a time in ms', 1))
    .option('--property <key=value>', 'formatter setting: print.key, print.timestamp, print.offset, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal (repeatable)', collect, [])
    .option('--consumer-property <key=value>', 'consumer setting: fetch.max.wait.ms, fetch.min.bytes, fetch.max.bytes, max.partition.fetch.bytes, isolation.level, auto.offset.reset (repeatable)', collect, [])
    .option('--consumer.config <file>', 'a properties file of consumer settings')
    .option('--group <group>', 'consumer group: not supported by this tool yet; accepted with a notice, records are read by partition assignment and no offsets are committed')
    .option('--isolation-level <level>', 'read_uncommitted or read_committed', 'read_uncommitted')
    .option('--formatter <class>', 'only the default formatter is available (kafka.tools.DefaultMessageFormatter)')
    .option('--skip-message-on-error', 'skip a record that cannot be decoded instead of stopping', false)
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: ConsumerFlags, command: Command) => {
    if (!flags.topic) throw new UsageError('--topic is required')
    const explicitOffset = command.getOptionValueSource('offset') !== 'default'
    if (explicitOffset && flags.partition === undefined) throw new UsageError('--offset needs --partition (the partition the offset belongs to)')
    if (explicitOffset && flags.fromBeginning) throw new UsageError('--offset and --from-beginning cannot be used together')
    if (flags.formatter && !/DefaultMessageFormatter$/.test(flags.formatter)) throw new UsageError(`--formatter: only kafka.tools.DefaultMessageFormatter is available, got '${flags.formatter}'`)
    if (!['read_uncommitted', 'read_committed'].includes(flags.isolationLevel)) throw new UsageError(`--isolation-level expects read_uncommitted or read_committed, got '${flags.isolationLevel}'`)
    const format = formatterSettings(keyValues(flags.property, '--property'))
    const props = flags.consumerConfig ? readPropertiesFile(flags.consumerConfig, '--consumer.config') : new Map<string, string>()
    for (const [k, v] of keyValues(flags.consumerProperty, '--consumer-property')) props.set(k, v)
    const num = (k: string, dflt: number): number => {
      const v = props.get(k)
      if (v === undefined) return dflt
      const n = Number(v)
      if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`consumer property ${k} expects a non-negative number, got '${v}'`)
      return n
    }
    const isolation = props.get('isolation.level') ?? flags.isolationLevel
    const reset = props.get('auto.offset.reset') ?? 'earliest'
    if (!['earliest', 'latest', 'none'].includes(reset)) throw new UsageError(`consumer property auto.offset.reset expects earliest, latest or none, got '${reset}'`)
    if (flags.group !== undefined) {
      process.stderr.write(`${TOOL}: note: samsa console-consumer does not join consumer groups yet; ignoring --group ${flags.group} and reading by partition assignment (no offsets are committed)\n`)
    }
    const start: StartOffset = flags.fromBeginning ? 'earliest' : explicitOffset ? parseOffset(flags.offset) : 'latest'
    const client = createClient(command, flags, TOOL, props.get('client.id') ?? 'console-consumer')
    const fetcher = new Fetcher(client, {
      maxWaitMs: num('fetch.max.wait.ms', 500), minBytes: num('fetch.min.bytes', 1),
      maxBytes: num('fetch.max.bytes', 50 * 1024 * 1024), partitionMaxBytes: num('max.partition.fetch.bytes', 1024 * 1024),
      isolationLevel: isolation === 'read_committed' ? 1 : 0, offsetReset: reset as 'earliest' | 'latest' | 'none',
    })
    let processed = 0
    let stopping = false
    const onSignal = (): void => {
      stopping = true
    }
    let started = false
    try {
      await client.connect()
      const topic = flags.topic
      let info
      try {
        info = await client.topic(topic, { retryMs: 2000 })
      } catch (err) {
        if (err instanceof KafkaError && err.code === 3) {
          throw new ClientError(`topic '${topic}' does not exist (create it with: samsa topics --create --topic ${topic} --bootstrap-server ${client.options.bootstrap})`)
        }
        throw err
      }
      const partitions = flags.partition === undefined ? info.partitions.map((p) => p.partition) : [flags.partition]
      if (flags.partition !== undefined && !info.partitions.some((p) => p.partition === flags.partition)) {
        throw new UsageError(`--partition ${flags.partition}: topic '${topic}' has partitions 0..${info.partitions.length - 1}`)
      }
      fetcher.assign(partitions.map((partition): Assignment => ({ topic, partition, offset: start })))
      started = true
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      let lastRecordAt = Date.now()
      const out = process.stdout
      while (!stopping) {
        if (flags.timeoutMs !== undefined && Date.now() - lastRecordAt >= flags.timeoutMs) break
        let records: ConsumerRecord[]
        try {
          records = await fetcher.poll()
        } catch (err) {
          if (stopping) break
          if (flags.skipMessageOnError && err instanceof Error && !(err instanceof KafkaError) && err.name === 'ClientError') {
            process.stderr.write(`${TOOL}: skipping undecodable records: ${err.message}\n`)
            continue
          }
          throw err
        }
        if (records.length > 0) lastRecordAt = Date.now()
        // Interleave partitions by timestamp, roughly as a Kafka consumer returns them.
        if (partitions.length > 1) records.sort((a, b) => a.timestamp - b.timestamp)
        let chunk = ''
        for (const r of records) {
          if (flags.maxMessages !== undefined && processed >= flags.maxMessages) break
          chunk += formatRecord(r, format)
          processed++
        }
        if (chunk && !out.write(chunk)) await new Promise((r) => out.once('drain', r))
        if (flags.maxMessages !== undefined && processed >= flags.maxMessages) break
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      fetcher.close()
      client.close()
      if (started) process.stderr.write(`Processed a total of ${processed} messages\n`)
    }
  }))
}
