/**
 * `samsa console-consumer`, as kafka-console-consumer.sh: prints records to standard output,
 * one per line, formatted like Kafka's DefaultMessageFormatter (`--property print.key=true`,
 * print.timestamp, print.offset, print.partition, print.headers, print.value, key.separator,
 * line.separator, headers.separator, null.literal).
 *
 * As Kafka's tool it reads through a consumer group: `--group G` (or `group.id` in the consumer
 * properties) joins G, resumes from G's committed offsets (`--from-beginning` only decides where
 * to start partitions G has no offset for) and commits what it printed (auto-commit, and on
 * exit); without a group it joins a generated `console-consumer-NNNNN` group and commits
 * nothing. `--partition P` reads that partition by assignment instead, without a group (Kafka
 * refuses `--group` with `--partition` too).
 *
 * Stops after --max-messages, after --timeout-ms without a record, or on Ctrl-C (leaving the
 * group so the others take over at once), and always ends with "Processed a total of N
 * messages" on stderr.
 */
import type { Command } from 'commander'
import { Fetcher, type ConsumerRecord } from '../../client/fetcher.ts'
import { GroupConsumer } from '../../client/consumer.ts'
import type { KafkaClient, TopicInfo } from '../../client/client.ts'
import { ClientError, ConnectionError, KafkaError } from '../../client/errors.ts'
import { UsageError, addConnectionOptions, collect, configureTool, createClient, intArg, keyValues, runAction } from '../common.ts'
import { CONSUMER_PROPERTIES, consumerSettings, type ConsumerFlags, type ConsumerSettings } from './console-consumer-settings.ts'

const TOOL = 'samsa console-consumer'

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

/** What the print loop reads from: a group consumer, or partitions assigned by hand (--partition). */
interface RecordSource {
  poll(maxRecords: number): Promise<ConsumerRecord[]>
  /** Interrupts a poll that waits (for a rebalance, or for partitions). */
  wakeup(): void
  /** Commits and leaves the group, when there is one (not when `graceful` is false: the broker is gone). */
  close(options?: { graceful?: boolean }): Promise<void>
}

function openSource(client: KafkaClient, s: ConsumerSettings, info: TopicInfo): RecordSource {
  const fetchOptions = { ...s.fetch, offsetReset: s.offsetReset }
  if (s.group) {
    const g = s.group
    return new GroupConsumer(client, {
      ...fetchOptions, groupId: g.groupId, topics: [s.topic], sessionTimeoutMs: g.sessionTimeoutMs, rebalanceTimeoutMs: g.rebalanceTimeoutMs,
      heartbeatIntervalMs: g.heartbeatIntervalMs, groupInstanceId: g.groupInstanceId, assignors: g.assignors,
      autoCommit: g.autoCommit, autoCommitIntervalMs: g.autoCommitIntervalMs,
    })
  }
  if (!info.partitions.some((p) => p.partition === s.partition)) {
    throw new UsageError(`--partition ${s.partition}: topic '${s.topic}' has partitions 0..${info.partitions.length - 1}`)
  }
  const fetcher = new Fetcher(client, fetchOptions)
  fetcher.assign([{ topic: s.topic, partition: s.partition!, offset: s.start }])
  return { poll: () => fetcher.poll(), wakeup: () => {}, close: async () => fetcher.close() }
}

async function topicInfo(client: KafkaClient, topic: string): Promise<TopicInfo> {
  try {
    return await client.topic(topic, { retryMs: 2000 })
  } catch (err) {
    if (err instanceof KafkaError && err.code === 3) {
      throw new ClientError(`topic '${topic}' does not exist (create it with: samsa topics --create --topic ${topic} --bootstrap-server ${client.options.bootstrap})`)
    }
    throw err
  }
}

interface LoopOptions {
  maxMessages?: number
  timeoutMs?: number
  skipMessageOnError: boolean
  format: FormatterSettings
  stopping: () => boolean
}

/** Prints records until max-messages, the idle timeout, or a stop; counts into `count.n`. */
async function printLoop(source: RecordSource, o: LoopOptions, count: { n: number }): Promise<void> {
  // The idle clock starts once the first poll returned (joining the group is not idleness).
  let lastRecordAt: number | null = null
  const out = process.stdout
  while (!o.stopping()) {
    if (o.timeoutMs !== undefined && lastRecordAt !== null && Date.now() - lastRecordAt >= o.timeoutMs) break
    let records: ConsumerRecord[]
    try {
      records = await source.poll(o.maxMessages === undefined ? Number.POSITIVE_INFINITY : o.maxMessages - count.n)
    } catch (err) {
      if (o.stopping()) break
      if (o.skipMessageOnError && err instanceof Error && !(err instanceof KafkaError) && err.name === 'ClientError') {
        process.stderr.write(`${TOOL}: skipping undecodable records: ${err.message}\n`)
        continue
      }
      throw err
    }
    if (records.length > 0 || lastRecordAt === null) lastRecordAt = Date.now()
    // Interleave partitions by timestamp, roughly as a Kafka consumer returns them.
    records.sort((a, b) => a.timestamp - b.timestamp)
    let chunk = ''
    for (const r of records) {
      if (o.maxMessages !== undefined && count.n >= o.maxMessages) break
      chunk += formatRecord(r, o.format)
      count.n++
    }
    if (chunk && !out.write(chunk)) await new Promise((r) => out.once('drain', r))
    if (o.maxMessages !== undefined && count.n >= o.maxMessages) break
  }
}

export function registerConsoleConsumer(program: Command): void {
  const cmd = program
    .command('console-consumer')
    .description('print records of a topic to standard output (as kafka-console-consumer.sh), as a member of a consumer group')
    .option('--topic <topic>', 'REQUIRED: the topic to consume')
    .option('--group <group>', 'the consumer group to join: resumes from its committed offsets and commits what is printed (default: a generated console-consumer-NNNNN group that commits nothing)')
    .option('--partition <n>', 'read only this partition, by assignment and without a group (default: all partitions, through the group)', intArg('a partition number', 0))
    .option('--offset <offset>', 'where to start: earliest, latest, or an offset (needs --partition)', 'latest')
    .option('--from-beginning', 'where the group has no committed offset: start from the earliest record rather than the latest', false)
    .option('--max-messages <n>', 'exit after this many records (default: run until Ctrl-C)', intArg('a number', 1))
    .option('--timeout-ms <ms>', 'exit when no record arrived for this long (default: wait forever)', intArg('a time in ms', 1))
    .option('--property <key=value>', 'formatter setting: print.key, print.timestamp, print.offset, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal (repeatable)', collect, [])
    .option('--consumer-property <key=value>', `consumer setting: ${CONSUMER_PROPERTIES.join(', ')} (repeatable)`, collect, [])
    .option('--consumer.config <file>', 'a properties file of consumer settings')
    .option('--isolation-level <level>', 'read_uncommitted or read_committed', 'read_uncommitted')
    .option('--formatter <class>', 'only the default formatter is available (kafka.tools.DefaultMessageFormatter)')
    .option('--skip-message-on-error', 'skip a record that cannot be decoded instead of stopping', false)
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: ConsumerFlags, command: Command) => {
    const settings = consumerSettings(flags, command)
    if (flags.formatter && !/DefaultMessageFormatter$/.test(flags.formatter)) throw new UsageError(`--formatter: only kafka.tools.DefaultMessageFormatter is available, got '${flags.formatter}'`)
    const format = formatterSettings(keyValues(flags.property, '--property'))
    const client = createClient(command, flags, TOOL, settings.clientId)
    const count = { n: 0 }
    let source: RecordSource | null = null
    let stopping = false
    let closing = false
    const summary = (): void => {
      if (source) process.stderr.write(`Processed a total of ${count.n} messages\n`)
    }
    const onSignal = (): void => {
      if (closing) {
        // Ctrl-C again while committing/leaving (e.g. the broker is gone): give up on it, still with the summary.
        summary()
        process.exit(process.exitCode ?? 0)
      }
      stopping = true
      source?.wakeup()
    }
    let brokerGone = false
    try {
      await client.connect()
      source = openSource(client, settings, await topicInfo(client, settings.topic))
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      await printLoop(source, { ...flags, format, stopping: () => stopping }, count)
    } catch (err) {
      // Once consuming started, the error comes before the summary line (as in Kafka's tool).
      if (!(err instanceof ClientError) || source === null) throw err
      process.stderr.write(`${TOOL}: ${err.message}\n`)
      process.exitCode = 1
      brokerGone = err instanceof ConnectionError
    } finally {
      closing = true
      try {
        // With the broker gone, committing and leaving would only wait for it in vain.
        await source?.close({ graceful: !brokerGone })
      } catch (err) {
        // One line, before the summary; a failure of the loop was already reported.
        if (!(err instanceof ClientError)) throw err
        if (process.exitCode !== 1) process.stderr.write(`${TOOL}: closing: ${err.message}\n`)
        process.exitCode = 1
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        client.close()
        summary()
      }
    }
  }))
}
