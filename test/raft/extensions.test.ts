/**
 * Scenario tests for what the paper's basic algorithm leaves out and a
 * production Raft needs: pre-vote and check-quorum with leader stickiness
 * (Ongaro's thesis §9.6 and §6.2), leader transfer (thesis §3.10), proposal
 * refusal and loss reporting, and flow control.
 */
import t from 'tap'
import { Cluster } from './harness.ts'
import type { AppendMessage, Message } from '../../src/raft/types.ts'

t.test('pre-vote: an isolated node does not inflate its term', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  c.tick(3, 100) // ten election timeouts alone
  t.equal(c.status(3).term, 1, 'pre-votes fail, so the term never moves')
  t.equal(c.status(3).role, 'preCandidate')
})

t.test('pre-vote + check-quorum: a rejoining partitioned node does not disrupt a healthy leader', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3).tickAll(50)
  c.propose(1, 'while-away')
  c.heal().tickAll(20)
  t.same(c.leaders(), [1], 'the leader survives')
  t.equal(c.status(1).term, 1, 'in its original term')
  t.equal(c.status(3).lead, 1, 'the rejoining node follows it')
  t.same(c.log(3), ['1:-', '1:while-away'], 'and catches up')
})

t.test('without pre-vote, the same rejoin deposes the leader (the problem pre-vote solves)', async (t) => {
  const c = new Cluster([1, 2, 3], { preVote: false, checkQuorum: false })
  c.campaign(1).stabilize()
  c.isolate(3).tick(3, 35) // three real elections alone: term 4
  t.equal(c.status(3).term, 4)
  c.heal().tickAll(10) // node 3 times out again and asks for votes in term 5
  t.ok(c.status(1).term >= 5, `the leader was deposed by the inflated term (now ${c.status(1).term})`)
})

t.test('leader stickiness: a node that cannot hear the leader cannot get votes from those who can', async (t) => {
  const c = new Cluster([1, 2, 3], { preVote: false, checkQuorum: true })
  c.campaign(1).stabilize()
  c.cut(1, 3) // 3 stops hearing the leader; everything else still flows
  c.tickAll(1)
  c.campaign(3) // a real vote in term 2
  c.stabilize()
  t.equal(c.status(2).term, 1, 'node 2 heard the leader recently and ignored the vote request')
  t.equal(c.status(2).lead, 1)
  t.same(c.leaders(), [1])
})

t.test('check-quorum: a leader cut off from the majority steps down', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(1)
  c.tick(1, 9)
  t.equal(c.status(1).role, 'leader', 'still leader within the election timeout')
  c.tick(1, 11)
  t.equal(c.status(1).role, 'follower', 'steps down after hearing from nobody for an election timeout')
  t.same(c.propose(1, 'x'), { error: 'not_leader', leaderId: 0 })
})

t.test('proposals to a follower are refused with the known leader', async (t) => {
  const c = new Cluster([1, 2, 3])
  t.same(c.propose(2, 'x'), { error: 'not_leader', leaderId: 0 }, 'no leader known yet')
  c.campaign(1).stabilize()
  t.same(c.propose(2, 'x'), { error: 'not_leader', leaderId: 1 })
  t.same(c.propose(1, 'x'), { index: 2, term: 1 })
  c.stabilize()
  t.same(c.n(1).outcomes, [{ index: 2, term: 1, outcome: 'committed' }])
})

t.test('§5.4.2 a proposal that reached a majority-eligible node commits under the next leader', async (t) => {
  const c = new Cluster([1, 2, 3], { jitter: (id) => (id === 2 ? 0 : 5) })
  c.campaign(1).stabilize()
  c.propose(1, 'x')
  c.deliver((m) => m.type === 'append' && m.to === 2) // only node 2 gets it
  c.drop()
  c.crash(1)
  c.tickAll(10) // node 2 times out first, wins (its log is longer) and commits x under its no-op
  t.same(c.leaders(), [2])
  c.restart(1).tickAll(2)
  t.same(c.n(2).applied, ['1:-', '1:x', '2:-'])
  t.same(c.n(1).outcomes, [], 'the restarted node forgot its pending proposals (they were in memory)')
})

t.test('leader transfer: the target catches up, campaigns and wins', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  c.propose(1, 'a')
  c.stabilize()
  c.heal()
  t.equal(c.transferLeader(1, 3), null)
  t.same(c.propose(1, 'during'), { error: 'transferring', leaderId: 1 }, 'proposals pause during a transfer')
  c.stabilize()
  t.same(c.leaders(), [3], 'node 3 leads')
  t.equal(c.status(3).term, 2)
  t.same(c.log(3), ['1:-', '1:a', '2:-'], 'it caught up before campaigning')
  t.same(c.transferLeader(1, 2), { error: 'not_leader', leaderId: 3 })
})

t.test('leader transfer is abandoned after an election timeout if the target is unreachable', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  c.transferLeader(1, 3)
  t.same(c.propose(1, 'x'), { error: 'transferring', leaderId: 1 })
  c.tick(1, 10).stabilize()
  t.same(c.leaders(), [1])
  t.same(c.propose(1, 'y'), { index: 2, term: 1 }, 'proposals flow again')
})

t.test('flow control: at most maxInflightMessages appends are outstanding per follower', async (t) => {
  const c = new Cluster([1, 2, 3], { maxInflightMessages: 2 })
  c.campaign(1).stabilize()
  for (let i = 0; i < 10; i++) c.propose(1, `e${i}`)
  const appendsTo2 = c.pending('append').filter((m) => m.to === 2)
  t.equal(appendsTo2.length, 2, 'two appends in flight, the rest held back')
  c.stabilize()
  t.equal(c.log(2).length, 11, 'everything arrives as acknowledgements free the window')
})

t.test('flow control: an append carries at most maxBytesPerMessage of entries (but at least one)', async (t) => {
  const c = new Cluster([1, 2, 3], { maxBytesPerMessage: 100 })
  c.campaign(1).stabilize()
  c.isolate(2)
  for (let i = 0; i < 10; i++) c.propose(1, 'x'.repeat(30)) // 54 bytes each, counting overhead
  c.propose(1, 'y'.repeat(500)) // larger than the limit on its own
  c.stabilize()
  c.heal()
  const sizes: number[] = []
  c.tick(1)
  for (let i = 0; i < 50 && c.queue.length > 0; i++) {
    for (const m of c.pending('append') as AppendMessage[]) if (m.to === 2) sizes.push(m.entries.length)
    c.deliver()
  }
  t.ok(sizes.length > 5, 'the backlog went out in many messages')
  t.ok(sizes.every((n) => n >= 1 && n <= 1 || n === 0), `one 54-byte entry per 100-byte message: ${sizes}`)
  t.same(c.log(2), c.log(1))
})

t.test('a lost snapshot is retried after an election timeout', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  c.isolate(3)
  for (let i = 0; i < 3; i++) c.propose(1, `v${i}`)
  c.stabilize()
  c.compact(1)
  c.heal()
  c.tick(1)
  let dropped = 0
  for (let i = 0; i < 5; i++) {
    dropped += c.drop((m: Message) => m.type === 'snapshot')
    c.deliver()
  }
  t.equal(dropped, 1, 'the first snapshot was lost')
  c.tickAll(12)
  t.equal(c.status(3).commit, 4, 'a second snapshot got through')
})

t.test('read-index requests are bounded: a full queue refuses new reads', async (t) => {
  const c = new Cluster([1, 2, 3], { maxPendingReads: 2 })
  c.campaign(1).stabilize()
  c.isolate(1) // no heartbeat acks: reads stay queued
  t.equal(c.readIndex(1, 'a'), null)
  t.equal(c.readIndex(1, 'b'), null)
  t.same(c.readIndex(1, 'c'), { error: 'overloaded', leaderId: 1 })
  c.heal().tickAll(1)
  t.same(c.n(1).readStates.map((r) => r.context), ['a', 'b'], 'the queued reads complete once acks return')
})
