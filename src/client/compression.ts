/**
 * Record batch compression codecs, as Kafka's clients write and read them.
 *
 * - gzip and zstd: `node:zlib` (zstd since Node 23.8 / 22.15).
 * - snappy: the `snappy` package (napi-rs; raw Snappy blocks). Kafka's Java client writes the
 *   "xerial" framing (`\x82SNAPPY\0`, version, then length-prefixed raw blocks); librdkafka
 *   writes plain raw Snappy. We write xerial framing like the Java client and read both.
 * - lz4: the `lz4-napi` package (lz4_flex). Kafka uses the LZ4 *frame* format with independent
 *   64 KiB blocks and no content checksum, which is what lz4_flex writes by default.
 *
 * Decompression is needed wherever records are shown (console-consumer, dump-log), because any
 * client may have written any codec; compression is used by console-producer and perf.
 */
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy'
import { compressFrameSync as lz4Compress, decompressFrameSync as lz4Decompress } from 'lz4-napi'
import type { CompressionType } from '../storage/record-batch.ts'
import { ClientError } from './errors.ts'

export type { CompressionType }
export const CODECS: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
export const CODEC_IDS: Readonly<Record<CompressionType, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_SIZE = 16
/** xerial's default block size (snappy-java SnappyOutputStream). */
const XERIAL_BLOCK = 32 * 1024

export function parseCodec(name: string): CompressionType {
  const codec = name.trim().toLowerCase() as CompressionType
  if (!CODECS.includes(codec)) throw new ClientError(`unknown compression codec '${name}' (expected one of ${CODECS.join(', ')})`)
  return codec
}

export function compress(codec: CompressionType, data: Buffer): Buffer {
  switch (codec) {
    case 'none': return data
    case 'gzip': return gzipSync(data)
    case 'zstd': return zstdCompressSync(data)
    case 'lz4': return lz4Compress(data)
    case 'snappy': return xerialCompress(data)
  }
}

export function decompress(codec: CompressionType, data: Buffer): Buffer {
  switch (codec) {
    case 'none': return data
    case 'gzip': return gunzipSync(data)
    case 'zstd': return zstdDecompressSync(data)
    case 'lz4': return lz4Decompress(data)
    case 'snappy': return isXerial(data) ? xerialDecompress(data) : snappyUncompress(data) as Buffer
  }
}

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, 8).equals(XERIAL_MAGIC)
}

function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = []
  const header = Buffer.alloc(XERIAL_HEADER_SIZE)
  XERIAL_MAGIC.copy(header, 0)
  header.writeInt32BE(1, 8) // version
  header.writeInt32BE(1, 12) // minimum compatible version
  parts.push(header)
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK) {
    const block = snappyCompress(data.subarray(pos, Math.min(data.length, pos + XERIAL_BLOCK)))
    const len = Buffer.allocUnsafe(4)
    len.writeInt32BE(block.length, 0)
    parts.push(len, block)
  }
  return Buffer.concat(parts)
}

function xerialDecompress(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let pos = XERIAL_HEADER_SIZE
  while (pos + 4 <= data.length) {
    const len = data.readInt32BE(pos)
    pos += 4
    if (len < 0 || pos + len > data.length) throw new ClientError('truncated xerial snappy block')
    parts.push(snappyUncompress(data.subarray(pos, pos + len)) as Buffer)
    pos += len
  }
  return Buffer.concat(parts)
}
