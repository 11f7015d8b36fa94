/**
 * RecordBatch v2 (magic 2) header layout, accessors and produce-path validation.
 *
 * All accessors work on a Buffer at a byte position, so a batch is never decoded into
 * an object: the broker validates a produced batch in place, stamps baseOffset and
 * partitionLeaderEpoch (both outside the CRC) and appends the bytes unchanged.
 * int64 fields are carried as JS numbers; readers return NaN when a value is outside
 * the safe-integer range so callers can refuse it instead of silently rounding.
 */
import { crc32c } from '@node-rs/crc32'
import { assert, assertSafeInteger } from '../lib/assert.ts'

// Byte offsets inside a batch (DefaultRecordBatch).
export const BASE_OFFSET_OFFSET = 0
export const BATCH_LENGTH_OFFSET = 8
export const PARTITION_LEADER_EPOCH_OFFSET = 12
export const MAGIC_OFFSET = 16
export const CRC_OFFSET = 17
export const ATTRIBUTES_OFFSET = 21
export const LAST_OFFSET_DELTA_OFFSET = 23
export const BASE_TIMESTAMP_OFFSET = 27
export const MAX_TIMESTAMP_OFFSET = 35
export const PRODUCER_ID_OFFSET = 43
export const PRODUCER_EPOCH_OFFSET = 51
export const BASE_SEQUENCE_OFFSET = 53
export const RECORDS_COUNT_OFFSET = 57
/** Size of the batch header; the first record starts here. */
export const RECORD_BATCH_OVERHEAD = 61
/** baseOffset + batchLength: the part not counted by batchLength. */
export const LOG_OVERHEAD = 12
/** Smallest batchLength AK's log input stream accepts before looking further (LegacyRecord.RECORD_OVERHEAD_V0). */
const MIN_BATCH_LENGTH_ANY_MAGIC = 14

export const CURRENT_MAGIC = 2
export const NO_TIMESTAMP = -1
export const NO_PRODUCER_ID = -1
export const NO_SEQUENCE = -1

const COMPRESSION_MASK = 0x07
const TIMESTAMP_TYPE_MASK = 0x08
const TRANSACTIONAL_FLAG = 0x10
const CONTROL_FLAG = 0x20

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
const CODECS: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

const TWO_32 = 4294967296

/** Reads a big-endian int64 as a number; NaN if it is not a safe integer. */
export function readInt64(buf: Buffer, pos: number): number {
  const hi = buf.readInt32BE(pos)
  // |hi| < 2^21 keeps hi * 2^32 + lo below 2^53 (exactly representable).
  if (hi >= 0x200000 || hi < -0x200000) return Number.NaN
  return hi * TWO_32 + buf.readUInt32BE(pos + 4)
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  assertSafeInteger(value, 'int64 value')
  const hi = Math.floor(value / TWO_32)
  buf.writeInt32BE(hi, pos)
  buf.writeUInt32BE(value - hi * TWO_32, pos + 4)
}

export const baseOffsetOf = (b: Buffer, p: number): number => readInt64(b, p + BASE_OFFSET_OFFSET)
export const batchLengthOf = (b: Buffer, p: number): number => b.readInt32BE(p + BATCH_LENGTH_OFFSET)
/** Whole size of the batch in bytes, header included. */
export const batchSizeOf = (b: Buffer, p: number): number => LOG_OVERHEAD + b.readInt32BE(p + BATCH_LENGTH_OFFSET)
export const partitionLeaderEpochOf = (b: Buffer, p: number): number => b.readInt32BE(p + PARTITION_LEADER_EPOCH_OFFSET)
export const magicOf = (b: Buffer, p: number): number => b.readInt8(p + MAGIC_OFFSET)
export const crcOf = (b: Buffer, p: number): number => b.readUInt32BE(p + CRC_OFFSET)
export const attributesOf = (b: Buffer, p: number): number => b.readInt16BE(p + ATTRIBUTES_OFFSET)
export const lastOffsetDeltaOf = (b: Buffer, p: number): number => b.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET)
export const baseTimestampOf = (b: Buffer, p: number): number => readInt64(b, p + BASE_TIMESTAMP_OFFSET)
export const maxTimestampOf = (b: Buffer, p: number): number => readInt64(b, p + MAX_TIMESTAMP_OFFSET)
export const producerIdOf = (b: Buffer, p: number): number => readInt64(b, p + PRODUCER_ID_OFFSET)
export const producerEpochOf = (b: Buffer, p: number): number => b.readInt16BE(p + PRODUCER_EPOCH_OFFSET)
export const baseSequenceOf = (b: Buffer, p: number): number => b.readInt32BE(p + BASE_SEQUENCE_OFFSET)
export const recordCountOf = (b: Buffer, p: number): number => b.readInt32BE(p + RECORDS_COUNT_OFFSET)
/** baseOffset + lastOffsetDelta. */
export const lastOffsetOf = (b: Buffer, p: number): number => baseOffsetOf(b, p) + lastOffsetDeltaOf(b, p)

/** Codec id from attributes; undefined for ids AK does not know (5..7). */
export function compressionOf(b: Buffer, p: number): CompressionType | undefined {
  return CODECS[attributesOf(b, p) & COMPRESSION_MASK]
}
export const isTransactional = (b: Buffer, p: number): boolean => (attributesOf(b, p) & TRANSACTIONAL_FLAG) !== 0
export const isControl = (b: Buffer, p: number): boolean => (attributesOf(b, p) & CONTROL_FLAG) !== 0
export const isLogAppendTime = (b: Buffer, p: number): boolean => (attributesOf(b, p) & TIMESTAMP_TYPE_MASK) !== 0

/** CRC-32C over attributes..end of the batch at `pos` (the range the stored crc covers). */
export function computeCrc(buf: Buffer, pos: number): number {
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + batchSizeOf(buf, pos))) >>> 0
}
export function writeCrc(buf: Buffer, pos: number): void {
  buf.writeUInt32BE(computeCrc(buf, pos), pos + CRC_OFFSET)
}
export function isCrcValid(buf: Buffer, pos: number): boolean {
  return computeCrc(buf, pos) === crcOf(buf, pos)
}

/** Writes baseOffset and partitionLeaderEpoch in place; both are outside the CRC, so it stays valid. */
export function stampBatch(buf: Buffer, pos: number, baseOffset: number, partitionLeaderEpoch: number): void {
  assert(baseOffset >= 0, `baseOffset must be >= 0, got ${baseOffset}`)
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset)
  buf.writeInt32BE(partitionLeaderEpoch, pos + PARTITION_LEADER_EPOCH_OFFSET)
}

/** LogAppendTime: sets the timestamp-type bit and maxTimestamp = ts, then recomputes the CRC (both are covered by it). */
export function setLogAppendTime(buf: Buffer, pos: number, timestamp: number): void {
  buf.writeInt16BE(attributesOf(buf, pos) | TIMESTAMP_TYPE_MASK, pos + ATTRIBUTES_OFFSET)
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp)
  writeCrc(buf, pos)
}

/** CreateTime: AK rewrites maxTimestamp to the largest record timestamp when the producer got it wrong. */
export function setMaxTimestamp(buf: Buffer, pos: number, timestamp: number): void {
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp)
  writeCrc(buf, pos)
}

export type BatchValidationError = 'corrupt_message' | 'invalid_record'

/** What the produce path needs to know about a validated batch. One object per produce, none per record. */
export interface BatchSummary {
  sizeInBytes: number
  recordCount: number
  lastOffsetDelta: number
  compression: CompressionType
  isTransactional: boolean
  logAppendTime: boolean
  producerId: number
  producerEpoch: number
  baseSequence: number
  baseTimestamp: number
  /** maxTimestamp as written by the producer. */
  maxTimestamp: number
  /** Smallest/largest record timestamp from the record walk; header values for compressed batches. */
  minRecordTimestamp: number
  maxRecordTimestamp: number
  /** Records with a null key (refused on compacted topics); -1 for compressed batches (not walked). */
  keylessRecords: number
}

export type ValidationResult = { ok: BatchSummary } | { error: BatchValidationError; message: string }

const fail = (error: BatchValidationError, message: string): ValidationResult => ({ error, message })

/**
 * Checks the framing of a batch at `pos` inside [pos, end): sizes, magic and CRC.
 * Returns null when the batch is whole and intact; used by the produce path and by recovery.
 */
export function checkBatchFraming(buf: Buffer, pos: number, end: number): { error: BatchValidationError; message: string } | null {
  if (end - pos < LOG_OVERHEAD) return { error: 'corrupt_message', message: 'truncated batch header' }
  const batchLength = batchLengthOf(buf, pos)
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    return { error: 'corrupt_message', message: `batch length ${batchLength} is smaller than the v2 header` }
  }
  if (pos + LOG_OVERHEAD + batchLength > end) return { error: 'corrupt_message', message: 'truncated batch' }
  if (magicOf(buf, pos) !== CURRENT_MAGIC) return { error: 'corrupt_message', message: `magic ${magicOf(buf, pos)}` }
  if (!isCrcValid(buf, pos)) return { error: 'corrupt_message', message: 'batch CRC-32C mismatch' }
  return null
}

/**
 * Validates the `records` of one partition in a Produce request (v3+), in AK's order:
 * - ProduceRequest.validateRecords: at least one whole batch, magic 2, exactly one batch
 *   per partition (idempotent and transactional producers rely on it) → INVALID_RECORD;
 * - DefaultRecordBatch.ensureValid: size and CRC-32C → CORRUPT_MESSAGE;
 * - LogValidator.validateBatch: offset range vs count, no control bit from clients,
 *   producer id with a sequence → INVALID_RECORD;
 * - for uncompressed batches, the record framing (allocation-free walk) → INVALID_RECORD.
 * Compressed batches are checked by their header only.
 */
export function validateProducedRecords(buf: Buffer): ValidationResult {
  const end = buf.length
  if (end < LOG_OVERHEAD) return fail('invalid_record', 'produce records must hold at least one record batch')
  const batchLength = batchLengthOf(buf, 0)
  if (batchLength < MIN_BATCH_LENGTH_ANY_MAGIC) return fail('corrupt_message', `record size ${batchLength} is too small`)
  if (LOG_OVERHEAD + batchLength > end || end < MAGIC_OFFSET + 1) {
    return fail('invalid_record', 'produce records must hold at least one whole record batch')
  }
  const magic = magicOf(buf, 0)
  if (magic < 0 || magic > CURRENT_MAGIC) return fail('corrupt_message', `invalid magic ${magic}`)
  if (magic !== CURRENT_MAGIC) return fail('invalid_record', 'produce v3+ only allows record batches with magic 2')
  const size = LOG_OVERHEAD + batchLength
  if (size < end) {
    // AK counts a second whole batch as "more than one batch"; it silently trims a partial tail.
    // We refuse the partial tail too: appending bytes the client did not frame is never right.
    if (end - size >= LOG_OVERHEAD && size + LOG_OVERHEAD + batchLengthOf(buf, size) <= end) {
      return fail('invalid_record', 'produce v3+ only allows exactly one record batch per partition')
    }
    return fail('corrupt_message', 'trailing bytes after the record batch')
  }
  const framing = checkBatchFraming(buf, 0, end)
  if (framing !== null) return framing
  return validateBatchFields(buf, size)
}

function validateBatchFields(buf: Buffer, size: number): ValidationResult {
  const recordCount = recordCountOf(buf, 0)
  const lastOffsetDelta = lastOffsetDeltaOf(buf, 0)
  if (lastOffsetDelta + 1 <= 0) return fail('invalid_record', 'batch has an invalid offset range')
  if (recordCount !== lastOffsetDelta + 1) return fail('invalid_record', 'inconsistent batch offset range and record count')
  if (isControl(buf, 0)) return fail('invalid_record', 'clients may not produce control batches')
  const compression = compressionOf(buf, 0)
  if (compression === undefined) return fail('corrupt_message', `unknown compression codec ${attributesOf(buf, 0) & 7}`)
  const producerId = producerIdOf(buf, 0)
  const baseSequence = baseSequenceOf(buf, 0)
  if (Number.isNaN(producerId)) return fail('invalid_record', 'producer id out of range')
  if (producerId >= 0 && baseSequence < 0) return fail('invalid_record', 'producer id set without a base sequence')
  const baseTimestamp = baseTimestampOf(buf, 0)
  const maxTimestamp = maxTimestampOf(buf, 0)
  if (Number.isNaN(baseTimestamp) || Number.isNaN(maxTimestamp)) return fail('invalid_record', 'timestamp out of range')
  const summary: BatchSummary = {
    sizeInBytes: size, recordCount, lastOffsetDelta, compression,
    isTransactional: isTransactional(buf, 0), logAppendTime: isLogAppendTime(buf, 0),
    producerId, producerEpoch: producerEpochOf(buf, 0), baseSequence,
    baseTimestamp, maxTimestamp, minRecordTimestamp: baseTimestamp, maxRecordTimestamp: maxTimestamp, keylessRecords: -1,
  }
  if (compression !== 'none') return { ok: summary }
  const walkError = walkRecords(buf, 0, size, recordCount, baseTimestamp)
  if (walkError !== null) return fail('invalid_record', walkError)
  summary.minRecordTimestamp = walkMinTimestamp
  summary.maxRecordTimestamp = walkMaxTimestamp
  summary.keylessRecords = walkKeylessRecords
  return { ok: summary }
}

// --- Allocation-free record walk -------------------------------------------------------
// The cursor lives in module state (one thread, no re-entrancy) so the varint readers
// return plain numbers and nothing is allocated per record.
let cursor = 0
let malformed = false
let walkMinTimestamp = 0
let walkMaxTimestamp = 0
let walkKeylessRecords = 0

/** Zigzag varint (int32), bounded by `limit`. Sets `malformed` on overrun or > 5 bytes. */
function readVarint(buf: Buffer, limit: number): number {
  let raw = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor >= limit) break
    const b = buf[cursor++]!
    raw |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1)
  }
  malformed = true
  return 0
}

/** Zigzag varlong as a number; marks values beyond 2^53 as malformed. */
function readVarlong(buf: Buffer, limit: number): number {
  let raw = 0
  let scale = 1
  for (let i = 0; i < 10; i++) {
    if (cursor >= limit) break
    const b = buf[cursor++]!
    raw += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (raw > Number.MAX_SAFE_INTEGER) break
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
    }
    scale *= 128
  }
  malformed = true
  return 0
}

/** Skips a length-prefixed byte field; `minLength` is -1 where null is allowed, 0 otherwise. */
function skipBytes(buf: Buffer, limit: number, minLength: number): void {
  const length = readVarint(buf, limit)
  if (malformed || length < minLength || cursor + Math.max(length, 0) > limit) malformed = true
  else if (length > 0) cursor += length
}

/**
 * Walks the DefaultRecord framing of an uncompressed batch: each record's length must frame
 * exactly its fields, offsetDelta must run 0..n-1, and the records must fill the batch.
 * Returns an error message or null; min/max record timestamps are left in module state.
 */
function walkRecords(buf: Buffer, pos: number, size: number, recordCount: number, baseTimestamp: number): string | null {
  const end = pos + size
  cursor = pos + RECORD_BATCH_OVERHEAD
  malformed = false
  walkMinTimestamp = Number.MAX_SAFE_INTEGER
  walkMaxTimestamp = NO_TIMESTAMP
  walkKeylessRecords = 0
  for (let i = 0; i < recordCount; i++) {
    const length = readVarint(buf, end)
    if (malformed || length <= 0 || cursor + length > end) return `record ${i} has an invalid size`
    const recordEnd = cursor + length
    cursor++ // attributes (unused in v2)
    const timestampDelta = readVarlong(buf, recordEnd)
    const offsetDelta = readVarint(buf, recordEnd)
    if (!malformed && offsetDelta !== i) return `record ${i} has offset delta ${offsetDelta}`
    if (buf[cursor] === 1) walkKeylessRecords++ // a null key is the varint -1: the single byte 0x01
    skipBytes(buf, recordEnd, -1) // key
    skipBytes(buf, recordEnd, -1) // value
    const headerCount = readVarint(buf, recordEnd)
    if (headerCount < 0) malformed = true
    for (let h = 0; h < headerCount && !malformed; h++) {
      skipBytes(buf, recordEnd, 0) // header key: never null
      skipBytes(buf, recordEnd, -1) // header value
    }
    if (malformed || cursor !== recordEnd) return `record ${i} has an invalid structure`
    const timestamp = baseTimestamp + timestampDelta
    if (timestamp < walkMinTimestamp) walkMinTimestamp = timestamp
    if (timestamp > walkMaxTimestamp) walkMaxTimestamp = timestamp
  }
  if (cursor !== end) return 'incorrect declared batch size, bytes remain after the last record'
  if (recordCount === 0) walkMinTimestamp = NO_TIMESTAMP
  return null
}
