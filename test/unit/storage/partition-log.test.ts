import t, { type Test } from 'tap'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { recompressBatch } from '../../../src/storage/recompress.ts'
import { compressionOf } from '../../../src/storage/record-batch.ts'
import type { PartitionLog } from '../../../src/storage/partition-log.ts'
import { TOPIC_ID, batchOf, harness } from './helpers.ts'
import { waitFor } from '../../helpers/wait.ts'

function appendOk(t: Test, log: PartitionLog, buf: Buffer, epoch = 0) {
  const r = log.append(buf, epoch)
  if ('error' in r) t.fail(`append failed: ${r.error} ${r.message ?? ''}`)
  return 'ok' in r ? r.ok : { baseOffset: -1, lastOffset: -1, logAppendTime: -1, logStartOffset: -1, duplicate: false }
}

function readValues(log: PartitionLog, offset: number, maxBytes = 1 << 20, minOneBatch = true): string[] {
  const r = log.read(offset, maxBytes, log.highWatermark, minOneBatch)
  if ('error' in r) throw new Error(r.error)
  return decodeRecordBatches(r.records).flatMap((b) => b.records.map((rec) => `${rec.offset}:${rec.value}`))
}

t.test('append assigns offsets, writes Kafka file names, and reads back', async (t) => {
  const h = harness(t)
  const log = h.open()
  t.equal(log.logEndOffset, 0)
  t.equal(readFileSync(join(h.dir, 'partition.metadata'), 'utf8'), `version: 0\ntopic_id: ${TOPIC_ID}\n`)
  const a = appendOk(t, log, batchOf(3, 'a'), 5)
  t.same(a, { baseOffset: 0, lastOffset: 2, logAppendTime: -1, logStartOffset: 0, duplicate: false })
  const b = appendOk(t, log, batchOf(2, 'b'), 5)
  t.equal(b.baseOffset, 3)
  t.equal(log.logEndOffset, 5)
  t.equal(log.highWatermark, 0, 'the high watermark is not moved by append')
  t.same(readValues(log, 0), [], 'nothing above the high watermark is returned')
  log.setHighWatermark(5)
  t.same(readValues(log, 0), ['0:a-0', '1:a-1', '2:a-2', '3:b-0', '4:b-1'])
  const raw = log.read(3, 1 << 20, 5, true)
  t.ok('records' in raw && decodeRecordBatches(raw.records)[0]!.partitionLeaderEpoch === 5, 'leader epoch stamped')
  t.ok(existsSync(join(h.dir, '00000000000000000000.log')))
  t.ok(existsSync(join(h.dir, '00000000000000000000.index')))
  t.ok(existsSync(join(h.dir, '00000000000000000000.timeindex')))
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), '0\n1\n5 0\n')
  t.equal(statSync(join(h.dir, '00000000000000000000.log')).size, log.sizeBytes, 'bytes are in the file when append returns')
  log.close()
})

t.test('fetch semantics: mid-batch, KIP-74, upper bound, out of range', async (t) => {
  const h = harness(t)
  const log = h.open()
  appendOk(t, log, batchOf(4, 'a'))
  appendOk(t, log, batchOf(4, 'b', { valueBytes: 2000 }))
  appendOk(t, log, batchOf(4, 'c'))
  log.setHighWatermark(12)
  t.same(readValues(log, 2).slice(0, 2), ['0:a-0', '1:a-1'], 'a fetch from the middle of a batch returns the whole batch')
  const big = log.read(4, 100, 12, true)
  t.ok('records' in big && decodeRecordBatches(big.records).length === 1 && big.records.length > 8000, 'minOneBatch returns a batch above maxBytes')
  const none = log.read(4, 100, 12, false)
  t.ok('records' in none && none.records.length === 0, 'without minOneBatch a too-large first batch gives nothing')
  const firstOnly = log.read(0, 200, 12, true)
  t.ok('records' in firstOnly && decodeRecordBatches(firstOnly.records).length === 1, 'maxBytes cuts at a batch boundary')
  t.same(log.read(12, 100, 12, true), { records: Buffer.alloc(0) }, 'fetch at the upper bound is empty')
  t.same(log.read(13, 100, 12, true), { error: 'offset_out_of_range' })
  log.setHighWatermark(8)
  t.match(readValues(log, 0).at(-1), /^7:b-3\.+$/, 'batches at or above the high watermark are not returned')
  t.same(log.read(9, 100, 8, true), { records: Buffer.alloc(0) }, 'between HW and LEO: empty, not out of range')
  const r = log.read(0, 1 << 20, 8, true)
  t.ok('records' in r && r.records.buffer.byteLength >= r.records.length && r.records.byteOffset === 0, 'own ArrayBuffer')
  log.close()
})

t.test('segments roll on size, time and index lookups work across them', async (t) => {
  const h = harness(t, { segmentBytes: 4096, indexIntervalBytes: 256 })
  const log = h.open()
  for (let i = 0; i < 60; i++) appendOk(t, log, batchOf(5, `s${i}`, { valueBytes: 20, timestamp: 1_700_000_000_000 + i * 1000 }))
  t.ok(log.segmentCount() > 3, `rolled into ${log.segmentCount()} segments`)
  const logs = readdirSync(h.dir).filter((n) => n.endsWith('.log')).sort()
  t.equal(logs.length, log.segmentCount())
  for (const name of logs) t.ok(statSync(join(h.dir, name)).size <= 4096, `${name} within segment.bytes`)
  t.ok(statSync(join(h.dir, logs[0]!.replace('.log', '.index'))).size > 0, 'sparse index entries were written')
  t.equal(statSync(join(h.dir, logs[0]!.replace('.log', '.index'))).size % 8, 0)
  t.equal(statSync(join(h.dir, logs[0]!.replace('.log', '.timeindex'))).size % 12, 0)
  log.setHighWatermark(log.logEndOffset)
  for (const offset of [0, 1, 4, 5, 77, 123, 150, 201, 299]) {
    const values = readValues(log, offset, 1)
    const batchStart = offset - (offset % 5)
    t.equal(values.length, 5, `fetch ${offset}: one whole batch`)
    t.match(values[0], new RegExp(`^${batchStart}:s${batchStart / 5}-0\\.*$`), `fetch ${offset} starts at its batch`)
  }
  // Time lookup: batch i has timestamps base + i*1000.
  t.same(log.offsetForTimestamp(1_700_000_000_000 + 17_000), { offset: 85, timestamp: 1_700_000_000_000 + 17_000, leaderEpoch: 0 })
  t.same(log.offsetForTimestamp(1_700_000_000_000 + 17_001)?.offset, 90, 'first batch at or after the time')
  t.equal(log.offsetForTimestamp(0)?.offset, 0)
  t.equal(log.offsetForTimestamp(1_800_000_000_000), null, 'after the newest record: none')

  // segment.ms with the injected clock.
  const before = log.segmentCount()
  h.clock.ms += 7 * 24 * 3600 * 1000 + 1
  appendOk(t, log, batchOf(1, 'late'))
  t.equal(log.segmentCount(), before + 1, 'segment.ms elapsed → roll')
  log.close()
})

t.test('record-level timestamp lookup inside an uncompressed batch', async (t) => {
  const h = harness(t)
  const log = h.open()
  appendOk(t, log, buildRecordBatch({ records: [{ value: 'a', timestamp: 100 }, { value: 'b', timestamp: 300 }, { value: 'c', timestamp: 200 }] }))
  t.same(log.offsetForTimestamp(150), { offset: 1, timestamp: 300, leaderEpoch: 0 })
  t.same(log.offsetForTimestamp(100), { offset: 0, timestamp: 100, leaderEpoch: 0 })
  log.close()
})

t.test('record-level timestamp lookup inside a compressed batch (as Kafka: the record, not the batch)', async (t) => {
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const h = harness(t)
    const log = h.open()
    appendOk(t, log, buildRecordBatch({ records: [{ value: 'pad', timestamp: 50 }] }))
    const batch = recompressBatch(buildRecordBatch({ records: [{ value: 'a', timestamp: 100 }, { value: 'b', timestamp: 300 }, { value: 'c', timestamp: 200 }] }), codec)
    t.equal(compressionOf(batch, 0), codec)
    appendOk(t, log, batch)
    t.same(log.offsetForTimestamp(150), { offset: 2, timestamp: 300, leaderEpoch: 0 }, `${codec}: inside the batch`)
    t.same(log.offsetForTimestamp(100), { offset: 1, timestamp: 100, leaderEpoch: 0 }, `${codec}: the batch's first record`)
    t.equal(log.offsetForTimestamp(301), null, `${codec}: after the newest`)
    log.close()
  }
})

t.test('limits and timestamp types', async (t) => {
  const h = harness(t, { maxMessageBytes: 500 })
  const log = h.open()
  t.match(log.append(batchOf(1, 'x', { valueBytes: 600 }), 0), { error: 'message_too_large' })
  t.equal(log.logEndOffset, 0, 'nothing appended on error')
  const log2 = harness(t, { segmentBytes: 300 }).open()
  t.match(log2.append(batchOf(1, 'x', { valueBytes: 400 }), 0), { error: 'record_list_too_large' })
  log2.close()
  t.match(log.append(Buffer.from('garbage that is not a batch at all, honestly'), 0), { error: 'invalid_record' }, 'no whole batch in it')
  t.equal(log.logEndOffset, 0)
  log.close()

  const h3 = harness(t, { messageTimestampBeforeMaxMs: 1000, messageTimestampAfterMaxMs: 1000 })
  const log3 = h3.open()
  t.match(log3.append(batchOf(1, 'old', { timestamp: h3.clock.ms - 5000 }), 0), { error: 'invalid_timestamp' })
  t.match(log3.append(batchOf(1, 'future', { timestamp: h3.clock.ms + 5000 }), 0), { error: 'invalid_timestamp' })
  t.ok('ok' in log3.append(batchOf(1, 'now', { timestamp: h3.clock.ms }), 0))
  log3.close()

  const h4 = harness(t, { messageTimestampType: 'LogAppendTime' })
  const log4 = h4.open()
  const r = log4.append(batchOf(2, 'lat', { timestamp: 5 }), 0)
  t.same('ok' in r && r.ok.logAppendTime, h4.clock.ms)
  log4.setHighWatermark(2)
  const read = log4.read(0, 1000, 2, true)
  const [b] = 'records' in read ? decodeRecordBatches(read.records) : []
  t.ok(b?.logAppendTime)
  t.equal(b?.maxTimestamp, h4.clock.ms)
  log4.close()
})

t.test('clean reopen keeps everything and skips recovery', async (t) => {
  const h = harness(t, { segmentBytes: 2048, indexIntervalBytes: 128 })
  let log = h.open()
  for (let i = 0; i < 30; i++) appendOk(t, log, batchOf(3, `r${i}`, { timestamp: 1_700_000_000_000 + i }), 2)
  const leo = log.logEndOffset
  const segments = log.segmentCount()
  log.close()
  const opensBefore = h.fds.openCount
  log = h.open({ recoveryPoint: leo })
  t.equal(log.logEndOffset, leo)
  t.equal(log.segmentCount(), segments)
  t.equal(log.leaderEpoch, 2)
  t.ok(h.fds.openCount - opensBefore <= 4, 'only the active segment was opened')
  appendOk(t, log, batchOf(1, 'after'), 2)
  log.setHighWatermark(log.logEndOffset)
  t.same(readValues(log, leo), [`${leo}:after-0`])
  t.equal(readValues(log, 0)[0], '0:r0-0')
  log.close()
})

t.test('a directory of another topic id is refused', async (t) => {
  const h = harness(t)
  h.open().close()
  t.throws(() => h.open({ topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }), /belongs to topic id/)
})

t.test('leader epochs: checkpoint and OffsetForLeaderEpoch', async (t) => {
  const h = harness(t)
  let log = h.open()
  t.same(log.endOffsetForEpoch(0), { leaderEpoch: -1, endOffset: -1 })
  log.assignLeaderEpoch(1)
  appendOk(t, log, batchOf(3, 'e1'), 1)
  log.assignLeaderEpoch(3)
  appendOk(t, log, batchOf(2, 'e3'), 3)
  appendOk(t, log, batchOf(2, 'e5'), 5) // a new epoch arriving with an append is recorded too
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), '0\n3\n1 0\n3 3\n5 5\n')
  t.same(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 3 })
  t.same(log.endOffsetForEpoch(2), { leaderEpoch: 1, endOffset: 3 }, 'largest epoch <= requested')
  t.same(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 7 })
  t.same(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 0 }, 'older than any known epoch')
  t.same(log.endOffsetForEpoch(9), { leaderEpoch: -1, endOffset: -1 })
  log.close()
  log = h.open()
  t.equal(log.leaderEpoch, 5)
  t.same(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 5 })
  log.close()
})

t.test('flush policy and group commit', async (t) => {
  const { FlushScheduler } = await import('../../../src/storage/flush-scheduler.ts')
  const h = harness(t, { flushIntervalMessages: 5, flushIntervalMs: 1000 })
  const log = h.open()
  const scheduler = new FlushScheduler<string>()
  t.notOk(log.needsFlush(h.clock.ms), 'an empty log needs nothing')
  appendOk(t, log, batchOf(2, 'a'))
  scheduler.markAppended('p0', log)
  appendOk(t, log, batchOf(2, 'b'))
  scheduler.markAppended('p0', log)
  t.notOk(log.needsFlush(h.clock.ms), '4 messages < flush.messages 5')
  t.same(scheduler.tick(h.clock.ms), { flushed: [], failed: [] })
  t.equal(log.recoveryPoint, 0)
  appendOk(t, log, batchOf(1, 'c'))
  scheduler.markAppended('p0', log)
  t.ok(log.needsFlush(h.clock.ms), '5 messages')
  t.same(scheduler.tick(h.clock.ms).flushed, ['p0'], 'one flush for three appends')
  t.equal(log.recoveryPoint, 5)
  t.equal(scheduler.pending, 0)
  appendOk(t, log, batchOf(1, 'd'))
  scheduler.markAppended('p0', log)
  h.clock.ms += 999
  t.notOk(log.needsFlush(h.clock.ms))
  h.clock.ms += 1
  t.ok(log.needsFlush(h.clock.ms), 'flush.ms elapsed')
  scheduler.tick(h.clock.ms)
  t.equal(log.recoveryPoint, 6)
  log.close()

  const never = harness(t, { segmentBytes: 600 })
  const log2 = never.open()
  appendOk(t, log2, batchOf(1, 'x', { valueBytes: 400 }))
  t.notOk(log2.needsFlush(never.clock.ms + 1e12), 'flush "never" by policy')
  appendOk(t, log2, batchOf(1, 'y', { valueBytes: 400 }))
  t.equal(log2.segmentCount(), 2)
  t.notOk(log2.needsFlush(never.clock.ms), 'a roll does not make the shard flush synchronously')
  // Kafka flushes a rolled segment in the background: the recovery point reaches its end without a flush() call.
  await waitFor('the background sync of the rolled segment', () => log2.recoveryPoint >= 1)
  t.equal(log2.recoveryPoint, 1, 'the rolled segment was synced in the background')
  log2.close()
})

t.test('appendAsFollower writes batches with their assigned offsets', async (t) => {
  const h = harness(t)
  const leader = h.open()
  appendOk(t, leader, batchOf(2, 'a'), 4)
  appendOk(t, leader, batchOf(3, 'b', { producerId: 3, producerEpoch: 0, baseSequence: 0 }), 4)
  leader.setHighWatermark(5)
  const fetched = leader.read(0, 1 << 20, 5, true)
  leader.close()
  if (!('records' in fetched)) return t.fail('read failed')
  const f = harness(t)
  const follower = f.open()
  t.same(follower.appendAsFollower(fetched.records), { ok: { lastOffset: 4 } })
  t.equal(follower.logEndOffset, 5)
  t.equal(follower.leaderEpoch, 4)
  t.match(follower.appendAsFollower(fetched.records), { error: 'offset_out_of_order' }, 'offsets must continue the log')
  const corrupt = Buffer.from(fetched.records)
  corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 1
  const fresh = harness(t).open()
  t.match(fresh.appendAsFollower(corrupt), { error: 'corrupt_message' })
  t.equal(fresh.logEndOffset, 0, 'nothing appended from a corrupt fetch, not even its intact first batch')
  fresh.close()
  t.match(follower.append(batchOf(3, 'b', { producerId: 3, producerEpoch: 0, baseSequence: 0 }), 4), { ok: { duplicate: true, baseOffset: 2 } }, 'producer state followed the replicated batches')
  follower.close()
})

t.test('a relative offset that would overflow int32 starts a new segment at the batch', async (t) => {
  const h = harness(t)
  const log = h.open()
  appendOk(t, log, batchOf(1, 'low'))
  const far = buildRecordBatch({ records: [{ value: 'far' }], baseOffset: 2 ** 31 + 100, partitionLeaderEpoch: 0 })
  t.same(log.appendAsFollower(far), { ok: { lastOffset: 2 ** 31 + 100 } })
  t.equal(log.segmentCount(), 2)
  t.ok(existsSync(join(h.dir, `${String(2 ** 31 + 100).padStart(20, '0')}.log`)))
  log.setHighWatermark(log.logEndOffset)
  t.same(readValues(log, 1), [`${2 ** 31 + 100}:far`], 'a fetch inside the gap gets the next batch')
  log.close()
  const reopened = h.open()
  t.equal(reopened.logEndOffset, 2 ** 31 + 101)
  reopened.close()
})

t.test('time lookups on rolled segments after a clean reopen read the index files', async (t) => {
  const h = harness(t, { segmentBytes: 1024, indexIntervalBytes: 100 })
  let log = h.open()
  for (let i = 0; i < 40; i++) appendOk(t, log, batchOf(2, `t${i}`, { timestamp: 1_000_000 + i * 10 }))
  log.close()
  log = h.open()
  t.ok(log.segmentCount() > 3)
  t.same(log.offsetForTimestamp(1_000_000 + 215), { offset: 44, timestamp: 1_000_220, leaderEpoch: 0 })
  t.same(log.offsetForTimestamp(1_000_000 + 390), { offset: 78, timestamp: 1_000_390, leaderEpoch: 0 })
  log.setHighWatermark(log.logEndOffset)
  t.same(readValues(log, 45).slice(0, 3), ['44:t22-0', '45:t22-1', '46:t23-0'], 'reads continue through the rolled segment')
  log.close()
})

t.test('a fresh partition defers fsync of its files; a torn partition.metadata is rewritten only while the log is empty', async (t) => {
  const { writeFileSync } = await import('node:fs')
  const h = harness(t)
  let log = h.open({ clean: false })
  log.close()
  // Simulate a power loss before the first flush: the metadata file came back empty.
  writeFileSync(join(h.dir, 'partition.metadata'), '')
  log = h.open({ clean: false })
  t.equal(readFileSync(join(h.dir, 'partition.metadata'), 'utf8'), `version: 0\ntopic_id: ${TOPIC_ID}\n`, 'rewritten for an empty log')
  appendOk(t, log, batchOf(2, 'x'))
  log.flush()
  log.close()
  writeFileSync(join(h.dir, 'partition.metadata'), 'garbage')
  t.throws(() => h.open({ clean: false }), /malformed/, 'a log with data never gets a guessed topic id')
  writeFileSync(join(h.dir, 'partition.metadata'), `version: 0\ntopic_id: ${TOPIC_ID}\n`)
  const reopened = h.open({ clean: false })
  reopened.setHighWatermark(reopened.logEndOffset)
  t.same(readValues(reopened, 0), ['0:x-0', '1:x-1'])
  reopened.close()
})
