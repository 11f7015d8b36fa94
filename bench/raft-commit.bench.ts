/**
 * Raft commit throughput and latency of a 3-node group over real loopback sockets: each node on
 * its own worker thread (actors/raft-worker.ts) with its durable segment log, proposals sent from
 * the main thread to the leader's worker (closed loop, CONCURRENCY outstanding), entries of 100 B
 * and 10 KiB, with and without fsync. Printed next to this machine's fsync latency, measured in
 * the same run. Latency is main thread → leader worker → commit (a quorum fsynced) → main thread.
 *
 * Also measures event-loop delay (perf_hooks.monitorEventLoopDelay) of a busy main thread and of
 * the Raft workers during the same load: the numbers behind the timeouts in docs/raft.md.
 *
 *   node bench/raft-commit.bench.ts
 *   SECONDS=5 CONCURRENCY=128 node bench/raft-commit.bench.ts
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { RaftWorkerHandle } from '../src/raft/host/worker-handle.ts'
import { DEFAULT_TIMING } from '../src/raft/host/timing.ts'
import type { LagStats } from '../src/raft/host/protocol.ts'
import type { Status } from '../src/raft/raft-node.ts'

const SECONDS = Number(process.env['SECONDS'] ?? 3)
const CONCURRENCY = Number(process.env['CONCURRENCY'] ?? 64)
// The production defaults (50 ms ticks, heartbeat 2, election 20), chosen from this bench's lag numbers.
const { tickMs: TICK_MS, heartbeatTicks: HEARTBEAT_TICKS, electionTicks: ELECTION_TICKS } = DEFAULT_TIMING
const root = mkdtempSync(join(tmpdir(), 'samsa-raft-bench-'))

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function fsyncLatency(): { p50: number; p99: number } {
  const fd = openSync(join(root, 'fsync-probe'), 'w')
  const buf = Buffer.alloc(4096, 1)
  const samples: number[] = []
  for (let i = 0; i < 200; i++) {
    writeSync(fd, buf)
    const t0 = performance.now()
    fdatasyncSync(fd)
    samples.push(performance.now() - t0)
  }
  closeSync(fd)
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

async function startCluster(name: string, fsync: boolean): Promise<{ nodes: RaftWorkerHandle[]; leader: RaftWorkerHandle }> {
  const nodes: RaftWorkerHandle[] = []
  for (const id of [1, 2, 3]) {
    nodes.push(await RaftWorkerHandle.start({
      id, voters: [1, 2, 3], dir: join(root, name, `node-${id}`, '__cluster_metadata-0'), port: 0, fsync,
      tickMs: TICK_MS, electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, deliverApplied: false,
    }))
  }
  const peers = nodes.map((n) => ({ id: n.id, host: '127.0.0.1', port: n.port }))
  for (const n of nodes) n.setPeers(peers)
  for (;;) {
    const st = (await Promise.all(nodes.map((n) => n.status()))) as Status[]
    const l = st.find((s) => s.role === 'leader')
    if (l !== undefined && st.every((s) => s.lead === l.id)) return { nodes, leader: nodes.find((n) => n.id === l.id)! }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Closed loop: CONCURRENCY proposals outstanding for SECONDS; returns commits/s and latencies in ms. */
async function load(leader: RaftWorkerHandle, bytes: number, seconds: number, concurrency: number): Promise<{ rate: number; lat: number[]; failed: number }> {
  const payload = new Uint8Array(bytes).fill(7)
  const lat: number[] = []
  let failed = 0
  const end = performance.now() + seconds * 1000
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now()
      const r = await leader.propose(payload)
      if ('index' in r) lat.push(performance.now() - t0)
      else failed++
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  lat.sort((a, b) => a - b)
  return { rate: lat.length / ((performance.now() - t0) / 1000), lat, failed }
}

const fmt = (n: number, d = 2): string => n.toFixed(d)
const lagLine = (who: string, l: LagStats): string =>
  `  ${who.padEnd(34)} p50 ${fmt(l.p50Ms).padStart(7)} ms   p99 ${fmt(l.p99Ms).padStart(7)} ms   max ${fmt(l.maxMs).padStart(8)} ms`

async function lagUnderLoad(): Promise<void> {
  console.log(`\nevent-loop delay during ${SECONDS} s of 100 B commits (fsync on), main thread busy in 50 ms blocking slices:`)
  const { nodes, leader } = await startCluster('lag', true)
  await load(leader, 100, 0.5, 16) // warm up
  for (const n of nodes) await n.lag()
  const main = monitorEventLoopDelay({ resolution: 1 })
  main.enable()
  let busy = true
  const spin = (): void => {
    const until = performance.now() + 50 // e.g. decoding a large fetch response on the network thread
    while (performance.now() < until) { /* busy */ }
    if (busy) setTimeout(spin, 5)
  }
  setTimeout(spin, 5)
  await load(leader, 100, SECONDS, 16)
  busy = false
  main.disable()
  console.log(lagLine('main thread (busy)', { p50Ms: main.percentile(50) / 1e6, p99Ms: main.percentile(99) / 1e6, maxMs: main.max / 1e6, meanMs: main.mean / 1e6 }))
  for (const n of nodes) console.log(lagLine(`raft worker ${n.id}${n === leader ? ' (leader)' : ''}`, await n.lag()))
  for (const n of nodes) await n.stop()
}

async function main(): Promise<void> {
  const fs = fsyncLatency()
  console.log(`raft commit bench: 3 nodes, worker threads, TCP loopback, ${CONCURRENCY} proposals outstanding, ${SECONDS} s per run`)
  console.log(`timeouts: tick ${TICK_MS} ms, heartbeat ${HEARTBEAT_TICKS * TICK_MS} ms, election ${ELECTION_TICKS * TICK_MS}-${2 * ELECTION_TICKS * TICK_MS} ms`)
  console.log(`fdatasync of a 4 KiB append on this machine: p50 ${fmt(fs.p50)} ms, p99 ${fmt(fs.p99)} ms\n`)
  console.log('entry     fsync   commits/s      MB/s    p50 ms    p99 ms  failed')
  for (const bytes of [100, 10 * 1024]) {
    for (const fsync of [true, false]) {
      const { nodes, leader } = await startCluster(`b${bytes}-${fsync}`, fsync)
      await load(leader, bytes, 0.3, CONCURRENCY) // warm up
      const r = await load(leader, bytes, SECONDS, CONCURRENCY)
      console.log(`${(bytes === 100 ? '100 B' : '10 KiB').padEnd(9)} ${String(fsync).padEnd(5)} ${fmt(r.rate, 0).padStart(11)} ${fmt((r.rate * bytes) / 1e6).padStart(9)} ${fmt(percentile(r.lat, 50)).padStart(9)} ${fmt(percentile(r.lat, 99)).padStart(9)} ${String(r.failed).padStart(7)}`)
      for (const n of nodes) await n.stop()
    }
  }
  await lagUnderLoad()
  const after = fsyncLatency()
  console.log(`\nfdatasync again after the runs: p50 ${fmt(after.p50)} ms, p99 ${fmt(after.p99)} ms`)
}

try {
  await main()
} finally {
  rmSync(root, { recursive: true, force: true })
}
