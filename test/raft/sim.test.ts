/**
 * Runs the deterministic simulator over thousands of seeds, cycling through
 * every fault profile, and checks that the simulator itself is sound: runs
 * replay exactly, and its checkers do catch violations.
 */
import t from 'tap'
import { Checker, SafetyViolation } from './sim/checker.ts'
import { History } from './sim/history.ts'
import { MemoryStorage } from '../../src/raft/storage.ts'
import type { Entry } from '../../src/raft/types.ts'
import { encodeConfigEntry } from '../../src/raft/membership.ts'
import { profileNames } from './sim/profiles.ts'
import { encodeOp } from './sim/register.ts'
import { Simulation, formatFailure } from './sim/simulation.ts'

// 3,500 seeds in all, cycling through the profiles (membership changes included since the
// eighth profile was added; the total stayed the same, so the test did not get slower).
const seeds = Number(process.env['RAFT_SIM_SEEDS'] ?? 3500)

t.test(`${seeds} seeds across ${profileNames.length} fault profiles`, async (t) => {
  const perProfile = new Map<string, number>()
  let acked = 0
  let reads = 0
  let failure: string | undefined
  for (let seed = 1; seed <= seeds && !failure; seed++) {
    const r = new Simulation({ seed }).run()
    if (!r.ok) failure = formatFailure(new Simulation({ seed, traceLimit: 200 }).run())
    perProfile.set(r.profile.name, (perProfile.get(r.profile.name) ?? 0) + 1)
    acked += r.stats.acked
    reads += r.stats.reads
  }
  t.equal(failure, undefined, failure ?? 'all seeds pass')
  t.equal(perProfile.size, profileNames.length, 'every profile ran')
  // The workload must actually exercise the cluster, or passing means nothing.
  t.ok(acked > seeds * 20, `writes were acknowledged (${acked})`)
  t.ok(reads > seeds * 10, `linearizable reads completed (${reads})`)
})

t.test('a seed replays exactly', async (t) => {
  for (const seed of [7, 12, 13]) {
    const a = new Simulation({ seed, traceLimit: 100_000 }).run()
    const b = new Simulation({ seed, traceLimit: 100_000 }).run()
    t.same(a.stats, b.stats, `seed ${seed}: same stats`)
    t.same(a.trace, b.trace, `seed ${seed}: same trace`)
    t.ok(a.trace.length > 100, 'the trace is not trivially empty')
  }
})

function entry(index: number, term: number, op: number): Entry {
  return { index, term, kind: 'data', data: encodeOp(op) }
}

t.test('the checkers catch violations', async (t) => {
  const c = new Checker()
  const s = new MemoryStorage([1, 2, 3])
  c.onLeader(1, 2, s)
  t.throws(() => c.onLeader(2, 2, s), SafetyViolation, 'two leaders in one term')

  c.onApply(1, entry(1, 1, 10), 0)
  t.throws(() => c.onApply(2, entry(1, 1, 11), 0), SafetyViolation, 'different entries applied at one index')
  t.throws(() => c.onApply(2, entry(3, 1, 12), 1), SafetyViolation, 'a gap in the applied sequence')

  const s2 = new MemoryStorage([1, 2, 3])
  s2.append([entry(1, 1, 10), entry(2, 1, 20)])
  c.onPersist(2, [entry(2, 1, 20)], s2)
  const s3 = new MemoryStorage([1, 2, 3])
  s3.append([entry(1, 1, 10), entry(2, 1, 21)])
  t.throws(() => c.onPersist(3, [entry(2, 1, 21)], s3), SafetyViolation, 'log matching: same index and term, other entry')

  t.throws(() => c.onHardState(1, { term: 3, vote: 1, commit: 5 }, { term: 3, vote: 2, commit: 5 }), SafetyViolation, 'two votes in a term')
  t.throws(() => c.onHardState(1, { term: 3, vote: 1, commit: 5 }, { term: 3, vote: 1, commit: 4 }), SafetyViolation, 'commit going back')

  const acks = new Checker()
  acks.onAck(30, 2)
  acks.onApply(1, entry(1, 1, 10), 0)
  t.throws(() => acks.onApply(1, entry(2, 2, 31), 1), SafetyViolation, 'an acknowledged write replaced by another')
  acks.onLost(77)
  t.throws(() => acks.onApply(2, entry(3, 2, 77), 2), SafetyViolation, 'a write reported lost was applied')

  const empty = new MemoryStorage([1, 2, 3])
  t.throws(() => c.onLeader(3, 9, empty), SafetyViolation, 'leader completeness: a leader missing applied entries')

  const conf = (index: number, node: number): Entry => ({
    index, term: 2, kind: 'config', data: encodeConfigEntry({ change: { type: 'addVoter', node }, voters: [1, 2, 3, node] }),
  })
  const leaderLog = new MemoryStorage([1, 2, 3])
  leaderLog.append([entry(1, 2, 40), conf(2, 4)])
  leaderLog.setHardState({ term: 2, vote: 1, commit: 1 })
  t.doesNotThrow(() => c.onLeaderConfigChange(1, leaderLog), 'one uncommitted change is fine')
  leaderLog.append([conf(3, 5)])
  t.throws(() => c.onLeaderConfigChange(1, leaderLog), SafetyViolation, 'two uncommitted changes in a leader\'s log')
  leaderLog.setHardState({ term: 2, vote: 1, commit: 2 })
  t.doesNotThrow(() => c.onLeaderConfigChange(1, leaderLog), 'the first one committed before the second')
  c.onPersist(1, leaderLog.entries(1, 4, Infinity), leaderLog)
  const other = new MemoryStorage([1, 2, 3])
  other.append([entry(1, 2, 40), { ...conf(2, 4), data: encodeConfigEntry({ change: { type: 'addVoter', node: 6 }, voters: [1, 2, 3, 6] }) }])
  t.throws(() => c.onPersist(2, other.entries(2, 3, Infinity), other), SafetyViolation, 'log matching covers config entries')
})

t.test('the history checker catches a stale read', async (t) => {
  const c = new Checker()
  const h = new History(c)
  c.onApply(1, entry(1, 1, 1), 0)
  c.onApply(1, entry(2, 1, 2), 1)
  h.writeAccepted(2, 1, 2, 1, 0)
  h.onOutcome(1, { index: 2, term: 1, outcome: 'committed' }, 5)
  const ctx = h.readStarted(2, 6)
  t.throws(() => h.readDone(2, ctx, 1, 1), SafetyViolation, 'a read after an acknowledged write saw an older value')
  const ok = h.readStarted(3, 7)
  t.doesNotThrow(() => h.readDone(3, ok, 2, 2), 'a fresh read passes')
  const later = h.readStarted(1, 8)
  t.throws(() => h.readDone(1, later, 1, 1), SafetyViolation, 'a read went back in time relative to an earlier read')
})
