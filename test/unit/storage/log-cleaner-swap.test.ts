/**
 * Compaction on a real PartitionLog: the cleaned segments are swapped in by the owner, reads see
 * the latest value per key at the original offsets, and a crash after any swap step (the fds
 * dropped without close, as a process exit leaves them) reopens to exactly the cleaned content —
 * or, before the `.swap` rename, to exactly the original — with nothing lost or duplicated.
 */
import t, { type Test } from 'tap'
import { readdirSync } from 'node:fs'
import { CODEC_IDS, compress } from '../../../src/client/compression.ts'
import type { CleanerConfig } from '../../../src/storage/log-cleaner.ts'
import type { SwapStep } from '../../../src/storage/log-cleaner-swap.ts'
import type { PartitionLog } from '../../../src/storage/partition-log.ts'
import { writeCrc } from '../../../src/storage/record-batch.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import { harness, type Harness } from './helpers.ts'

const CLEANER: CleanerConfig = { minCompactionLagMs: 0, deleteRetentionMs: 86_400_000, segmentBytes: 1 << 30, maxMapEntries: 100_000 }
const COMPACT = { delete: false, compact: true }

/** Every record from the log start to the HW as `offset:key=value`, following batches (empty ones included). */
function readAll(log: PartitionLog): string[] {
  const out: string[] = []
  let at = log.logStartOffset
  while (at < log.highWatermark) {
    const r = log.read(at, 1 << 20, log.highWatermark, true)
    if ('error' in r) throw new Error(`${r.error} at ${at}`)
    const batches = decodeRecordBatches(r.records)
    if (batches.length === 0) break
    for (const b of batches) for (const rec of b.records) out.push(`${rec.offset}:${rec.key}=${rec.value}`)
    at = batches.at(-1)!.lastOffset + 1
  }
  return out
}

/** 12 batches of 3 records over 4 keys (k0..k3), values naming their batch; ~3 batches per segment. */
function fill(t: Test, h: Harness, log: PartitionLog): void {
  for (let b = 0; b < 12; b++) {
    const records = [0, 1, 2].map((i) => ({ key: `k${(b * 3 + i) % 4}`, value: `v${b}.${i}` }))
    const r = log.append(buildRecordBatch({ records, timestamp: h.clock.ms - 3_600_000 }), 0)
    if ('error' in r) t.fail(`append: ${r.error}`)
  }
  log.setHighWatermark(log.logEndOffset)
}

/** What the cleaner must leave: per key the last record, at its offset, for every key whose last record lies in a rolled segment. */
function latestPerKey(records: string[]): string[] {
  const byKey = new Map<string, string>()
  for (const r of records) byKey.set(r.split(':')[1]!.split('=')[0]!, r)
  return [...byKey.values()].sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]))
}

t.test('a cleaned log reads the latest value per key at the original offsets', async (t) => {
  const h = harness(t, { segmentBytes: 300, cleanupPolicy: COMPACT })
  const log = h.open()
  fill(t, h, log)
  const before = readAll(log)
  t.ok(log.segmentCount() >= 4, `several segments (${log.segmentCount()})`)
  const segmentsBefore = log.segmentCount()
  const result = log.clean(undefined, CLEANER)!
  t.ok(result)
  t.ok(result.endOffset > 0 && result.endOffset < log.logEndOffset, 'cleaned up to the active segment')
  const after = readAll(log)
  t.ok(after.length < before.length, `records were removed (${before.length} → ${after.length})`)
  const inActive = before.filter((r) => Number(r.split(':')[0]) >= result.endOffset)
  t.same(after.filter((r) => Number(r.split(':')[0]) >= result.endOffset), inActive, 'the active segment is untouched')
  for (const r of latestPerKey(before)) t.ok(after.includes(r), `latest ${r} is kept at its offset`)
  for (const r of after) t.ok(before.includes(r), `${r} is an original record at its original offset`)
  t.ok(log.segmentCount() < segmentsBefore, 'rolled segments were merged into one cleaned segment')
  t.same(readdirSync(h.dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n)), [], 'no leftovers')
  t.equal(log.clean(result.endOffset, CLEANER), null, 'nothing dirty after the checkpoint')
  log.close()
  const reopened = h.open()
  reopened.setHighWatermark(reopened.logEndOffset)
  t.same(readAll(reopened), after, 'the same after a clean restart')
  reopened.close()
})

t.test('appends and reads after a swap use the new segment files, never old indexes', async (t) => {
  const h = harness(t, { segmentBytes: 300, cleanupPolicy: COMPACT, indexIntervalBytes: 1 })
  const log = h.open()
  fill(t, h, log)
  const middle = readAll(log)[10]!
  t.ok(log.read(Number(middle.split(':')[0]), 1000, log.highWatermark, true), 'a read caches the old segment fds')
  log.clean(undefined, CLEANER)
  const after = readAll(log)
  for (const r of after) {
    const offset = Number(r.split(':')[0])
    const got = log.read(offset, 1 << 20, log.highWatermark, false)
    if ('error' in got) t.fail(got.error)
    else t.ok(decodeRecordBatches(got.records).some((b) => b.records.some((x) => `${x.offset}:${x.key}=${x.value}` === r)), `index lookup of ${offset}`)
  }
  const appended = log.append(buildRecordBatch({ records: [{ key: 'k9', value: 'new' }] }), 0)
  t.ok('ok' in appended)
  log.setHighWatermark(log.logEndOffset)
  t.same(readAll(log), [...after, `${log.logEndOffset - 1}:k9=new`])
  log.close()
})

const STEPS: SwapStep[] = ['cleaned', 'renamed_to_swap', 'first_old_removed', 'old_removed', 'renamed_to_log']

for (const step of STEPS) {
  for (const recoveryPoint of ['none', 'all'] as const) {
    t.test(`a crash after swap step ${step} (recovery point: ${recoveryPoint}) loses and duplicates nothing`, async (t) => {
      // The expected result of a whole pass, from a twin log.
      const twin = harness(t, { segmentBytes: 300, cleanupPolicy: COMPACT })
      const twinLog = twin.open()
      fill(t, twin, twinLog)
      twinLog.clean(undefined, CLEANER)
      const cleaned = readAll(twinLog)
      twinLog.close()

      const h = harness(t, { segmentBytes: 300, cleanupPolicy: COMPACT })
      const log = h.open()
      fill(t, h, log)
      log.flush()
      const original = readAll(log)
      const leo = log.logEndOffset
      t.equal(log.clean(undefined, CLEANER, h.clock.ms, step), null, 'the pass stopped')
      h.fds.closeAll() // the process is gone: its fds close, nothing else happens
      const reopened = h.open({ clean: false, recoveryPoint: recoveryPoint === 'all' ? leo : 0 })
      reopened.setHighWatermark(reopened.logEndOffset)
      t.equal(reopened.logEndOffset, leo, 'the log end is unchanged')
      t.same(readAll(reopened), step === 'cleaned' ? original : cleaned, step === 'cleaned' ? 'the original log' : 'the cleaned log, swap completed')
      t.same(readdirSync(h.dir).filter((n) => /\.(cleaned|swap)$/.test(n)), [], 'no leftovers after start-up')
      const logs = readdirSync(h.dir).filter((n) => n.endsWith('.log'))
      t.same(logs.filter((n) => !readdirSync(h.dir).includes(n.replace('.log', '.timeindex'))), [], 'every segment has its indexes again')
      const again = reopened.clean(undefined, CLEANER)
      t.same(readAll(reopened), cleaned, 'a later pass reaches the same content')
      t.ok(again === null || again.endOffset > 0)
      reopened.close()
    })
  }
}

t.test('keyless records are refused on a compacted topic only, compressed or not', async (t) => {
  const h = harness(t, { cleanupPolicy: COMPACT })
  const log = h.open()
  const keyless = (): Buffer => buildRecordBatch({ records: [{ key: 'k', value: 'v' }, { key: null, value: 'no key' }] })
  const r = log.append(keyless(), 0)
  t.same('error' in r ? r.error : 'ok', 'invalid_record', 'uncompressed keyless batch refused')
  const plain = keyless()
  const gz = Buffer.concat([plain.subarray(0, 61), compress('gzip', plain.subarray(61))])
  gz.writeInt32BE(gz.length - 12, 8)
  gz.writeInt16BE(CODEC_IDS.gzip, 21)
  writeCrc(gz, 0)
  const rz = log.append(gz, 0)
  t.same('error' in rz ? rz.error : 'ok', 'invalid_record', 'gzip keyless batch refused')
  t.ok('ok' in log.append(buildRecordBatch({ records: [{ key: 'k', value: 'v' }] }), 0), 'keyed records accepted')
  t.equal(log.logEndOffset, 1, 'nothing refused was written')
  log.close()
  const d = harness(t)
  const deleteLog = d.open()
  t.ok('ok' in deleteLog.append(keyless(), 0), 'cleanup.policy=delete accepts keyless records')
  deleteLog.close()
})
