/**
 * Broker throughput against this machine's raw limit, measured in one run.
 *
 * - Relay: a separate process streams chunks over a loopback socket into this process, which
 *   appends them to a file (writeSync, no fsync) — after a warm-up of WARMUP bytes.
 * - Broker: a real broker (server mode, shard workers = cores − 1) in this process; the load
 *   generator (bench/loadgen.ts) is a separate process producing 1 KiB records in ~1 MiB
 *   batches (acks=1, 4 requests in flight; IN_FLIGHT=n changes it), then consuming everything back. Reported: MB/s,
 *   records/s, the broker's main-thread utilization (event-loop utilization) and the ratio to
 *   the relay.
 *
 *   node bench/throughput.bench.ts [--bytes 2147483648] [--warmup 2147483648]
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Broker } from '../src/index.ts'

const { values } = parseArgs({ options: { bytes: { type: 'string', default: String(2 ** 31) }, warmup: { type: 'string', default: String(2 ** 31) } } })
const BYTES = Number(values.bytes)
const WARMUP = Number(values.warmup)
const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-'))

interface Run { bytes: number; records: number; seconds: number }

function loadgen(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOADGEN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Run) : reject(new Error(`loadgen exited ${code}`))))
  })
}

/** Relay: loopback socket → writeSync into a file, nothing else. */
async function relay(totalBytes: number): Promise<Run> {
  const fd = openSync(join(dir, 'relay.bin'), 'w')
  let received = 0
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      writeSync(fd, chunk)
      received += chunk.length
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const run = await loadgen(['relay', `127.0.0.1:${port}`, String(1 << 20), String(totalBytes)])
  server.close()
  closeSync(fd)
  rmSync(join(dir, 'relay.bin'))
  return { ...run, bytes: received }
}

const mbps = (r: Run): number => r.bytes / r.seconds / 1e6

try {
  await relay(WARMUP)
  const baseline = await relay(BYTES)
  console.log(`relay (loopback socket → file append, 1 MiB chunks): ${mbps(baseline).toFixed(0)} MB/s`)
  const broker = await Broker.start({ server: true, logger: false, config: { 'log.dirs': join(dir, 'data'), listeners: 'PLAINTEXT://127.0.0.1:0' } })
  const { Kafka, logLevel } = await import('kafkajs')
  const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  const rows: string[] = []
  for (const partitions of [1, 8]) {
    const topic = `bench-${partitions}`
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
    for (const phase of ['produce', 'consume'] as const) {
      const before = performance.eventLoopUtilization()
      const run = await loadgen([phase, broker.bootstrap, topic, String(partitions), String(BYTES), process.env.IN_FLIGHT ?? '4'])
      const elu = performance.eventLoopUtilization(before)
      const target = phase === 'produce' ? 0.6 : 0.7
      const ratio = mbps(run) / mbps(baseline)
      rows.push(`${phase.padEnd(8)} ${String(partitions).padStart(2)} partition(s): ${mbps(run).toFixed(0).padStart(5)} MB/s  ${(run.records / run.seconds / 1000).toFixed(0).padStart(5)}k records/s  main thread ${(elu.utilization * 100).toFixed(0).padStart(3)}% busy  ${(ratio * 100).toFixed(0)}% of relay (target ${target * 100}%)`)
      console.log(rows[rows.length - 1])
    }
  }
  await admin.disconnect()
  await broker.stop()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
