/**
 * Types shared by the Raft core: log entries, persistent state, snapshots and
 * the messages nodes exchange.
 *
 * Everything here is plain data. Objects handed to or returned from the core
 * are treated as immutable by both sides: the core never mutates an entry or a
 * message it received, and the caller must not mutate what `ready()` returns.
 */

/** A node's id inside one Raft group. 0 is reserved for "no node". */
export type NodeId = number
/** A Raft term (election epoch). Starts at 0 and only grows. */
export type Term = number
/** A 1-based position in the replicated log; 0 means "before the first entry". */
export type LogIndex = number

/**
 * 'data' carries a caller payload; 'noop' is the empty entry a new leader
 * appends in its own term so that it can commit (Raft §5.4.2, §8); 'config'
 * adds or removes one voter (membership.ts: its data is the change and the
 * resulting voter set, and it takes effect as soon as it is in a log).
 */
export type EntryKind = 'data' | 'noop' | 'config'

export interface Entry {
  readonly index: LogIndex
  readonly term: Term
  readonly kind: EntryKind
  readonly data: Uint8Array
}

/** State that must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  readonly term: Term
  /** The candidate this node voted for in `term`, or 0. */
  readonly vote: NodeId
  /** Highest log index known to be committed (may lag behind the truth; never ahead of the log). */
  readonly commit: LogIndex
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers. */
  readonly index: LogIndex
  /** Term of the entry at `index`. */
  readonly term: Term
  /** The voter set as of `index`. */
  readonly voters: readonly NodeId[]
  /** The learners as of `index`; absent when there are none (as in snapshots of older builds). */
  readonly learners?: readonly NodeId[]
}

export interface Snapshot {
  readonly meta: SnapshotMeta
  /** State-machine image, opaque to the core. */
  readonly data: Uint8Array
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile state the caller may want to observe (who leads, which role we play). */
export interface SoftState {
  readonly lead: NodeId
  readonly role: Role
}

/**
 * A linearizable read is safe to serve once the local state machine has
 * applied `index` (Raft §8, read-index). `context` is the caller's request id.
 */
export interface ReadState {
  readonly index: LogIndex
  readonly context: string
}

/** Result of a proposal this node accepted as leader, learned once its index commits. */
export interface ProposalOutcome {
  readonly index: LogIndex
  readonly term: Term
  /**
   * 'committed': the entry (index, term) is committed. 'lost': another entry was
   * committed at `index`, so this proposal never will be. 'unknown': a snapshot
   * replaced the log before the outcome could be learned.
   */
  readonly outcome: 'committed' | 'lost' | 'unknown'
}

// ---- messages -------------------------------------------------------------

interface Header {
  readonly from: NodeId
  readonly to: NodeId
  /** Sender's term; for 'preVote' the term the sender would campaign in. */
  readonly term: Term
}

/** Leader → follower: entries after (prevIndex, prevTerm), plus the leader's commit. */
export interface AppendMessage extends Header {
  readonly type: 'append'
  readonly prevIndex: LogIndex
  readonly prevTerm: Term
  readonly entries: readonly Entry[]
  readonly commit: LogIndex
}

/**
 * Follower → leader. Accepted: `index` is the last index now known to match.
 * Rejected: `index` is the rejected prevIndex and (hintIndex, hintTerm) is the
 * follower's guess of where the logs may still agree.
 */
export interface AppendResponse extends Header {
  readonly type: 'appendResp'
  readonly reject: boolean
  readonly index: LogIndex
  readonly hintIndex: LogIndex
  readonly hintTerm: Term
}

export interface VoteRequest extends Header {
  readonly type: 'vote' | 'preVote'
  readonly lastIndex: LogIndex
  readonly lastTerm: Term
  /** Set during leader transfer: lets the vote through leader stickiness. */
  readonly transfer: boolean
}

export interface VoteResponse extends Header {
  readonly type: 'voteResp' | 'preVoteResp'
  readonly reject: boolean
}

/** Leader → follower keep-alive. `context` is the newest pending read-index request. */
export interface HeartbeatMessage extends Header {
  readonly type: 'heartbeat'
  readonly commit: LogIndex
  readonly context: string | null
}

export interface HeartbeatResponse extends Header {
  readonly type: 'heartbeatResp'
  readonly context: string | null
}

export interface SnapshotMessage extends Header {
  readonly type: 'snapshot'
  readonly snapshot: Snapshot
}

/** Leader transfer: the leader tells the transferee to campaign immediately. */
export interface TimeoutNowMessage extends Header {
  readonly type: 'timeoutNow'
}

/** Follower → leader: please confirm leadership and tell me the read index. */
export interface ReadIndexRequest extends Header {
  readonly type: 'readIndex'
  readonly context: string
}

export interface ReadIndexResponse extends Header {
  readonly type: 'readIndexResp'
  readonly index: LogIndex
  readonly context: string
}

export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse

export type MessageType = Message['type']

/**
 * Why a request was refused. Operating conditions, returned as values. The last five are for
 * membership changes: 'change_pending' (the previous change is not committed yet),
 * 'term_not_committed' (this leader has not committed an entry of its own term yet),
 * 'no_op_change' (adding an existing voter or learner, removing a node that does not hold the role, adding as
 * learner a node that is a voter), 'last_voter' (the change would leave no voter), 'not_voter' (a
 * leader transfer to a node that is not a voter), 'not_caught_up' (promoting a learner whose
 * replicated log is still behind the leader's commit index).
 */
export type RefusalReason =
  | 'not_leader' | 'transferring' | 'overloaded' | 'no_leader'
  | 'change_pending' | 'term_not_committed' | 'no_op_change' | 'last_voter' | 'not_voter' | 'not_caught_up'

export interface Refusal {
  readonly error: RefusalReason
  /** The leader this node knows of (0 = none), so the caller can redirect. */
  readonly leaderId: NodeId
}

export type ProposeResult = { readonly index: LogIndex; readonly term: Term } | Refusal

export function isRefusal(x: object): x is Refusal {
  return 'error' in x
}

/** Bytes an entry counts for flow control: payload plus a fixed header estimate. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24
}
