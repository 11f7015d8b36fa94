/**
 * Broker throughput against this machine's raw limit, measured in one run.
 *
 * - Relay: a separate process streams 1 MiB chunks over a loopback socket into this process,
 *   which appends them to a file (writeSync, no fsync) — after a warm-up of WARMUP bytes. It is
 *   measured right before each broker scenario, and each scenario's ratio is to that adjacent
 *   relay: the page cache fills as a run writes gigabytes, and file appends slow down for the
 *   relay and the broker alike, so only a relay measured under the same conditions is a fair
 *   limit. The first (fresh) relay and one after all scenarios are printed as well, with each
 *   scenario's ratio to the fresh one, so a drifting run shows.
 * - Broker: a real broker (server mode, shard workers = cores − 1) in a child process
 *   (bench/broker-host.ts); the load generator (bench/loadgen.ts) is another process producing
 *   1 KiB records in ~1 MiB batches (acks=1, IN_FLIGHT requests in flight, default 4), then
 *   consuming everything back.
 *
 * Reported per scenario: MB/s, records/s, the ratio to the relay, the broker main thread's
 * event-loop utilization, and CPU per GB moved for each thread group — the broker's main
 * (network) thread, its shard workers, its other threads (GC helpers, libuv pool), and the load
 * generator. Three busy threads share this machine's cores, so CPU per byte is what to reduce.
 *
 * A/B in one run: `--b-tree DIR` (a copy of the repository's src/, actors/ and package.json,
 * with node_modules linked) and/or `--b-loadgen FILE` start a second broker / use a second load
 * generator; each scenario then runs A, B, A, B ... (`--rounds`), so both meet the same machine.
 * `--a-tree DIR` replaces this repository as side A.
 *
 *   node bench/throughput.bench.ts [--bytes 2147483648] [--warmup 2147483648] [--partitions 1,8]
 *        [--phases produce,consume] [--rounds 1] [--a-tree DIR] [--b-tree DIR] [--b-loadgen FILE] [--skip-relay]
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, openSync, writeSync, closeSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { HostSample } from './broker-host.ts'

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: String(2 ** 31) }, warmup: { type: 'string', default: String(2 ** 31) },
    partitions: { type: 'string', default: '1,8' }, phases: { type: 'string', default: 'produce,consume' },
    rounds: { type: 'string', default: '1' }, 'a-tree': { type: 'string' }, 'b-tree': { type: 'string' }, 'b-loadgen': { type: 'string' },
    'skip-relay': { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false },
  },
})
const BYTES = Number(values.bytes)
const WARMUP = Number(values.warmup)
const ROUNDS = Number(values.rounds)
const IN_FLIGHT = process.env.IN_FLIGHT ?? '4'
const REPO = fileURLToPath(new URL('..', import.meta.url))
const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url))
const HOST = fileURLToPath(new URL('./broker-host.ts', import.meta.url))
const TICKS_PER_SECOND = 100 // getconf CLK_TCK on Linux
const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-'))

interface Run { bytes: number; records: number; seconds: number; cpu?: number }

function loadgen(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Run) : reject(new Error(`loadgen exited ${code}`))))
  })
}

/** Relay: loopback socket → writeSync into a file, nothing else. Also returns the receiving thread's CPU seconds. */
async function relay(totalBytes: number): Promise<Run & { receiverCpu: number }> {
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
  const cpu = process.threadCpuUsage()
  const run = await loadgen(LOADGEN, ['relay', `127.0.0.1:${port}`, String(1 << 20), String(totalBytes)])
  const used = process.threadCpuUsage(cpu)
  server.close()
  closeSync(fd)
  rmSync(join(dir, 'relay.bin'))
  return { ...run, bytes: received, receiverCpu: (used.user + used.system) / 1e6 }
}

/** A broker in a child process (bench/broker-host.ts), from source tree `root`. */
class HostedBroker {
  readonly #child: ChildProcess
  readonly #replies: ((msg: HostSample) => void)[] = []
  bootstrap = ''

  private constructor(child: ChildProcess) {
    this.#child = child
  }

  static async start(root: string, logDir: string): Promise<HostedBroker> {
    const child = fork(HOST, [root, logDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const host = new HostedBroker(child)
    host.bootstrap = await new Promise<string>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { bootstrap: string }).bootstrap))
      child.once('exit', (code) => reject(new Error(`broker host exited ${code}`)))
    })
    child.on('message', (m) => host.#replies.shift()?.(m as HostSample))
    return host
  }

  sample(): Promise<HostSample> {
    return new Promise((resolve) => {
      this.#replies.push(resolve)
      this.#child.send('sample')
    })
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve())
      this.#child.send('stop')
    })
  }
}

const mbps = (r: Run): number => r.bytes / r.seconds / 1e6
/** CPU seconds per GB (1e9 bytes) moved. */
const perGB = (cpuSeconds: number, bytes: number): string => (cpuSeconds / (bytes / 1e9)).toFixed(2)

interface Side { readonly label: string; readonly broker: HostedBroker; readonly loadgen: string }

try {
  let relayBefore: (Run & { receiverCpu: number }) | null = null
  if (!values['skip-relay']) {
    await relay(WARMUP)
    relayBefore = await relay(BYTES)
    console.log(`relay (loopback socket → file append, 1 MiB chunks): ${mbps(relayBefore).toFixed(0)} MB/s; CPU s/GB: receiver ${perGB(relayBefore.receiverCpu, relayBefore.bytes)}, sender ${perGB(relayBefore.cpu ?? 0, relayBefore.bytes)}`)
  }
  const sides: Side[] = [{ label: 'A', broker: await HostedBroker.start(values['a-tree'] ?? REPO, join(dir, 'data-a')), loadgen: LOADGEN }]
  const bTree = values['b-tree']
  if (bTree !== undefined || values['b-loadgen'] !== undefined) {
    sides.push({ label: 'B', broker: bTree === undefined ? sides[0]!.broker : await HostedBroker.start(bTree, join(dir, 'data-b')), loadgen: values['b-loadgen'] ?? LOADGEN })
  }
  const single = sides.length === 1
  const { Kafka, logLevel } = await import('kafkajs')
  const results: { side: string; phase: string; partitions: number; run: Run; adjacent: Run | null; main: number; shards: number; other: number; elu: number }[] = []
  for (const partitions of values.partitions.split(',').map(Number)) {
    const topic = `bench-${partitions}`
    for (const broker of new Set(sides.map((s) => s.broker))) {
      const admin = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
      await admin.disconnect()
    }
    for (const phase of values.phases.split(',') as ('produce' | 'consume')[]) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of sides) {
          const adjacent = relayBefore === null ? null : await relay(BYTES)
          const before = await side.broker.sample()
          const args = phase === 'produce' ? [phase, side.broker.bootstrap, topic, String(partitions), String(BYTES), IN_FLIGHT] : [phase, side.broker.bootstrap, topic, String(partitions), String(BYTES)]
          const run = await loadgen(side.loadgen, args)
          const after = await side.broker.sample()
          const elu = performance.eventLoopUtilization(after.elu, before.elu).utilization
          const cpu = (k: 'main' | 'shards' | 'other'): number => (after.threads[k] - before.threads[k]) / TICKS_PER_SECOND
          results.push({ side: side.label, phase, partitions, run, adjacent, main: cpu('main'), shards: cpu('shards'), other: cpu('other'), elu })
          if (values.verbose) {
            const other = Object.entries(after.threads.byName).map(([n, t]) => [n, (t - (before.threads.byName[n] ?? 0)) / TICKS_PER_SECOND] as const).filter(([, t]) => t > 0)
            console.log(`  threads (CPU s): ${other.map(([n, t]) => `${n} ${t.toFixed(2)}`).join(', ')}`)
          }
          const label = single ? '' : `[${side.label}] `
          console.log(`${label}${phase.padEnd(8)} ${String(partitions).padStart(2)} partition(s): ${mbps(run).toFixed(0).padStart(5)} MB/s  ${(run.records / run.seconds / 1000).toFixed(0).padStart(5)}k records/s  ` +
            (adjacent === null ? '' : `(relay just before: ${mbps(adjacent).toFixed(0)} MB/s)  `) +
            `main thread ${(elu * 100).toFixed(0).padStart(3)}% busy  CPU s/GB: main ${perGB(cpu('main'), run.bytes)}, shards ${perGB(cpu('shards'), run.bytes)}, other ${perGB(cpu('other'), run.bytes)}, loadgen ${perGB(run.cpu ?? 0, run.bytes)}`)
        }
      }
    }
  }
  if (relayBefore !== null) {
    const relayAfter = await relay(BYTES)
    console.log(`relay again after the broker runs: ${mbps(relayAfter).toFixed(0)} MB/s (fresh: ${mbps(relayBefore).toFixed(0)} MB/s)`)
  }
  console.log('\nsummary: each scenario against the relay measured just before it' + (relayBefore ? ` (and against the fresh relay, ${mbps(relayBefore).toFixed(0)} MB/s)` : ''))
  for (const r of results) {
    const target = r.phase === 'produce' ? 60 : 70
    const ratio = r.adjacent && relayBefore
      ? `${((mbps(r.run) / mbps(r.adjacent)) * 100).toFixed(0)}% of the adjacent relay ${mbps(r.adjacent).toFixed(0)} MB/s (target ${target}%), ${((mbps(r.run) / mbps(relayBefore)) * 100).toFixed(0)}% of the fresh one`
      : ''
    console.log(`${single ? '' : `[${r.side}] `}${r.phase.padEnd(8)} ${String(r.partitions).padStart(2)} partition(s): ${mbps(r.run).toFixed(0).padStart(5)} MB/s  ${ratio}  main thread ${(r.elu * 100).toFixed(0)}% busy`)
  }
  for (const s of new Set(sides.map((x) => x.broker))) await s.stop()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
