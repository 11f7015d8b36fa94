/**
 * Produce throughput through the shard pool's port protocol: 1 MiB produce requests (1 KiB
 * records) for 1 partition and for 8 partitions, pipelined, next to raw writeSync of the same
 * bytes on the main thread in the same run (rounds alternate, after a warm-up, so every case
 * meets the same page-cache writeback pressure). Prints MB/s, the main thread's CPU per MiB (via
 * process.threadCpuUsage, the main thread only) and the payload copies the pool made.
 *
 * Each request is framed into a fresh broker-owned ArrayBuffer first — the network layer's one
 * copy — and then handed to the pool, which transfers it (no further copy when a request stays
 * on one shard; with several shards only the other shards' slices are copied).
 *
 *   node bench/port-protocol.bench.ts                  # 1 GiB per case after 2 GiB of warm-up
 *   BENCH_TOTAL_MB=256 BENCH_WORKERS=2 node bench/port-protocol.bench.ts
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PartitionHandle } from '../src/broker/partition-host.ts'
import { ShardPool, defaultServerWorkers } from '../src/runtime/shard-pool.ts'
import { DEFAULT_LOG_CONFIG } from '../src/storage/partition-log.ts'
import { buildRecordBatch } from '../src/storage/record-batch-builder.ts'

const TOTAL_MB = Number(process.env.BENCH_TOTAL_MB ?? 1024)
const WORKERS = Number(process.env.BENCH_WORKERS ?? defaultServerWorkers())
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8)
const REQUEST_BYTES = 1024 * 1024
const RECORD_BYTES = 1024
const value = Buffer.alloc(RECORD_BYTES, 'x')

/** One request's batches, one per partition, together ≈ 1 MiB. */
function requestTemplate(partitions: number): Buffer[] {
  const records = Math.floor(REQUEST_BYTES / partitions / (RECORD_BYTES + 20))
  return Array.from({ length: partitions }, () => buildRecordBatch({ records: Array.from({ length: records }, (_, i) => ({ key: `k${i}`, value })) }))
}

interface Totals { mib: number; seconds: number; cpuMs: number }
const emptyTotals = (): Totals => ({ mib: 0, seconds: 0, cpuMs: 0 })

/** Measures `run` (which moves `mib` MiB) into `into`: wall time and this (main) thread's CPU. */
async function measure(into: Totals, mib: number, run: () => Promise<void> | void): Promise<void> {
  const cpu0 = process.threadCpuUsage()
  const t0 = process.hrtime.bigint()
  await run()
  into.seconds += Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.threadCpuUsage(cpu0)
  into.cpuMs += (cpu.user + cpu.system) / 1000
  into.mib += mib
}

/** The network layer's framing copy into a broker-owned buffer (the copy budget's one copy). */
function frameRequest(template: Buffer[], frameBytes: number): Buffer[] {
  const frame = Buffer.from(new ArrayBuffer(frameBytes))
  let at = 0
  return template.map((b) => {
    b.copy(frame, at)
    const records = frame.subarray(at, at + b.length)
    at += b.length
    return records
  })
}

interface PoolCase { pool: ShardPool; handles: PartitionHandle[]; template: Buffer[]; frameBytes: number; totals: Totals }

async function poolCase(root: string, partitions: number): Promise<PoolCase> {
  const pool = await ShardPool.start({ workers: WORKERS })
  const config = { ...DEFAULT_LOG_CONFIG, maxMessageBytes: 4 * REQUEST_BYTES }
  const handles: PartitionHandle[] = []
  for (let p = 0; p < partitions; p++) {
    handles.push(await pool.createPartition({
      owner: 'bench', dir: join(root, `bench-${partitions}-${p}`), topic: `bench-${partitions}`, partition: p, topicId: 'YmVuY2hiZW5jaGJlbmNoMQ',
      leaderEpoch: 0, config, recoveryPoint: 0, cleanShutdown: true,
    }))
  }
  const template = requestTemplate(partitions)
  return { pool, handles, template, frameBytes: template.reduce((n, b) => n + b.length, 0), totals: emptyTotals() }
}

/** `mib` MiB of 1 MiB produce requests through the pool, IN_FLIGHT at a time. */
async function poolRound(c: PoolCase, mib: number): Promise<void> {
  const requests = Math.ceil((mib * 1024 * 1024) / c.frameBytes)
  await measure(c.totals, (requests * c.frameBytes) / (1024 * 1024), async () => {
    let sent = 0
    const lane = async (): Promise<void> => {
      while (sent < requests) {
        sent++
        const records = frameRequest(c.template, c.frameBytes)
        const results = await c.pool.produceAcrossShards(records.map((r, i) => ({ handle: c.handles[i]!, records: r })), 30_000)
        for (const r of results) if (!('ok' in r)) throw new Error(`produce failed: ${r.error}`)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  })
}

/** `mib` MiB of 1 MiB writeSync calls on this thread to a fresh file. */
function rawRound(root: string, round: number, mib: number, into: Totals): Promise<void> {
  const buf = Buffer.from(new ArrayBuffer(REQUEST_BYTES)).fill('x')
  const fd = openSync(join(root, `raw-${round}.bin`), 'w')
  return measure(into, mib, () => {
    for (let i = 0; i < mib; i++) {
      let done = 0
      while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done)
    }
  }).finally(() => closeSync(fd))
}

const ROUNDS = 4
const WARMUP_MB = Number(process.env.BENCH_WARMUP_MB ?? 2048)
const root = mkdtempSync(join(tmpdir(), 'samsa-port-bench-'))
try {
  console.log(`port protocol produce: ${TOTAL_MB} MiB per case in ${ROUNDS} alternating rounds, 1 MiB requests, ${IN_FLIGHT} in flight, ${WORKERS} shard worker(s)`)
  // The first GiBs a process writes are slow (page-cache growth): warm up, unmeasured.
  for (let w = 0; w < WARMUP_MB; w += 512) {
    await rawRound(root, -1, Math.min(512, WARMUP_MB - w), emptyTotals())
    rmSync(join(root, 'raw--1.bin'))
  }
  const raw = emptyTotals()
  const framing = emptyTotals()
  const one = await poolCase(root, 1)
  const eight = await poolCase(root, 8)
  const per = TOTAL_MB / ROUNDS
  for (let round = 0; round < ROUNDS; round++) {
    await rawRound(root, round, per, raw)
    rmSync(join(root, `raw-${round}.bin`))
    await measure(framing, per, () => { for (let i = 0; i < per; i++) frameRequest(one.template, one.frameBytes) })
    await poolRound(one, per)
    await poolRound(eight, per)
  }
  const copies: string[] = []
  for (const c of [one, eight]) {
    const s = c.pool.payloadStats()
    copies.push(`${((100 * s.copiedBytes) / s.payloadBytes).toFixed(1)}%`)
    await c.pool.stop()
  }
  const row = (name: string, t: Totals, extra = ''): void => {
    console.log(`${name.padEnd(28)} ${(t.mib / t.seconds).toFixed(0).padStart(6)} MiB/s   main-thread CPU ${(t.cpuMs / t.mib).toFixed(3)} ms/MiB${extra}`)
  }
  row('raw writeSync, main thread', raw)
  row('framing copy only', framing)
  row('pool, 1 partition', one.totals, `   copied by the pool: ${copies[0]} of the payload (after framing)`)
  row('pool, 8 partitions', eight.totals, `   copied by the pool: ${copies[1]} of the payload (after framing)`)
  console.log(`pool / raw: 1 partition ${(one.totals.mib / one.totals.seconds / (raw.mib / raw.seconds)).toFixed(2)}, 8 partitions ${(eight.totals.mib / eight.totals.seconds / (raw.mib / raw.seconds)).toFixed(2)}`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
