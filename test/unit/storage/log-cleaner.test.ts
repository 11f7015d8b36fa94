/**
 * The log cleaner over hand-built segment files: latest value per key at its original offset,
 * tombstones kept while younger than delete.retention.ms, producers' last batches and control
 * batches kept, compressed batches recompressed, and nothing at or above the high watermark or
 * inside min.compaction.lag.ms read or rewritten. Every test checks what must stay.
 */
import t from 'tap'
import { openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { compress, type CompressionType, CODEC_IDS } from '../../../src/client/compression.ts'
import { scanBatchesVerified } from '../../../src/storage/batch-scan.ts'
import { forEachRecord } from '../../../src/storage/compacted-batch.ts'
import {
  cleanLog, cleanableRange, dirtyRatio, type CleanerConfig, type CleanerSegment, type CleanerView,
} from '../../../src/storage/log-cleaner.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, baseOffsetOf, compressionOf, isControl,
  lastOffsetDeltaOf, producerIdOf, recordCountOf, stampBatch, writeCrc,
} from '../../../src/storage/record-batch.ts'
import { buildRecordBatch, type BuildRecordBatchOptions } from '../../../src/storage/record-batch-builder.ts'
import { filenamePrefixFromOffset } from '../../../src/storage/segment.ts'
import { tempDir } from './helpers.ts'

const NOW = 1_700_000_000_000
const HOUR = 3_600_000
const CONFIG: CleanerConfig = { minCompactionLagMs: 0, deleteRetentionMs: HOUR, segmentBytes: 1 << 30, maxMapEntries: 1_000_000 }

type Rec = [key: string | null, value: string | null]
interface BatchSpec { records: Rec[]; codec?: CompressionType; producerId?: number; control?: boolean }

/** A batch at `baseOffset`, optionally compressed (records area replaced by its compressed form). */
function batchAt(baseOffset: number, spec: BatchSpec, timestamp: number): Buffer {
  const o: BuildRecordBatchOptions = {
    records: spec.records.map(([key, value]) => ({ key, value })), timestamp,
    ...(spec.producerId === undefined ? {} : { producerId: spec.producerId, producerEpoch: 0, baseSequence: 0 }),
    ...(spec.control === true ? { isControl: true } : {}),
  }
  let buf = buildRecordBatch(o)
  if (spec.codec !== undefined && spec.codec !== 'none') {
    const body = compress(spec.codec, buf.subarray(RECORD_BATCH_OVERHEAD))
    buf = Buffer.concat([buf.subarray(0, RECORD_BATCH_OVERHEAD), body])
    buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
    buf.writeInt16BE(buf.readInt16BE(ATTRIBUTES_OFFSET) | CODEC_IDS[spec.codec], ATTRIBUTES_OFFSET)
    writeCrc(buf, 0)
  }
  stampBatch(buf, 0, baseOffset, 0)
  return buf
}

interface Log { dir: string; segments: CleanerSegment[]; next: number }

function newLog(dir: string): Log {
  return { dir, segments: [], next: 0 }
}

/** Appends a rolled segment holding `batches`, offsets assigned in order; its records are `ageMs` old. */
function addSegment(log: Log, batches: BatchSpec[], ageMs = 2 * HOUR): CleanerSegment {
  const baseOffset = log.next
  const parts = batches.map((spec) => {
    const buf = batchAt(log.next, spec, NOW - ageMs)
    log.next += spec.records.length
    return buf
  })
  const data = Buffer.concat(parts)
  const logPath = join(log.dir, `${filenamePrefixFromOffset(baseOffset)}.log`)
  writeFileSync(logPath, data)
  const segment = { baseOffset, logPath, size: data.length, largestTimestamp: NOW - ageMs }
  log.segments.push(segment)
  return segment
}

function view(log: Log, o: Partial<CleanerView> = {}): CleanerView {
  return { segments: log.segments, activeBaseOffset: log.next, logStartOffset: 0, highWatermark: log.next, cleanedOffset: undefined, ...o }
}

interface Out { offset: number; key: string | null; value: string | null }

/** Every batch of a file (CRC-checked) with its records. */
function readBatches(path: string): Array<{ base: number; lastDelta: number; count: number; codec: string | undefined; producerId: number; control: boolean; records: Out[] }> {
  const out: ReturnType<typeof readBatches> = []
  const data = readFileSync(path)
  const fd = openSync(path, 'r')
  try {
    const scan = scanBatchesVerified(fd, 0, data.length, (buf, p, _pos, size) => {
      const batch = Buffer.from(buf.subarray(p, p + size))
      const records: Out[] = []
      if (!isControl(batch, 0)) {
        forEachRecord(batch, (r) => {
          const fields = decodeValue(r.raw)
          records.push({ offset: r.offset, key: r.key === null ? null : r.key.toString(), value: fields })
        })
      }
      out.push({ base: baseOffsetOf(batch, 0), lastDelta: lastOffsetDeltaOf(batch, 0), count: recordCountOf(batch, 0), codec: compressionOf(batch, 0), producerId: producerIdOf(batch, 0), control: isControl(batch, 0), records })
      return true
    })
    if (scan.validEnd !== data.length) throw new Error(`bad batch in ${path}: ${scan.reason}`)
  } finally {
    closeSync(fd)
  }
  return out
}

/** The value of a raw record (tests only; small varints). */
function decodeValue(raw: Buffer): string | null {
  let pos = 0
  const varint = (): number => {
    let v = 0
    let shift = 0
    for (;;) {
      const b = raw[pos++]!
      v |= (b & 0x7f) << shift
      if ((b & 0x80) === 0) return (v >>> 1) ^ -(v & 1)
      shift += 7
    }
  }
  varint(); pos++; varint(); varint()
  const keyLength = varint()
  if (keyLength > 0) pos += keyLength
  const valueLength = varint()
  return valueLength < 0 ? null : raw.subarray(pos, pos + valueLength).toString()
}

const records = (path: string): string[] => readBatches(path).flatMap((b) => b.records.map((r) => `${r.offset}:${r.key}=${r.value}`))

t.test('keeps the latest value per key at its original offset', async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1']] }, { records: [['c', 'c1']] }])
  addSegment(log, [{ records: [['a', 'a2'], ['d', 'd1']] }, { records: [['b', 'b2']] }])
  const result = cleanLog(log.dir, view(log), CONFIG, NOW)!
  t.ok(result)
  t.equal(result.endOffset, 6, 'everything below the HW is clean now')
  t.equal(result.groups.length, 1, 'both segments fit one cleaned file')
  const group = result.groups[0]!
  t.same(group.replaces, [0, 3])
  t.ok(group.cleanedPath.endsWith('00000000000000000000.log.cleaned'))
  t.same(records(group.cleanedPath), ['2:c=c1', '3:a=a2', '4:d=d1', '5:b=b2'])
  const batches = readBatches(group.cleanedPath)
  t.same(batches.map((b) => [b.base, b.lastDelta, b.count]), [[2, 0, 1], [3, 1, 2], [5, 0, 1]],
    'batches keep baseOffset and lastOffsetDelta; the emptied first batch is gone')
  t.equal(result.recordsKept, 4)
  t.equal(result.recordsRead, 6)
  t.ok(existsSync(log.segments[0]!.logPath) && existsSync(log.segments[1]!.logPath), 'the original segments are untouched')
})

t.test('nothing at or above the high watermark or inside min.compaction.lag.ms is touched', async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1']] }])
  addSegment(log, [{ records: [['a', 'a2']] }])
  addSegment(log, [{ records: [['a', 'a3'], ['b', 'b3']] }], 0)
  const before = log.segments.map((s) => readFileSync(s.logPath))

  const belowHw = cleanLog(log.dir, view(log, { highWatermark: 2 }), CONFIG, NOW)!
  t.equal(belowHw.endOffset, 2, 'only the first segment lies wholly below the HW')
  t.same(belowHw.groups.map((g) => g.replaces), [[0]])
  t.same(records(belowHw.groups[0]!.cleanedPath), ['0:a=a1', '1:b=b1'], 'a2 above the HW does not supersede a1')

  const lag = cleanLog(log.dir, view(log), { ...CONFIG, minCompactionLagMs: HOUR }, NOW)!
  t.equal(lag.endOffset, 3, 'the young third segment is not cleanable')
  t.same(lag.groups.map((g) => g.replaces), [[0, 2]])
  t.same(records(lag.groups[0]!.cleanedPath), ['1:b=b1', '2:a=a2'])

  t.equal(cleanLog(log.dir, view(log, { highWatermark: 1 }), CONFIG, NOW), null, 'no whole segment below the HW: nothing to do')
  t.same(log.segments.map((s) => readFileSync(s.logPath)), before, 'source files unchanged')
})

t.test('tombstones stay while younger than delete.retention.ms, then go', async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1']] }])
  addSegment(log, [{ records: [['a', null], ['c', 'c1']] }])
  const young = cleanLog(log.dir, view(log), { ...CONFIG, deleteRetentionMs: 3 * HOUR }, NOW)!
  t.same(records(young.groups[0]!.cleanedPath), ['1:b=b1', '2:a=null', '3:c=c1'], 'the tombstone replaces a1 and stays')
  const old = cleanLog(log.dir, view(log), CONFIG, NOW)!
  t.same(records(old.groups[0]!.cleanedPath), ['1:b=b1', '3:c=c1'], 'an expired tombstone goes, with what it deleted')
})

t.test('a second pass starts at the checkpoint and still drops superseded clean records', async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1']] }])
  const first = cleanLog(log.dir, view(log), CONFIG, NOW)!
  t.equal(first.endOffset, 2)
  t.equal(cleanLog(log.dir, view(log, { cleanedOffset: 2 }), CONFIG, NOW), null, 'nothing dirty after the checkpoint')
  addSegment(log, [{ records: [['b', 'b2']] }])
  const second = cleanLog(log.dir, view(log, { cleanedOffset: 2 }), CONFIG, NOW)!
  t.equal(second.firstDirtyOffset, 2)
  t.equal(second.endOffset, 3)
  t.same(records(second.groups[0]!.cleanedPath), ['0:a=a1', '2:b=b2'])
  const range = cleanableRange(view(log, { cleanedOffset: 2 }), CONFIG, NOW)
  t.equal(range.dirtyBytes, log.segments[1]!.size)
  t.equal(range.cleanBytes, log.segments[0]!.size)
  t.ok(dirtyRatio(range) > 0 && dirtyRatio(range) < 1)
  t.equal(cleanLog(log.dir, view(log, { cleanedOffset: 2 }), { ...CONFIG, minCleanableDirtyRatio: dirtyRatio(range) + 0.01 }, NOW), null,
    'no pass below min.cleanable.dirty.ratio')
  t.ok(cleanLog(log.dir, view(log, { cleanedOffset: 2 }), { ...CONFIG, minCleanableDirtyRatio: dirtyRatio(range) }, NOW), 'a pass at the ratio')
})

t.test("a producer's last batch and control batches are kept; keyless records are not", async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1']], producerId: 7 }, { records: [['a', 'a2']], producerId: 8 }, { records: [['x', 'x1']] }])
  addSegment(log, [{ records: [['a', 'a3'], ['x', 'x2']], producerId: 8 }, { records: [['t', 'c']], control: true }, { records: [[null, 'keyless']] }])
  const result = cleanLog(log.dir, view(log), CONFIG, NOW)!
  const batches = readBatches(result.groups[0]!.cleanedPath)
  t.same(batches.map((b) => [b.base, b.lastDelta, b.count, b.producerId, b.control]), [
    [0, 0, 0, 7, false], // producer 7's only batch: its record is superseded, its header stays
    [3, 1, 2, 8, false],
    [5, 0, 1, -1, true],
    [6, 0, 0, -1, false], // the file's last batch: kept empty so the file ends at offset 7
  ])
  t.same(records(result.groups[0]!.cleanedPath), ['3:a=a3', '4:x=x2'], "producer 8's older batch and x1 are gone")
})

t.test('compressed batches are filtered and recompressed with their codec', async (t) => {
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const log = newLog(tempDir(t))
    addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1'], ['a', 'a2'], ['c', 'c1']], codec }, { records: [['b', 'b2'], ['d', 'd1']], codec }])
    const result = cleanLog(log.dir, view(log), CONFIG, NOW)!
    const batches = readBatches(result.groups[0]!.cleanedPath)
    t.same(batches.map((b) => [b.base, b.lastDelta, b.count, b.codec]), [[0, 3, 2, codec], [4, 1, 2, codec]], `${codec}: same codec, same offsets`)
    t.same(records(result.groups[0]!.cleanedPath), ['2:a=a2', '3:c=c1', '4:b=b2', '5:d=d1'], `${codec}: latest values`)
  }
})

t.test('a full offset map ends the pass early at a batch boundary; later records stay', async (t) => {
  const log = newLog(tempDir(t))
  addSegment(log, [{ records: [['a', 'a1'], ['b', 'b1']] }, { records: [['c', 'c1'], ['a', 'a2']] }])
  addSegment(log, [{ records: [['b', 'b2']] }])
  const result = cleanLog(log.dir, view(log), { ...CONFIG, maxMapEntries: 2 }, NOW)!
  t.equal(result.endOffset, 2, 'the map filled after the first batch')
  t.same(result.groups.map((g) => g.replaces), [[0]], 'only the segment below the map end is rewritten')
  t.same(records(result.groups[0]!.cleanedPath), ['0:a=a1', '1:b=b1', '2:c=c1', '3:a=a2'], 'nothing above the map end is dropped')
})

t.test('segments are grouped up to segment.bytes; each group ends where its last segment ended', async (t) => {
  const log = newLog(tempDir(t))
  for (let i = 0; i < 4; i++) addSegment(log, [{ records: [['k', `v${i}`]] }, { records: [[`u${i}`, 'x']] }])
  const segmentBytes = log.segments[0]!.size * 2
  const result = cleanLog(log.dir, view(log), { ...CONFIG, segmentBytes }, NOW)!
  t.same(result.groups.map((g) => g.replaces), [[0, 2], [4, 6]])
  for (const group of result.groups) {
    const batches = readBatches(group.cleanedPath)
    const last = batches.at(-1)!
    t.equal(last.base + last.lastDelta + 1, group.replaces.at(-1)! + 2, 'the cleaned file ends at the original end offset')
  }
  t.same(result.groups.flatMap((g) => records(g.cleanedPath)), ['1:u0=x', '3:u1=x', '5:u2=x', '6:k=v3', '7:u3=x'])
})
