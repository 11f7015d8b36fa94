/**
 * The shard pool with real worker threads and real partition logs in a temp dir: placement on
 * two shards, the produce/fetch round trip and its copy budget, leader-epoch checks, ordering of
 * pipelined produces to one partition under a slow shard, backpressure, the shared watermark
 * table and its wake events, deadlines, a worker killed mid-request, re-created topics, owners.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FetchItem, FetchItemResult, PartitionHandle } from '../../../src/broker/partition-host.ts'
import { ShardPool } from '../../../src/runtime/shard-pool.ts'
import { TOPIC_A, TOPIC_B, batch, offsetsOf, specFor, tempDir, valuesOf } from './helpers.ts'

const TIMEOUT = 10_000

function fetchItem(handle: PartitionHandle, fetchOffset = 0, extra: Partial<FetchItem> = {}): FetchItem {
  return { handle, fetchOffset, maxBytes: 1 << 20, isolation: 'read_uncommitted', currentLeaderEpoch: -1, minOneBatch: true, ...extra }
}

function records(r: FetchItemResult | undefined): Buffer {
  if (r === undefined || !('ok' in r)) throw new Error(`fetch failed: ${JSON.stringify(r)}`)
  return r.ok.records
}

async function readAll(pool: ShardPool, handle: PartitionHandle): Promise<string[]> {
  const [r] = await pool.fetch(handle.shard, [fetchItem(handle)], TIMEOUT)
  return valuesOf(records(r))
}

/** A broker-owned frame (own ArrayBuffer, as the network layer makes them) holding `parts`; returns subarrays. */
function frameOf(parts: Buffer[]): { frame: Buffer; slices: Buffer[] } {
  const total = parts.reduce((n, p) => n + p.length + 16, 0)
  const frame = Buffer.from(new ArrayBuffer(total))
  const slices: Buffer[] = []
  let at = 16 // a request header would sit in front
  for (const p of parts) {
    p.copy(frame, at)
    slices.push(frame.subarray(at, at + p.length))
    at += p.length + 16
  }
  return { frame, slices }
}

t.test('produce and fetch round trip on two shards, within the copy budget', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 2 })
  t.teardown(() => pool.stop())
  const handles = await Promise.all([0, 1, 2, 3].map((partition) => pool.createPartition(specFor(dir, { partition }))))
  t.same(pool.partitionCounts(), [2, 2], 'partitions spread over both shards')
  const [p0, p1, p2, p3] = [handles[0]!, handles[1]!, handles[2]!, handles[3]!]
  const onShard0 = handles.filter((h) => h.shard === 0)
  t.equal(onShard0.length, 2)

  // One request, one shard: the frame is transferred (detached here), no copy.
  const { frame, slices } = frameOf(onShard0.map((h) => batch(`p${h.key}`, 2)))
  const results = await pool.produce(0, onShard0.map((handle, i) => ({ handle, records: slices[i]! })), TIMEOUT)
  t.ok((frame.buffer as ArrayBuffer).detached, 'the frame ArrayBuffer was transferred, not copied')
  t.same(results.map((r) => ('ok' in r ? r.ok.baseOffset : r.error)), [0, 0])
  for (const h of onShard0) {
    t.same(await readAll(pool, h), [`p${h.key}-0`, `p${h.key}-1`])
    t.match(pool.watermarks(h), { logStartOffset: 0, highWatermark: 2, lastStableOffset: 2, logEndOffset: 2, leaderEpoch: 0 })
  }

  // One request spanning both shards: transferred to one, the other shard's slice copied.
  const all = [p0, p1, p2, p3]
  const span = frameOf(all.map((h) => batch(`x${h.key}`, 1)))
  const spanned = await pool.produceAcrossShards(all.map((handle, i) => ({ handle, records: span.slices[i]! })), TIMEOUT)
  t.ok((span.frame.buffer as ArrayBuffer).detached)
  t.same(spanned.map((r) => ('ok' in r ? r.ok.baseOffset : r.error)), all.map((h) => (h.shard === 0 ? 2 : 0)), 'results in item order')
  for (const h of all) t.equal((await readAll(pool, h)).at(-1), `x${h.key}-0`)

  // A pooled (untransferable) Node buffer still works: copied once.
  const pooled = Buffer.concat([batch('pooled')])
  t.ok(pooled.buffer.byteLength > pooled.length, 'Buffer.concat used the shared pool')
  const [viaPool] = await pool.produce(p3.shard, [{ handle: p3, records: pooled }], TIMEOUT)
  t.ok(viaPool && 'ok' in viaPool)
  t.notOk((pooled.buffer as ArrayBuffer).detached, "Node's pool was not transferred")

  // Fetch results carry the watermarks at read time; fetch from the middle and past the end.
  const [mid, past] = await pool.fetch(p0.shard, [fetchItem(p0, 1), fetchItem(p0, 99)], TIMEOUT)
  t.same(offsetsOf(records(mid)), [0, 1, 2], 'from the middle of a batch: the whole batch')
  t.match(mid, { ok: { highWatermark: 3, lastStableOffset: 3, logStartOffset: 0 } })
  t.match(past, { error: 'offset_out_of_range' })

  // Items for partitions the pool does not host are answered without a round trip.
  await pool.deletePartition(p1)
  const [gone] = await pool.produce(p1.shard, [{ handle: p1, records: batch('late') }], TIMEOUT)
  t.same(gone, { error: 'not_leader_or_follower' })
})

t.test('leader epochs: checks, bumps, OffsetForLeaderEpoch, ListOffsets by time', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 1 })
  t.teardown(() => pool.stop())
  const h = await pool.createPartition(specFor(dir, { leaderEpoch: 2 }))
  await pool.produce(h.shard, [{ handle: h, records: batch('e2', 3) }], TIMEOUT)
  const [newer, older, same] = await pool.fetch(h.shard, [
    fetchItem(h, 0, { currentLeaderEpoch: 3 }), fetchItem(h, 0, { currentLeaderEpoch: 1 }), fetchItem(h, 0, { currentLeaderEpoch: 2 }),
  ], TIMEOUT)
  t.match(newer, { error: 'unknown_leader_epoch' })
  t.match(older, { error: 'fenced_leader_epoch' })
  t.same(valuesOf(records(same)), ['e2-0', 'e2-1', 'e2-2'])

  await pool.updatePartition(h, { leaderEpoch: 5 })
  t.equal(pool.watermarks(h).leaderEpoch, 5)
  await pool.produce(h.shard, [{ handle: h, records: batch('e5', 2) }], TIMEOUT)
  t.same(await pool.offsetForLeaderEpoch(h, 2), { ok: { leaderEpoch: 2, endOffset: 3 } })
  t.same(await pool.offsetForLeaderEpoch(h, 5), { ok: { leaderEpoch: 5, endOffset: 5 } })
  t.same(await pool.listOffsetByTime(h, 0), { ok: { offset: 0, timestamp: 1_700_000_000_000, leaderEpoch: 2 } })
  t.same(await pool.listOffsetByTime(h, 1_800_000_000_000), { ok: null })
})

t.test('pipelined produces to one partition land in send order; a full mailbox pushes back', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 1, maxInFlightRequests: 8 })
  t.teardown(() => pool.stop())
  const h = await pool.createPartition(specFor(dir, {}))
  await pool.setTestDelay(h.shard, 3) // the shard sleeps before every message: the mailbox fills
  const sent = Array.from({ length: 40 }, (_, i) => pool.produce(h.shard, [{ handle: h, records: batch(`m${i}`, 1 + (i % 3)) }], TIMEOUT))
  t.ok(pool.isSaturated(h.shard), 'saturated with 40 requests in flight and a limit of 8')
  let drained = false
  pool.onDrain(h.shard, () => { drained = true })
  const results = await Promise.all(sent)
  t.ok(drained, 'onDrain fired once the shard caught up')
  t.notOk(pool.isSaturated(h.shard))
  const bases = results.map(([r]) => (r && 'ok' in r ? r.ok.baseOffset : -1))
  let expected = 0
  const inOrder = bases.every((b, i) => {
    const ok = b === expected
    expected += 1 + (i % 3)
    return ok
  })
  t.ok(inOrder, `base offsets follow send order: ${bases.join(',')}`)
  const values = await readAll(pool, h)
  t.same(values.filter((v) => v.endsWith('-0')), sent.map((_, i) => `m${i}-0`), 'the log holds the batches in send order')
})

t.test('the watermark table and wake events follow appends', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 2 })
  t.teardown(() => pool.stop())
  const a = await pool.createPartition(specFor(dir, { partition: 0 }))
  const b = await pool.createPartition(specFor(dir, { partition: 1 }))
  // A round trip on each shard's data port delivers the events their creation posted before.
  await pool.fetch(a.shard, [fetchItem(a)], TIMEOUT)
  await pool.fetch(b.shard, [fetchItem(b)], TIMEOUT)
  const woken: string[] = []
  let onWake: (() => void) | null = null
  const off = pool.onWatermarksMoved((handles) => {
    for (const h of handles) woken.push(`${h.key}@${pool.watermarks(h).highWatermark}`)
    onWake?.()
  })
  const wake = new Promise<void>((resolve) => { onWake = resolve })
  await pool.produce(b.shard, [{ handle: b, records: batch('w', 4) }], TIMEOUT)
  t.equal(pool.watermarks(b).highWatermark, 4, 'visible in the table when the produce is answered')
  await wake
  t.same(woken, [`${b.key}@4`], 'one coalesced event for the partition that moved, none for the other')
  t.equal(pool.watermarks(a).highWatermark, 0)
  off()
})

t.test('deadlines: a request that waits too long is answered request_timed_out and not appended', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 1 })
  t.teardown(() => pool.stop())
  const h = await pool.createPartition(specFor(dir, {}))
  await pool.setTestDelay(h.shard, 300)
  const [late] = await pool.produce(h.shard, [{ handle: h, records: batch('late') }], 50)
  t.same(late, { error: 'request_timed_out' })
  const [lateFetch] = await pool.fetch(h.shard, [fetchItem(h)], 50)
  t.same(lateFetch, { error: 'request_timed_out' })
  await pool.setTestDelay(h.shard, 0)
  t.same(await readAll(pool, h), [], 'the expired produce was skipped by the shard')
})

t.test('a worker killed mid-request: shard_unavailable at once, then restarted with its data', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 2 })
  t.teardown(() => pool.stop())
  const h = await pool.createPartition(specFor(dir, {}))
  const other = await pool.createPartition(specFor(dir, { partition: 1 }))
  t.not(h.shard, other.shard)
  await pool.produce(h.shard, [{ handle: h, records: batch('before', 2) }], TIMEOUT)
  await pool.setTestDelay(h.shard, 60_000)
  const pending = pool.produce(h.shard, [{ handle: h, records: batch('inflight') }], 120_000)
  const pendingControl = pool.listOffsetByTime(h, 0)
  await pool.killForTest(h.shard)
  t.same(await pending, [{ error: 'shard_unavailable' }], 'the pending produce is answered, not left hanging')
  t.same(await pendingControl, { error: 'shard_unavailable' }, 'so is the pending control call')
  const [during] = await pool.produce(h.shard, [{ handle: h, records: batch('during') }], TIMEOUT)
  t.same(during, { error: 'shard_unavailable' }, 'requests during the restart get a retriable error')
  const [unaffected] = await pool.produce(other.shard, [{ handle: other, records: batch('other') }], TIMEOUT)
  t.ok(unaffected && 'ok' in unaffected, 'the other shard keeps serving')

  t.ok(await pool.whenReady(h.shard), 'the shard comes back')
  t.same(await readAll(pool, h), ['before-0', 'before-1'], 'recovered from disk after the unclean stop')
  const [after] = await pool.produce(h.shard, [{ handle: h, records: batch('after') }], TIMEOUT)
  t.match(after, { ok: { baseOffset: 2 } })

  // An uncaught exception in the worker takes the same path.
  await pool.crashForTest(h.shard)
  // The crash comes right after the call returns; wait until the pool has noticed it.
  while (pool.isReadyForTest(h.shard)) await new Promise((resolve) => setTimeout(resolve, 5))
  t.ok(await pool.whenReady(h.shard))
  t.same(await readAll(pool, h), ['before-0', 'before-1', 'after-0'])
  t.equal(pool.watermarks(h).highWatermark, 3)
})

t.test('a topic re-created under the same name is a new actor: new key, no old writes', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 1 })
  t.teardown(() => pool.stop())
  const old = await pool.createPartition(specFor(dir, { topicId: TOPIC_A }))
  await pool.produce(old.shard, [{ handle: old, records: batch('old') }], TIMEOUT)
  const renamed = await pool.deletePartition(old)
  t.match(renamed, /orders-0\.[0-9a-f]{32}-delete$/)
  t.ok(existsSync(renamed))
  const fresh = await pool.createPartition(specFor(dir, { topicId: TOPIC_B }))
  t.not(fresh.key, old.key)
  const [stale] = await pool.produce(old.shard, [{ handle: old, records: batch('stale') }], TIMEOUT)
  t.same(stale, { error: 'not_leader_or_follower' })
  t.same(pool.watermarks(old).highWatermark, -1, 'a deleted handle reads no watermarks')
  t.same(await readAll(pool, fresh), [])
  t.equal(pool.watermarks(fresh).logEndOffset, 0)
})

t.test('owners: closeOwner closes one broker and leaves the other serving', async (t) => {
  const dir = tempDir(t)
  const pool = await ShardPool.start({ workers: 2 })
  t.teardown(() => pool.stop())
  const mine = await pool.createPartition(specFor(`${dir}/b1`, { owner: 'b1' }))
  const theirs = await pool.createPartition(specFor(`${dir}/b2`, { owner: 'b2' }))
  t.not(mine.key, theirs.key, 'the same topic id and partition under two owners are two actors')
  await pool.produce(mine.shard, [{ handle: mine, records: batch('mine') }], TIMEOUT)
  await pool.closeOwner('b1')
  const [closed] = await pool.produce(mine.shard, [{ handle: mine, records: batch('x') }], TIMEOUT)
  t.same(closed, { error: 'not_leader_or_follower' })
  const [open] = await pool.produce(theirs.shard, [{ handle: theirs, records: batch('theirs') }], TIMEOUT)
  t.ok(open && 'ok' in open)
  t.equal(pool.watermarks(mine).highWatermark, -1, 'the closed handle is no longer hosted')
  const reopened = await pool.createPartition(specFor(`${dir}/b1`, { owner: 'b1' }))
  t.same(await readAll(pool, reopened), ['mine-0'], 'reopened after the clean close')
  const [stale] = await pool.produce(mine.shard, [{ handle: mine, records: batch('x') }], TIMEOUT)
  t.same(stale, { error: 'not_leader_or_follower' }, 'a handle names one incarnation of the actor')
})

t.test('stop() and the shared pool leave nothing running: the process exits by itself', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/pool-lifecycle.ts', import.meta.url))
  const dir = tempDir(t)
  const child = spawnSync(process.execPath, [script, dir], { encoding: 'utf8', timeout: 60_000 })
  t.equal(child.signal, null, 'not killed by the timeout')
  t.equal(child.status, 0, child.stderr)
  t.match(child.stdout, /shared pool reused: true/)
  t.match(child.stdout, /still serving after one release: true/)
  t.match(child.stdout, /done/)
})
