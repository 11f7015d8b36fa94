/**
 * `samsa console-producer`, as kafka-console-producer.sh: one record per line of standard input.
 *
 * `--property` settings are those of Kafka's LineMessageReader (parse.key, key.separator,
 * parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker,
 * ignore.error); `--producer-property` takes Kafka producer settings (acks, compression.type,
 * linger.ms, batch.size, retries, request.timeout.ms, client.id). As in Kafka, an explicit
 * option (--request-required-acks, --compression-codec, --timeout, --batch-size) wins over the
 * same setting in --producer-property or --producer.config, which win over the option defaults.
 */
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { Producer } from '../../client/producer.ts'
import { parseCodec, type CompressionType } from '../../client/compression.ts'
import { ClientError } from '../../client/errors.ts'
import {
  UsageError, addConnectionOptions, collect, configureTool, createClient, intArg, isExplicit, keyValues, parseAcks,
  readPropertiesFile, runAction, type ConnectionFlags,
} from '../common.ts'

const TOOL = 'samsa console-producer'

interface ProducerFlags extends ConnectionFlags {
  topic?: string
  sync: boolean
  compressionCodec: string
  batchSize: number
  timeout: number
  requestRequiredAcks: string
  requestTimeoutMs: number
  messageSendMaxRetries: number
  property: string[]
  producerProperty: string[]
  /** Commander keeps the dot of `--producer.config` in the key (it camel-cases dashes only). */
  'producer.config'?: string
}

export interface LineReaderSettings {
  parseKey: boolean
  keySeparator: string
  parseHeaders: boolean
  headersDelimiter: string
  headersSeparator: string
  headersKeySeparator: string
  nullMarker: string | null
  ignoreError: boolean
}

const READER_KEYS = ['parse.key', 'key.separator', 'parse.headers', 'headers.delimiter', 'headers.separator', 'headers.key.separator', 'null.marker', 'ignore.error']

export function lineReaderSettings(props: Map<string, string>): LineReaderSettings {
  for (const k of props.keys()) {
    if (!READER_KEYS.includes(k)) throw new UsageError(`--property: unknown setting '${k}' (known: ${READER_KEYS.join(', ')})`)
  }
  const bool = (k: string): boolean => {
    const v = props.get(k)
    if (v === undefined) return false
    if (!/^(true|false)$/i.test(v.trim())) throw new UsageError(`--property ${k} expects true or false, got '${v}'`)
    return v.trim().toLowerCase() === 'true'
  }
  const settings: LineReaderSettings = {
    parseKey: bool('parse.key'),
    keySeparator: props.get('key.separator') ?? '\t',
    parseHeaders: bool('parse.headers'),
    headersDelimiter: props.get('headers.delimiter') ?? '\t',
    headersSeparator: props.get('headers.separator') ?? ',',
    headersKeySeparator: props.get('headers.key.separator') ?? ':',
    nullMarker: props.get('null.marker') ?? null,
    ignoreError: bool('ignore.error'),
  }
  if (settings.keySeparator === '') throw new UsageError('--property key.separator must not be empty')
  return settings
}

export interface ParsedLine {
  key: string | null
  value: string | null
  headers: { key: string; value: string | null }[]
}

/** One line → key, value, headers (Kafka's LineMessageReader); throws ClientError on a malformed line. */
export function parseLine(line: string, lineNumber: number, s: LineReaderSettings): ParsedLine {
  let rest = line
  const headers: ParsedLine['headers'] = []
  const nullable = (v: string): string | null => (s.nullMarker !== null && v === s.nullMarker ? null : v)
  if (s.parseHeaders) {
    const at = rest.indexOf(s.headersDelimiter)
    if (at < 0) {
      if (!s.ignoreError) throw new ClientError(`no headers delimiter found on line ${lineNumber}: '${line}'`)
    } else {
      const text = rest.slice(0, at)
      rest = rest.slice(at + s.headersDelimiter.length)
      if (text !== '' && text !== s.nullMarker) {
        for (const h of text.split(s.headersSeparator)) {
          const k = h.indexOf(s.headersKeySeparator)
          if (k < 0) headers.push({ key: h, value: null })
          else headers.push({ key: h.slice(0, k), value: nullable(h.slice(k + s.headersKeySeparator.length)) })
        }
      }
    }
  }
  if (s.parseKey) {
    const at = rest.indexOf(s.keySeparator)
    if (at < 0) {
      if (!s.ignoreError) throw new ClientError(`no key separator '${s.keySeparator}' found on line ${lineNumber}: '${line}'`)
      return { key: null, value: nullable(rest), headers }
    }
    return { key: nullable(rest.slice(0, at)), value: nullable(rest.slice(at + s.keySeparator.length)), headers }
  }
  return { key: null, value: nullable(rest), headers }
}

const SUPPORTED_PRODUCER_PROPS = new Set(['acks', 'compression.type', 'linger.ms', 'batch.size', 'retries', 'request.timeout.ms', 'client.id', 'bootstrap.servers'])
const IGNORED_QUIETLY = new Set(['enable.idempotence', 'key.serializer', 'value.serializer', 'max.in.flight.requests.per.connection', 'buffer.memory', 'max.block.ms', 'delivery.timeout.ms', 'retry.backoff.ms'])

export function registerConsoleProducer(program: Command): void {
  const cmd = program
    .command('console-producer')
    .description('read lines from standard input and send each as a record (as kafka-console-producer.sh)')
    .option('--topic <topic>', 'REQUIRED: the topic to produce to')
    .option('--sync', 'send each record synchronously, waiting for its acknowledgement', false)
    .option('--compression-codec [codec]', 'none, gzip, snappy, lz4 or zstd; given without a value: gzip', 'none')
    .option('--batch-size <bytes>', 'largest batch sent at once (Kafka\'s batch.size)', intArg('a size in bytes', 1), 16384)
    .option('--timeout <ms>', 'how long a batch waits for more records before it is sent (Kafka\'s linger.ms)', intArg('a time in ms', 0), 1000)
    .option('--request-required-acks <acks>', 'acknowledgements required: 0, 1, or -1/all', '-1')
    .option('--request-timeout-ms <ms>', 'how long the broker may take to acknowledge', intArg('a time in ms', 1), 1500)
    .option('--message-send-max-retries <n>', 'retries of a batch after a retriable error', intArg('a number', 0), 3)
    .option('--property <key=value>', 'line reader setting: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error (repeatable)', collect, [])
    .option('--producer-property <key=value>', 'producer setting, e.g. acks=all, compression.type=zstd, linger.ms=5 (repeatable)', collect, [])
    .option('--producer.config <file>', 'a properties file of producer settings')
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: ProducerFlags, command: Command) => {
    if (!flags.topic) throw new UsageError('--topic is required')
    const reader = lineReaderSettings(keyValues(flags.property, '--property'))
    const props = flags['producer.config'] !== undefined ? readPropertiesFile(flags['producer.config'], '--producer.config') : new Map<string, string>()
    for (const [k, v] of keyValues(flags.producerProperty, '--producer-property')) props.set(k, v)
    for (const k of props.keys()) {
      if (!SUPPORTED_PRODUCER_PROPS.has(k) && !IGNORED_QUIETLY.has(k)) process.stderr.write(`${TOOL}: note: producer property '${k}' is not supported and is ignored\n`)
    }
    const pick = <T>(option: string, prop: string, parse: (v: string) => T, fallback: T): T => {
      if (isExplicit(command, option)) return fallback
      const v = props.get(prop)
      if (v === undefined) return fallback
      try {
        return parse(v)
      } catch (err) {
        throw new UsageError(`producer property ${prop}: ${(err as Error).message}`)
      }
    }
    const codecName = flags.compressionCodec === (true as unknown as string) ? 'gzip' : flags.compressionCodec
    let compression: CompressionType
    try {
      compression = pick('compressionCodec', 'compression.type', parseCodec, parseCodec(codecName))
    } catch (err) {
      if (err instanceof ClientError) throw new UsageError(`--compression-codec: ${err.message}`)
      throw err
    }
    let acksFlag: number
    try {
      acksFlag = parseAcks(flags.requestRequiredAcks)
    } catch (err) {
      throw new UsageError(`--request-required-acks: ${(err as Error).message}`)
    }
    const acks = pick('requestRequiredAcks', 'acks', parseAcks, acksFlag)
    const lingerMs = pick('timeout', 'linger.ms', intArg('a time in ms', 0), flags.timeout)
    const batchBytes = pick('batchSize', 'batch.size', intArg('a size in bytes', 1), flags.batchSize)
    const retries = pick('messageSendMaxRetries', 'retries', intArg('a number', 0), flags.messageSendMaxRetries)
    const timeoutMs = pick('requestTimeoutMs', 'request.timeout.ms', intArg('a time in ms', 1), flags.requestTimeoutMs)
    const bootstrapFlags = props.has('bootstrap.servers') && !isExplicit(command, 'bootstrapServer')
      ? { ...flags, bootstrapServer: props.get('bootstrap.servers')! } : flags
    const client = createClient(command, bootstrapFlags, TOOL, props.get('client.id') ?? 'console-producer')
    try {
      await client.connect()
      const producer = new Producer(client, { acks, compression, lingerMs, batchBytes, retries, timeoutMs })
      await producer.topicInfo(flags.topic) // fail early (unknown topic with auto-creation off)
      const failures = await pump(producer, flags.topic, reader, flags.sync)
      await producer.close()
      if (failures > 0) {
        process.stderr.write(`${TOOL}: ${failures} line${failures === 1 ? '' : 's'} not sent\n`)
        process.exitCode = 1
      }
    } finally {
      client.close()
    }
  }))
}

/** Reads stdin to its end (or its first unparseable line), sending each line; returns the number of lines that failed. */
async function pump(producer: Producer, topic: string, reader: LineReaderSettings, sync: boolean): Promise<number> {
  const interactive = process.stdin.isTTY === true
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
  const prompt = (): void => {
    if (interactive) process.stderr.write('>')
  }
  let failures = 0
  let lineNumber = 0
  const outstanding = new Set<Promise<unknown>>()
  const report = (err: unknown, value: string | null): void => {
    failures++
    const msg = err instanceof Error ? err.message : String(err)
    process.stderr.write(`${TOOL}: error sending to ${topic}${value === null ? '' : ` (value of ${Buffer.byteLength(value)} bytes)`}: ${msg}\n`)
  }
  let stop = false
  process.once('SIGINT', () => {
    stop = true
    rl.close()
  })
  prompt()
  for await (const line of rl) {
    if (stop) break
    lineNumber++
    let parsed: ParsedLine
    try {
      parsed = parseLine(line, lineNumber, reader)
    } catch (err) {
      // As Kafka's console producer: a line the reader cannot parse ends the input (what came
      // before it is still sent); ignore.error=true sends such lines whole instead.
      failures++
      process.stderr.write(`${TOOL}: ${(err as Error).message}; stopped reading (lines before it are sent; --property ignore.error=true sends such lines whole)\n`)
      rl.close()
      break
    }
    const p = producer.send({ topic, key: parsed.key, value: parsed.value, headers: parsed.headers })
    if (sync) {
      await p.catch((err: unknown) => report(err, parsed.value))
    } else {
      const tracked: Promise<unknown> = p.catch((err: unknown) => report(err, parsed.value)).finally(() => outstanding.delete(tracked))
      outstanding.add(tracked)
      if (outstanding.size >= 10_000) await Promise.race(outstanding)
    }
    prompt()
  }
  await Promise.all(outstanding)
  return failures
}
