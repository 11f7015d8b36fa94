/**
 * Storage-engine append throughput: 1 MiB batches appended to one partition (validation,
 * CRC-32C, record walk, stamping, writeSync, indexes, rolls) next to raw writeSync of the same
 * buffers to a plain file, in the same run. No fsync on either side.
 *
 *   node bench/segment-append.bench.ts            # ~2 GiB each
 *   BENCH_TOTAL_MB=512 node bench/segment-append.bench.ts
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileHandleCache } from '../src/storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../src/storage/partition-log.ts'
import { buildRecordBatch } from '../src/storage/record-batch-builder.ts'

const TOTAL_MB = Number(process.env.BENCH_TOTAL_MB ?? 2048)
const ROUNDS = 8 // raw and log alternate so both meet the same page-cache writeback pressure
const RECORD_BYTES = 1024
const RECORDS_PER_BATCH = 1000 // ≈ 1 MiB batches

const value = Buffer.alloc(RECORD_BYTES, 'x')
const batch = buildRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: `key-${i}`, value })) })
const batchesPerRound = Math.ceil((TOTAL_MB * 1024 * 1024) / batch.length / ROUNDS)
const root = mkdtempSync(join(tmpdir(), 'samsa-bench-'))

/** One round of raw writeSync of the same buffers to a fresh file; returns nanoseconds. */
function rawRound(round: number): bigint {
  const path = join(root, `raw-${round}.bin`)
  const fd = openSync(path, 'w')
  const start = process.hrtime.bigint()
  let position = 0
  for (let i = 0; i < batchesPerRound; i++) {
    let done = 0
    while (done < batch.length) done += writeSync(fd, batch, done, batch.length - done, position + done)
    position += batch.length
  }
  const ns = process.hrtime.bigint() - start
  closeSync(fd)
  return ns
}

/** One round of PartitionLog.append (validate, CRC-32C, record walk, stamp, write, index, roll). */
function logRound(log: PartitionLog): bigint {
  const start = process.hrtime.bigint()
  for (let i = 0; i < batchesPerRound; i++) {
    const r = log.append(batch, 0)
    if ('error' in r) throw new Error(`append failed: ${r.error} ${r.message ?? ''}`)
  }
  return process.hrtime.bigint() - start
}

const mbPerSec = (bytes: number, ns: bigint): number => bytes / (1024 * 1024) / (Number(ns) / 1e9)

try {
  const fds = new FileHandleCache(16)
  const log = PartitionLog.open({
    dir: join(root, 'bench-0'), topic: 'bench', partition: 0, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', config: DEFAULT_LOG_CONFIG,
    now: Date.now, recoveryPoint: 0, cleanShutdown: true, fds,
  })
  const bytesPerRound = batchesPerRound * batch.length
  console.log(`segment-append: ${ROUNDS} alternating rounds × ${batchesPerRound} batches of ${(batch.length / 1048576).toFixed(2)} MiB ` +
    `(${RECORDS_PER_BATCH} × ${RECORD_BYTES} B records): ${((ROUNDS * bytesPerRound) / 1048576).toFixed(0)} MiB per side, no fsync`)
  let rawNs = 0n
  let logNs = 0n
  for (let round = 0; round < ROUNDS; round++) {
    const r = rawRound(round)
    const l = logRound(log)
    rawNs += r
    logNs += l
    console.log(`  round ${round}: raw ${mbPerSec(bytesPerRound, r).toFixed(0)} MB/s, append ${mbPerSec(bytesPerRound, l).toFixed(0)} MB/s`)
  }
  const raw = mbPerSec(ROUNDS * bytesPerRound, rawNs)
  const appended = mbPerSec(ROUNDS * bytesPerRound, logNs)
  console.log(`raw writeSync:        ${raw.toFixed(0)} MB/s`)
  console.log(`PartitionLog.append:  ${appended.toFixed(0)} MB/s (${log.segmentCount()} segments, LEO ${log.logEndOffset})`)
  console.log(`ratio append / raw:   ${(appended / raw).toFixed(2)}`)
  log.close()
  fds.closeAll()
} finally {
  rmSync(root, { recursive: true, force: true })
}
