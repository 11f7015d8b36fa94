/**
 * Log hygiene on a ShardHost driven directly (no worker thread): the per-actor retention check
 * on the shard's timer (a 30-day retention.ms keeps 29-day-old records and removes 31-day-old
 * ones), `.deleted` files removed by a later timer entry, the new log start published to the
 * watermark table with a wake event, DeleteRecords as a control call, and no timer left behind
 * once the actor is closed.
 */
import t from 'tap'
import { readdirSync, rmSync } from 'node:fs'
import type { FromShard } from '../../../src/runtime/protocol.ts'
import { ShardHost, type CreateActorSpec } from '../../../src/runtime/shard-host.ts'
import { WatermarkTable } from '../../../src/runtime/watermark-table.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { specFor, tempDir } from './helpers.ts'

const DAY = 86_400_000

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('retention on the shard timer, .deleted removal, DeleteRecords, wake events', async (t) => {
  const logDir = tempDir(t)
  const posted: FromShard[] = []
  const host = new ShardHost({ shard: 0, post: (m) => posted.push(m) })
  const table = new WatermarkTable()
  const keepAlive = setInterval(() => {}, 1000) // the shard timer is unref'd; a worker's port would keep it alive
  t.teardown(() => {
    clearInterval(keepAlive)
    host.closeOwner(null)
  })
  const slot = table.allocate()
  const spec: CreateActorSpec = {
    ...specFor(logDir, { config: { segmentBytes: 200, retentionMs: 30 * DAY, retentionCheckIntervalMs: 20, fileDeleteDelayMs: 50 } }),
    actorId: 1, slot, ...table.chunk(slot),
  }
  t.ok('ok' in host.control.createPartition(spec))
  const batches = [31, 31, 29, 0].map((ageDays, i) => buildRecordBatch({ records: [{ value: `v${i}-`.padEnd(100, '.') }], timestamp: Date.now() - ageDays * DAY }))
  host.handleMessage({ t: 'produce', id: 1, deadline: Date.now() + 10_000, buffers: batches.map((b) => b.buffer as ArrayBuffer), items: batches.flatMap((b, i) => [1, i, b.byteOffset, b.byteLength]) })
  t.match(table.read(slot), { logStartOffset: 0, logEndOffset: 4 })
  const files = (suffix: string) => readdirSync(spec.dir).filter((n) => n.endsWith(suffix))
  t.equal(files('.log').length, 4, 'one batch per segment')

  await until('retention to move the log start', () => table.read(slot).logStartOffset > 0)
  posted.length = 0
  t.equal(table.read(slot).logStartOffset, 2, 'the two 31-day-old segments went; the 29-day-old one stays')
  t.ok(files('.log.deleted').length > 0 || files('.log').length === 2)
  await until('.deleted files to be removed', () => files('.deleted').length === 0)
  t.same(files('.log').sort(), ['00000000000000000002.log', '00000000000000000003.log'])

  const r = host.control.deleteRecords(1, 3)
  t.same(r, { ok: { ok: { lowWatermark: 3 } } })
  t.equal(table.read(slot).logStartOffset, 3, 'published before the answer')
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(posted.some((m) => m.t === 'moved' && m.slots.includes(slot)), 'long-polling readers are woken')
  t.match(host.control.deleteRecords(1, 10), { ok: { error: 'offset_out_of_range' } })
  t.same(host.control.deleteRecords(2, 0), { error: 'not_found' })
  t.same(host.closeOwner(null), [1])
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.same(files('.log'), ['00000000000000000003.log'])
  t.same(files('.log.deleted'), ['00000000000000000002.log.deleted'], 'a closed actor is never touched by its old timers (the next open removes leftovers)')
})

t.test('closeOwner reports only partitions closed cleanly: one whose write failed is not (its log needs recovery)', async (t) => {
  const logDir = tempDir(t)
  const posted: FromShard[] = []
  const host = new ShardHost({ shard: 0, post: (m) => posted.push(m) })
  const table = new WatermarkTable()
  const spec = (actorId: number, partition: number): CreateActorSpec => {
    const slot = table.allocate()
    return { ...specFor(logDir, { partition, config: { segmentBytes: 300 } }), actorId, slot, ...table.chunk(slot) }
  }
  const good = spec(1, 0)
  const bad = spec(2, 1)
  t.ok('ok' in host.control.createPartition(good))
  t.ok('ok' in host.control.createPartition(bad))
  // The bad partition's directory disappears: its next roll cannot create a segment, the log fails.
  rmSync(bad.dir, { recursive: true, force: true })
  const batches = [0, 1, 2].map((i) => buildRecordBatch({ records: [{ value: `v${i}-`.padEnd(150, '.') }] }))
  host.handleMessage({ t: 'produce', id: 1, deadline: Date.now() + 10_000, buffers: batches.map((b) => b.buffer as ArrayBuffer), items: batches.flatMap((b, i) => [2, i, b.byteOffset, b.byteLength]) })
  t.match(posted.find((m) => m.t === 'result'), { results: [{ ok: {} }, { error: 'kafka_storage_error' }, { error: 'kafka_storage_error' }] }, 'the roll failed the log')
  t.same(host.closeOwner(null), [1], 'the partition whose write failed is not reported closed cleanly')
})
