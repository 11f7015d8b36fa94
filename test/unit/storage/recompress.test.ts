/** compression.type on the append path: recompression keeps every header field and the records. */
import t from 'tap'
import { compressSync as snappyRaw } from 'snappy'
import { compress } from '../../../src/client/compression.ts'
import { recompressBatch } from '../../../src/storage/recompress.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, compressionOf, isCrcValid, writeCrc,
} from '../../../src/storage/record-batch.ts'
import { harness } from './helpers.ts'

const plain = buildRecordBatch({
  records: [{ key: 'a', value: 'x'.repeat(500) }, { key: 'b', value: null }, { key: 'c', value: 'y'.repeat(300) }],
  timestamp: 1_700_000_000_000, producerId: 42, producerEpoch: 3, baseSequence: 7,
})

/** The same batch with its records compressed by `codec` (as a client would send it). */
function compressed(codec: 'gzip' | 'snappy' | 'lz4' | 'zstd', body = compress(codec, plain.subarray(RECORD_BATCH_OVERHEAD))): Buffer {
  const out = Buffer.concat([plain.subarray(0, RECORD_BATCH_OVERHEAD), body])
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
  out.writeInt16BE((out.readInt16BE(ATTRIBUTES_OFFSET) & ~7) | { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec], ATTRIBUTES_OFFSET)
  writeCrc(out, 0)
  return out
}

/** Everything but length, attributes' codec bits, CRC and body must be equal. */
const headerSansCodec = (b: Buffer): Buffer => {
  const h = Buffer.from(b.subarray(0, RECORD_BATCH_OVERHEAD))
  h.writeInt32BE(0, BATCH_LENGTH_OFFSET)
  h.writeUInt32BE(0, CRC_OFFSET)
  h.writeInt16BE(h.readInt16BE(ATTRIBUTES_OFFSET) & ~7, ATTRIBUTES_OFFSET)
  return h
}

t.test('every codec to every codec: header fields kept, CRC valid, records the same', async (t) => {
  const sources = { none: plain, gzip: compressed('gzip'), snappy: compressed('snappy'), lz4: compressed('lz4'), zstd: compressed('zstd'),
    'raw snappy (librdkafka)': compressed('snappy', snappyRaw(plain.subarray(RECORD_BATCH_OVERHEAD))) }
  for (const [name, source] of Object.entries(sources)) {
    for (const target of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const out = recompressBatch(source, target)
      t.equal(compressionOf(out, 0), target, `${name} → ${target}: codec bits`)
      t.ok(isCrcValid(out, 0), `${name} → ${target}: CRC`)
      t.same(headerSansCodec(out), headerSansCodec(plain), `${name} → ${target}: header fields`)
      t.same(recompressBatch(out, 'none').subarray(RECORD_BATCH_OVERHEAD), plain.subarray(RECORD_BATCH_OVERHEAD), `${name} → ${target}: records`)
      if (compressionOf(source, 0) === target) t.equal(out, source, `${name} → ${target}: passed through as is`)
    }
  }
})

t.test('the log stores batches in the topic codec; producer keeps them; a broken payload is CORRUPT_MESSAGE', async (t) => {
  const h = harness(t, { compressionType: 'zstd' })
  const log = h.open()
  const r = log.append(Buffer.from(plain), 0)
  t.ok('ok' in r && r.ok.baseOffset === 0 && r.ok.lastOffset === 2)
  const read = log.read(0, 1 << 20, log.logEndOffset, true)
  t.ok('records' in read)
  const stored = (read as { records: Buffer }).records
  t.equal(compressionOf(stored, 0), 'zstd')
  t.ok(isCrcValid(stored, 0))
  const decoded = decodeRecordBatches(recompressBatch(stored, 'none'))[0]!
  t.same(decoded.records.map((x) => x.key?.toString()), ['a', 'b', 'c'])
  t.equal(decoded.baseOffset, 0)

  const broken = compressed('gzip', Buffer.from('not gzip at all'))
  const refused = log.append(broken, 0)
  t.match(refused, { error: 'corrupt_message', message: /gzip/ })
  t.equal(log.logEndOffset, 3, 'nothing appended')
  log.close()

  const keep = harness(t).open()
  const sent = compressed('lz4')
  t.ok('ok' in keep.append(Buffer.from(sent), 0))
  const kept = (keep.read(0, 1 << 20, keep.logEndOffset, true) as { records: Buffer }).records
  t.same(kept.subarray(RECORD_BATCH_OVERHEAD), sent.subarray(RECORD_BATCH_OVERHEAD), 'compression.type=producer: the client bytes as sent')
  keep.close()
})
