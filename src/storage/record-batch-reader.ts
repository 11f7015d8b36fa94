/**
 * Decoding the records of uncompressed batches into objects — for tools, tests and the rare
 * lookups that need record-level answers (ListOffsets by timestamp). Never on the produce or
 * fetch path, which stay at batch level.
 */
import {
  LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, baseOffsetOf, baseTimestampOf, batchSizeOf, compressionOf, isControl,
  isLogAppendTime, isTransactional, maxTimestampOf, partitionLeaderEpochOf, producerEpochOf, producerIdOf,
  baseSequenceOf, lastOffsetDeltaOf, recordCountOf, type CompressionType,
} from './record-batch.ts'

export interface DecodedRecord {
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  headers: Array<{ key: string; value: Buffer | null }>
}

export interface DecodedBatch {
  baseOffset: number
  lastOffsetDelta: number
  lastOffset: number
  partitionLeaderEpoch: number
  compression: CompressionType | undefined
  isTransactional: boolean
  isControl: boolean
  logAppendTime: boolean
  producerId: number
  producerEpoch: number
  baseSequence: number
  maxTimestamp: number
  /** Empty for compressed batches (decompression is not this module's job). */
  records: DecodedRecord[]
}

class Cursor {
  pos: number
  readonly buf: Buffer
  constructor(buf: Buffer, pos: number) {
    this.buf = buf
    this.pos = pos
  }
  varlong(): number {
    let raw = 0
    let scale = 1
    for (;;) {
      const b = this.buf[this.pos++]
      if (b === undefined) throw new RangeError('varint runs past the buffer')
      raw += (b & 0x7f) * scale
      if ((b & 0x80) === 0) break
      scale *= 128
    }
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
  }
  bytes(): Buffer | null {
    const length = this.varlong()
    if (length < 0) return null
    const out = this.buf.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }
}

/** Decodes every batch in `buf` (e.g. a fetch response's records). Throws on malformed input. */
export function decodeRecordBatches(buf: Buffer): DecodedBatch[] {
  const batches: DecodedBatch[] = []
  let pos = 0
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = batchSizeOf(buf, pos)
    if (pos + size > buf.length) break // a partial batch at the end (Kafka fetch responses may carry one)
    batches.push(decodeRecordBatch(buf, pos))
    pos += size
  }
  return batches
}

export function decodeRecordBatch(buf: Buffer, pos: number): DecodedBatch {
  const baseOffset = baseOffsetOf(buf, pos)
  const count = recordCountOf(buf, pos)
  const compression = compressionOf(buf, pos)
  const records: DecodedRecord[] = []
  if (compression === 'none') {
    const baseTimestamp = baseTimestampOf(buf, pos)
    const c = new Cursor(buf, pos + RECORD_BATCH_OVERHEAD)
    for (let i = 0; i < count; i++) {
      c.varlong() // length
      c.pos++ // attributes
      const timestamp = baseTimestamp + c.varlong()
      const offset = baseOffset + c.varlong()
      const key = c.bytes()
      const value = c.bytes()
      const headers: DecodedRecord['headers'] = []
      for (let h = c.varlong(); h > 0; h--) headers.push({ key: (c.bytes() ?? Buffer.alloc(0)).toString('utf8'), value: c.bytes() })
      records.push({ offset, timestamp, key, value, headers })
    }
  }
  return {
    baseOffset, lastOffsetDelta: lastOffsetDeltaOf(buf, pos), lastOffset: baseOffset + lastOffsetDeltaOf(buf, pos), partitionLeaderEpoch: partitionLeaderEpochOf(buf, pos),
    compression, isTransactional: isTransactional(buf, pos), isControl: isControl(buf, pos), logAppendTime: isLogAppendTime(buf, pos),
    producerId: producerIdOf(buf, pos), producerEpoch: producerEpochOf(buf, pos), baseSequence: baseSequenceOf(buf, pos),
    maxTimestamp: maxTimestampOf(buf, pos), records,
  }
}

/** The first record of an uncompressed batch with timestamp >= `timestamp` and offset delta >= `minOffsetDelta` (AK's LogSegment.findOffsetByTimestamp). */
export function findRecordAtOrAfterTimestamp(buf: Buffer, pos: number, timestamp: number, minOffsetDelta = 0): { offsetDelta: number; timestamp: number } | null {
  const baseTimestamp = baseTimestampOf(buf, pos)
  const count = recordCountOf(buf, pos)
  const c = new Cursor(buf, pos + RECORD_BATCH_OVERHEAD)
  for (let i = 0; i < count; i++) {
    const length = c.varlong()
    const recordEnd = c.pos + length
    c.pos++
    const recordTimestamp = baseTimestamp + c.varlong()
    const offsetDelta = c.varlong()
    if (recordTimestamp >= timestamp && offsetDelta >= minOffsetDelta) return { offsetDelta, timestamp: recordTimestamp }
    c.pos = recordEnd
  }
  return null
}
