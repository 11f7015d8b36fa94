/**
 * Recovery and start-up edge cases found by bug hunting: each test names the invariant it
 * protects. Crashes are simulated as in recovery-and-producers.test.ts: the log object is dropped
 * without close() and its fds are closed behind its back (what kill -9 leaves on disk).
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PartitionLog } from '../../../src/storage/partition-log.ts'
import { FileHandleCache } from '../../../src/storage/file-handles.ts'
import { TimeIndex } from '../../../src/storage/segment-index.ts'
import { batchOf, harness } from './helpers.ts'

function appendOk(t: Test, log: PartitionLog, buf: Buffer, epoch = 0) {
  const r = log.append(buf, epoch)
  if ('error' in r) t.fail(`append failed: ${r.error} ${r.message ?? ''}`)
  return 'ok' in r ? r.ok : null
}

function crash(h: { fds: { closeAll(): void } }): void {
  h.fds.closeAll()
}

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.log')).sort()

t.test('unclean recovery from a recovery point inside an epoch keeps where that epoch started', async (t) => {
  const h = harness(t, { segmentBytes: 1024 })
  const log = h.open()
  // Epoch 0 at 0..19, epoch 1 at 20..59 (across a segment roll), epoch 2 from 60.
  for (let i = 0; i < 10; i++) appendOk(t, log, batchOf(2, `a${i}`), 0)
  for (let i = 0; i < 20; i++) appendOk(t, log, batchOf(2, `b${i}`), 1)
  for (let i = 0; i < 5; i++) appendOk(t, log, batchOf(2, `c${i}`), 2)
  const before = readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8')
  t.equal(before, '0\n3\n0 0\n1 20\n2 60\n')
  const bases = segmentFiles(h.dir).map((n) => Number(n.slice(0, 20)))
  // A recovery point in a segment whose first batch belongs to epoch 1, which started earlier.
  const recoveryPoint = bases.find((b) => b > 20 && b < 60)
  t.ok(recoveryPoint !== undefined, `a segment starts inside epoch 1 (${bases.join(',')})`)
  crash(h)
  const reopened = h.open({ clean: false, recoveryPoint: recoveryPoint! })
  t.equal(reopened.logEndOffset, 70)
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), before, 'the checkpoint is unchanged by recovery')
  t.same(reopened.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 20 }, 'epoch 0 still ends where epoch 1 began')
  t.same(reopened.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 60 })
  t.equal(reopened.epochForOffset(30), 1)
  reopened.close()
})

t.test('unclean recovery still learns an epoch missing from the checkpoint, and drops entries at or past the log end', async (t) => {
  const h = harness(t, { segmentBytes: 1024 })
  let log = h.open()
  for (let i = 0; i < 10; i++) appendOk(t, log, batchOf(2, `a${i}`), 0)
  for (let i = 0; i < 10; i++) appendOk(t, log, batchOf(2, `b${i}`), 3)
  log.assignLeaderEpoch(4) // a new leader epoch at the log end, no batch of it yet
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), '0\n3\n0 0\n3 20\n4 40\n')
  crash(h)
  log = h.open({ clean: false, recoveryPoint: 0 })
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), '0\n2\n0 0\n3 20\n', 'epoch 4 starts at the log end: it goes')
  crash(h)
  // An older copy of the checkpoint that never saw epoch 3: the batches still say epoch 3.
  writeFileSync(join(h.dir, 'leader-epoch-checkpoint'), '0\n1\n0 0\n')
  log = h.open({ clean: false, recoveryPoint: 0 })
  t.equal(readFileSync(join(h.dir, 'leader-epoch-checkpoint'), 'utf8'), '0\n2\n0 0\n3 20\n')
  t.same(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 20 })
  log.close()
})

t.test('a rolled segment whose index files were deleted while stopped gets them rebuilt, clean stop or not', async (t) => {
  for (const clean of [true, false]) {
    await t.test(clean ? 'after a clean stop' : 'after a crash, below the recovery point', async (t) => {
      const h = harness(t, { segmentBytes: 1024, indexIntervalBytes: 100 })
      const log = h.open()
      for (let i = 0; i < 40; i++) appendOk(t, log, batchOf(2, `t${i}`, { timestamp: 1_000_000 + i * 10 }))
      const recoveryPoint = log.logEndOffset
      if (clean) log.close()
      else {
        log.flush()
        crash(h)
      }
      const segments = segmentFiles(h.dir)
      t.ok(segments.length >= 3)
      const second = segments[1]!.slice(0, 20)
      // Operators delete index files to have Kafka rebuild them.
      rmSync(join(h.dir, `${second}.timeindex`))
      rmSync(join(h.dir, `${second}.index`))
      const reopened = h.open({ clean, recoveryPoint })
      // Batch 12 (offsets 24, 25) is the first with a timestamp >= 1_000_115; it lives in the second segment.
      t.equal(Number(second), 22)
      t.same(reopened.offsetForTimestamp(1_000_115), { offset: 24, timestamp: 1_000_120, leaderEpoch: 0 }, 'time lookup finds the record in the rebuilt segment')
      t.ok(readdirSync(h.dir).includes(`${second}.timeindex`) && readdirSync(h.dir).includes(`${second}.index`), 'index files rebuilt')
      // Retention reads the segment's largest timestamp (1_000_210), not the file's mtime.
      reopened.setHighWatermark(reopened.logEndOffset)
      const now = 1_000_210 + 7 * 24 * 3600 * 1000 + 1
      t.same(reopened.deleteOldSegments(now, ['retention_ms']), { retention_ms: 2 }, 'the first two segments are due; the rebuilt one does not block')
      reopened.close()
    })
  }
})

t.test('an index rebuild is crash-safe: entries go to a .rebuild file renamed over the index only when whole', async (t) => {
  const dir = t.testdir()
  const fds = new FileHandleCache(8)
  t.teardown(() => fds.closeAll())
  const path = join(dir, '00000000000000000000.timeindex')
  const index = new TimeIndex(path, fds)
  index.beginRebuild()
  index.reset()
  index.activate()
  index.maybeAppend(1_000, 0)
  index.maybeAppend(2_000, 5)
  t.notOk(existsSync(path), 'while the rebuild runs, a stop leaves no index under the real name')
  t.ok(existsSync(`${path}.rebuild`))
  index.commitRebuild()
  t.same(readdirSync(dir), ['00000000000000000000.timeindex'])
  t.equal(statSync(path).size, 24, 'both entries, renamed into place')
})

t.test('start-up removes the .rebuild files of a rebuild that a stop interrupted, and rebuilds the indexes whole', async (t) => {
  const h = harness(t, { segmentBytes: 1024, indexIntervalBytes: 100 })
  const log = h.open()
  for (let i = 0; i < 40; i++) appendOk(t, log, batchOf(2, `r${i}`, { timestamp: 1_000_000 + i * 10 }))
  log.close()
  const second = segmentFiles(h.dir)[1]!.slice(0, 20)
  const whole = { index: readFileSync(join(h.dir, `${second}.index`)), timeindex: readFileSync(join(h.dir, `${second}.timeindex`)) }
  t.ok(whole.index.length > 8 && whole.timeindex.length > 12, 'several entries in each index')
  // What a kill -9 in the middle of a rebuild leaves: the indexes still missing, partial .rebuild files.
  for (const kind of ['index', 'timeindex'] as const) {
    rmSync(join(h.dir, `${second}.${kind}`))
    writeFileSync(join(h.dir, `${second}.${kind}.rebuild`), whole[kind].subarray(0, kind === 'index' ? 8 : 12))
  }
  const reopened = h.open({ clean: true })
  t.same(readdirSync(h.dir).filter((n) => n.endsWith('.rebuild')), [], 'no .rebuild file left')
  t.same(readFileSync(join(h.dir, `${second}.index`)), whole.index, 'the offset index is whole again')
  t.same(readFileSync(join(h.dir, `${second}.timeindex`)), whole.timeindex, 'the time index is whole again')
  reopened.close()
})
