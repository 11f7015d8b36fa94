/**
 * Scenario tests for the classic cases of the Raft paper ("In Search of an
 * Understandable Consensus Algorithm", Ongaro & Ousterhout, 2014). Each test
 * names the section it checks.
 */
import t from 'tap'
import { Cluster } from './harness.ts'
import type { Message, VoteResponse } from '../../src/raft/types.ts'

/** The classic algorithm of the paper, without the pre-vote and check-quorum extensions. */
const classic = { preVote: false, checkQuorum: false }

t.test('§5.2 leader election: a candidate with a majority wins and everyone follows', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.tick(1, 10) // the election timeout fires on node 1 only
  t.equal(c.status(1).role, 'preCandidate', 'pre-vote first')
  c.stabilize()
  t.same(c.leaders(), [1])
  for (const id of [2, 3]) {
    t.equal(c.status(id).lead, 1, `node ${id} knows the leader`)
    t.equal(c.status(id).term, 1, `node ${id} is in the leader's term`)
  }
  // §5.4.2: the new leader's own no-op entry commits everywhere.
  t.same(c.log(2), ['1:-'])
  t.equal(c.status(3).commit, 1)
})

t.test('§5.2 a node grants at most one vote per term', async (t) => {
  const c = new Cluster([1, 2, 3], classic)
  c.campaign(1).campaign(2) // both candidates in term 1
  // Node 3 hears node 1 first.
  c.deliver((m) => m.to === 3 && m.from === 1)
  c.deliver((m) => m.to === 3 && m.from === 2)
  const toCandidates = c.pending('voteResp') as VoteResponse[]
  const from3 = toCandidates.filter((m) => m.from === 3)
  t.same(from3.map((m) => [m.to, m.reject]), [[1, false], [2, true]], 'node 3 voted for 1 and refused 2')
  c.stabilize()
  t.same(c.leaders(), [1])
  t.equal(c.n(3).storage.hardState().vote, 1, 'the vote is persisted')
})

t.test('§5.2 a candidate that hears from the leader of its term steps down', async (t) => {
  const c = new Cluster([1, 2, 3], classic)
  c.campaign(1).stabilize()
  c.isolate(3).tick(3, 10) // node 3 times out alone: term 2
  c.heal().campaign(2)
  t.equal(c.status(3).role, 'candidate')
  c.stabilize()
  t.equal(c.leaders().length, 1, 'exactly one leader')
  t.equal(c.status(3).role, 'follower')
})

t.test('§5.3 log replication: a follower that missed entries is repaired', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  c.propose(1, 'a')
  c.propose(1, 'b')
  c.stabilize()
  t.equal(c.status(1).commit, 3, 'a majority (1, 2) commits without node 3')
  t.same(c.log(3), ['1:-'])
  c.heal().tickAll(2)
  t.same(c.log(3), ['1:-', '1:a', '1:b'])
  t.same(c.n(3).applied, ['1:-', '1:a', '1:b'])
})

t.test('§5.3 conflicting uncommitted entries on a follower are overwritten', async (t) => {
  const c = new Cluster([1, 2, 3], { ...classic, maxBytesPerMessage: 1 })
  c.campaign(1).stabilize()
  c.isolate(1)
  c.propose(1, 'lost1')
  c.propose(1, 'lost2')
  c.stabilize()
  t.same(c.log(1), ['1:-', '1:lost1', '1:lost2'], 'the old leader holds uncommitted entries')
  c.campaign(2).stabilize()
  c.propose(2, 'kept')
  c.stabilize()
  c.heal().tickAll(3)
  for (const id of [1, 2, 3]) t.same(c.log(id), ['1:-', '2:-', '2:kept'], `node ${id} matches the leader`)
  t.same(c.n(1).applied, ['1:-', '2:-', '2:kept'], 'the overwritten entries were never applied')
  t.same(c.n(1).outcomes.map((o) => o.outcome), ['lost', 'lost'], 'the old leader reports its proposals lost')
})

t.test('§5.4.1 election restriction: a node missing committed entries cannot win', async (t) => {
  const c = new Cluster([1, 2, 3], classic)
  c.campaign(1).stabilize()
  c.isolate(3)
  c.propose(1, 'x')
  c.stabilize()
  c.crash(1).heal()
  c.campaign(3).stabilize()
  t.not(c.status(3).role, 'leader', 'node 2 refused: its log is more up-to-date')
  t.equal(c.n(2).storage.hardState().vote, 0, 'no vote granted')
  c.campaign(2).stabilize()
  t.same(c.leaders(), [2])
  t.same(c.log(3).slice(0, 2), ['1:-', '1:x'], 'the committed entry survives')
})

t.test('§5.4.2 / Figure 8: entries from older terms are not committed by counting replicas', async (t) => {
  const c = new Cluster([1, 2, 3, 4, 5], { ...classic, maxBytesPerMessage: 1 })
  c.campaign(1).stabilize() // term 1, index 1 committed everywhere
  // (a) S1 replicates index 2 only to S2.
  c.propose(1, 'x')
  c.deliver((m) => m.type === 'append' && m.to === 2)
  c.deliver((m) => m.to === 1)
  c.drop()
  // (b) S1 crashes; S5 wins term 2 with votes from S3, S4 and appends at index 2 alone.
  c.crash(1)
  c.campaign(5)
  c.deliver((m) => m.to === 3 || m.to === 4)
  c.deliver((m) => m.to === 5)
  t.same(c.leaders(), [5])
  c.drop()
  // (c) S5 crashes; S1 restarts and wins term 3 with S2, S3, S4 (its last term 1 ≥ theirs)...
  c.crash(5).restart(1)
  for (let round = 0; round < 2; round++) {
    // The first campaign (term 2) loses: S3 and S4 already voted for S5 in term 2.
    c.campaign(1)
    c.deliver((m) => m.to !== 5)
    c.deliver((m) => m.to === 1)
  }
  t.same(c.leaders(), [1])
  const term3 = c.status(1).term
  // ...and copies index 2 (term 1) to S3 and S4. S3 and S4 first reject the
  // append of its no-op (they lack index 2); afterwards nobody gets the no-op.
  c.drop((m) => m.to === 2 || m.to === 5)
  c.deliver() // S3, S4 reject
  c.deliver() // S1 answers with index 2 alone (one entry per message)
  const holdsTerm3 = (m: Message): boolean => m.type === 'append' && m.entries.some((e) => e.term === term3)
  for (let i = 0; i < 4; i++) {
    c.drop((m) => holdsTerm3(m) || m.to === 2 || m.to === 5)
    c.deliver()
  }
  t.same(c.log(3), ['1:-', '1:x'], 'S3 now holds index 2 from term 1')
  t.same(c.log(4), ['1:-', '1:x'], 'S4 too: a majority (S1..S4) stores it')
  t.equal(c.status(1).commit, 1, 'but S1 must not commit it: it is not from its term')
  // (d) S1 crashes; S5 (last term 2) wins with S3, S4 and overwrites index 2.
  c.drop()
  c.crash(1).restart(5)
  for (let round = 0; round < 2; round++) {
    // Again the first campaign (term 3) loses: S3 and S4 voted for S1 in it.
    c.campaign(5)
    c.deliver((m) => m.to === 3 || m.to === 4)
    c.deliver((m) => m.to === 5)
  }
  t.same(c.leaders(), [5])
  c.deliver((m) => m.to !== 1 && m.to !== 2)
  c.stabilize()
  t.equal(c.log(3)[1], '2:-', 'S3 index 2 was replaced: it had never been committed')
  for (const id of [2, 3, 4, 5]) t.notOk(c.n(id).applied.includes('1:x'), `node ${id} never applied it`)
})

t.test('§5.5 a restarted follower keeps its term, vote and log', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.propose(1, 'a')
  c.stabilize()
  c.crash(2).restart(2)
  t.equal(c.status(2).term, 1)
  t.equal(c.status(2).vote, 1)
  t.equal(c.status(2).commit, 2, 'the durable commit index survives')
  t.same(c.n(2).applied, ['1:-', '1:a'], 'committed entries are re-applied after restart')
  c.propose(1, 'b')
  c.stabilize()
  t.same(c.log(2), ['1:-', '1:a', '1:b'])
})

t.test('§7 log compaction: a lagging follower is brought up to date by a snapshot', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  for (let i = 0; i < 5; i++) c.propose(1, `v${i}`)
  c.stabilize()
  c.compact(1).compact(2)
  t.equal(c.n(1).storage.firstIndex(), 7, 'the leader dropped entries 1..6')
  c.heal()
  c.tick(1, 1) // heartbeat → response → the leader finds it must send a snapshot
  let sawSnapshot = false
  for (let i = 0; i < 20 && c.queue.length > 0; i++) {
    sawSnapshot ||= c.pending('snapshot').length > 0
    c.deliver()
  }
  t.ok(sawSnapshot, 'a snapshot was sent')
  t.equal(c.n(3).snapshotIndex, 6, 'node 3 installed it')
  t.equal(c.status(3).commit, 6)
  c.propose(1, 'after')
  c.stabilize()
  t.same(c.log(3), ['1:after'], 'replication continues after the snapshot')
  t.same(c.n(3).applied, ['1:after'])
})

t.test('§8 read-index: reads are served only with confirmed leadership', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1)
  for (let i = 0; i < 4 && c.status(1).role !== 'leader'; i++) c.deliver((m) => m.type !== 'append')
  t.equal(c.status(1).role, 'leader')
  // A new leader must first commit an entry of its term: until then, reads wait.
  t.equal(c.readIndex(1, 'early'), null)
  t.same(c.n(1).readStates, [], 'no read before the no-op commits')
  c.stabilize()
  t.same(c.n(1).readStates, [{ index: 1, context: 'early' }])
  c.propose(1, 'a')
  c.stabilize()
  c.readIndex(2, 'via-follower') // forwarded to the leader
  c.stabilize()
  t.same(c.n(2).readStates, [{ index: 2, context: 'via-follower' }])
  // A deposed leader cut off from the majority cannot confirm, so never answers.
  c.isolate(1)
  c.campaign(2)
  c.tickAll(3)
  c.propose(2, 'b')
  c.stabilize()
  c.readIndex(1, 'stale')
  c.tickAll(3)
  t.notOk(c.n(1).readStates.some((r) => r.context === 'stale'), 'the isolated old leader serves no read')
  t.same(c.readIndex(3, 'x')?.error, undefined, 'a follower with a leader forwards reads')
})
