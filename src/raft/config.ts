/**
 * Configuration of one Raft node, validated once at construction.
 *
 * Time is measured in ticks: the caller calls `tick()` at a fixed interval and
 * chooses that interval (the core reads no clock). Randomness comes from the
 * caller's `Random`, so a simulator can make every run reproducible.
 */
import { assert } from '../lib/assert.ts'
import type { RaftStorage } from './storage.ts'
import type { NodeId } from './types.ts'

/** Source of randomness supplied by the caller (seeded in tests). */
export interface Random {
  /** A uniformly distributed integer in [0, maxExclusive). */
  int(maxExclusive: number): number
}

export interface RaftConfig {
  readonly id: NodeId
  /**
   * The bootstrap voter set (the configuration before any config entry). Ignored when storage
   * holds a snapshot (its voters win); config entries in the log override both. A node added
   * later may start with the bootstrap set or an empty one: it learns its configuration from
   * the log the leader sends it.
   */
  readonly voters: readonly NodeId[]
  readonly storage: RaftStorage
  readonly random: Random
  /** A follower campaigns after a random timeout in [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number
  /** A leader sends heartbeats every heartbeatTicks; must be well below electionTicks. */
  readonly heartbeatTicks: number
  /** Run a pre-vote round before a real election so a partitioned node cannot inflate terms (§9.6). */
  readonly preVote?: boolean
  /**
   * A leader steps down when it has not heard from a quorum for an election
   * timeout, and followers that heard from a leader recently ignore votes
   * (leader stickiness, §4.2.3 of Ongaro's thesis).
   */
  readonly checkQuorum?: boolean
  /** Max append messages in flight per follower in replicate state. */
  readonly maxInflightMessages?: number
  /** Soft cap on the entry bytes in one append message (at least one entry is always sent). */
  readonly maxBytesPerMessage?: number
  /** Proposals are refused ('overloaded') while this many entries are uncommitted. */
  readonly maxUncommittedEntries?: number
  /** Read-index requests a leader queues at most; more are refused ('overloaded') or dropped if forwarded. */
  readonly maxPendingReads?: number
}

export interface ResolvedConfig extends Required<RaftConfig> {}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  const r: ResolvedConfig = {
    preVote: true,
    checkQuorum: true,
    maxInflightMessages: 64,
    maxBytesPerMessage: 1024 * 1024,
    maxUncommittedEntries: 10_000,
    maxPendingReads: 10_000,
    ...c,
  }
  assert(Number.isInteger(r.id) && r.id > 0, 'raft config: id must be a positive integer')
  assert(r.heartbeatTicks >= 1, 'raft config: heartbeatTicks must be >= 1')
  assert(r.electionTicks > r.heartbeatTicks, 'raft config: electionTicks must exceed heartbeatTicks')
  assert(r.maxInflightMessages >= 1, 'raft config: maxInflightMessages must be >= 1')
  assert(r.maxBytesPerMessage >= 1, 'raft config: maxBytesPerMessage must be >= 1')
  assert(r.maxUncommittedEntries >= 1, 'raft config: maxUncommittedEntries must be >= 1')
  assert(r.maxPendingReads >= 1, 'raft config: maxPendingReads must be >= 1')
  assert(new Set(r.voters).size === r.voters.length, 'raft config: duplicate voter ids')
  assert(r.voters.every((v) => Number.isInteger(v) && v > 0), 'raft config: voter ids must be positive integers')
  return r
}
