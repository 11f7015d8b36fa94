/**
 * `samsa perf produce|consume|e2e`: load tests in the spirit of kafka-producer-perf-test.sh,
 * kafka-consumer-perf-test.sh and kafka-e2e-latency.sh (engines in src/client/perf.ts).
 *
 * While running: a live progress bar (records, rate, MB/s, elapsed, ETA) on a terminal, or a
 * Kafka-style line every --reporting-interval ms otherwise, both on stderr. At the end: one
 * summary line on stdout (records/s, MB/s, latency avg, p50, p95, p99, p99.9, max from an HDR
 * histogram), or with --json one JSON object. Ctrl-C stops early and still prints the summary.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import cliProgress from 'cli-progress'
import { ConsumePerf, EndToEndPerf, ProducePerf } from '../../client/perf.ts'
import type { PerfResult, PerfStats } from '../../client/perf-stats.ts'
import { parseCodec, type CompressionType } from '../../client/compression.ts'
import { ClientError } from '../../client/errors.ts'
import {
  UsageError, addConnectionOptions, configureTool, createClient, intArg, isExplicit, keyValues, parseAcks, readPropertiesFile,
  runAction, type ConnectionFlags,
} from '../common.ts'

interface CommonPerfFlags extends ConnectionFlags {
  topic?: string
  json: boolean
  reportingInterval: number
}

interface ProduceFlags extends CommonPerfFlags {
  numRecords?: number
  recordSize?: number
  throughput: number
  acks: string
  producerProps: string[]
  /** Commander keeps the dot of `--producer.config` in the key (it camel-cases dashes only). */
  'producer.config'?: string
  batchSize: number
  maxInFlight: number
  connections: number
  compressionCodec: string
  payloadFile?: string
  payloadDelimiter: string
}

interface ConsumeFlags extends CommonPerfFlags {
  messages?: number
  fromLatest: boolean
  fetchSize: number
  timeout: number
  group?: string
}

interface E2eFlags extends CommonPerfFlags {
  numRecords: number
  recordSize: number
  acks: string
  partition: number
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits)

function addCommon(cmd: Command): Command {
  cmd
    .option('--topic <topic>', 'REQUIRED: the topic to use')
    .option('--json', 'print the summary as one JSON object', false)
    .option('--reporting-interval <ms>', 'without a terminal: print a progress line this often', intArg('a time in ms', 100), 5000)
  return addConnectionOptions(cmd)
}

/**
 * Shows progress while `run` works: a bar on a terminal, interval lines otherwise.
 * `verb` is what the records are ("sent", "received").
 */
async function withProgress(stats: PerfStats, flags: CommonPerfFlags, verb: string, latencyLabel: string, run: () => Promise<PerfResult>): Promise<PerfResult> {
  const tty = process.stderr.isTTY === true
  let bar: cliProgress.SingleBar | null = null
  let timer: NodeJS.Timeout | null = null
  const payload = (): { rate: string; mbps: string; elapsed: string } => {
    const secs = Math.max(stats.elapsedMs(), 1) / 1000
    return { rate: Math.round(stats.records / secs).toLocaleString('en-US'), mbps: fmt(stats.bytes / 1048576 / secs), elapsed: `${fmt(secs, 1)}s` }
  }
  if (tty) {
    bar = new cliProgress.SingleBar({
      format: ` {bar} {percentage}% | {value}/{total} records ${verb} | {rate} rec/s | {mbps} MB/s | {elapsed} elapsed | ETA {eta_formatted}`,
      stream: process.stderr, hideCursor: true, etaBuffer: 20, fps: 5, clearOnComplete: true,
    }, cliProgress.Presets.shades_classic)
    bar.start(stats.total, 0, payload())
    timer = setInterval(() => bar!.update(stats.records, payload()), 200)
  } else {
    timer = setInterval(() => {
      const w = stats.takeWindow()
      const secs = Math.max(w.ms, 1) / 1000
      process.stderr.write(`${w.records} records${verb ? ` ${verb}` : ''}, ${fmt(w.records / secs, 1)} records/sec (${fmt(w.bytes / 1048576 / secs)} MB/sec), ` +
        `${fmt(w.avgLatencyMs, 1)} ms avg ${latencyLabel}, ${fmt(w.maxLatencyMs, 1)} ms max ${latencyLabel}.\n`)
    }, flags.reportingInterval)
  }
  try {
    return await run()
  } finally {
    if (timer) clearInterval(timer)
    if (bar) {
      bar.update(stats.records, payload())
      bar.stop()
    }
  }
}

function summaryLine(r: PerfResult, verb: string, latencyLabel: string): string {
  const l = r.latencyMs
  return `${r.records} records${verb ? ` ${verb}` : ''}, ${fmt(r.recordsPerSec)} records/sec (${fmt(r.mbPerSec)} MB/sec), ` +
    `${fmt(l.avg)} ms avg ${latencyLabel}, ${fmt(l.max)} ms max ${latencyLabel}, ` +
    `${fmt(l.p50)} ms 50th, ${fmt(l.p95)} ms 95th, ${fmt(l.p99)} ms 99th, ${fmt(l.p999)} ms 99.9th.\n`
}

/** Runs `engine.run()` with Ctrl-C wired to `engine.stop()`. */
async function interruptible<T>(engine: { stop(): void }, run: () => Promise<T>): Promise<T> {
  const onSignal = (): void => engine.stop()
  process.on('SIGINT', onSignal)
  try {
    return await run()
  } finally {
    process.off('SIGINT', onSignal)
  }
}

export function registerPerf(program: Command): void {
  const perf = program.command('perf').description('load tests: produce, consume, end-to-end latency')
  configureTool(perf, 'samsa perf')
  registerProduce(perf)
  registerConsume(perf)
  registerE2e(perf)
}

const PRODUCER_PROPS = new Set(['acks', 'batch.size', 'max.in.flight.requests.per.connection', 'compression.type', 'bootstrap.servers', 'client.id', 'request.timeout.ms'])
const IGNORED_PRODUCER_PROPS = new Set(['linger.ms', 'buffer.memory', 'key.serializer', 'value.serializer', 'enable.idempotence', 'retries', 'delivery.timeout.ms', 'max.block.ms'])

function registerProduce(perf: Command): void {
  const tool = 'samsa perf produce'
  const cmd = perf
    .command('produce')
    .description('send records as fast as the broker takes them, or at --throughput (as kafka-producer-perf-test.sh)')
    .option('--num-records <n>', 'REQUIRED: how many records to send', intArg('a number of records', 1))
    .option('--record-size <bytes>', 'REQUIRED unless --payload-file: size of each record value', intArg('a size in bytes', 0))
    .option('--throughput <n>', 'records per second at most; -1 for no limit', intArg('records per second'), -1)
    .option('--acks <acks>', 'acknowledgements required: 0, 1, or -1/all', '-1')
    .option('--producer-props <key=value...>', 'producer settings: acks, batch.size, max.in.flight.requests.per.connection, compression.type, bootstrap.servers, client.id', [])
    .option('--producer.config <file>', 'a properties file of producer settings')
    .option('--batch-size <bytes>', 'bytes of records per batch (Kafka\'s batch.size)', intArg('a size in bytes', 1), 16384)
    .option('--max-in-flight <n>', 'Produce requests pipelined per connection', intArg('a number', 1), 5)
    .option('--connections <n>', 'connections per partition leader', intArg('a number', 1), 1)
    .option('--compression-codec <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--payload-file <file>', 'take record values from this file, split by --payload-delimiter')
    .option('--payload-delimiter <text>', 'separator of payloads in --payload-file', '\\n')
  addCommon(cmd)
  configureTool(cmd, tool)
  cmd.action(runAction(tool, async (flags: ProduceFlags, command: Command) => {
    if (!flags.topic) throw new UsageError('--topic is required')
    if (flags.numRecords === undefined) throw new UsageError('--num-records is required')
    if (flags.recordSize === undefined && !flags.payloadFile) throw new UsageError('--record-size or --payload-file is required')
    if (flags.recordSize !== undefined && flags.payloadFile) throw new UsageError('--record-size and --payload-file cannot be used together')
    const props = flags['producer.config'] !== undefined ? readPropertiesFile(flags['producer.config'], '--producer.config') : new Map<string, string>()
    for (const [k, v] of keyValues(flags.producerProps, '--producer-props')) props.set(k, v)
    for (const k of props.keys()) {
      if (!PRODUCER_PROPS.has(k) && !IGNORED_PRODUCER_PROPS.has(k)) process.stderr.write(`${tool}: note: producer property '${k}' is not supported and is ignored\n`)
    }
    const fromProps = <T>(option: string, prop: string, parse: (v: string) => T, flagValue: T): T => {
      const v = props.get(prop)
      if (isExplicit(command, option) || v === undefined) return flagValue
      try {
        return parse(v)
      } catch (err) {
        throw new UsageError(`producer property ${prop}: ${(err as Error).message}`)
      }
    }
    const codec = (v: string): CompressionType => {
      try {
        return parseCodec(v)
      } catch (err) {
        throw new UsageError(`--compression-codec: ${(err as ClientError).message}`)
      }
    }
    let acks: number
    try {
      acks = fromProps('acks', 'acks', parseAcks, parseAcks(flags.acks))
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError(`--acks: ${(err as Error).message}`)
    }
    const batchBytes = fromProps('batchSize', 'batch.size', intArg('a size in bytes', 1), flags.batchSize)
    const maxInFlight = fromProps('maxInFlight', 'max.in.flight.requests.per.connection', intArg('a number', 1), flags.maxInFlight)
    const compression = fromProps('compressionCodec', 'compression.type', codec, codec(flags.compressionCodec))
    const timeoutMs = fromProps('requestTimeoutMs', 'request.timeout.ms', intArg('a time in ms', 1), 30_000)
    let payloads: Buffer[] | undefined
    if (flags.payloadFile) {
      let text: string
      try {
        text = readFileSync(flags.payloadFile, 'utf8')
      } catch (err) {
        throw new UsageError(`--payload-file: cannot read ${flags.payloadFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
      const delimiter = flags.payloadDelimiter.replaceAll('\\n', '\n').replaceAll('\\t', '\t')
      payloads = text.split(delimiter).filter((s) => s.length > 0).map((s) => Buffer.from(s))
      if (payloads.length === 0) throw new UsageError(`--payload-file: ${flags.payloadFile} holds no payloads`)
    }
    const recordSize = flags.recordSize ?? Math.round(payloads!.reduce((n, p) => n + p.length, 0) / payloads!.length)
    const bootstrapFlags = props.has('bootstrap.servers') && !isExplicit(command, 'bootstrapServer') ? { ...flags, bootstrapServer: props.get('bootstrap.servers')! } : flags
    const client = createClient(command, bootstrapFlags, tool, props.get('client.id') ?? 'samsa-perf-producer')
    try {
      await client.connect()
      const engine = new ProducePerf(client, {
        topic: flags.topic, numRecords: flags.numRecords, recordSize, throughput: flags.throughput, acks,
        batchBytes, maxInFlight, connections: flags.connections, compression, payloads, timeoutMs,
      })
      const result = await interruptible(engine, () => withProgress(engine.stats, flags, 'sent', 'latency', () => engine.run()))
      if (flags.json) {
        process.stdout.write(JSON.stringify({
          command: 'produce', topic: flags.topic, ...result,
          config: { recordSize, throughput: flags.throughput, acks, batchBytes, maxInFlight, connections: flags.connections, compression },
        }) + '\n')
      } else {
        process.stdout.write(summaryLine(result, 'sent', 'latency'))
      }
      if (result.records < flags.numRecords) {
        process.stderr.write(`${tool}: stopped after ${result.records} of ${flags.numRecords} records\n`)
        process.exitCode = 130
      }
    } finally {
      client.close()
    }
  }))
}

function registerConsume(perf: Command): void {
  const tool = 'samsa perf consume'
  const cmd = perf
    .command('consume')
    .description('read records as fast as the broker serves them (as kafka-consumer-perf-test.sh; by partition assignment)')
    .option('--messages <n>', 'REQUIRED: how many records to read', intArg('a number of records', 1))
    .option('--from-latest', 'start at the end of each partition instead of the beginning', false)
    .option('--fetch-size <bytes>', 'bytes fetched per partition per request', intArg('a size in bytes', 1), 1024 * 1024)
    .option('--timeout <ms>', 'give up when no record arrived for this long', intArg('a time in ms', 1), 10_000)
    .option('--group <group>', 'consumer group: not supported yet, accepted with a notice (reads by assignment)')
  addCommon(cmd)
  configureTool(cmd, tool)
  cmd.action(runAction(tool, async (flags: ConsumeFlags, command: Command) => {
    if (!flags.topic) throw new UsageError('--topic is required')
    if (flags.messages === undefined) throw new UsageError('--messages is required')
    if (flags.group !== undefined) process.stderr.write(`${tool}: note: samsa perf consume does not join consumer groups yet; ignoring --group ${flags.group} and reading by partition assignment\n`)
    const client = createClient(command, flags, tool, 'samsa-perf-consumer')
    try {
      await client.connect()
      const engine = new ConsumePerf(client, { topic: flags.topic, messages: flags.messages, fromLatest: flags.fromLatest, fetchSize: flags.fetchSize, timeoutMs: flags.timeout })
      const result = await interruptible(engine, () => withProgress(engine.stats, flags, 'received', 'fetch latency', () => engine.run()))
      if (engine.timedOut) process.stderr.write(`${tool}: WARNING: exiting before consuming the expected number of records: no record for ${flags.timeout} ms (got ${result.records} of ${flags.messages})\n`)
      if (flags.json) process.stdout.write(JSON.stringify({ command: 'consume', topic: flags.topic, ...result, timedOut: engine.timedOut }) + '\n')
      else process.stdout.write(summaryLine(result, 'received', 'fetch latency'))
    } finally {
      client.close()
    }
  }))
}

function registerE2e(perf: Command): void {
  const tool = 'samsa perf e2e'
  const cmd = perf
    .command('e2e')
    .description('end-to-end latency: produce one record, wait until a consumer fetches it, repeat (as kafka-e2e-latency.sh)')
    .option('--num-records <n>', 'how many records to send', intArg('a number of records', 1), 1000)
    .option('--record-size <bytes>', 'size of each record value', intArg('a size in bytes', 0), 100)
    .option('--acks <acks>', 'acknowledgements required: 0, 1, or -1/all', '1')
    .option('--partition <n>', 'the partition to use', intArg('a partition number', 0), 0)
  addCommon(cmd)
  configureTool(cmd, tool)
  cmd.action(runAction(tool, async (flags: E2eFlags, command: Command) => {
    if (!flags.topic) throw new UsageError('--topic is required')
    let acks: number
    try {
      acks = parseAcks(flags.acks)
    } catch (err) {
      throw new UsageError(`--acks: ${(err as Error).message}`)
    }
    const client = createClient(command, flags, tool, 'samsa-perf-e2e')
    try {
      await client.connect()
      const engine = new EndToEndPerf(client, { topic: flags.topic, numRecords: flags.numRecords, recordSize: flags.recordSize, acks, partition: flags.partition })
      const result = await interruptible(engine, () => withProgress(engine.stats, flags, 'received', 'latency', () => engine.run()))
      if (flags.json) process.stdout.write(JSON.stringify({ command: 'e2e', topic: flags.topic, ...result }) + '\n')
      else process.stdout.write(summaryLine(result, '', 'end-to-end latency'))
    } finally {
      client.close()
    }
  }))
}
