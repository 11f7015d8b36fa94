/**
 * Runs the deterministic simulator over thousands of seeds, cycling through
 * every fault profile, and checks that the simulator itself is sound: runs
 * replay exactly, and its checkers do catch violations.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Checker, SafetyViolation } from './sim/checker.ts'
import { History } from './sim/history.ts'
import { MemoryStorage } from '../../src/raft/storage.ts'
import type { Entry } from '../../src/raft/types.ts'
import { encodeConfigEntry } from '../../src/raft/membership.ts'
import { profileNames } from './sim/profiles.ts'
import type { ProfileName } from './sim/profiles.ts'
import { encodeOp } from './sim/register.ts'
import { Simulation, formatFailure, replayCommand } from './sim/simulation.ts'

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

// Seeds that once failed, with the profile they failed under. Each must keep passing.
const regressions: ReadonlyArray<{ seed: number; profile: ProfileName; why: string }> = [
  {
    seed: 115140, profile: 'membership',
    why: 'a sole voter leads term 3, crashes mid-write (the hard state of term 3 torn off), runs term 3 ' +
      'again and puts another entry at the index of a write accepted in its previous life: the history ' +
      'must not credit that write with the new entry\'s commit (a false "acknowledged but applied" violation)',
  },
]

t.test('regression seeds', async (t) => {
  for (const { seed, profile, why } of regressions) {
    const r = new Simulation({ seed, profile }).run()
    t.ok(r.ok, `seed ${seed} (${profile}): ${why}`)
    if (!r.ok) t.comment(formatFailure(new Simulation({ seed, profile, traceLimit: 200 }).run()))
  }
})

t.test('a crashed node\'s pending writes are forgotten, and a real mismatch is still caught', async (t) => {
  // Life 1 of node 4: op 78 accepted at 23/3, then the node crashes before any outcome.
  const c = new Checker()
  const h = new History(c)
  for (let i = 1; i <= 22; i++) c.onApply(4, entry(i, i < 20 ? 2 : 3, 1000 + i), i - 1)
  h.writeAccepted(78, 4, 23, 3, 0)
  h.forgetWritesOf(4)
  // Life 2 runs term 3 again and commits op 79 at 23/3: nothing credits op 78 with it.
  c.onApply(4, entry(23, 3, 79), 22)
  h.writeAccepted(80, 4, 24, 3, 1)
  t.doesNotThrow(() => h.onOutcome(4, { index: 23, term: 3, outcome: 'committed' }, 2), 'an outcome of the new life is not the old write\'s')
  t.equal(h.acked, 0, 'nothing acknowledged')
  t.equal(h.outstandingWrites(3, 1000), 1, 'only the new life\'s write is outstanding')
  // The forgetting is per node: another node's pending write at the same index/term is kept.
  h.writeAccepted(81, 5, 25, 4, 3)
  h.forgetWritesOf(4)
  t.equal(h.outstandingWrites(4, 1000), 1, 'node 5\'s write survives node 4\'s crash')

  // Without the crash, the same outcome for a write whose index holds another op is a violation.
  const c2 = new Checker()
  const h2 = new History(c2)
  for (let i = 1; i <= 22; i++) c2.onApply(4, entry(i, 2, 1000 + i), i - 1)
  h2.writeAccepted(78, 4, 23, 3, 0)
  c2.onApply(4, entry(23, 3, 79), 22)
  t.throws(() => h2.onOutcome(4, { index: 23, term: 3, outcome: 'committed' }, 2), SafetyViolation,
    'an acknowledged write whose index holds another op')
})

t.test('the replay line carries everything needed to replay the run', async (t) => {
  // A staged failure result; only the seed and options matter for the replay line.
  const staged = new Simulation({ seed: 5, faultMs: 200 }).run()
  const base = { ...staged, ok: false, error: 'staged', trace: [] }
  t.equal(replayCommand({ seed: 42, options: {} }), 'SEED=42 node test/raft/sim/main.ts', 'the seed alone when nothing was forced')
  t.equal(replayCommand({ seed: 42, options: { profile: 'membership' } }), 'SEED=42 PROFILE=membership node test/raft/sim/main.ts')
  t.equal(replayCommand({ seed: 42, options: { profile: 'chaos', faultMs: 5000, livenessMs: 9000 } }),
    'SEED=42 PROFILE=chaos FAULT_MS=5000 LIVENESS_MS=9000 node test/raft/sim/main.ts')
  const forced = new Simulation({ seed: 115140, profile: 'membership', faultMs: 200 }).run()
  t.same(forced.options, { profile: 'membership', faultMs: 200 }, 'a result records the options it ran with')
  const text = formatFailure({ ...base, seed: forced.seed, options: forced.options })
  t.match(text, /^replay: SEED=115140 PROFILE=membership FAULT_MS=200 node test\/raft\/sim\/main\.ts$/m, 'formatFailure prints the forced profile')
  const seedOnly = new Simulation({ seed: 9 }).run()
  t.same(seedOnly.options, {}, 'nothing forced')
  t.match(formatFailure({ ...base, seed: 9, options: seedOnly.options }), /^replay: SEED=9 node test\/raft\/sim\/main\.ts$/m)
})

t.test('main.ts prints a replay line that reproduces a failure exactly', async (t) => {
  // A 1 ms liveness bound always fails: a real failure, under a forced profile.
  const main = fileURLToPath(new URL('./sim/main.ts', import.meta.url))
  const run = (env: Record<string, string>): string => {
    const r = spawnSync(process.execPath, [main], { env: { ...process.env, TRACE: '0', ...env }, encoding: 'utf8' })
    t.equal(r.status, 1, `exit 1 for ${JSON.stringify(env)}`)
    return r.stdout
  }
  const out = run({ PROFILE: 'chaos', SEEDS: '1', START: '3', LIVENESS_MS: '1' })
  const replay = /^replay: (.*) node test\/raft\/sim\/main\.ts$/m.exec(out)
  t.ok(replay, 'a replay line')
  t.equal(replay?.[1], 'SEED=3 PROFILE=chaos LIVENESS_MS=1', 'with the forced profile and the changed bound')
  const env = Object.fromEntries(replay![1]!.split(' ').map((kv) => kv.split('=') as [string, string]))
  const again = run(env)
  const firstLine = (s: string): string => s.split('\n')[0]!
  t.equal(firstLine(again), firstLine(out), 'replaying it fails the same way')
  t.match(again, /^profile: name=chaos /m, 'under the forced profile (seed 3 alone would pick another)')
})
