/**
 * Compaction as a partition actor runs it: the pass goes to a cleaner runner (piscina in the
 * broker; inline or an injected one here) and the actor swaps the result in. Covers the cleaner
 * checkpoint (resume instead of recleaning), uncleanable partitions (a failing pass leaves the
 * log intact and serving), and a log that changed under a running pass.
 */
import t, { type Test } from 'tap'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FileHandleCache } from '../../../src/storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../../src/storage/partition-log.ts'
import { runCleanJob, type CleanerRunner } from '../../../src/storage/log-cleaner.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'
import { PartitionActor, type ActorDeps } from '../../../src/partition/partition-actor.ts'
import { Clock, TOPIC_ID, tempDir } from './helpers.ts'

const COMPACT: LogConfig = {
  ...DEFAULT_LOG_CONFIG, cleanupPolicy: { delete: false, compact: true }, segmentBytes: 400, minCleanableDirtyRatio: 0.01, minCompactionLagMs: 0,
}

function setup(t: Test, deps: Partial<ActorDeps> = {}) {
  const root = tempDir(t)
  const fds = new FileHandleCache(32)
  t.teardown(() => fds.closeAll())
  const clock = new Clock()
  const errors: string[] = []
  const logger = { info() {}, warn() {}, error: (_: object, msg: string) => { errors.push(msg) } }
  const dir = join(root, 'orders-0')
  const open = (o: { cleanerCheckpoint?: number; config?: Partial<LogConfig> } = {}) => PartitionActor.open({
    actorId: 1, slot: 0, owner: 'b', dir, topic: 'orders', partition: 0, topicId: TOPIC_ID, leaderEpoch: 0,
    config: { ...COMPACT, ...o.config }, recoveryPoint: 0, cleanShutdown: true,
    ...(o.cleanerCheckpoint === undefined ? {} : { cleanerCheckpoint: o.cleanerCheckpoint }),
  }, { fds, now: clock.now, logger, ...deps })
  return { dir, clock, errors, open }
}

/** 3 keys rewritten `batches` times: every batch supersedes the one three before it. */
function produceMany(actor: PartitionActor, batches: number, tag = 'v'): void {
  for (let b = 0; b < batches; b++) {
    const records = [{ key: `k${b % 3}`, value: `${tag}-${b}`.padEnd(40, '.') }]
    const r = actor.produce(buildRecordBatch({ records, timestamp: 1_700_000_000_000 }))
    if (!('ok' in r)) throw new Error(`produce failed: ${JSON.stringify(r)}`)
  }
}

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.log')).sort()

function fetchAll(actor: PartitionActor, from: number): number[] {
  const r = actor.fetch(from, 1_000_000, false, -1, true)
  if (!('ok' in r)) throw new Error(`fetch failed: ${JSON.stringify(r)}`)
  const records = Buffer.from(r.ok.buffer, r.ok.byteOffset, r.ok.byteLength)
  return decodeRecordBatches(records).flatMap((b) => b.records.map((x) => x.offset))
}

t.test('the cleaner checkpoint is published, and a reopened actor resumes from it instead of recleaning', async (t) => {
  const h = setup(t)
  const a = h.open()
  produceMany(a, 40)
  t.equal(a.watermarks().cleanerCheckpoint, -1, 'never cleaned')
  const cleaned = await a.clean(h.clock.ms)
  t.ok(cleaned !== undefined && cleaned > 0, `one pass cleaned up to ${cleaned}`)
  t.equal(a.watermarks().cleanerCheckpoint, cleaned, 'the checkpoint is in the watermarks (the broker writes it from there)')
  a.close()

  const resumed = h.open({ cleanerCheckpoint: cleaned! })
  t.equal(resumed.startCleaning(h.clock.ms), null, 'from the checkpoint nothing is dirty: no pass')
  t.equal(resumed.watermarks().cleanerCheckpoint, cleaned)
  resumed.close()

  const forgetful = h.open()
  const pass = forgetful.startCleaning(h.clock.ms)
  t.not(pass, null, 'without the checkpoint the whole log counts as dirty and is cleaned again')
  t.equal(await pass, 'cleaned')
  forgetful.close()
})

t.test('a pass that throws marks the partition uncleanable; the log stays intact and serving', async (t) => {
  const h = setup(t)
  const a = h.open()
  produceMany(a, 40)
  const files = segmentFiles(h.dir)
  t.ok(files.length >= 3, `several segments (${files.length})`)
  // Damage the last byte of the first rolled segment: that batch's CRC no longer matches.
  const first = join(h.dir, files[0]!)
  const bytes = readFileSync(first)
  bytes[bytes.length - 1] ^= 0xff
  writeFileSync(first, bytes)
  const before = files.map((f) => readFileSync(join(h.dir, f)))

  t.equal(await a.startCleaning(h.clock.ms), 'uncleanable')
  t.match(a.uncleanableReason, /damaged/, 'the reason names the damage')
  t.equal(h.errors.length, 1, 'one error logged')
  t.same(readdirSync(h.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), [], 'no cleaner output left behind')
  t.same(files.map((f) => readFileSync(join(h.dir, f))), before, 'every segment is as it was')
  t.equal(a.watermarks().cleanerCheckpoint, -1, 'the checkpoint did not move')

  const leo = a.watermarks().logEndOffset
  const appended = a.produce(buildRecordBatch({ records: [{ key: 'k9', value: 'after' }], timestamp: 1_700_000_000_000 }))
  t.ok('ok' in appended && appended.ok.baseOffset === leo, 'appends still work')
  t.same(fetchAll(a, leo), [leo], 'fetches still work')
  t.equal(a.startCleaning(h.clock.ms), null, 'no further pass until a restart or config change')

  a.update({ config: { ...COMPACT } })
  const retried = a.startCleaning(h.clock.ms)
  t.not(retried, null, 'a config change makes it cleanable again')
  t.equal(await retried, 'uncleanable', 'and the damage is found again')
  a.close()
})

t.test('an injected cleaner failure marks the partition uncleanable without touching the log', async (t) => {
  const failing: CleanerRunner = async () => { throw new Error('injected cleaner failure') }
  const h = setup(t, { cleaner: failing })
  const a = h.open()
  produceMany(a, 40)
  const before = segmentFiles(h.dir)
  t.equal(await a.startCleaning(h.clock.ms), 'uncleanable')
  t.equal(a.uncleanableReason, 'injected cleaner failure')
  t.same(segmentFiles(h.dir), before)
  const leo = a.watermarks().logEndOffset
  t.ok('ok' in a.produce(buildRecordBatch({ records: [{ key: 'k1', value: 'x' }], timestamp: 1_700_000_000_000 })))
  t.same(fetchAll(a, leo), [leo])
  a.close()
})

t.test('a pass whose segments were deleted meanwhile is discarded, not uncleanable', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  // The job runs only after retention has deleted (renamed) the segments it was given.
  const late: CleanerRunner = async (job) => {
    await gate
    return runCleanJob(job)
  }
  const h = setup(t, { cleaner: late })
  const a = h.open({ config: { cleanupPolicy: { delete: true, compact: true }, retentionBytes: 100, fileDeleteDelayMs: 0 } })
  produceMany(a, 40)
  const pass = a.startCleaning(h.clock.ms)
  t.not(pass, null)
  t.equal(a.startCleaning(h.clock.ms), null, 'one pass at a time')
  const deleted = a.deleteOldSegments(h.clock.ms)
  t.ok((deleted.retention_bytes ?? 0) > 0, 'retention deleted segments under the pass')
  a.removeDeletedFiles(h.clock.ms)
  release()
  t.equal(await pass, 'discarded')
  t.equal(a.uncleanableReason, null, 'still cleanable')
  t.same(readdirSync(h.dir).filter((n) => n.endsWith('.cleaned')), [])
  t.notOk(existsSync(join(h.dir, '00000000000000000000.log')), 'the deleted segment stays deleted')
  a.close()
})
