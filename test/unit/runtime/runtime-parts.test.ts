/**
 * The runtime's parts without the pool: the watermark table (including its seqlock against a
 * real concurrent writer thread), the shard's single timer, payload encoding within the copy
 * budget, and a ShardHost driven directly (no worker thread) — ordering, stale actors, deadlines,
 * coalesced wake events and group commit.
 */
import t, { type Test } from 'tap'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { checkLeaderEpoch } from '../../../src/partition/partition-actor.ts'
import { encodeProduce } from '../../../src/runtime/payload.ts'
import type { FromShard, WireFetchResult, WireProduceResult } from '../../../src/runtime/protocol.ts'
import { ShardHost, type CreateActorSpec } from '../../../src/runtime/shard-host.ts'
import { ShardTimers } from '../../../src/runtime/shard-timers.ts'
import { CHUNK_SLOTS, WatermarkTable, type Watermarks } from '../../../src/runtime/watermark-table.ts'
import { TOPIC_A, TOPIC_B, batch, specFor, tempDir, valuesOf } from './helpers.ts'

const wm = (v: number, epoch = 0): Watermarks => ({
  logStartOffset: v, highWatermark: v, lastStableOffset: v, logEndOffset: v, leaderEpoch: epoch, recoveryPoint: v, cleanerCheckpoint: v,
})

t.test('watermark table: slots, growth, int64 range, reuse, repair after a dead writer', async (t) => {
  const table = new WatermarkTable()
  const slots = Array.from({ length: CHUNK_SLOTS + 3 }, (_, i) => table.allocate(wm(i)))
  t.equal(table.size, CHUNK_SLOTS + 3)
  t.equal(table.chunk(slots.at(-1)!).chunkIndex, 1, 'grew by a second chunk')
  t.same(table.read(slots.at(-1)!), wm(CHUNK_SLOTS + 2))
  const big = { logStartOffset: 2 ** 53 - 1, highWatermark: 2 ** 40 + 7, lastStableOffset: 2 ** 32, logEndOffset: 2 ** 32 - 1, leaderEpoch: -1, recoveryPoint: -(2 ** 40), cleanerCheckpoint: 2 ** 45 + 3 }
  table.reset(slots[5]!, big)
  t.same(table.read(slots[5]!), big, 'int64 values in the safe range and negatives survive')
  table.free(slots[5]!)
  t.equal(table.allocate(), slots[5], 'a freed slot is reused')
  t.throws(() => { table.free(slots[6]!); table.free(slots[6]!) }, /twice/)

  // A writer that died between its two sequence bumps leaves the slot odd: reads give up, reset repairs.
  const { chunk } = table.chunk(slots[7]!)
  Atomics.add(new Int32Array(chunk), 7 * 16, 1)
  t.equal(table.tryRead(slots[7]!, 10), undefined, 'a torn slot is never returned')
  t.same(table.read(slots[7]!), wm(7), 'read() falls back to the last consistent snapshot')
  table.reset(slots[7]!, wm(70))
  t.same(table.read(slots[7]!), wm(70))
})

t.test('watermark table: readers never see a torn snapshot while another thread writes', async (t) => {
  const table = new WatermarkTable()
  const slot = table.allocate(wm(0))
  const moduleUrl = new URL('../../../src/runtime/watermark-table.ts', import.meta.url).href
  // Every published snapshot has all fields equal (epoch too), hi words changing often.
  const writer = new Worker(`
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.moduleUrl).then(({ WatermarkWriter }) => {
      const w = new WatermarkWriter()
      w.attach(workerData.chunkIndex, workerData.chunk)
      let spin = 0
      for (let i = 1; i <= 100000; i++) {
        const v = i * 4294967291
        w.publish(workerData.slot, { logStartOffset: v, highWatermark: v, lastStableOffset: v, logEndOffset: v, leaderEpoch: v, recoveryPoint: v, cleanerCheckpoint: v })
        for (let k = 0; k < 500; k++) spin += k // a real shard does work between publishes
      }
      parentPort.postMessage('done')
    })`, { eval: true, workerData: { moduleUrl, slot, ...table.chunk(slot) } })
  let done = false
  writer.once('message', () => { done = true })
  let reads = 0
  let torn = 0
  let last = 0
  let backwards = 0
  let distinct = 0
  while (!done) {
    const w = table.read(slot)
    reads++
    const v = w.logStartOffset
    if (v !== last) distinct++
    if (w.highWatermark !== v || w.lastStableOffset !== v || w.logEndOffset !== v || w.leaderEpoch !== v || w.recoveryPoint !== v || w.cleanerCheckpoint !== v) torn++
    if (v < last) backwards++
    last = v
    if (reads % 1000 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await writer.terminate()
  t.ok(reads > 0)
  t.equal(torn, 0, `no torn snapshot in ${reads} reads`)
  t.equal(backwards, 0, 'snapshots never go back in time')
  t.ok(distinct > 10, `the reader saw the writer's progress (${distinct} distinct snapshots)`)
  t.equal(table.read(slot)!.highWatermark, 100000 * 4294967291)
})

t.test('shard timers: one timer, ordered by due time, replace/cancel/if-absent, never for Infinity', async (t) => {
  let now = 1000
  const timers = new ShardTimers(() => now)
  t.teardown(() => timers.close())
  const fired: string[] = []
  timers.schedule('b', 1200, () => fired.push('b'))
  timers.schedule('a', 1100, () => fired.push('a'))
  timers.schedule('c', 1300, () => fired.push('c'))
  timers.schedule('c', 1050, () => fired.push('c2')) // replaces c
  timers.scheduleIfAbsent('a', 5000, () => fired.push('a-late')) // kept: a exists
  timers.schedule('never', Infinity, () => fired.push('never'))
  timers.cancel('b')
  t.equal(timers.size, 2)
  now = 1100
  timers.runDue()
  t.same(fired, ['c2', 'a'])
  t.equal(timers.size, 0)

  // The real Node timer fires too (a 30-day entry alongside must not fire early).
  const real = new ShardTimers()
  t.teardown(() => real.close())
  real.schedule('month', Date.now() + 30 * 86_400_000, () => fired.push('month'))
  const keepAlive = setInterval(() => {}, 1000) // the shard timer is unref'd: its worker's port keeps a shard alive
  await new Promise<void>((resolve) => real.schedule('soon', Date.now() + 5, resolve))
  clearInterval(keepAlive)
  t.notOk(fired.includes('month'))
  t.equal(real.size, 1)
})

t.test('payload encoding: transfer the frame, copy only when told or when it cannot move', async (t) => {
  const frame = Buffer.from(new ArrayBuffer(100))
  frame.fill(7)
  const items = [{ actorId: 1, records: frame.subarray(10, 30) }, { actorId: 2, records: frame.subarray(40, 90) }]
  const moved = encodeProduce(items, 'transfer')
  t.equal(moved.buffers.length, 1)
  t.equal(moved.buffers[0], frame.buffer, 'the frame itself, not a copy')
  t.same(moved.items, [1, 0, 10, 20, 2, 0, 40, 50])
  t.same([moved.bytes, moved.copiedBytes], [70, 0])

  const copied = encodeProduce(items, 'copy')
  t.equal(copied.buffers[0]!.byteLength, 70, 'only the slices are copied')
  t.same(copied.items, [1, 0, 0, 20, 2, 0, 20, 50])
  t.equal(copied.copiedBytes, 70)

  const pooled = Buffer.allocUnsafe(16).fill(1)
  const fallback = encodeProduce([{ actorId: 3, records: pooled }, { actorId: 4, records: frame.subarray(0, 4) }], 'transfer')
  t.equal(fallback.copiedBytes, 16, "Node's pool is copied, the frame still transferred")
  t.equal(fallback.buffers.length, 2)
})

t.test('leader epoch check', async (t) => {
  t.equal(checkLeaderEpoch(-1, 4), null)
  t.equal(checkLeaderEpoch(4, 4), null)
  t.equal(checkLeaderEpoch(3, 4), 'fenced_leader_epoch')
  t.equal(checkLeaderEpoch(5, 4), 'unknown_leader_epoch')
})

/** A ShardHost on this thread, its posts collected. */
function hostHarness(t: Test) {
  const logDir = tempDir(t)
  const posted: FromShard[] = []
  const host = new ShardHost({ shard: 0, post: (msg) => posted.push(msg) })
  const table = new WatermarkTable()
  t.teardown(() => { host.closeOwner(null) })
  let nextId = 1
  let requestId = 1
  const create = (o: Parameters<typeof specFor>[1] = {}) => {
    const slot = table.allocate()
    const spec: CreateActorSpec = { ...specFor(logDir, o), actorId: nextId++, slot, ...table.chunk(slot) }
    const r = host.control.createPartition(spec)
    if (!('ok' in r)) throw new Error(`create failed: ${JSON.stringify(r)}`)
    return spec
  }
  const produce = (items: [number, Buffer][], deadline = Date.now() + 10_000): WireProduceResult[] => {
    const id = requestId++
    host.handleMessage({ t: 'produce', id, deadline, buffers: items.map(([, b]) => b.buffer as ArrayBuffer), items: items.flatMap(([actorId, b], i) => [actorId, i, b.byteOffset, b.byteLength]) })
    const r = posted.find((m) => m.t === 'result' && m.id === id)
    return (r as { results: WireProduceResult[] }).results
  }
  const fetch = (actorId: number, offset = 0): WireFetchResult => {
    const id = requestId++
    host.handleMessage({ t: 'fetch', id, deadline: Date.now() + 10_000, items: [actorId, offset, 1 << 20, 0, -1, 1] })
    const r = posted.find((m) => m.t === 'result' && m.id === id) as { results: WireFetchResult[] }
    return r.results[0]!
  }
  const values = (actorId: number): string[] => {
    const r = fetch(actorId)
    if (!('ok' in r)) throw new Error(r.error)
    return valuesOf(Buffer.from(r.ok.buffer, r.ok.byteOffset, r.ok.byteLength))
  }
  const endOfBatch = () => new Promise((resolve) => setImmediate(resolve))
  return { logDir, posted, host, table, create, produce, fetch, values, endOfBatch }
}

t.test('shard host: in-order appends, watermarks published before the answer, one coalesced wake event', async (t) => {
  const h = hostHarness(t)
  const a = h.create({ partition: 0 })
  const b = h.create({ partition: 1 })
  await h.endOfBatch()
  h.posted.length = 0
  const results = h.produce([[a.actorId, batch('a1', 2)], [b.actorId, batch('b1')], [a.actorId, batch('a2')]])
  t.same(results.map((r) => ('ok' in r ? r.ok.baseOffset : r.error)), [0, 0, 2])
  t.match(h.table.read(a.slot), { highWatermark: 3, logEndOffset: 3, lastStableOffset: 3 }, 'published before the response')
  h.produce([[b.actorId, batch('b2')]])
  t.equal(h.posted.filter((m) => m.t === 'moved').length, 0, 'no event until the batch of work ends')
  await h.endOfBatch()
  const moved = h.posted.filter((m) => m.t === 'moved')
  t.equal(moved.length, 1)
  t.same([...(moved[0] as { slots: number[] }).slots].sort(), [a.slot, b.slot].sort())
  t.same(h.values(a.actorId), ['a1-0', 'a1-1', 'a2-0'])
})

t.test('shard host: a stale actor id never reaches the re-created topic in the same directory', async (t) => {
  const h = hostHarness(t)
  const old = h.create({ topicId: TOPIC_A })
  h.produce([[old.actorId, batch('old')]])
  const renamed = h.host.control.deletePartition(old.actorId)
  t.match(renamed, { ok: /-delete$/ })
  const fresh = h.create({ topicId: TOPIC_B })
  t.equal(fresh.dir, old.dir)
  t.same(h.produce([[old.actorId, batch('in-flight')]]), [{ error: 'not_leader_or_follower' }])
  t.same(h.values(fresh.actorId), [])
  t.same(h.fetch(old.actorId), { error: 'not_leader_or_follower' })
})

t.test('shard host: an expired request is answered and skipped', async (t) => {
  const h = hostHarness(t)
  const a = h.create()
  t.same(h.produce([[a.actorId, batch('x')]], Date.now() - 1), [{ error: 'request_timed_out' }])
  t.same(h.values(a.actorId), [])
})

t.test('shard host: group commit by message count after the batch, by interval on the shard timer', async (t) => {
  const h = hostHarness(t)
  const byCount = h.create({ partition: 0, config: { flushIntervalMessages: 3 } })
  const byTime = h.create({ partition: 1, config: { flushIntervalMs: 20 } })
  h.produce([[byCount.actorId, batch('c', 2)], [byTime.actorId, batch('t', 2)]])
  await h.endOfBatch()
  t.equal(h.table.read(byCount.slot)!.recoveryPoint, 0, 'below log.flush.interval.messages: not flushed')
  h.produce([[byCount.actorId, batch('c', 1)]])
  t.equal(h.table.read(byCount.slot)!.recoveryPoint, 0, 'not on the request path')
  await h.endOfBatch()
  t.equal(h.table.read(byCount.slot)!.recoveryPoint, 3, 'flushed after the batch of work')
  while (h.table.read(byTime.slot)!.recoveryPoint === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(h.table.read(byTime.slot)!.recoveryPoint, 2, 'flushed by log.flush.interval.ms')
})

t.test('shard host: an actor that cannot open is an error value; the shard keeps serving', async (t) => {
  const h = hostHarness(t)
  const good = h.create()
  const slot = h.table.allocate()
  const bad = h.host.control.createPartition({ ...specFor(h.logDir, { topicId: TOPIC_B }), actorId: 99, slot, ...h.table.chunk(slot) })
  t.match(bad, { error: 'open_failed' }, 'the directory belongs to another topic id')
  t.same(h.host.control.createPartition({ ...specFor(join(h.logDir, 'x'), {}), actorId: good.actorId, slot, ...h.table.chunk(slot) }), { error: 'already_exists' })
  t.match(h.produce([[good.actorId, batch('still')]]), [{ ok: { baseOffset: 0 } }])
})
