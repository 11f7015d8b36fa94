/**
 * Retention and DeleteRecords on one PartitionLog: whole segments only, never at or above the
 * high watermark, never the active segment (rolled first), `.deleted` files removed only after
 * file.delete.delay.ms, and the log start offset kept across a reopen. Every test also checks
 * that what should stay is still there and readable.
 */
import t, { type Test } from 'tap'
import { existsSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import type { PartitionLog } from '../../../src/storage/partition-log.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import { batchOf, harness, type Harness } from './helpers.ts'

const DAY = 86_400_000

function appendOk(t: Test, log: PartitionLog, buf: Buffer): number {
  const r = log.append(buf, 0)
  if ('error' in r) t.fail(`append failed: ${r.error}`)
  return 'ok' in r ? r.ok.baseOffset : -1
}

/** Every value readable from `offset` to the HW, batch by batch. */
function readAll(log: PartitionLog, offset: number): string[] {
  const out: string[] = []
  let at = offset
  while (at < log.highWatermark) {
    const r = log.read(at, 1 << 20, log.highWatermark, true)
    if ('error' in r) throw new Error(`${r.error} at ${at}`)
    const batches = decodeRecordBatches(r.records)
    if (batches.length === 0) break
    for (const b of batches) for (const rec of b.records) if (rec.offset >= offset) out.push(`${rec.offset}:${rec.value}`)
    at = batches.at(-1)!.records.at(-1)!.offset + 1
  }
  return out
}

function files(h: Harness, suffix: string): string[] {
  return readdirSync(h.dir).filter((n) => n.endsWith(suffix)).sort()
}

/** 10 batches of 5 records, each ~300 bytes: segment.bytes 700 puts two batches in a segment. */
function fill(t: Test, log: PartitionLog, h: Harness, tag: string, count: number, ageMs: number): void {
  for (let i = 0; i < count; i++) appendOk(t, log, batchOf(5, `${tag}${i}`, { valueBytes: 40, timestamp: h.clock.ms - ageMs }))
  log.setHighWatermark(log.logEndOffset)
}

t.test('time retention deletes old segments only, and the files only after the delay', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: DAY, fileDeleteDelayMs: 60_000 })
  const log = h.open()
  fill(t, log, h, 'old', 6, 2 * DAY)
  fill(t, log, h, 'new', 4, 0)
  const segmentsBefore = log.segmentCount()
  t.equal(segmentsBefore, 5, 'two batches per segment')
  const expectedNew = readAll(log, 30)
  t.same(log.deleteOldSegments(), { retention_ms: 3 }, 'the three segments of old records')
  t.equal(log.logStartOffset, 30)
  t.equal(log.segmentCount(), 2)
  t.same(log.read(29, 1000, log.highWatermark, true), { error: 'offset_out_of_range' }, 'below the log start: out of range')
  t.same(readAll(log, 30), expectedNew, 'everything newer is still there, byte for byte')
  t.equal(files(h, '.log.deleted').length, 3, 'renamed .deleted, not removed yet')
  t.equal(files(h, '.log').length, 2)
  t.same(log.deleteOldSegments(), {}, 'a second check deletes nothing more')

  h.clock.ms += 59_999
  t.equal(log.removeDeletedFiles(), 0, 'not before file.delete.delay.ms')
  t.equal(files(h, '.deleted').length, 9, 'log, index and timeindex of three segments')
  h.clock.ms += 1
  t.equal(log.nextFileDeletionDue, h.clock.ms)
  t.equal(log.removeDeletedFiles(), 3)
  t.same(files(h, '.deleted'), [])
  t.equal(log.nextFileDeletionDue, Infinity)
  t.same(readAll(log, 30), expectedNew)
  log.close()
})

t.test('nothing at or above the high watermark is deleted', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: DAY, retentionBytes: 1 })
  const log = h.open()
  fill(t, log, h, 'old', 6, 2 * DAY)
  log.setHighWatermark(15) // inside the second segment [10, 20)
  t.same(log.deleteOldSegments(), { retention_ms: 1 }, 'only the segment wholly below the HW')
  t.equal(log.logStartOffset, 10)
  log.setHighWatermark(log.logEndOffset)
  t.same(readAll(log, 10).length, 20)
  log.close()
})

t.test('when every segment is expired, the log rolls first and keeps an empty active segment', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: DAY })
  const log = h.open()
  fill(t, log, h, 'old', 5, 2 * DAY)
  t.same(log.deleteOldSegments(), { retention_ms: 3 })
  t.equal(log.segmentCount(), 1)
  t.equal(log.logStartOffset, 25)
  t.equal(log.logEndOffset, 25, 'the log end is unchanged')
  t.same(files(h, '.log'), ['00000000000000000025.log'])
  t.same(log.deleteOldSegments(), {}, 'an empty active segment is never deleted')
  t.equal(appendOk(t, log, batchOf(1, 'after', { timestamp: h.clock.ms })), 25, 'appends continue at the log end')
  log.setHighWatermark(log.logEndOffset)
  t.same(readAll(log, 25), ['25:after-0'])
  log.close()
})

t.test('size retention keeps the newest segments within retention.bytes', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionBytes: 1500 })
  const log = h.open()
  fill(t, log, h, 'b', 9, 0)
  const total = log.sizeBytes
  const deleted = log.deleteOldSegments()
  t.ok(deleted.retention_bytes! >= 1, `deleted ${deleted.retention_bytes} segments`)
  // Kafka's rule: a segment goes only if the log stays at or above retention.bytes without it.
  t.ok(log.sizeBytes >= 1500, `no more than needed was deleted: ${log.sizeBytes} of ${total} bytes left`)
  t.ok(log.sizeBytes - 1500 < 700, 'the excess left is smaller than a segment')
  t.match(readAll(log, log.logStartOffset).at(-1), /^44:b8-4\.+$/, 'the newest record stays')
  log.close()
})

t.test('no retention for compact-only topics or "never"; log-start deletion applies to any policy', async (t) => {
  const compact = harness(t, { segmentBytes: 700, retentionMs: 1, retentionBytes: 1, cleanupPolicy: { delete: false, compact: true } })
  let log = compact.open()
  fill(t, log, compact, 'c', 6, 2 * DAY)
  t.same(log.deleteOldSegments(), {})
  t.equal(log.segmentCount(), 3)
  t.match(log.deleteRecordsBefore(10), { error: 'policy_violation' }, 'DeleteRecords on a compact-only topic: POLICY_VIOLATION')
  log.close()

  const never = harness(t, { segmentBytes: 700, retentionMs: Infinity, retentionBytes: Infinity })
  log = never.open()
  fill(t, log, never, 'n', 6, 3650 * DAY)
  t.same(log.deleteOldSegments(), {})
  t.equal(log.logStartOffset, 0)
  log.close()
})

t.test('DeleteRecords moves the log start, deletes wholly covered segments, answers the low watermark', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: Infinity, fileDeleteDelayMs: 0 })
  const log = h.open()
  fill(t, log, h, 'r', 6, 0)
  t.same(log.deleteRecordsBefore(23), { ok: { lowWatermark: 23 } }, 'mid-segment')
  t.equal(log.segmentCount(), 1, 'segments [0,10) and [10,20) are gone; [20,30) holds the new start')
  t.same(log.read(22, 1000, log.highWatermark, true), { error: 'offset_out_of_range' })
  t.match(readAll(log, 23)[0], /^23:r4-3\.+$/, 'reading from the low watermark works (the batch starts earlier, as in Kafka)')
  t.same(log.deleteRecordsBefore(5), { ok: { lowWatermark: 23 } }, 'a lower offset changes nothing')
  t.match(log.deleteRecordsBefore(31), { error: 'offset_out_of_range' }, 'beyond the high watermark')
  t.match(log.deleteRecordsBefore(-7), { error: 'offset_out_of_range' })
  t.equal(log.logStartOffset, 23)
  t.equal(log.removeDeletedFiles(), 2)
  t.same(log.deleteRecordsBefore(-1), { ok: { lowWatermark: 30 } }, '-1 means the high watermark')
  t.equal(log.logEndOffset, 30)
  t.equal(log.segmentCount(), 1, 'only the active segment is left, kept since it is the active one')
  t.equal(appendOk(t, log, batchOf(1, 'next')), 30)
  log.close()
})

t.test('after a reopen: .deleted leftovers are removed, the log start comes from the checkpoint or the first segment', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: DAY, fileDeleteDelayMs: DAY })
  let log = h.open()
  fill(t, log, h, 'o', 4, 2 * DAY)
  fill(t, log, h, 'n', 4, 0)
  log.deleteOldSegments()
  t.same(log.deleteRecordsBefore(22), { ok: { lowWatermark: 22 } })
  t.ok(files(h, '.deleted').length > 0)
  log.close()
  log = h.open({ logStartOffset: 22 })
  t.same(files(h, '.deleted'), [], 'leftovers of a stop before the delay are removed at open')
  t.equal(log.logStartOffset, 22, 'checkpointed log start')
  log.close()
  log = h.open()
  t.equal(log.logStartOffset, 20, 'without a checkpoint: the first segment base')
  t.ok(existsSync(join(h.dir, '00000000000000000020.log')))
  log.close()
})

t.test('a stop between the renames of a deleted segment leaves nothing behind at the next open', async (t) => {
  const h = harness(t, { segmentBytes: 700 })
  let log = h.open()
  fill(t, log, h, 'x', 6, 0)
  log.close()
  // As if the broker died after renaming the .log of segment 0 but before its indexes.
  renameSync(join(h.dir, '00000000000000000000.log'), join(h.dir, '00000000000000000000.log.deleted'))
  t.ok(existsSync(join(h.dir, '00000000000000000000.index')))
  log = h.open({ clean: false, recoveryPoint: 0 })
  t.same(readdirSync(h.dir).filter((n) => n.startsWith('00000000000000000000.')), [], 'the orphaned indexes and the .deleted file are gone')
  t.equal(log.logStartOffset, 10)
  log.setHighWatermark(log.logEndOffset)
  t.equal(readAll(log, 10).length, 20, 'the other segments are intact')
  log.close()
})

t.test('ListOffsets by time never answers below the log start, nor skips what follows it', async (t) => {
  const h = harness(t, { segmentBytes: 700, retentionMs: Infinity })
  const log = h.open()
  const base = h.clock.ms - 100_000
  for (let i = 0; i < 6; i++) appendOk(t, log, batchOf(5, `t${i}`, { valueBytes: 40, timestamp: base + i * 1000 }))
  log.setHighWatermark(log.logEndOffset)
  t.same(log.deleteRecordsBefore(12), { ok: { lowWatermark: 12 } }, 'the log start is inside segment [10, 20)')
  t.match(log.offsetForTimestamp(base), { offset: 12, timestamp: base + 2000 }, 'the oldest time: the first record at the log start')
  t.match(log.offsetForTimestamp(base + 2000), { offset: 12 })
  t.match(log.offsetForTimestamp(base + 2001), { offset: 15, timestamp: base + 3000 }, 'the next batch, in the same segment')
  t.match(log.offsetForTimestamp(base + 5000), { offset: 25 })
  t.equal(log.offsetForTimestamp(base + 5001), null)
  log.close()
})
