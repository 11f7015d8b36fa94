/**
 * Builds uncompressed RecordBatch v2 buffers with a valid CRC-32C.
 *
 * For tests, tools and benchmarks (the broker itself never builds client batches).
 * The layout follows DefaultRecordBatch / DefaultRecord: baseTimestamp is the first
 * record's timestamp, maxTimestamp the largest, offset deltas run 0..n-1.
 */
import { assert } from '../lib/assert.ts'
import {
  ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, BATCH_LENGTH_OFFSET, CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD, writeCrc, writeInt64,
} from './record-batch.ts'

export type Bytes = Buffer | Uint8Array | string

export interface BuilderRecord {
  key?: Bytes | null
  value: Bytes | null
  headers?: ReadonlyArray<{ key: string; value: Bytes | null }>
  /** Defaults to the batch's `timestamp` option, else Date.now(). */
  timestamp?: number
}

export interface BuildRecordBatchOptions {
  records: readonly BuilderRecord[]
  baseOffset?: number
  partitionLeaderEpoch?: number
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  isTransactional?: boolean
  isControl?: boolean
  logAppendTime?: boolean
  /** Default timestamp for records that give none. */
  timestamp?: number
  /** Test hook: override each record's offsetDelta (to build invalid batches). */
  offsetDeltas?: readonly number[]
}

const toBuffer = (b: Bytes): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1
}

function varintSize(n: number): number {
  let raw = zigzag(n)
  let size = 1
  while (raw >= 128) {
    raw = Math.floor(raw / 128)
    size++
  }
  return size
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  let raw = zigzag(n)
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80
    raw = Math.floor(raw / 128)
  }
  buf[pos++] = raw
  return pos
}

function writeField(buf: Buffer, pos: number, field: Buffer | null): number {
  if (field === null) return writeVarint(buf, pos, -1)
  pos = writeVarint(buf, pos, field.length)
  field.copy(buf, pos)
  return pos + field.length
}

interface EncodedRecord {
  key: Buffer | null
  value: Buffer | null
  headers: Array<[Buffer, Buffer | null]>
  timestampDelta: number
  offsetDelta: number
  bodySize: number
}

const fieldSize = (f: Buffer | null): number => (f === null ? 1 : varintSize(f.length) + f.length)

function encodeRecord(r: BuilderRecord, timestampDelta: number, offsetDelta: number): EncodedRecord {
  const key = r.key === undefined || r.key === null ? null : toBuffer(r.key)
  const value = r.value === null ? null : toBuffer(r.value)
  const headers: Array<[Buffer, Buffer | null]> = (r.headers ?? []).map((h) => [toBuffer(h.key), h.value === null ? null : toBuffer(h.value)])
  let bodySize = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + fieldSize(key) + fieldSize(value) + varintSize(headers.length)
  for (const [hk, hv] of headers) bodySize += fieldSize(hk) + fieldSize(hv)
  return { key, value, headers, timestampDelta, offsetDelta, bodySize }
}

export function buildRecordBatch(o: BuildRecordBatchOptions): Buffer {
  assert(o.records.length > 0, 'a batch needs at least one record')
  const defaultTimestamp = o.timestamp ?? Date.now()
  const timestamps = o.records.map((r) => r.timestamp ?? defaultTimestamp)
  const baseTimestamp = timestamps[0]!
  const maxTimestamp = Math.max(...timestamps)
  const encoded = o.records.map((r, i) => encodeRecord(r, timestamps[i]! - baseTimestamp, o.offsetDeltas?.[i] ?? i))
  let size = RECORD_BATCH_OVERHEAD
  for (const e of encoded) size += varintSize(e.bodySize) + e.bodySize
  const buf = Buffer.alloc(size)
  writeInt64(buf, 0, o.baseOffset ?? 0)
  buf.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
  buf.writeInt32BE(o.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET)
  buf.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET)
  const attributes = (o.logAppendTime ? 0x08 : 0) | (o.isTransactional ? 0x10 : 0) | (o.isControl ? 0x20 : 0)
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET)
  buf.writeInt32BE(o.records.length - 1, LAST_OFFSET_DELTA_OFFSET)
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTimestamp)
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTimestamp)
  writeInt64(buf, PRODUCER_ID_OFFSET, o.producerId ?? -1)
  buf.writeInt16BE(o.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET)
  buf.writeInt32BE(o.baseSequence ?? -1, BASE_SEQUENCE_OFFSET)
  buf.writeInt32BE(o.records.length, RECORDS_COUNT_OFFSET)
  let pos = RECORD_BATCH_OVERHEAD
  for (const e of encoded) {
    pos = writeVarint(buf, pos, e.bodySize)
    buf[pos++] = 0 // record attributes
    pos = writeVarint(buf, pos, e.timestampDelta)
    pos = writeVarint(buf, pos, e.offsetDelta)
    pos = writeField(buf, pos, e.key)
    pos = writeField(buf, pos, e.value)
    pos = writeVarint(buf, pos, e.headers.length)
    for (const [hk, hv] of e.headers) {
      pos = writeField(buf, pos, hk)
      pos = writeField(buf, pos, hv)
    }
  }
  assert(pos === size, `record batch size mismatch: wrote ${pos}, expected ${size}`)
  writeCrc(buf, 0)
  return buf
}
