/**
 * Durable Raft storage on the broker's segment log (src/raft/storage/): restart keeps entries,
 * term and vote; torn tails are cut; conflicting suffixes are truncated; snapshots install and
 * compact. Also the storage engine's truncation that this needs (PartitionLog.truncateTo).
 */
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { FileHandleCache } from '../../src/storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../src/storage/partition-log.ts'
import { buildRecordBatch } from '../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../src/storage/record-batch-reader.ts'
import { MemoryStorage } from '../../src/raft/storage.ts'
import { LogStorage } from '../../src/raft/storage/log-storage.ts'
import { readSnapshotFile, writeSnapshotFile } from '../../src/raft/storage/snapshot-file.ts'
import type { Entry } from '../../src/raft/types.ts'
import { Prng } from './sim/prng.ts'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-raft-storage-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const e = (index: number, term: number, text = `${index}@${term}`): Entry => ({ index, term, kind: 'data', data: Buffer.from(text) })
const noop = (index: number, term: number): Entry => ({ index, term, kind: 'noop', data: new Uint8Array(0) })
const show = (es: readonly Entry[]): string[] => es.map((x) => `${x.index}:${x.term}:${x.kind}:${Buffer.from(x.data).toString()}`)
const range = (lo: number, hi: number, term: number): Entry[] => Array.from({ length: hi - lo + 1 }, (_, k) => e(lo + k, term))

function opener(t: Test, extra: { segmentBytes?: number; tailCacheBytes?: number; fsync?: boolean } = {}) {
  const dir = join(tempDir(t), '__cluster_metadata-0')
  const open = () => {
    const s = LogStorage.open({ dir, voters: [1, 2, 3], ...extra })
    t.teardown(() => s.close())
    return s
  }
  return { dir, open }
}

t.test('PartitionLog.truncateTo cuts at batch boundaries and survives a reopen', async (t) => {
  const dir = join(tempDir(t), 'orders-0')
  const fds = new FileHandleCache(16)
  t.teardown(() => fds.closeAll())
  const open = () => PartitionLog.open({
    dir, topic: 'orders', partition: 0, topicId: 'c2Ftc2EtdGVzdC10b3BpYw', config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 300 },
    now: () => 1_700_000_000_000, recoveryPoint: 0, cleanShutdown: false, fds,
  })
  const log = open()
  for (let i = 0; i < 10; i++) {
    const batch = buildRecordBatch({ records: [{ value: `v${i}`.padEnd(60, '.') }, { value: 'x' }], baseOffset: 2 * i, partitionLeaderEpoch: i < 5 ? 1 : 2, timestamp: 1 })
    t.ok('ok' in log.appendAsFollower(batch))
  }
  t.ok(log.segmentCount() > 2, 'several segments')
  t.equal(log.truncateTo(13), 12, 'offset 13 sits inside the batch 12..13: the whole batch goes')
  t.equal(log.logEndOffset, 12)
  t.equal(log.epochForOffset(11), 2)
  t.equal(log.truncateTo(9), 8, 'into an earlier segment; later segments are deleted')
  t.equal(log.endOffsetForEpoch(1).endOffset, 8, 'epoch 2 started at 10 and is gone')
  t.equal(log.epochForOffset(7), 1)
  const again = buildRecordBatch({ records: [{ value: 'new' }], baseOffset: 8, partitionLeaderEpoch: 3, timestamp: 1 })
  t.ok('ok' in log.appendAsFollower(again), 'appends continue at the new end')
  log.flush()
  log.close()
  const reopened = open()
  t.equal(reopened.logEndOffset, 9)
  t.equal(reopened.epochForOffset(8), 3)
  reopened.truncateFullyAndStartAt(42)
  t.same([reopened.logStartOffset, reopened.logEndOffset, reopened.epochForOffset(8)], [42, 42, -1], 'a full truncation restarts the log empty')
  reopened.close()
  t.same([open().logStartOffset, open().logEndOffset].slice(0, 1), [42], 'and the restart point survives a reopen')
})

t.test('restart keeps entries, term and vote; the commit hint never passes the log', async (t) => {
  const { dir, open } = opener(t)
  const s = open()
  s.append([noop(1, 1), e(2, 1), e(3, 2)])
  s.sync()
  s.setHardState({ term: 2, vote: 3, commit: 2 })
  s.abandon() // a crash: no close, no flush beyond what sync did
  const r = open()
  t.same(r.hardState(), { term: 2, vote: 3, commit: 2 }, 'term and vote were durable at once')
  t.same(show(r.entries(1, 4, 1e9)), ['1:1:noop:', '2:1:data:2@1', '3:2:data:3@2'])
  t.same([r.term(1), r.term(3), r.firstIndex(), r.lastIndex()], [1, 2, 1, 3])
  r.setHardState({ term: 2, vote: 3, commit: 3 })
  r.abandon()
  const p = open()
  t.equal(p.hardState().commit, 2, 'a commit change alone is not written at once (it is only a hint)')
  p.setHardState({ term: 2, vote: 3, commit: 3 })
  p.close()
  const q = open()
  t.same(q.hardState(), { term: 2, vote: 3, commit: 3 }, 'a clean close writes the commit hint')
  t.ok(readdirSync(dir).includes('quorum-state'))
})

t.test('entries of a newer term than quorum-state (a crash between the two writes) move the term up, without a vote', async (t) => {
  const { open } = opener(t)
  const s = open()
  s.setHardState({ term: 3, vote: 2, commit: 0 })
  s.append([e(1, 3), e(2, 4)])
  s.sync()
  s.abandon() // crashed before setHardState({ term: 4, ... })
  t.same(open().hardState(), { term: 4, vote: 0, commit: 0 })
})

t.test('a torn tail is cut on restart', async (t) => {
  const { dir, open } = opener(t)
  const s = open()
  s.append(range(1, 5, 1))
  s.sync()
  s.abandon()
  const logFile = join(dir, '00000000000000000000.log')
  const size = statSync(logFile).size
  truncateSync(logFile, size - 7) // the last batch was half written
  appendFileSync(logFile, Buffer.alloc(3, 0xab))
  const r = open()
  t.equal(r.lastIndex(), 4, 'the torn entry 5 is gone')
  t.same(show(r.entries(4, 5, 1e9)), ['4:1:data:4@1'])
  r.append([e(5, 2)])
  t.equal(r.term(5), 2, 'and the log continues after the last intact batch')
})

t.test('a conflicting suffix is truncated, on disk too', async (t) => {
  const { open } = opener(t)
  const s = open()
  s.append(range(1, 6, 1))
  s.append([e(4, 2), e(5, 2)])
  t.same([s.lastIndex(), s.term(3), s.term(4), s.term(5)], [5, 1, 2, 2])
  s.close()
  const r = open()
  t.same(show(r.entries(3, 6, 1e9)), ['3:1:data:3@1', '4:2:data:4@2', '5:2:data:5@2'])
  t.throws(() => r.append([e(9, 3)]), 'a gap is refused')
  r.setHardState({ term: 2, vote: 0, commit: 3 })
  t.throws(() => r.append([e(3, 3)]), 'a committed entry is never truncated')
})

t.test('snapshots: local compaction deletes old segments; install from a leader replaces the log', async (t) => {
  const { dir, open } = opener(t, { segmentBytes: 400 })
  const s = open()
  s.append(range(1, 30, 1))
  s.sync()
  const segmentsBefore = readdirSync(dir).filter((n) => n.endsWith('.log')).length
  const snap = s.createSnapshot(20, Buffer.from('image@20'))
  t.same(snap.meta, { index: 20, term: 1, voters: [1, 2, 3] })
  t.ok(readdirSync(dir).includes('00000000000000000020-0000000001.checkpoint'), 'named <endOffset:20>-<epoch:10>.checkpoint')
  t.ok(readdirSync(dir).filter((n) => n.endsWith('.log')).length < segmentsBefore, 'segments below the snapshot were deleted')
  t.same([s.firstIndex(), s.lastIndex(), s.term(20)], [21, 30, 1])
  t.same(show(s.entries(21, 23, 1e9)), ['21:1:data:21@1', '22:1:data:22@1'])
  s.abandon()
  const r = open()
  t.same([r.firstIndex(), r.lastIndex(), Buffer.from(r.snapshot().data).toString()], [21, 30, 'image@20'], 'a restart finds the snapshot and the suffix')
  t.same(r.initialState().voters, [1, 2, 3])
  r.applySnapshot({ meta: { index: 50, term: 4, voters: [1, 2, 3] }, data: Buffer.from('image@50') })
  t.same([r.firstIndex(), r.lastIndex(), r.term(50)], [51, 50, 4], 'an installed snapshot replaces the whole log')
  r.append([e(51, 4)])
  r.sync()
  t.same(readdirSync(dir).filter((n) => n.endsWith('.checkpoint')), ['00000000000000000050-0000000004.checkpoint'], 'the older checkpoint was removed')
  r.close()
  const q = open()
  t.same([q.firstIndex(), q.lastIndex(), q.term(51)], [51, 51, 4])
})

t.test('a crash between writing a checkpoint and cutting the log: the log yields to the snapshot', async (t) => {
  const { dir, open } = opener(t)
  const s = open()
  s.append(range(1, 8, 1))
  s.sync()
  s.abandon()
  // The leader's snapshot at index 6 has term 2: our entries 1..8 of term 1 conflict with it.
  writeSnapshotFile(dir, { meta: { index: 6, term: 2, voters: [1, 2, 3] }, data: Buffer.from('x') }, true, 1)
  const r = open()
  t.same([r.firstIndex(), r.lastIndex(), r.term(6)], [7, 6, 2], 'the conflicting log was dropped')
  r.close()
  // A checkpoint that matches the log keeps the suffix.
  const { dir: dir2, open: open2 } = opener(t)
  const a = open2()
  a.append(range(1, 8, 1))
  a.sync()
  a.abandon()
  writeSnapshotFile(dir2, { meta: { index: 6, term: 1, voters: [1, 2, 3] }, data: Buffer.from('x') }, true, 1)
  const b = open2()
  t.same([b.firstIndex(), b.lastIndex(), b.term(8)], [7, 8, 1], 'a matching log keeps entries after the snapshot')
})

t.test('model check: random appends, conflicts, snapshots and restarts agree with MemoryStorage', async (t) => {
  for (let seed = 1; seed <= 3; seed++) {
    const rng = new Prng(seed)
    const { open } = opener(t, { segmentBytes: 3000, tailCacheBytes: 300, fsync: false }) // a process crash, not a power loss: no fsync needed
    let s = open()
    const model = new MemoryStorage([1, 2, 3])
    let term = 1
    for (let step = 0; step < 150; step++) {
      const roll = rng.int(100)
      if (roll < 60) {
        if (rng.chance(0.2)) term++
        const last = model.lastIndex()
        const from = Math.max(model.firstIndex(), last + 1 - rng.int(4))
        const batch = Array.from({ length: 1 + rng.int(5) }, (_, k) => e(from + k, term, `s${seed}-${step}-${k}`))
        model.append(batch)
        s.append(batch)
      } else if (roll < 70 && model.lastIndex() >= model.firstIndex()) {
        const at = model.firstIndex() + rng.int(model.lastIndex() - model.firstIndex() + 1)
        model.createSnapshot(at, Buffer.from(`snap${at}`), [1, 2, 3])
        s.createSnapshot(at, Buffer.from(`snap${at}`))
      } else if (roll < 80) {
        s.sync()
        s.abandon()
        s = open()
      }
      const lo = model.firstIndex()
      const hi = model.lastIndex() + 1
      if (s.firstIndex() !== lo || s.lastIndex() !== hi - 1) {
        t.fail(`seed ${seed} step ${step}: bounds [${s.firstIndex()}, ${s.lastIndex()}] vs [${lo}, ${hi - 1}]`)
        return
      }
      const got = show(s.entries(lo, hi, 1e9))
      const want = show(model.entries(lo, hi, 1e9))
      if (got.join() !== want.join() || s.term(lo - 1) !== model.term(lo - 1)) {
        t.same(got, want, `seed ${seed} step ${step}: entries`)
        return
      }
    }
    t.pass(`seed ${seed}: 150 steps agree`)
  }
})

t.test('a damaged newest checkpoint is ignored in favour of the previous state', async (t) => {
  const { dir, open } = opener(t)
  const s = open()
  s.append(range(1, 6, 1))
  s.createSnapshot(3, Buffer.from('good'))
  s.close()
  // A newer checkpoint whose tail is lost: the footer is missing.
  const name = writeSnapshotFile(dir, { meta: { index: 5, term: 1, voters: [1, 2, 3] }, data: Buffer.from('newer') }, false, 1)
  truncateSync(join(dir, name), statSync(join(dir, name)).size - 10)
  const r = open()
  t.same([r.snapshot().meta.index, Buffer.from(r.snapshot().data).toString(), r.lastIndex()], [3, 'good', 6], 'the intact older snapshot and the log are used')
  t.notOk(readdirSync(dir).includes(name), 'the damaged checkpoint was deleted')
})

t.test('snapshot files use Kafka\'s control record types (header 3, footer 4); files from older builds (4, 5) still read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-snapfile-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const snap = { meta: { index: 10, term: 2, voters: [1, 2, 3] }, data: new Uint8Array([7, 8, 9]) }
  const name = writeSnapshotFile(dir, snap, false, 0)
  const batches = decodeRecordBatches(readFileSync(join(dir, name)))
  t.same([batches[0]!.isControl, batches[0]!.records[0]!.key!.readInt16BE(2)], [true, 3], 'SNAPSHOT_HEADER')
  t.same([batches.at(-1)!.isControl, batches.at(-1)!.records[0]!.key!.readInt16BE(2)], [true, 4], 'SNAPSHOT_FOOTER')
  t.same(readSnapshotFile(dir, name)?.meta, snap.meta)
  // An older build's file: the same batches with keys 4 and 5.
  const legacy = batches.map((b, i) => buildRecordBatch({
    records: b.records.map((r) => ({ key: r.key === null ? null : Buffer.from([0, 0, 0, i === 0 ? 4 : 5]), value: r.value })),
    baseOffset: b.baseOffset, partitionLeaderEpoch: b.partitionLeaderEpoch, isControl: b.isControl, timestamp: 0,
  }))
  writeFileSync(join(dir, name), Buffer.concat(legacy))
  t.same(readSnapshotFile(dir, name)?.meta, snap.meta, 'a legacy file reads')
  const mixed = [legacy[0]!, ...batches.slice(1).map((b) => buildRecordBatch({ records: b.records.map((r) => ({ key: r.key, value: r.value })), baseOffset: b.baseOffset, partitionLeaderEpoch: b.partitionLeaderEpoch, isControl: b.isControl, timestamp: 0 }))]
  writeFileSync(join(dir, name), Buffer.concat(mixed))
  t.equal(readSnapshotFile(dir, name), null, 'a legacy header with a new footer is not a snapshot')
})
