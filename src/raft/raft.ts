/**
 * The Raft state machine: roles, terms, elections and message dispatch.
 * Replication (leader side) lives in replication.ts, the follower's handling of
 * appends and snapshots in follower.ts. Nothing here does I/O or reads a clock:
 * messages go to `msgs`, and RaftNode hands them to the caller in a Ready.
 *
 * Invariants:
 *   - term never decreases; vote is reset exactly when term changes.
 *   - role === 'leader' ⇒ lead === id and progress has an entry per voter and per learner, plus
 *     one for ourselves (a leader whose latest configuration removed it keeps leading, without
 *     counting itself, until that entry commits; then it steps down).
 *   - learners are replicated to like voters but count in no quorum (commit, elections,
 *     check-quorum, read-index all use `voters`), and a learner never campaigns.
 *   - a node votes at most once per term (vote is persisted before the reply is sent).
 *   - voters/learners are the latest configuration in the log (membership.ts), committed or not.
 */
import { assert } from '../lib/assert.ts'
import { resolveConfig } from './config.ts'
import type { RaftConfig, ResolvedConfig } from './config.ts'
import { handleAppend, handleHeartbeat, handleSnapshot } from './follower.ts'
import { RaftLog } from './log.ts'
import { proposeConfChange, syncProgress } from './conf-change.ts'
import type { ConfChange } from './membership.ts'
import { Progress } from './progress.ts'
import { hasQuorum, voteResult } from './quorum.ts'
import { ReadIndexQueue } from './read-index.ts'
import {
  appendEntries, bcastAppend, bcastHeartbeat, handleAppendResponse, handleHeartbeatResponse,
  handleReadIndex, sendAppend, sendTimeoutNow, tickSnapshots,
} from './replication.ts'
import type {
  Entry, LogIndex, Message, NodeId, ProposalOutcome, ProposeResult, ReadState, Refusal, Role, Term,
  VoteRequest,
} from './types.ts'

/** A message before the sender's id and term are stamped on it. */
type Unstamped<M> = M extends Message ? Omit<M, 'from' | 'term'> & { term?: Term } : never
export type Outgoing = Unstamped<Message>

type CampaignKind = 'preElection' | 'election' | 'transfer'

export class Raft {
  readonly id: NodeId
  readonly cfg: ResolvedConfig
  term: Term = 0
  vote: NodeId = 0
  lead: NodeId = 0
  role: Role = 'follower'
  readonly log: RaftLog
  /** Leader only: one entry per voter, including ourselves. */
  progress = new Map<NodeId, Progress>()
  /** Candidate only: the (pre-)votes received this round. */
  votes = new Map<NodeId, boolean>()
  electionElapsed = 0
  heartbeatElapsed = 0
  randomizedElectionTimeout = 0
  /** Leader only: the node we are handing leadership to (0 = none). */
  leadTransferee: NodeId = 0
  readonly reads = new ReadIndexQueue()
  /** Leader only: read requests waiting for the first commit of this term (§8). */
  readsAwaitingCommit: { context: string; from: NodeId }[] = []
  /** Proposals accepted while leader whose outcome is not yet known, in proposal order. */
  pendingProposals: { index: LogIndex; term: Term }[] = []
  outcomes: ProposalOutcome[] = []
  msgs: Message[] = []
  readStates: ReadState[] = []

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config)
    this.id = this.cfg.id
    const init = this.cfg.storage.initialState()
    const base = init.voters !== null
      ? { voters: init.voters, learners: init.learners ?? [] }
      : { voters: this.cfg.voters, learners: [] }
    this.log = new RaftLog(this.cfg.storage, init.hardState.commit, base)
    this.term = init.hardState.term
    this.vote = init.hardState.vote
    this.becomeFollower(this.term, 0)
  }

  /** The voter set in force: the latest configuration in our log, committed or not (§4.1 of the thesis). */
  get voters(): readonly NodeId[] {
    return this.log.config.voters
  }

  /** The learners in force (same rule as voters): replicated to, never counted. */
  get learners(): readonly NodeId[] {
    return this.log.config.learners
  }

  /** Everyone a leader replicates to: voters, then learners (may include ourselves). */
  replicas(): NodeId[] {
    return [...this.voters, ...this.learners]
  }

  // ---- outgoing -----------------------------------------------------------

  send(m: Outgoing): void {
    // Vote requests and pre-vote responses carry their own (future) term.
    this.msgs.push({ ...m, from: this.id, term: m.term ?? this.term } as Message)
  }

  // ---- role changes -------------------------------------------------------

  private reset(term: Term): void {
    if (term !== this.term) {
      assert(term > this.term, `term must not go back (${this.term} → ${term})`)
      this.term = term
      this.vote = 0
    }
    this.lead = 0
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random.int(this.cfg.electionTicks)
    this.leadTransferee = 0
    this.votes.clear()
    this.progress.clear()
    // Pending reads can no longer be confirmed by us; their callers retry.
    this.reads.clear()
    this.readsAwaitingCommit = []
  }

  becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term)
    this.lead = lead
    this.role = 'follower'
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become pre-candidate')
    // Pre-vote changes neither term nor vote: that is its whole point (§9.6).
    this.votes.clear()
    this.lead = 0
    this.role = 'preCandidate'
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become candidate')
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader')
    this.reset(this.term)
    this.lead = this.id
    this.role = 'leader'
    const last = this.log.lastIndex()
    // Our own progress always exists (appendEntries counts our ack through it), even in the
    // thesis' corner where we were elected while our latest configuration excludes us.
    // Learners get progress too: they are replicated to exactly like voters.
    for (const v of [this.id, ...this.replicas().filter((v) => v !== this.id)]) {
      const pr = new Progress(last + 1, this.cfg.maxInflightMessages)
      if (v === this.id) {
        pr.match = last
        pr.becomeReplicate()
        pr.recentActive = true
      }
      this.progress.set(v, pr)
    }
    // §5.4.2/§8: a leader cannot count replicas of older-term entries, so it
    // commits an empty entry of its own term first, which also commits them.
    appendEntries(this, [{ index: 0, term: 0, kind: 'noop', data: new Uint8Array(0) }])
    bcastAppend(this)
  }

  /**
   * May we campaign? Voters may; learners never do. A node outside its latest configuration never campaigns, with
   * the thesis' exception (§4.2.2): while the entry that removed us is not known to be committed,
   * our vote may still be needed to elect someone who can commit it (e.g. the leader removed
   * us, reached only us and crashed), so we may stand — without counting our own vote — and
   * step down as soon as it commits (maybeStepDownRemoved).
   */
  isPromotable(): boolean {
    if (this.voters.includes(this.id)) return true
    // A learner was never a voter in its previous configuration either (demotion is refused,
    // and the change before a learner's addition committed before it), so the corner below
    // cannot apply; say it plainly anyway.
    if (this.learners.includes(this.id)) return false
    const c = this.log.config
    return c.lastChangeIndex > this.log.committed && c.votersAt(c.lastChangeIndex - 1).includes(this.id)
  }

  campaign(kind: CampaignKind): void {
    if (!this.isPromotable() || this.role === 'leader') return
    let voteTerm: Term
    if (kind === 'preElection') {
      this.becomePreCandidate()
      voteTerm = this.term + 1
    } else {
      this.becomeCandidate()
      voteTerm = this.term
    }
    this.votes.set(this.id, true)
    if (this.pollVotes() !== 'pending') return
    const type = kind === 'preElection' ? 'preVote' : 'vote'
    const lastIndex = this.log.lastIndex()
    const lastTerm = this.log.lastTerm()
    for (const to of this.voters) {
      if (to === this.id) continue
      this.send({ type, to, term: voteTerm, lastIndex, lastTerm, transfer: kind === 'transfer' })
    }
  }

  /** Counts votes; acts on a decided outcome and returns it. */
  private pollVotes(): 'won' | 'lost' | 'pending' {
    const result = voteResult(this.voters, this.votes)
    if (result === 'won') {
      if (this.role === 'preCandidate') this.campaign('election')
      else this.becomeLeader()
    } else if (result === 'lost') {
      this.becomeFollower(this.term, 0)
    }
    return result
  }

  // ---- time ---------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
  }

  private tickElection(): void {
    // Non-voters still count elapsed ticks: leader stickiness (inLease) reads them.
    this.electionElapsed++
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.campaign(this.cfg.preVote ? 'preElection' : 'election')
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    tickSnapshots(this)
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0
      if (this.cfg.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.term, 0)
        return
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = 0
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0
      bcastHeartbeat(this, this.reads.newestContext())
    }
  }

  /** Check-quorum: did a majority talk to us during the last election timeout? Resets the marks. */
  private checkQuorumActive(): boolean {
    const ok = hasQuorum(this.voters, (v) => v === this.id || this.progress.get(v)!.recentActive)
    for (const [v, pr] of this.progress) pr.recentActive = v === this.id
    return ok
  }

  // ---- input --------------------------------------------------------------

  step(m: Message): void {
    // Messages from nodes outside our configuration are processed too (thesis §4.1: a server
    // that has not yet seen a change must still follow a leader, or vote for a candidate, of
    // the new configuration). A leader ignores replies from nodes it has no progress for, and
    // removed nodes that campaign are kept out by pre-vote and leader stickiness (§4.2.3).
    if (m.to !== this.id || m.from === this.id || m.from === 0) return
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return
    } else if (m.term < this.term) {
      this.stepLowerTerm(m)
      return
    }
    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m)
        return
    }
    if (this.role === 'leader') this.stepLeader(m)
    else if (this.role === 'follower') this.stepFollower(m)
    else this.stepCandidate(m)
  }

  /** Returns false if the message is to be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      // Leader stickiness: while we hear from a live leader, a candidate that
      // cannot hear it must not depose it (unless the leader asked, via transfer).
      const inLease = this.cfg.checkQuorum && this.lead !== 0 && this.electionElapsed < this.cfg.electionTicks
      if (inLease && !m.transfer) return false
      if (m.type === 'preVote') return true // a pre-vote never changes our term
    }
    if (m.type === 'preVoteResp' && !m.reject) return true // granted for the term we would campaign in
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot'
    this.becomeFollower(m.term, fromLeader ? m.from : 0)
    return true
  }

  private stepLowerTerm(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // A stale leader cut off by pre-vote/check-quorum would never learn the
      // new term otherwise: tell it, so it steps down.
      this.send({ type: 'appendResp', to: m.from, reject: false, index: 0, hintIndex: 0, hintTerm: 0 })
    } else if (m.type === 'preVote') {
      this.send({ type: 'preVoteResp', to: m.from, reject: true })
    }
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote = this.vote === m.from
      || (this.vote === 0 && this.lead === 0)
      || (m.type === 'preVote' && m.term > this.term)
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp'
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      // A granted pre-vote answers in the term the candidate asked about.
      this.send({ type: respType, to: m.from, term: m.term, reject: false })
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true })
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from)
    if (!pr) return
    switch (m.type) {
      case 'appendResp':
        handleAppendResponse(this, pr, m)
        break
      case 'heartbeatResp':
        handleHeartbeatResponse(this, pr, m)
        break
      case 'readIndex':
        handleReadIndex(this, m.context, m.from)
        break
    }
    this.maybeStepDownRemoved()
  }

  /**
   * A leader outside its configuration steps down once the entry that removed it is committed
   * (thesis §4.2.2). Until then it keeps replicating, but counts neither its own ack for
   * commitment nor itself for check-quorum and read-index (quorum.ts over `voters`). The
   * broadcast of the new commit index has already gone out (handleAppendResponse), so the
   * remaining voters learn it. Leadership is handed off rather than left to an election
   * timeout: a voter known to hold our whole log (the lowest such id) is told to campaign at
   * once (timeoutNow, as in a leader transfer). Only an election follows,
   * so safety rests on the voting rules as always; if no voter is caught up, or the message is
   * lost, the remaining voters time out and elect one as before.
   */
  maybeStepDownRemoved(): void {
    if (this.role !== 'leader' || this.voters.includes(this.id)) return
    if (this.log.committed < this.log.config.lastChangeIndex) return
    const last = this.log.lastIndex()
    const heir = [...this.voters].sort((a, b) => a - b).find((v) => this.progress.get(v)?.match === last)
    if (heir !== undefined) sendTimeoutNow(this, heir)
    this.becomeFollower(this.term, 0)
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.electionElapsed = 0
        this.lead = m.from
        if (m.type === 'append') handleAppend(this, m)
        else if (m.type === 'heartbeat') handleHeartbeat(this, m)
        else handleSnapshot(this, m)
        return
      case 'timeoutNow':
        // The leader hands over: campaign at once, skipping pre-vote (§3.10).
        this.campaign('transfer')
        return
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context })
        return
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term (§5.2): follow it.
        this.becomeFollower(m.term, m.from)
        this.stepFollower(m)
        return
      case 'voteResp':
      case 'preVoteResp':
        if ((m.type === 'voteResp') !== (this.role === 'candidate')) return
        this.votes.set(m.from, !m.reject)
        this.pollVotes()
        return
    }
  }

  // ---- caller requests ----------------------------------------------------

  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { error: 'not_leader', leaderId: this.lead }
    if (this.leadTransferee !== 0) return { error: 'transferring', leaderId: this.id }
    if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommittedEntries) {
      return { error: 'overloaded', leaderId: this.id }
    }
    const e: Entry = appendEntries(this, [{ index: 0, term: 0, kind: 'data', data }])
    this.pendingProposals.push({ index: e.index, term: e.term })
    bcastAppend(this, false)
    return { index: e.index, term: e.term }
  }

  /** Appends a single-server configuration change (conf-change.ts says when it is refused). */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return proposeConfChange(this, cc)
  }

  /** Leader: progress for every voter and learner in the configuration (and ourselves), none for others. */
  syncProgress(): void {
    syncProgress(this)
  }

  readIndex(context: string): Refusal | null {
    if (this.role === 'leader') {
      return handleReadIndex(this, context, this.id) ? null : { error: 'overloaded', leaderId: this.id }
    }
    if (this.lead === 0) return { error: 'no_leader', leaderId: 0 }
    this.send({ type: 'readIndex', to: this.lead, context })
    return null
  }

  transferLeader(to: NodeId): Refusal | null {
    if (this.role !== 'leader') return { error: 'not_leader', leaderId: this.lead }
    if (!this.voters.includes(to)) return { error: 'not_voter', leaderId: this.id }
    if (to === this.id || to === this.leadTransferee) return null
    this.leadTransferee = to
    // The transfer must finish within an election timeout (tickLeader aborts it).
    this.electionElapsed = 0
    const pr = this.progress.get(to)!
    if (pr.match === this.log.lastIndex()) sendTimeoutNow(this, to)
    else sendAppend(this, to)
    return null
  }

  /** Learns the fate of accepted proposals whose index is now committed. */
  resolveProposals(): void {
    const committed = this.log.committed
    const stillPending: { index: LogIndex; term: Term }[] = []
    for (const p of this.pendingProposals) {
      if (p.index > committed) {
        stillPending.push(p)
        continue
      }
      // The entry committed at p.index is final (§5.4): either it is ours or ours is gone.
      const t = this.log.term(p.index)
      const outcome = t === undefined ? 'unknown' : t === p.term ? 'committed' : 'lost'
      this.outcomes.push({ index: p.index, term: p.term, outcome })
    }
    this.pendingProposals = stillPending
  }
}
