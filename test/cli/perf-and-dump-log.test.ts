/**
 * `samsa perf produce|consume|e2e` and `samsa dump-log` as child processes against a real
 * broker: summaries as text and JSON, pacing, and the segments and indexes the runs wrote.
 */
import t from 'tap'
import { join } from 'node:path'
import { startBroker } from '../helpers/broker.ts'
import { lines, samsa } from './run-cli.ts'

// Every check starts `samsa` as a child process: allow more than the default 120 s on a busy machine.
t.setTimeout(300_000)

const broker = await startBroker(t)
const B = ['--bootstrap-server', broker.bootstrap]
const logDir = broker.config.logDirs[0]!
const segment = (topic: string, partition = 0, ext = 'log'): string => join(logDir, `${topic}-${partition}`, `00000000000000000000.${ext}`)

t.test('perf produce, consume and e2e print an HDR summary, as text and JSON', async (t) => {
  const create = await samsa(['topics', '--create', '--topic', 'perf', '--partitions', '2', ...B])
  t.equal(create.code, 0, create.stderr)
  const text = await samsa(['perf', 'produce', '--topic', 'perf', '--num-records', '20000', '--record-size', '100', '--throughput', '-1', '--acks', '1', ...B])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /^20000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\.\n$/)

  const json = await samsa(['perf', 'produce', '--topic', 'perf', '--num-records', '30000', '--record-size', '200', '--producer-props', 'acks=all', 'batch.size=65536', '--json', ...B])
  t.equal(json.code, 0, json.stderr)
  const r = JSON.parse(json.stdout)
  t.equal(r.records, 30000)
  t.equal(r.bytes, 30000 * 200)
  t.equal(r.config.acks, -1)
  t.equal(r.config.batchBytes, 65536)
  t.ok(r.recordsPerSec > 0 && r.mbPerSec > 0)
  for (const k of ['avg', 'p50', 'p95', 'p99', 'p999', 'max']) t.type(r.latencyMs[k], 'number', `latency ${k}`)
  t.ok(r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max)

  const consume = await samsa(['perf', 'consume', '--topic', 'perf', '--messages', '50000', '--json', ...B])
  t.equal(consume.code, 0, consume.stderr)
  const c = JSON.parse(consume.stdout)
  t.equal(c.records, 50000, 'every record produced above is read back')
  t.equal(c.timedOut, false)

  const e2e = await samsa(['perf', 'e2e', '--topic', 'perf', '--num-records', '50', ...B])
  t.equal(e2e.code, 0, e2e.stderr)
  t.match(e2e.stdout, /^50 records, [\d.]+ records\/sec .* ms avg end-to-end latency, .* ms 99\.9th\.\n$/)

  const throttled = await samsa(['perf', 'produce', '--topic', 'perf', '--num-records', '300', '--record-size', '10', '--throughput', '1000', '--reporting-interval', '100', '--json', ...B])
  t.equal(throttled.code, 0, throttled.stderr)
  const tr = JSON.parse(throttled.stdout)
  t.ok(tr.elapsedMs >= 200, `--throughput 1000 paces 300 records over ~300 ms (took ${tr.elapsedMs} ms)`)
  t.match(throttled.stderr, /records sent, [\d.]+ records\/sec/, 'interval progress lines without a terminal')
})

t.test('dump-log prints batches and records and verifies indexes', async (t) => {
  const p = await samsa(['console-producer', '--topic', 'dump', ...B], { input: 'alpha\nbeta\n' })
  t.equal(p.code, 0, p.stderr)
  const dump = await samsa(['dump-log', '--files', segment('dump'), '--print-data-log'])
  t.equal(dump.code, 0, dump.stderr)
  const out = lines(dump.stdout)
  t.equal(out[0], `Dumping ${segment('dump')}`)
  t.equal(out[1], 'Log starting offset: 0')
  t.match(out[2], /^baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong\.empty position: 0 CreateTime: \d+ size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$/)
  t.match(out[3], /^\| offset: 0 CreateTime: \d+ keySize: -1 valueSize: 5 sequence: -1 headerKeys: \[\] payload: alpha$/)
  t.match(out[4], /^\| offset: 1 CreateTime: \d+ keySize: -1 valueSize: 4 sequence: -1 headerKeys: \[\] payload: beta$/)

  // Enough data for index entries (one per index.interval.bytes = 4096 appended).
  const perf = await samsa(['perf', 'produce', '--topic', 'indexed', '--num-records', '5000', '--record-size', '100', '--batch-size', '8192', ...B])
  t.equal(perf.code, 0, perf.stderr)
  const verify = await samsa(['dump-log', '--files', `${segment('indexed', 0, 'index')},${segment('indexed', 0, 'timeindex')}`, '--verify-index-only'])
  t.equal(verify.code, 0, verify.stderr)
  t.match(verify.stdout, /index: all \d+ index entries match /)
  t.match(verify.stdout, /timeindex: all \d+ time index entries match /)
  const entries = await samsa(['dump-log', '--files', segment('indexed', 0, 'index')])
  t.match(lines(entries.stdout)[1], /^offset: \d+ position: \d+$/)

  const missing = await samsa(['dump-log', '--files', join(logDir, 'nope-0', '00000000000000000000.log')])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /cannot read .*ENOENT/)
})
