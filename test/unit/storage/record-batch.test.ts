import t from 'tap'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, CRC_OFFSET, LAST_OFFSET_DELTA_OFFSET, MAGIC_OFFSET, RECORDS_COUNT_OFFSET, RECORD_BATCH_OVERHEAD,
  baseOffsetOf, isCrcValid, isLogAppendTime, maxTimestampOf, partitionLeaderEpochOf, readInt64, setLogAppendTime, stampBatch,
  validateProducedRecords, writeCrc, writeInt64,
} from '../../../src/storage/record-batch.ts'

const sample = (): Buffer => buildRecordBatch({
  records: [
    { key: 'k1', value: 'hello', timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: 'v' }, { key: 'n', value: null }] },
    { key: null, value: 'world', timestamp: 1_700_000_000_500 },
    { key: 'k3', value: null, timestamp: 1_699_999_999_000 },
  ],
  producerId: 42, producerEpoch: 1, baseSequence: 7,
})

t.test('builder output validates and decodes back', async (t) => {
  const buf = sample()
  const v = validateProducedRecords(buf)
  t.ok('ok' in v, 'valid batch')
  if (!('ok' in v)) return
  t.equal(v.ok.recordCount, 3)
  t.equal(v.ok.lastOffsetDelta, 2)
  t.equal(v.ok.producerId, 42)
  t.equal(v.ok.producerEpoch, 1)
  t.equal(v.ok.baseSequence, 7)
  t.equal(v.ok.compression, 'none')
  t.equal(v.ok.sizeInBytes, buf.length)
  t.equal(v.ok.minRecordTimestamp, 1_699_999_999_000)
  t.equal(v.ok.maxRecordTimestamp, 1_700_000_000_500)
  t.equal(v.ok.maxTimestamp, 1_700_000_000_500)
  const [batch] = decodeRecordBatches(buf)
  t.equal(batch!.records.length, 3)
  t.same(batch!.records.map((r) => r.key?.toString() ?? null), ['k1', null, 'k3'])
  t.same(batch!.records.map((r) => r.value?.toString() ?? null), ['hello', 'world', null])
  t.same(batch!.records[0]!.headers.map((h) => [h.key, h.value?.toString() ?? null]), [['h', 'v'], ['n', null]])
  t.same(batch!.records.map((r) => r.offset), [0, 1, 2])
})

t.test('a flipped payload bit is corrupt_message', async (t) => {
  const buf = sample()
  buf[buf.length - 3]! ^= 0x01
  const v = validateProducedRecords(buf)
  t.same('error' in v && v.error, 'corrupt_message')
})

t.test('stamping baseOffset and leader epoch keeps the CRC valid', async (t) => {
  const buf = sample()
  stampBatch(buf, 0, 123_456_789_012, 9)
  t.equal(baseOffsetOf(buf, 0), 123_456_789_012)
  t.equal(partitionLeaderEpochOf(buf, 0), 9)
  t.ok(isCrcValid(buf, 0))
  t.ok('ok' in validateProducedRecords(buf))
})

t.test('LogAppendTime sets the attribute bit and maxTimestamp and recomputes the CRC', async (t) => {
  const buf = sample()
  setLogAppendTime(buf, 0, 1_800_000_000_000)
  t.ok(isLogAppendTime(buf, 0))
  t.equal(maxTimestampOf(buf, 0), 1_800_000_000_000)
  t.ok(isCrcValid(buf, 0))
})

t.test('record framing errors are invalid_record', async (t) => {
  const badDeltas = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], offsetDeltas: [0, 5] })
  t.same(validateProducedRecords(badDeltas), { error: 'invalid_record', message: 'record 1 has offset delta 5' })

  const swapped = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], offsetDeltas: [1, 0] })
  t.match(validateProducedRecords(swapped), { error: 'invalid_record' })

  // recordCount says 3 but only 2 records: count mismatch with lastOffsetDelta.
  const count = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] })
  count.writeInt32BE(3, RECORDS_COUNT_OFFSET)
  writeCrc(count, 0)
  t.match(validateProducedRecords(count), { error: 'invalid_record', message: /inconsistent/ })

  // Both say 3: the walk runs out of bytes.
  count.writeInt32BE(2, LAST_OFFSET_DELTA_OFFSET)
  writeCrc(count, 0)
  t.match(validateProducedRecords(count), { error: 'invalid_record', message: /record 2/ })

  // A record length that overruns the batch.
  const overrun = buildRecordBatch({ records: [{ value: 'abc' }] })
  overrun[RECORD_BATCH_OVERHEAD] = 0x7e // zigzag 63: far more than the record holds
  writeCrc(overrun, 0)
  t.match(validateProducedRecords(overrun), { error: 'invalid_record' })

  // Extra bytes after the last record inside the batch.
  const padded = Buffer.concat([buildRecordBatch({ records: [{ value: 'abc' }] }), Buffer.from([0, 0])])
  padded.writeInt32BE(padded.length - 12, BATCH_LENGTH_OFFSET)
  writeCrc(padded, 0)
  t.match(validateProducedRecords(padded), { error: 'invalid_record', message: /remain/ })

  // A key length below -1.
  const negKey = buildRecordBatch({ records: [{ key: null, value: 'v' }] })
  // record: len, attr, tsDelta, offsetDelta, keyLen (zigzag -1 = 0x01) → make it -2 (0x03)
  t.equal(negKey[RECORD_BATCH_OVERHEAD + 4], 0x01)
  negKey[RECORD_BATCH_OVERHEAD + 4] = 0x03
  writeCrc(negKey, 0)
  t.match(validateProducedRecords(negKey), { error: 'invalid_record' })
})

t.test('batch-level checks follow AK', async (t) => {
  const truncated = sample().subarray(0, 40)
  t.match(validateProducedRecords(truncated), { error: 'invalid_record' }, 'no whole batch')
  t.match(validateProducedRecords(Buffer.alloc(0)), { error: 'invalid_record' })

  const two = Buffer.concat([sample(), sample()])
  t.match(validateProducedRecords(two), { error: 'invalid_record', message: /exactly one/ })

  const tail = Buffer.concat([sample(), Buffer.from([1, 2, 3])])
  t.match(validateProducedRecords(tail), { error: 'corrupt_message' })

  const v1 = sample()
  v1[MAGIC_OFFSET] = 1
  t.match(validateProducedRecords(v1), { error: 'invalid_record', message: /magic 2/ })
  v1[MAGIC_OFFSET] = 7
  t.match(validateProducedRecords(v1), { error: 'corrupt_message' })

  const tiny = sample()
  tiny.writeInt32BE(20, BATCH_LENGTH_OFFSET)
  t.match(validateProducedRecords(tiny.subarray(0, 32)), { error: 'corrupt_message' })

  const control = buildRecordBatch({ records: [{ value: 'x' }], isControl: true })
  t.match(validateProducedRecords(control), { error: 'invalid_record', message: /control/ })

  const noSeq = buildRecordBatch({ records: [{ value: 'x' }], producerId: 5, producerEpoch: 0, baseSequence: -1 })
  t.match(validateProducedRecords(noSeq), { error: 'invalid_record', message: /sequence/ })

  const badCrcField = sample()
  badCrcField.writeUInt32BE(0, CRC_OFFSET)
  t.match(validateProducedRecords(badCrcField), { error: 'corrupt_message', message: /CRC/ })
})

t.test('compressed batches are checked by their header only', async (t) => {
  const buf = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] })
  // Pretend gzip: the record walk must not run (the payload is not valid gzip, nor checked).
  buf.writeInt16BE(1, ATTRIBUTES_OFFSET)
  buf[RECORD_BATCH_OVERHEAD] = 0xff
  writeCrc(buf, 0)
  const v = validateProducedRecords(buf)
  t.ok('ok' in v)
  if ('ok' in v) t.equal(v.ok.compression, 'gzip')
  buf.writeInt16BE(6, ATTRIBUTES_OFFSET)
  writeCrc(buf, 0)
  t.match(validateProducedRecords(buf), { error: 'corrupt_message', message: /codec/ })
})

t.test('int64 helpers keep safe integers exact and refuse the rest', async (t) => {
  const b = Buffer.alloc(8)
  for (const n of [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1_700_000_000_123]) {
    writeInt64(b, 0, n)
    t.equal(readInt64(b, 0), n)
    t.equal(b.readBigInt64BE(0), BigInt(n))
  }
  b.writeBigInt64BE(2n ** 60n, 0)
  t.ok(Number.isNaN(readInt64(b, 0)))
  t.throws(() => writeInt64(b, 0, 2 ** 60))
})
