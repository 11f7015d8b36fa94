import t, { type Test } from 'tap'
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import type { PartitionLog } from '../../../src/storage/partition-log.ts'
import { batchOf, harness } from './helpers.ts'

function appendOk(t: Test, log: PartitionLog, buf: Buffer, epoch = 0) {
  const r = log.append(buf, epoch)
  if ('error' in r) t.fail(`append failed: ${r.error} ${r.message ?? ''}`)
  return 'ok' in r ? r.ok : null
}

function allValues(log: PartitionLog): string[] {
  const out: string[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const r = log.read(offset, 1 << 20, log.highWatermark, true)
    if ('error' in r) throw new Error(r.error)
    const batches = decodeRecordBatches(r.records)
    if (batches.length === 0) break
    for (const b of batches) for (const rec of b.records) out.push(`${rec.offset}:${rec.value}`)
    offset = batches.at(-1)!.lastOffset + 1
  }
  return out
}

/** Simulates kill -9: the log object is dropped without close(), its fds closed behind its back. */
function crash(h: { fds: { closeAll(): void } }): void {
  h.fds.closeAll()
}

t.test('unclean reopen truncates a torn tail and rebuilds the indexes', async (t) => {
  const h = harness(t, { indexIntervalBytes: 64 })
  const log = h.open()
  for (let i = 0; i < 20; i++) appendOk(t, log, batchOf(2, `b${i}`), 1)
  const goodSize = log.sizeBytes
  crash(h)
  const logFile = join(h.dir, '00000000000000000000.log')
  // A partial batch: the first 30 bytes of a real one.
  appendFileSync(logFile, batchOf(2, 'torn').subarray(0, 30))
  const indexFile = join(h.dir, '00000000000000000000.index')
  writeFileSync(indexFile, Buffer.alloc(5, 0xff)) // a damaged index must not matter
  const reopened = h.open({ clean: false, recoveryPoint: 0 })
  t.equal(reopened.logEndOffset, 40, 'LEO is after the last whole batch')
  t.equal(statSync(logFile).size, goodSize, 'the torn bytes are gone from the file')
  t.ok(statSync(indexFile).size > 0 && statSync(indexFile).size % 8 === 0, 'index rebuilt')
  reopened.setHighWatermark(40)
  const values = allValues(reopened)
  t.equal(values.length, 40)
  t.equal(values[39], '39:b19-1')
  t.same(reopened.read(40, 100, 40, true), { records: Buffer.alloc(0) })
  t.equal(reopened.leaderEpoch, 1, 'leader epochs survive')
  appendOk(t, reopened, batchOf(1, 'next'), 1)
  t.equal(reopened.logEndOffset, 41)
  reopened.close()
})

t.test('a bad CRC in an earlier segment cuts the log there and drops later segments', async (t) => {
  const h = harness(t, { segmentBytes: 1024 })
  const log = h.open()
  for (let i = 0; i < 30; i++) appendOk(t, log, batchOf(2, `c${i}`), 0)
  const segments = readdirSync(h.dir).filter((n) => n.endsWith('.log')).sort()
  t.ok(segments.length >= 3)
  crash(h)
  // Flip a byte inside the second batch of the second segment.
  const second = join(h.dir, segments[1]!)
  const bytes = readFileSync(second)
  const firstSize = bytes.readInt32BE(8) + 12
  bytes[firstSize + 70] = bytes[firstSize + 70]! ^ 0xff
  writeFileSync(second, bytes)
  const secondBase = Number(segments[1]!.slice(0, 20))
  const reopened = h.open({ clean: false, recoveryPoint: 0 })
  t.equal(reopened.logEndOffset, secondBase + 2, 'LEO after the last intact batch')
  t.equal(reopened.segmentCount(), 2)
  t.notOk(existsSync(join(h.dir, segments[2]!)), 'later segments deleted')
  reopened.setHighWatermark(reopened.logEndOffset)
  t.equal(allValues(reopened).length, secondBase + 2)
  reopened.close()
})

t.test('recovery starts at the recovery point; earlier segments are trusted', async (t) => {
  const h = harness(t, { segmentBytes: 1024 })
  const log = h.open()
  for (let i = 0; i < 30; i++) appendOk(t, log, batchOf(2, `d${i}`), 0)
  log.flush()
  const recoveryPoint = log.recoveryPoint
  t.equal(recoveryPoint, 60)
  for (let i = 0; i < 3; i++) appendOk(t, log, batchOf(2, `e${i}`), 0)
  crash(h)
  const segments = readdirSync(h.dir).filter((n) => n.endsWith('.log')).sort()
  // Damage the first segment: below the recovery point it is not re-validated (Kafka trusts flushed data).
  const first = join(h.dir, segments[0]!)
  const bytes = readFileSync(first)
  bytes[100] = bytes[100]! ^ 0xff
  writeFileSync(first, bytes)
  const reopened = h.open({ clean: false, recoveryPoint })
  t.equal(reopened.logEndOffset, 66)
  reopened.close()
})

t.test('after a clean shutdown with a torn active index the segment is recovered', async (t) => {
  const h = harness(t, { indexIntervalBytes: 64 })
  const log = h.open()
  for (let i = 0; i < 10; i++) appendOk(t, log, batchOf(2, `f${i}`), 0)
  log.close()
  truncateSync(join(h.dir, '00000000000000000000.index'), 3)
  const reopened = h.open({ clean: true, recoveryPoint: 20 })
  t.equal(reopened.logEndOffset, 20)
  reopened.close()
})

t.test('idempotent producer: duplicates, sequence gaps, epochs', async (t) => {
  const h = harness(t)
  const log = h.open()
  const pid = 1000
  const first = appendOk(t, log, batchOf(3, 'p0', { producerId: pid, producerEpoch: 0, baseSequence: 0 }))
  t.same(first, { baseOffset: 0, lastOffset: 2, logAppendTime: -1, logStartOffset: 0, duplicate: false })
  appendOk(t, log, batchOf(2, 'p1', { producerId: pid, producerEpoch: 0, baseSequence: 3 }))
  const dup = log.append(batchOf(3, 'p0', { producerId: pid, producerEpoch: 0, baseSequence: 0 }), 0)
  t.same(dup, { ok: { baseOffset: 0, lastOffset: 2, logAppendTime: -1, logStartOffset: 0, duplicate: true } }, 'a retry gets its original offsets')
  t.equal(log.logEndOffset, 5, 'a duplicate appends nothing')
  t.match(log.append(batchOf(1, 'gap', { producerId: pid, producerEpoch: 0, baseSequence: 9 }), 0), { error: 'out_of_order_sequence_number' })
  t.match(log.append(batchOf(1, 'back', { producerId: pid, producerEpoch: 0, baseSequence: 2 }), 0), { error: 'out_of_order_sequence_number' })
  t.match(log.append(batchOf(1, 'bump', { producerId: pid, producerEpoch: 1, baseSequence: 5 }), 0), { error: 'out_of_order_sequence_number' }, 'new epoch must start at 0')
  appendOk(t, log, batchOf(1, 'bump', { producerId: pid, producerEpoch: 1, baseSequence: 0 }))
  t.match(log.append(batchOf(1, 'old', { producerId: pid, producerEpoch: 0, baseSequence: 5 }), 0), { error: 'invalid_producer_epoch' })
  appendOk(t, log, batchOf(1, 'stranger', { producerId: 77, producerEpoch: 3, baseSequence: 12345 }), 0)
  t.equal(log.logEndOffset, 7)

  // Only the last 5 batches are remembered.
  for (let s = 1; s <= 6; s++) appendOk(t, log, batchOf(1, `q${s}`, { producerId: pid, producerEpoch: 1, baseSequence: s }))
  t.match(log.append(batchOf(1, 'q1', { producerId: pid, producerEpoch: 1, baseSequence: 1 }), 0), { error: 'out_of_order_sequence_number' }, 'the 6th-newest batch is forgotten')
  t.match(log.append(batchOf(1, 'q2', { producerId: pid, producerEpoch: 1, baseSequence: 2 }), 0), { ok: { duplicate: true } }, 'the 5th-newest is remembered')

  // Sequence wrap at Int32.MAX.
  appendOk(t, log, batchOf(2, 'w', { producerId: 88, producerEpoch: 0, baseSequence: 0x7ffffffe }))
  appendOk(t, log, batchOf(1, 'w0', { producerId: 88, producerEpoch: 0, baseSequence: 0 }))
  log.close()
})

t.test('producer state survives clean restarts (snapshot) and crashes (rebuilt by scanning)', async (t) => {
  const h = harness(t, { segmentBytes: 2048 })
  let log = h.open()
  for (let s = 0; s < 10; s++) appendOk(t, log, batchOf(2, `x${s}`, { producerId: 5, producerEpoch: 2, baseSequence: s * 2 }))
  const leo = log.logEndOffset
  log.close()
  const snapshots = readdirSync(h.dir).filter((n) => n.endsWith('.snapshot'))
  t.ok(snapshots.includes(`${String(leo).padStart(20, '0')}.snapshot`), 'snapshot at the LEO on close')
  log = h.open({ recoveryPoint: leo })
  t.match(log.append(batchOf(2, 'x9', { producerId: 5, producerEpoch: 2, baseSequence: 18 }), 0), { ok: { duplicate: true, baseOffset: 18 } })
  t.match(log.append(batchOf(1, 'gap', { producerId: 5, producerEpoch: 2, baseSequence: 30 }), 0), { error: 'out_of_order_sequence_number' })
  for (let s = 10; s < 14; s++) appendOk(t, log, batchOf(2, `x${s}`, { producerId: 5, producerEpoch: 2, baseSequence: s * 2 }))
  crash(h)
  log = h.open({ clean: false, recoveryPoint: leo })
  t.match(log.append(batchOf(2, 'x12', { producerId: 5, producerEpoch: 2, baseSequence: 24 }), 0), { ok: { duplicate: true, baseOffset: 24 } }, 'rebuilt from batches after the snapshot')
  t.match(log.append(batchOf(2, 'x13', { producerId: 5, producerEpoch: 1, baseSequence: 28 }), 0), { error: 'invalid_producer_epoch' })
  appendOk(t, log, batchOf(2, 'x14', { producerId: 5, producerEpoch: 2, baseSequence: 28 }))
  log.close()

  // A damaged snapshot is ignored and the state is rebuilt from the log.
  const newest = readdirSync(h.dir).filter((n) => n.endsWith('.snapshot')).sort().at(-1)!
  const bytes = readFileSync(join(h.dir, newest))
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff
  writeFileSync(join(h.dir, newest), bytes)
  log = h.open({ recoveryPoint: 30 })
  t.match(log.append(batchOf(2, 'x14', { producerId: 5, producerEpoch: 2, baseSequence: 28 }), 0), { ok: { duplicate: true, baseOffset: 28 } })
  log.close()
})

t.test('non-transactional write during an open transaction is invalid_txn_state; LSO stops at the open transaction', async (t) => {
  const h = harness(t)
  const log = h.open()
  appendOk(t, log, batchOf(2, 'plain'))
  const { buildRecordBatch } = await import('../../../src/storage/record-batch-builder.ts')
  const txn = buildRecordBatch({ records: [{ value: 't' }], producerId: 9, producerEpoch: 0, baseSequence: 0, isTransactional: true })
  appendOk(t, log, txn)
  log.setHighWatermark(3)
  t.equal(log.lastStableOffset, 2, 'LSO = first offset of the open transaction')
  t.match(log.append(batchOf(1, 'nt', { producerId: 9, producerEpoch: 0, baseSequence: 1 }), 0), { error: 'invalid_txn_state' })
  log.close()
})
