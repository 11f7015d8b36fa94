/**
 * Scenario tests for single-server membership changes (Ongaro's thesis §4.1–4.3, the Raft
 * paper's §6): a configuration takes effect when appended, one change at a time, and only
 * after the leader has committed an entry of its own term. Also the durable side: the entry
 * kind survives the wire codec and LogStorage, and a restart rebuilds the configuration from
 * snapshot + log, reverting a change whose entry was torn off the tail.
 */
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { RaftNode } from '../../src/raft/raft-node.ts'
import { decodeConfigEntry, encodeConfigEntry } from '../../src/raft/membership.ts'
import { LogStorage } from '../../src/raft/storage/log-storage.ts'
import { decodeEntries, encodeEntries } from '../../src/raft/storage/entry-batch.ts'
import { decodeMessage, encodeMessage } from '../../src/raft/transport/codec.ts'
import type { Entry, Message } from '../../src/raft/types.ts'
import { Cluster } from './harness.ts'

const isAppendTo = (to: number) => (m: Message): boolean => m.type === 'append' && m.to === to

t.test('§4.1 adding a voter: it catches up from the leader, then counts toward the quorum', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  c.propose(1, 'a')
  c.stabilize()
  t.same(c.log(4), [], 'a non-member receives nothing')
  t.same(c.status(4).voters, [1, 2, 3])
  c.tick(4, 100)
  t.equal(c.status(4).term, 0, 'and never campaigns: it is not in its own configuration')

  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { index: 3, term: 1 })
  t.same(c.status(1).voters, [1, 2, 3, 4], 'in force on the leader as soon as it is appended')
  t.equal(c.status(1).commit, 2, 'not committed yet')
  c.stabilize()
  t.same(c.log(4), ['1:-', '1:a', '1:+4'], 'the new voter received the whole log')
  t.same(c.status(4).voters, [1, 2, 3, 4])
  t.same(c.n(1).outcomes.at(-1), { index: 3, term: 1, outcome: 'committed' })

  // Four voters: the quorum is three. With node 3 down, node 4's ack is needed to commit.
  c.crash(3)
  c.propose(1, 'b')
  c.drop(isAppendTo(2))
  c.deliver(isAppendTo(4))
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 3, 'leader + node 4 are two of four: not a quorum')
  c.tickAll(2)
  t.equal(c.status(1).commit, 4, 'leader + nodes 2 and 4 are: committed')
  t.same(c.n(4).applied.at(-1), '1:b')
})

t.test('§4.1 / §7 a voter added after compaction receives a snapshot carrying the voters', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  for (const v of ['a', 'b', 'c']) c.propose(1, v)
  c.stabilize()
  c.compact(1)
  t.same(c.n(1).storage.snapshot().meta.voters, [1, 2, 3], 'the snapshot records the voters at its index')
  c.changeMembership(1, { type: 'addVoter', node: 4 })
  c.stabilize()
  c.tickAll(3)
  t.equal(c.n(4).snapshotIndex, 4, 'node 4 installed the snapshot')
  t.same(c.log(4), ['1:+4'], 'then the config entry after it')
  t.same(c.status(4).voters, [1, 2, 3, 4])
  c.propose(1, 'd')
  c.stabilize()
  t.same(c.n(4).applied, ['1:+4', '1:d'])
})

t.test('§4.1 removing a follower: the remaining voters commit without it', async (t) => {
  const c = new Cluster([1, 2, 3])
  c.campaign(1).stabilize()
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 3 }), { index: 2, term: 1 })
  t.same(c.status(1).voters, [1, 2])
  t.equal(c.pending('append').filter((m) => m.to === 3).length, 0, 'the removed node is no longer replicated to')
  c.stabilize()
  t.equal(c.status(1).commit, 2)
  t.same(c.status(2).voters, [1, 2])
  t.same(c.status(3).voters, [1, 2, 3], 'node 3 never learns of its removal (it was not sent the entry)')
  c.crash(3)
  c.propose(1, 'x')
  c.stabilize()
  t.equal(c.status(1).commit, 3, 'two of two voters commit')
  // Two voters: the quorum is both of them.
  c.isolate(2)
  c.propose(1, 'y')
  c.tick(1, 3)
  t.equal(c.status(1).commit, 3, 'but not one of two')
})

t.test('§4.2.2 removing the leader: it steps down once the entry commits and hands leadership to a caught-up voter', async (t) => {
  const c = new Cluster([1, 2, 3], { jitter: (id) => (id === 3 ? 4 : 0) })
  c.campaign(1).stabilize()
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 1 }), { index: 2, term: 1 })
  t.equal(c.status(1).role, 'leader', 'it keeps managing the cluster until the entry commits')
  t.same(c.status(1).voters, [2, 3])
  t.same(c.propose(1, 'x'), { index: 3, term: 1 }, 'and still accepts proposals')
  // Its own ack does not count: with one of the two remaining voters, nothing commits.
  c.deliver(isAppendTo(2))
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 1, 'the leader does not count itself')
  t.equal(c.status(1).role, 'leader')
  c.stabilize()
  t.equal(c.status(1).commit, 2, 'the removal is committed by nodes 2 and 3')
  t.equal(c.status(1).role, 'follower', 'then it steps down at once (x is left to the next leader)')
  t.same(c.status(2).voters, [2, 3])
  t.ok(c.status(2).commit >= 2, 'the new commit index reached the others before it left')
  t.same(c.leaders(), [2], 'it handed leadership to a caught-up voter: elected without waiting out a timeout')
  t.equal(c.status(2).term, 2)
  t.equal(c.status(1).term, 1, 'the removed node never campaigned')
  c.propose(2, 'y')
  c.stabilize()
  t.same(c.n(3).applied, ['1:-', '1:-1', '1:x', '2:-', '2:y'])
  t.same(c.log(1), ['1:-', '1:-1', '1:x'], 'the removed node is no longer replicated to')
})

t.test('one change at a time: a second change is refused while the first is uncommitted', async (t) => {
  const c = new Cluster([1, 2, 3, 4, 5], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'addVoter', node: 4 })
  t.same(c.changeMembership(1, { type: 'addVoter', node: 5 }), { error: 'change_pending', leaderId: 1 })
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 2 }), { error: 'change_pending', leaderId: 1 })
  c.stabilize()
  t.same(c.changeMembership(1, { type: 'addVoter', node: 5 }), { index: 3, term: 1 }, 'accepted once the first committed')
  c.stabilize()
  t.same(c.status(1).voters, [1, 2, 3, 4, 5])
  t.same(c.changeMembership(2, { type: 'removeVoter', node: 5 }), { error: 'not_leader', leaderId: 1 }, 'a follower names the leader')
  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { error: 'no_op_change', leaderId: 1 }, 'adding a voter')
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 9 }), { error: 'no_op_change', leaderId: 1 }, 'removing a non-voter')
  t.same(c.transferLeader(1, 9), { error: 'not_voter', leaderId: 1 }, 'leadership only goes to a voter')
})

t.test('a change is refused before the new leader has committed an entry of its own term', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1)
  for (let i = 0; i < 4 && c.status(1).role !== 'leader'; i++) c.deliver((m) => m.type !== 'append')
  t.equal(c.status(1).role, 'leader')
  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { error: 'term_not_committed', leaderId: 1 },
    'its no-op is not committed: an older uncommitted change might still be in flight')
  c.stabilize()
  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { index: 2, term: 1 })
})

t.test('the single-server bug (thesis errata): the own-term commit rule keeps a committed change', async (t) => {
  // C0 = {1,2,3,4}. Leader 1 (term 1) adds 5: the entry reaches only node 5, then 1 crashes.
  const c = new Cluster([1, 2, 3, 4, 5], { voters: [1, 2, 3, 4], preVote: false, checkQuorum: false, jitter: (id) => (id === 2 ? 0 : 20) })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'addVoter', node: 5 })
  c.deliver(isAppendTo(5))
  c.drop()
  c.crash(1)
  // Node 2 wins term 2 with 3 and 4 (C0). Its no-op is not committed yet.
  c.tick(2, 10)
  c.deliver((m) => m.type === 'vote')
  c.deliver((m) => m.type === 'voteResp')
  t.same(c.leaders(), [2])
  // Were node 2 allowed to remove 4 now, C2 = {1,2,3} would commit with 2 and 3 alone while 4
  // lacks every term-2 entry; node 1 (C1 = {1..5}) could then win term 3 with 4 and 5 and
  // overwrite the committed change. The rule makes C0 commit a term-2 entry first.
  t.same(c.changeMembership(2, { type: 'removeVoter', node: 4 }), { error: 'term_not_committed', leaderId: 2 })
  c.deliver(isAppendTo(3))
  c.deliver((m) => m.to === 2)
  t.same(c.changeMembership(2, { type: 'removeVoter', node: 4 }), { error: 'term_not_committed', leaderId: 2 },
    'still refused: 2 and 3 are not a majority of C0')
  c.stabilize()
  t.same(c.changeMembership(2, { type: 'removeVoter', node: 4 }), { index: 3, term: 2 }, 'accepted once node 4 holds the no-op')
  c.deliver(isAppendTo(3))
  c.deliver((m) => m.to === 2)
  c.drop()
  t.equal(c.status(2).commit, 3, 'C2 = {1,2,3} committed by 2 and 3')
  c.restart(1)
  t.same(c.status(1).voters, [1, 2, 3, 4, 5], 'node 1 still believes in C1')
  c.campaign(1).stabilize()
  t.notOk(c.leaders().includes(1), 'node 1 cannot win: node 4 holds a term-2 entry, so refuses it')
  t.same(c.log(3).slice(0, 3), ['1:-', '2:-', '2:-4'], 'the committed change survives')
})

t.test('removing the last voter is refused', async (t) => {
  const c = new Cluster([1])
  c.campaign(1).stabilize()
  t.equal(c.status(1).role, 'leader')
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 1 }), { error: 'last_voter', leaderId: 1 })
})

t.test('§4.1 a config entry truncated by a new leader reverts the configuration', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3], jitter: (id) => (id === 2 ? 0 : 5) })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'addVoter', node: 4 })
  c.drop() // the entry reaches nobody
  t.same(c.status(1).voters, [1, 2, 3, 4])
  c.crash(1).restart(1)
  t.same(c.status(1).voters, [1, 2, 3, 4], 'rebuilt from the log after a restart: uncommitted, but in force')
  c.crash(1)
  c.tickAll(10)
  t.same(c.leaders(), [2], 'nodes 2 and 3 elect a leader of term 2 without the entry')
  c.restart(1)
  c.tickAll(3)
  t.same(c.log(1), ['1:-', '2:-'], 'node 1 lost the entry to the new leader\'s log')
  t.same(c.status(1).voters, [1, 2, 3], 'and with it the configuration')
  t.same(c.status(4).voters, [1, 2, 3])
})

t.test('§4.2.3 a removed node cannot disrupt the cluster (pre-vote and leader stickiness)', async (t) => {
  for (const preVote of [true, false]) {
    const c = new Cluster([1, 2, 3], { preVote, checkQuorum: true, jitter: (id) => (id === 3 ? 0 : 3) })
    c.campaign(1).stabilize()
    c.changeMembership(1, { type: 'removeVoter', node: 3 })
    c.stabilize()
    t.same(c.status(3).voters, [1, 2, 3], 'node 3 does not know it was removed')
    c.tickAll(60) // node 3 times out again and again
    t.same(c.leaders(), [1], `preVote=${preVote}: the leader survives`)
    t.equal(c.status(1).term, 1, 'in its original term')
    t.equal(c.status(2).term, 1)
    t.equal(c.status(2).lead, 1)
    if (preVote) t.equal(c.status(3).term, 1, 'pre-votes fail, so the removed node does not even inflate its term')
    else t.ok(c.status(3).term > 1, 'without pre-vote it inflates its own term, but nobody listens')
    c.propose(1, 'x')
    c.stabilize()
    t.equal(c.status(2).commit, 3)
  }
})

t.test('§4.2.2 a leader whose removal is not yet committed may stand again after a crash', async (t) => {
  // Leader 1 removes itself from {1,2,3,4}, the entry reaches nobody, it crashes, node 2 dies.
  // Nodes 3 and 4 (old configuration: quorum 3 of 4) need node 1's vote, which its longer log
  // refuses them. Node 1 (new configuration {2,3,4}, quorum 2) may campaign without counting
  // itself, commits its removal with 3 and 4, and steps down; then 3 or 4 takes over.
  const c = new Cluster([1, 2, 3, 4], { jitter: (id) => (id === 1 ? 0 : id) })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'removeVoter', node: 1 })
  c.drop()
  c.crash(1).crash(2).restart(1)
  t.same(c.status(1).voters, [2, 3, 4], 'restarted with its removal in the log, uncommitted')
  c.tickAll(10)
  t.ok(c.log(3).includes('2:-'), 'node 1 was elected by 3 and 4 in term 2 (its no-op of term 2 is in their logs)')
  t.equal(c.status(1).role, 'follower', 'and stepped down once the removal committed')
  t.same(c.status(3).voters, [2, 3, 4])
  t.ok(c.status(3).commit >= 3, 'the removal and node 1\'s no-op are committed')
  c.tickAll(40)
  const leaders = c.leaders()
  t.ok(leaders.length === 1 && [3, 4].includes(leaders[0]!), `a leader among the remaining voters (${leaders})`)
  const term = c.status(1).term
  c.tickAll(40)
  t.equal(c.status(1).term, term, 'node 1 campaigns no more')
  t.equal(c.status(1).role, 'follower')
})

// ---- learners (thesis §4.2.1, KIP-853 observers) --------------------------------------------

t.test('§4.2.1 a learner catches up without affecting commits, is promoted once caught up, and then the 4-voter cluster survives a down voter', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  c.propose(1, 'a')
  c.stabilize()
  c.crash(3) // one of three voters is down for the whole test
  t.same(c.changeMembership(1, { type: 'addLearner', node: 4 }), { index: 3, term: 1 })
  t.same(c.status(1).voters, [1, 2, 3], 'the voters are unchanged')
  t.same(c.status(1).learners, [4], 'the learner is in force on the leader at once')
  // The learner's entry commits with nodes 1 and 2 alone: the learner is not waited for.
  c.drop(isAppendTo(4))
  c.deliver(isAppendTo(2))
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 3, 'two of three voters commit while the learner has nothing')
  t.same(c.log(4), [], 'the learner has not received anything yet')
  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { error: 'not_caught_up', leaderId: 1 },
    'promotion is refused while the learner is behind the commit index')
  t.equal(c.status(1).voters.length, 3)
  // Writes keep committing while the learner catches up.
  c.propose(1, 'b')
  c.drop(isAppendTo(4))
  c.deliver(isAppendTo(2))
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 4, 'commits go on without the learner')
  c.tickAll(3) // heartbeats: the learner is probed and sent the log
  t.same(c.log(4), ['1:-', '1:a', '1:+L4', '1:b'], 'the learner received the whole log')
  t.same(c.status(4).learners, [4], 'and knows itself to be a learner')
  t.same(c.status(4).voters, [1, 2, 3])
  t.same(c.n(4).applied, ['1:-', '1:a', '1:+L4', '1:b'], 'and applies it')
  // Its acks never count: with node 2 cut off, leader + learner commit nothing.
  c.propose(1, 'c')
  c.drop(isAppendTo(2))
  c.deliver(isAppendTo(4))
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 4, 'leader + learner are not a quorum of the voters')
  c.tickAll(2)
  t.equal(c.status(1).commit, 5, 'node 2 acks: committed')
  // Caught up: the promotion is accepted and commits at once with 1, 2 and 4 (3 is still down).
  const promoted = c.changeMembership(1, { type: 'addVoter', node: 4 })
  t.same(promoted, { index: 6, term: 1 }, 'promotion accepted once the learner holds the commit index')
  t.same(c.status(1).voters, [1, 2, 3, 4])
  t.same(c.status(1).learners, [], 'a promoted learner is no longer a learner')
  c.deliver((m) => m.type === 'append')
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 6, 'the enlarged quorum (3 of 4) commits the promotion in one round')
  c.stabilize()
  t.same(c.status(4).voters, [1, 2, 3, 4])
  t.same(c.n(1).outcomes.at(-1), { index: 6, term: 1, outcome: 'committed' })
  // The stall that motivated learners is gone: four voters, node 3 down, and commits go on.
  c.propose(1, 'd')
  c.deliver((m) => m.type === 'append')
  c.deliver((m) => m.to === 1)
  t.equal(c.status(1).commit, 7, '1, 2 and 4 are three of four: committed at once')
  c.stabilize()
  t.same(c.n(4).applied.at(-1), '1:d')
})

t.test('§4.2.1 removing a learner; learner changes obey the same refusals as voter changes', async (t) => {
  const c = new Cluster([1, 2, 3, 4, 5], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  t.same(c.changeMembership(1, { type: 'removeLearner', node: 4 }), { error: 'no_op_change', leaderId: 1 }, 'not a learner')
  t.same(c.changeMembership(1, { type: 'addLearner', node: 2 }), { error: 'no_op_change', leaderId: 1 }, 'a voter cannot be made a learner')
  t.same(c.changeMembership(1, { type: 'addLearner', node: 4 }), { index: 2, term: 1 })
  t.same(c.changeMembership(1, { type: 'addLearner', node: 5 }), { error: 'change_pending', leaderId: 1 }, 'one change at a time, learners included')
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 2 }), { error: 'change_pending', leaderId: 1 })
  c.stabilize()
  t.same(c.changeMembership(1, { type: 'addLearner', node: 4 }), { error: 'no_op_change', leaderId: 1 }, 'already a learner')
  t.same(c.changeMembership(1, { type: 'removeVoter', node: 4 }), { error: 'no_op_change', leaderId: 1 }, 'a learner is not a voter')
  t.same(c.transferLeader(1, 4), { error: 'not_voter', leaderId: 1 }, 'leadership never goes to a learner')
  t.same(c.changeMembership(2, { type: 'removeLearner', node: 4 }), { error: 'not_leader', leaderId: 1 })
  t.same(c.log(4), ['1:-', '1:+L4'])
  t.same(c.changeMembership(1, { type: 'removeLearner', node: 4 }), { index: 3, term: 1 })
  t.same(c.status(1).learners, [])
  t.same(c.status(1).voters, [1, 2, 3])
  t.equal(c.pending('append').filter((m) => m.to === 4).length, 0, 'the removed learner is no longer replicated to')
  c.stabilize()
  t.equal(c.status(1).commit, 3)
  c.tickAll(3)
  t.equal(c.pending('heartbeat').length, 0)
  t.same(c.log(4), ['1:-', '1:+L4'], 'nor sent heartbeats or entries')
  t.same(c.status(2).learners, [], 'the voters know it is gone')
  c.propose(1, 'x')
  c.stabilize()
  t.equal(c.status(2).commit, 4)
  t.same(c.log(4), ['1:-', '1:+L4'])
  t.equal(c.status(4).term, 1, 'the removed learner stays quiet: it is a non-member')
})

t.test('§4.2.1 learners never campaign, and count in no quorum (check-quorum, read-index)', async (t) => {
  for (const preVote of [true, false]) {
    const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3], preVote, jitter: (id) => (id === 4 ? 0 : 3) })
    c.campaign(1).stabilize()
    c.changeMembership(1, { type: 'addLearner', node: 4 })
    c.stabilize()
    t.equal(c.status(4).lead, 1, `preVote=${preVote}: the learner follows the leader`)
    c.isolate(4)
    c.tick(4, 200) // twenty election timeouts without hearing from anyone
    t.equal(c.status(4).term, 1, 'its term does not move')
    t.equal(c.status(4).role, 'follower', 'it never became a candidate')
    t.equal(c.status(4).vote, 0)
    c.heal()
    c.tickAll(2)
    t.equal(c.status(4).lead, 1, 'it follows again once healed')
    t.same(c.leaders(), [1])
    t.equal(c.status(1).term, 1, 'nobody was disrupted')
  }
  // Check-quorum and read-index count voters only: a leader that hears only from its learner steps down.
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'addLearner', node: 4 })
  c.stabilize()
  c.crash(2).crash(3)
  t.equal(c.readIndex(1, 'r1'), null)
  c.tick(1, 3)
  c.deliver()
  t.same(c.n(1).readStates, [], 'a read is not confirmed by the learner\'s heartbeat acks')
  c.tick(1, 2)
  c.deliver()
  for (let i = 0; i < 20; i++) c.tick(1).deliver() // two check-quorum rounds (the first still sees 2 and 3's last acks)
  t.equal(c.status(1).role, 'follower', 'check-quorum deposed the leader although the learner answered')
  t.equal(c.status(4).term, 1, 'and the learner did not try to take over')
})

t.test('§4.2.1 / §7 a learner added after compaction installs a snapshot carrying voters and learners', async (t) => {
  const c = new Cluster([1, 2, 3, 4, 5], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  c.changeMembership(1, { type: 'addLearner', node: 4 })
  c.stabilize()
  for (const v of ['a', 'b']) c.propose(1, v)
  c.stabilize()
  c.compact(1)
  t.same(c.n(1).storage.snapshot().meta, { index: 4, term: 1, voters: [1, 2, 3], learners: [4] }, 'the snapshot records the learners')
  t.same(c.changeMembership(1, { type: 'addLearner', node: 5 }), { index: 5, term: 1 })
  c.stabilize()
  c.tickAll(3)
  t.equal(c.n(5).snapshotIndex, 4, 'node 5 installed the snapshot')
  t.same(c.status(5).learners, [4, 5], 'learners from the snapshot, then from the config entry after it')
  c.crash(5).restart(5)
  t.same(c.status(5).learners, [4, 5], 'rebuilt on restart from the snapshot plus the log')
  t.same(c.status(5).voters, [1, 2, 3])
  c.tickAll(2)
  t.same(c.changeMembership(1, { type: 'addVoter', node: 5 }), { index: 6, term: 1 }, 'a learner caught up from a snapshot can be promoted')
  c.stabilize()
  t.same(c.status(5).voters, [1, 2, 3, 5])
  t.same(c.status(5).learners, [4])
})

t.test('addVoter of a non-member stays allowed (the unsafe path, kept for compatibility)', async (t) => {
  const c = new Cluster([1, 2, 3, 4], { voters: [1, 2, 3] })
  c.campaign(1).stabilize()
  t.same(c.changeMembership(1, { type: 'addVoter', node: 4 }), { index: 2, term: 1 }, 'no catch-up check for a non-learner')
  t.same(c.status(1).voters, [1, 2, 3, 4])
})

// ---- durable side ---------------------------------------------------------------------------

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-raft-membership-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, '__cluster_metadata-0')
}

const config = (index: number, term: number, voters: number[], node: number): Entry => ({
  index, term, kind: 'config', data: encodeConfigEntry({ change: { type: 'addVoter', node }, voters }),
})

t.test('the config entry kind survives the wire codec and the RecordBatch encoding', async (t) => {
  const entries: Entry[] = [
    { index: 1, term: 1, kind: 'noop', data: new Uint8Array(0) },
    config(2, 1, [1, 2, 3, 4], 4),
    { index: 3, term: 1, kind: 'data', data: new Uint8Array([9]) },
  ]
  const m: Message = { type: 'append', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, entries, commit: 0 }
  const back = decodeMessage(encodeMessage(m))
  t.same(back.type === 'append' && back.entries.map((e) => e.kind), ['noop', 'config', 'data'])
  t.same(back.type === 'append' && decodeConfigEntry(back.entries[1]!.data), { change: { type: 'addVoter', node: 4 }, voters: [1, 2, 3, 4], learners: [] })
  // type, from, to, term, prevIndex, prevTerm, commit, count, then the entry: term, kind, data.
  const frame = encodeMessage({ ...m, entries: [entries[1]!], prevIndex: 1, prevTerm: 1 })
  t.equal(frame[9], 2, 'kind 2 is config')
  frame[9] = 7
  t.throws(() => decodeMessage(frame), 'an unknown entry kind is rejected, not read as data')
  const disk = decodeEntries(encodeEntries(entries, 1))
  t.same(disk.map((e) => e.kind), ['noop', 'config', 'data'])
  t.same(Buffer.from(disk[1]!.data), Buffer.from(entries[1]!.data))
})

/** A one-voter node on durable storage, for the LogStorage tests below. */
function singleVoter(s: LogStorage): RaftNode {
  return new RaftNode({ id: 1, voters: [1], storage: s, random: { int: () => 0 }, electionTicks: 10, heartbeatTicks: 1 })
}

/** Persists and advances everything the node has ready, in the order the host does it. */
function drain(n: RaftNode, s: LogStorage): void {
  while (n.hasReady()) {
    const rd = n.ready()
    if (rd.snapshot) s.applySnapshot(rd.snapshot)
    s.append(rd.entries)
    s.sync()
    if (rd.hardState) s.setHardState(rd.hardState)
    n.advance()
  }
}

t.test('LogStorage: the configuration survives restart, snapshots and a torn tail', async (t) => {
  const dir = tempDir(t)
  const open = (): LogStorage => LogStorage.open({ dir, voters: [1], fsync: false })
  let s = open()
  let n = singleVoter(s)
  n.campaign()
  drain(n, s)
  t.equal(n.status().role, 'leader', 'a single voter elects itself')
  t.same(n.proposeConfChange({ type: 'addVoter', node: 2 }), { index: 2, term: 1 })
  drain(n, s)
  t.same(n.status().voters, [1, 2])
  s.close()

  s = open()
  n = singleVoter(s)
  t.same(n.status().voters, [1, 2], 'rebuilt from the log on restart (the entry is not even committed)')
  t.equal(n.status().commit, 1)
  s.close()

  // A torn tail: the config entry was half written when the process died.
  const logFile = join(dir, '00000000000000000000.log')
  truncateSync(logFile, statSync(logFile).size - 5)
  s = open()
  n = singleVoter(s)
  t.equal(s.lastIndex(), 1, 'the torn entry is cut')
  t.same(n.status().voters, [1], 'and the configuration reverts to the one before it')
  // Commit a change, snapshot past it and restart: the voters come from the snapshot.
  n.campaign()
  drain(n, s)
  t.equal(n.status().role, 'leader')
  const added = n.proposeConfChange({ type: 'addVoter', node: 3 })
  t.same(added, { index: 3, term: 2 })
  drain(n, s)
  // Node 3 acknowledges (as it would over the network), so the change commits.
  n.step({ type: 'appendResp', from: 3, to: 1, term: 2, reject: false, index: 3, hintIndex: 0, hintTerm: 0 })
  drain(n, s)
  t.equal(n.status().commit, 3)
  s.createSnapshot(3, new Uint8Array([1]), n.votersAt(3))
  t.same(n.votersAt(2), [1], 'the configuration before the change is still known')
  s.close()
  s = open()
  t.same(s.snapshot().meta.voters, [1, 3])
  n = singleVoter(s)
  t.same(n.status().voters, [1, 3], 'the snapshot carries the voters; the bootstrap list is ignored')
  s.close()
})

t.test('config entries with learners: version 2 encoding, codec and RecordBatch round trips; version 1 still decodes', async (t) => {
  const d = { change: { type: 'addLearner' as const, node: 5 }, voters: [1, 2, 3], learners: [4, 5] }
  const bytes = encodeConfigEntry(d)
  t.equal(bytes[0], 2, 'an entry with learners is version 2')
  t.same(decodeConfigEntry(bytes), d)
  const removal = { change: { type: 'removeLearner' as const, node: 4 }, voters: [1, 2, 3], learners: [] }
  t.equal(encodeConfigEntry(removal)[0], 2, 'a learner change is version 2 even without learners left')
  t.same(decodeConfigEntry(encodeConfigEntry(removal)), removal)
  const plain = encodeConfigEntry({ change: { type: 'addVoter', node: 4 }, voters: [1, 2, 3, 4] })
  t.equal(plain[0], 1, 'a voter change without learners is still written as version 1 (byte-identical to older builds)')
  // A version-1 entry as older builds wrote it, byte by byte.
  const v1 = new Uint8Array([1, 2, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2])
  t.same(decodeConfigEntry(v1), { change: { type: 'removeVoter', node: 3 }, voters: [1, 2], learners: [] }, 'version 1 decodes as no learners')
  t.throws(() => decodeConfigEntry(new Uint8Array([1, 3, 0, 0, 0, 3, 0, 0, 0, 0])), 'learner changes do not exist in version 1')
  t.throws(() => decodeConfigEntry(new Uint8Array([3, 1, 0, 0, 0, 3, 0, 0, 0, 0])), 'an unknown version is rejected')
  t.throws(() => decodeConfigEntry(bytes.subarray(0, bytes.length - 1)), 'a truncated learner list is rejected')
  const e: Entry = { index: 2, term: 1, kind: 'config', data: bytes }
  const m: Message = { type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [e], commit: 0 }
  const back = decodeMessage(encodeMessage(m))
  t.same(back.type === 'append' && decodeConfigEntry(back.entries[0]!.data), d, 'through the wire codec')
  const disk = decodeEntries(encodeEntries([e], 2))
  t.same(decodeConfigEntry(disk[0]!.data), d, 'through the RecordBatch encoding')
  // Snapshot messages carry the learners; without learners the frame is what older builds sent.
  const snap = (learners?: number[]): Message => ({
    type: 'snapshot', from: 1, to: 2, term: 1,
    snapshot: { meta: { index: 9, term: 1, voters: [1, 2, 3], ...(learners ? { learners } : {}) }, data: new Uint8Array([7]) },
  })
  const withLearners = decodeMessage(encodeMessage(snap([4])))
  t.same(withLearners.type === 'snapshot' && withLearners.snapshot.meta, { index: 9, term: 1, voters: [1, 2, 3], learners: [4] })
  const without = encodeMessage(snap())
  t.same(Buffer.from(encodeMessage(snap([]))), Buffer.from(without), 'an empty learner list adds nothing to the frame')
  t.same(decodeMessage(without).type === 'snapshot' && (decodeMessage(without) as Extract<Message, { type: 'snapshot' }>).snapshot.meta,
    { index: 9, term: 1, voters: [1, 2, 3] })
})

t.test('LogStorage: learners survive restart and snapshots', async (t) => {
  const dir = tempDir(t)
  const open = (): LogStorage => LogStorage.open({ dir, voters: [1], fsync: false })
  let s = open()
  let n = singleVoter(s)
  n.campaign()
  drain(n, s)
  t.same(n.proposeConfChange({ type: 'addLearner', node: 2 }), { index: 2, term: 1 })
  drain(n, s)
  t.equal(n.status().commit, 2, 'a single voter commits alone: the learner is not waited for')
  t.same(n.proposeConfChange({ type: 'addLearner', node: 3 }), { index: 3, term: 1 })
  drain(n, s)
  t.same(n.status().learners, [2, 3])
  s.close()
  s = open()
  n = singleVoter(s)
  t.same(n.status().learners, [2, 3], 'rebuilt from the log on restart')
  t.same(n.status().voters, [1])
  n.campaign()
  drain(n, s)
  t.equal(n.status().commit, 4)
  s.createSnapshot(4, new Uint8Array([1]), n.votersAt(4), n.learnersAt(4))
  t.same(n.learnersAt(2), [2], 'the learners before the second change are still known')
  s.close()
  s = open()
  t.same(s.snapshot().meta, { index: 4, term: 2, voters: [1], learners: [2, 3] }, 'the checkpoint file carries the learners')
  n = singleVoter(s)
  t.same(n.status().learners, [2, 3], 'and a restart takes them from the snapshot')
  s.close()
})
