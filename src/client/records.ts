/**
 * Record batches on the client side: building (with any codec) and decoding (any codec).
 *
 * Built on the storage engine's uncompressed builder and reader: a compressed batch is the
 * uncompressed one with its records section compressed, the codec bits set in the attributes,
 * and the length and CRC-32C rewritten; decoding does the reverse before handing the batch to
 * the reader.
 */
import { buildRecordBatch, type BuildRecordBatchOptions } from '../storage/record-batch-builder.ts'
import { decodeRecordBatch, type DecodedBatch, type DecodedRecord } from '../storage/record-batch-reader.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, attributesOf, batchSizeOf, compressionOf,
  magicOf, writeCrc,
} from '../storage/record-batch.ts'
import { CODEC_IDS, compress, decompress, type CompressionType } from './compression.ts'
import { ClientError } from './errors.ts'

export type { DecodedBatch, DecodedRecord }

export interface BuildOptions extends BuildRecordBatchOptions {
  compression?: CompressionType
}

/** A RecordBatch v2 with a valid CRC, compressed with `compression` (default none). */
export function buildBatch(options: BuildOptions): Buffer {
  const plain = buildRecordBatch(options)
  const codec = options.compression ?? 'none'
  if (codec === 'none') return plain
  const records = compress(codec, plain.subarray(RECORD_BATCH_OVERHEAD))
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + records.length)
  plain.copy(out, 0, 0, RECORD_BATCH_OVERHEAD)
  records.copy(out, RECORD_BATCH_OVERHEAD)
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
  out.writeInt16BE(attributesOf(out, 0) | CODEC_IDS[codec], ATTRIBUTES_OFFSET)
  writeCrc(out, 0)
  return out
}

/** Decodes one batch at `pos`, decompressing its records if needed. */
export function decodeBatch(buf: Buffer, pos: number): DecodedBatch {
  const magic = magicOf(buf, pos)
  if (magic !== 2) throw new ClientError(`record batch at ${pos} has magic ${magic}; only magic 2 (Kafka 0.11+) is supported`)
  const codec = compressionOf(buf, pos)
  if (codec === undefined) throw new ClientError(`record batch at ${pos} uses an unknown compression codec`)
  if (codec === 'none') return decodeRecordBatch(buf, pos)
  const size = batchSizeOf(buf, pos)
  const records = decompress(codec, buf.subarray(pos + RECORD_BATCH_OVERHEAD, pos + size))
  const plain = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + records.length)
  buf.copy(plain, 0, pos, pos + RECORD_BATCH_OVERHEAD)
  records.copy(plain, RECORD_BATCH_OVERHEAD)
  plain.writeInt16BE(attributesOf(plain, 0) & ~0x07, ATTRIBUTES_OFFSET)
  const batch = decodeRecordBatch(plain, 0)
  batch.compression = codec
  return batch
}

/** Decodes every whole batch in `buf` (a fetch response may end with a partial one, which is skipped). */
export function decodeBatches(buf: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = []
  let pos = 0
  while (buf.length - pos >= RECORD_BATCH_OVERHEAD) {
    const size = batchSizeOf(buf, pos)
    if (size < RECORD_BATCH_OVERHEAD || pos + size > buf.length) break
    out.push(decodeBatch(buf, pos))
    pos += size
  }
  return out
}
