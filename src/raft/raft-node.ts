/**
 * The caller-facing API (etcd's RawNode): feed time and messages in, collect
 * work to do as a Ready, acknowledge it with advance().
 *
 * The caller's loop, for each Ready:
 *   1. persist `snapshot`, then `entries`, then `hardState` (see storage.ts) and sync;
 *   2. send `messages` (they may depend on step 1, so never before it);
 *   3. restore `snapshot` into the state machine, then apply `committedEntries`;
 *      serve `readStates` once applied ≥ their index; report `proposalOutcomes`;
 *   4. call advance().
 * tick/step/propose may be called between ready() and advance(); a second
 * ready() must wait for advance().
 */
import { assert } from '../lib/assert.ts'
import type { RaftConfig } from './config.ts'
import type { ConfChange } from './membership.ts'
import { Raft } from './raft.ts'
import type {
  Entry, HardState, LogIndex, Message, NodeId, ProposalOutcome, ProposeResult, ReadState, Refusal, Role,
  Snapshot, SoftState, Term,
} from './types.ts'

export interface Ready {
  /** Changed leader or role since the last Ready, else null. */
  readonly softState: SoftState | null
  /** Changed term, vote or commit since the last Ready, else null. */
  readonly hardState: HardState | null
  readonly snapshot: Snapshot | null
  readonly entries: readonly Entry[]
  readonly messages: readonly Message[]
  readonly committedEntries: readonly Entry[]
  readonly readStates: readonly ReadState[]
  readonly proposalOutcomes: readonly ProposalOutcome[]
}

export interface Status {
  readonly id: NodeId
  readonly term: Term
  readonly vote: NodeId
  readonly lead: NodeId
  readonly role: Role
  readonly commit: LogIndex
  readonly applied: LogIndex
  readonly firstIndex: LogIndex
  readonly lastIndex: LogIndex
  /** The configuration in force: the latest config entry in this node's log, committed or not. */
  readonly voters: readonly NodeId[]
  /** The learners of that configuration (replicated to, never counted in a quorum). */
  readonly learners: readonly NodeId[]
}

export class RaftNode {
  readonly #raft: Raft
  #soft: SoftState
  #hard: HardState
  #resolvedCommit: LogIndex
  /** The Ready handed out and not yet advanced. */
  #inProgress: Ready | null = null

  constructor(config: RaftConfig) {
    this.#raft = new Raft(config)
    this.#soft = this.#softState()
    this.#hard = this.#hardState()
    this.#resolvedCommit = this.#raft.log.committed
  }

  tick(): void {
    this.#raft.tick()
  }

  step(m: Message): void {
    this.#raft.step(m)
  }

  /** Appends `data` if we lead; the outcome arrives later in Ready.proposalOutcomes. */
  propose(data: Uint8Array): ProposeResult {
    return this.#raft.propose(data)
  }

  /**
   * Adds or removes one voter or learner (thesis §4.1–4.3, §4.2.1). Returns `{ index, term }`
   * of the config entry if accepted (its outcome arrives in Ready.proposalOutcomes like a
   * proposal's), or a refusal: 'not_leader' (with the known leader), 'transferring',
   * 'change_pending' (the previous change is uncommitted), 'term_not_committed' (this leader
   * has not committed an entry of its term yet: retry shortly), 'no_op_change', 'last_voter',
   * 'not_caught_up' (addVoter of a learner whose log is behind the commit index: retry once it
   * caught up) or 'overloaded'. The safe way to add a server is addLearner, wait, then addVoter
   * of that learner; addVoter of a non-member is still accepted, but the new voter counts
   * toward the quorum at once with an empty log. An added node must run (with any voter list,
   * e.g. the bootstrap one or none): it learns the log and its configuration from the leader.
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.#raft.proposeConfChange(cc)
  }

  /**
   * The voter set in force at `index`, for a snapshot taken there (index ≥ the log's first
   * index - 1, i.e. not compacted away). The application passes it to createSnapshot.
   */
  votersAt(index: LogIndex): readonly NodeId[] {
    return this.#raft.log.config.votersAt(index)
  }

  /** The learners in force at `index` (same bounds as votersAt), for createSnapshot too. */
  learnersAt(index: LogIndex): readonly NodeId[] {
    return this.#raft.log.config.configAt(index).learners
  }

  /** Starts a linearizable read; the answer arrives as a ReadState carrying `context` (unique per request). */
  readIndex(context: string): Refusal | null {
    return this.#raft.readIndex(context)
  }

  /** Asks the leader to hand leadership to `to` (§3.10 of the thesis). */
  transferLeader(to: NodeId): Refusal | null {
    return this.#raft.transferLeader(to)
  }

  /** Starts an election now (pre-vote first if enabled), as if the election timeout fired. */
  campaign(): void {
    this.#raft.campaign(this.#raft.cfg.preVote ? 'preElection' : 'election')
  }

  status(): Status {
    const r = this.#raft
    return {
      id: r.id, term: r.term, vote: r.vote, lead: r.lead, role: r.role,
      commit: r.log.committed, applied: r.log.applied,
      firstIndex: r.log.firstIndex(), lastIndex: r.log.lastIndex(), voters: r.voters, learners: r.learners,
    }
  }

  hasReady(): boolean {
    if (this.#inProgress) return false
    const r = this.#raft
    const log = r.log
    return r.msgs.length > 0 || log.unstable.length > 0 || log.pendingSnapshot !== null
      || log.committed > log.applied || r.readStates.length > 0 || r.outcomes.length > 0
      || log.committed !== this.#resolvedCommit
      || !sameHard(this.#hardState(), this.#hard) || !sameSoft(this.#softState(), this.#soft)
  }

  ready(): Ready {
    assert(this.#inProgress === null, 'ready() called again before advance()')
    const r = this.#raft
    if (r.log.committed !== this.#resolvedCommit) {
      r.resolveProposals()
      this.#resolvedCommit = r.log.committed
    }
    const soft = this.#softState()
    const hard = this.#hardState()
    const rd: Ready = {
      softState: sameSoft(soft, this.#soft) ? null : soft,
      hardState: sameHard(hard, this.#hard) ? null : hard,
      snapshot: r.log.pendingSnapshot,
      entries: r.log.unstable.slice(),
      messages: r.msgs,
      committedEntries: r.log.nextCommitted(),
      readStates: r.readStates,
      proposalOutcomes: r.outcomes,
    }
    r.msgs = []
    r.readStates = []
    r.outcomes = []
    this.#soft = soft
    this.#inProgress = rd
    return rd
  }

  /** The caller finished persisting, sending and applying the last Ready. */
  advance(): void {
    const rd = this.#inProgress
    assert(rd !== null, 'advance() without a Ready')
    const log = this.#raft.log
    if (rd.hardState) this.#hard = rd.hardState
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index)
      if (log.applied < rd.snapshot.meta.index) log.applied = rd.snapshot.meta.index
    }
    const lastEntry = rd.entries.at(-1)
    if (lastEntry) log.stableTo(lastEntry.index, lastEntry.term)
    const lastApplied = rd.committedEntries.at(-1)
    if (lastApplied) log.appliedTo(lastApplied.index)
    // Config entries the caller compacted into a snapshot are folded into the tracker's base.
    // Not beyond: the application may still snapshot at any index ≥ storage's first index - 1
    // (so not the log's, which a snapshot received but not yet persisted moves ahead).
    log.config.compact(log.storage.firstIndex() - 1)
    this.#inProgress = null
  }

  #softState(): SoftState {
    return { lead: this.#raft.lead, role: this.#raft.role }
  }

  #hardState(): HardState {
    const r = this.#raft
    return { term: r.term, vote: r.vote, commit: r.log.committed }
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role
}
