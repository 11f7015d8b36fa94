/**
 * Record-level work on one stored RecordBatch for the log cleaner: walking its records (key,
 * null value, offset, raw bytes) and rewriting it with only some of them.
 *
 * A rewritten batch keeps every header field that places it in the log — baseOffset,
 * lastOffsetDelta, baseTimestamp, maxTimestamp, partitionLeaderEpoch, producer id/epoch/base
 * sequence, attributes — and only `batchLength`, `recordCount` and the CRC change. Because
 * baseOffset and baseTimestamp stay, a kept record's bytes (its offset and timestamp deltas)
 * are copied unchanged: offsets never move (Kafka's cleaner keeps the same invariant).
 * Compressed batches are decompressed, filtered and recompressed with the same codec.
 */
import { decompress, compress } from '../client/compression.ts'
import { assert } from '../lib/assert.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD, attributesOf,
  baseOffsetOf, batchSizeOf, compressionOf, recordCountOf, writeCrc,
} from './record-batch.ts'

const COMPRESSION_MASK = 0x07

/** One record of a batch, as the cleaner needs it. `raw` is the whole record (length varint included). */
export interface RecordView {
  offset: number
  /** null for a keyless record. */
  key: Buffer | null
  /** A tombstone: the value is null. */
  isTombstone: boolean
  raw: Buffer
}

class Cursor {
  pos: number
  readonly buf: Buffer
  constructor(buf: Buffer, pos: number) {
    this.buf = buf
    this.pos = pos
  }

  /** Zigzag varint/varlong as a number (record fields stay far below 2^53). */
  varlong(): number {
    let raw = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++]
      if (b === undefined) throw new RangeError('record varint runs past the batch')
      raw += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
      scale *= 128
    }
    throw new RangeError('record varint longer than 10 bytes')
  }

  /** A length-prefixed field: null (length -1) or a view of its bytes. */
  bytes(): Buffer | null {
    const length = this.varlong()
    if (length < 0) return null
    if (this.pos + length > this.buf.length) throw new RangeError('record field runs past the batch')
    const out = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }
}

/** The records area of a batch: the bytes after the header, decompressed when needed. */
export function recordsArea(batch: Buffer): Buffer {
  const codec = compressionOf(batch, 0)
  if (codec === undefined) throw new RangeError(`unknown compression codec ${attributesOf(batch, 0) & COMPRESSION_MASK}`)
  const body = batch.subarray(RECORD_BATCH_OVERHEAD, batchSizeOf(batch, 0))
  return codec === 'none' ? body : decompress(codec, body)
}

/** Calls `visit` for each record of the batch at position 0 of `batch` (a whole batch, CRC already checked). */
export function forEachRecord(batch: Buffer, visit: (record: RecordView) => void): void {
  const area = recordsArea(batch)
  const baseOffset = baseOffsetOf(batch, 0)
  const count = recordCountOf(batch, 0)
  const c = new Cursor(area, 0)
  for (let i = 0; i < count; i++) {
    const start = c.pos
    const length = c.varlong()
    const end = c.pos + length
    if (length <= 0 || end > area.length) throw new RangeError(`record ${i} of the batch at ${baseOffset} has an invalid size`)
    c.pos++ // record attributes (unused in v2)
    c.varlong() // timestamp delta
    const offset = baseOffset + c.varlong()
    const key = c.bytes()
    const value = c.bytes()
    visit({ offset, key, isTombstone: value === null, raw: area.subarray(start, end) })
    c.pos = end
  }
}

/**
 * The batch with only the records `keep` accepts, or null when none is kept and `keepEmpty` is
 * false. With `keepEmpty` an empty batch (recordCount 0, uncompressed, same header otherwise)
 * stands in for it: Kafka keeps such a header for a producer's last batch (producer state is
 * rebuilt from headers) and we also keep one to end a cleaned segment at its original offset.
 * A batch that keeps every record is returned as it is (the same Buffer).
 */
export function filterBatch(batch: Buffer, keep: (record: RecordView) => boolean, keepEmpty: boolean): Buffer | null {
  const kept: Buffer[] = []
  let total = 0
  let keptBytes = 0
  forEachRecord(batch, (record) => {
    total++
    if (!keep(record)) return
    kept.push(record.raw)
    keptBytes += record.raw.length
  })
  if (kept.length === total) return batch
  if (kept.length === 0 && !keepEmpty) return null
  const codec = kept.length === 0 ? 'none' : compressionOf(batch, 0)!
  const records = Buffer.concat(kept, keptBytes)
  const body = codec === 'none' ? records : compress(codec, records)
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + body.length)
  batch.copy(out, 0, 0, RECORD_BATCH_OVERHEAD)
  body.copy(out, RECORD_BATCH_OVERHEAD)
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
  out.writeInt32BE(kept.length, RECORDS_COUNT_OFFSET)
  if (codec === 'none') out.writeInt16BE(attributesOf(batch, 0) & ~COMPRESSION_MASK, ATTRIBUTES_OFFSET)
  writeCrc(out, 0)
  assert(batchSizeOf(out, 0) === out.length, 'rewritten batch length mismatch')
  return out
}

/**
 * Keyless records in a produced batch, for the compacted-topic check on the append path: the
 * allocation-free walk counted them for uncompressed batches; a compressed batch is decompressed
 * here (only for compacted topics). A batch whose records cannot be decoded counts as keyless,
 * so it is refused as INVALID_RECORD too.
 */
export function keylessRecordsOf(batch: Buffer, summary: { keylessRecords: number }): number {
  if (summary.keylessRecords >= 0) return summary.keylessRecords
  let keyless = 0
  try {
    forEachRecord(batch, (record) => {
      if (record.key === null) keyless++
    })
  } catch {
    return 1
  }
  return keyless
}
