/**
 * Topic `compression.type` on the append path (Kafka's LogValidator recompression): a produced
 * batch whose codec differs from the topic's is rewritten with the topic's codec. Every header
 * field stays — baseOffset, lastOffsetDelta, timestamps, producer id/epoch/sequence, the
 * transactional and timestamp-type bits — and the records' bytes are the same once decoded;
 * only the codec bits, the batch length and the CRC change. A batch already in the target codec
 * is returned as it is (the same Buffer: no copy).
 */
import { compress } from '../client/compression.ts'
import { assert } from '../lib/assert.ts'
import { recordsArea } from './compacted-batch.ts'
import type { LogConfig } from './log-config.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, attributesOf, batchSizeOf, compressionOf, writeCrc,
  type CompressionType,
} from './record-batch.ts'

/** The topic setting as the log uses it: `producer` keeps what the client sent. */
export type TopicCompression = NonNullable<LogConfig['compressionType']>

const CODEC_BITS: Readonly<Record<CompressionType, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }
const COMPRESSION_MASK = 0x07

/** Kafka's topic values (`uncompressed` is the codec `none`); anything else is refused by config validation first. */
export function topicCompressionOf(value: string): TopicCompression {
  if (value === 'uncompressed') return 'none'
  assert(['producer', 'gzip', 'snappy', 'lz4', 'zstd'].includes(value), `unknown compression.type ${value}`)
  return value as TopicCompression
}

/**
 * The batch at position 0 of `batch` (a whole, CRC-checked batch) in codec `target`. Throws when
 * the producer's compressed records cannot be decompressed (the caller answers CORRUPT_MESSAGE).
 */
export function recompressBatch(batch: Buffer, target: CompressionType): Buffer {
  const codec = compressionOf(batch, 0)
  if (codec === target) return batch
  const records = recordsArea(batch)
  const body = target === 'none' ? records : compress(target, records)
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + body.length)
  batch.copy(out, 0, 0, RECORD_BATCH_OVERHEAD)
  body.copy(out, RECORD_BATCH_OVERHEAD)
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
  out.writeInt16BE((attributesOf(batch, 0) & ~COMPRESSION_MASK) | CODEC_BITS[target], ATTRIBUTES_OFFSET)
  writeCrc(out, 0)
  assert(batchSizeOf(out, 0) === out.length && compressionOf(out, 0) === target, 'recompressed batch header mismatch')
  return out
}
