/**
 * The one interface through which the broker reads and writes cluster metadata.
 *
 * Two implementations: SingleVoterLog (this node is the whole quorum; records go straight to
 * `__cluster_metadata-0/`) and, later, the Raft quorum (src/raft). The broker cannot tell them
 * apart: a single node is a one-voter quorum, the same code path, not a special case.
 */
import type { MetadataRecord } from './records.ts'

export type ProposeResult =
  | { readonly offset: number }
  | { readonly error: 'not_leader'; readonly leaderId: number | null }

/** Committed records; record i has offset baseOffset + i. */
export interface CommittedBatch {
  readonly baseOffset: number
  readonly records: readonly MetadataRecord[]
}

export interface MetadataLog {
  /** Replays what is committed (delivered to onCommit listeners registered before) and starts. */
  start(): Promise<void>
  /**
   * Appends records atomically (all or none) and resolves with the offset of the last one once
   * it is committed. Records must be deterministic: random choices were made by the caller.
   */
  propose(records: readonly MetadataRecord[]): Promise<ProposeResult>
  /** Committed batches, in offset order, exactly once each. */
  onCommit(listener: (batch: CommittedBatch) => void): void
  /** The offset a local image must reach before a read reflects every write acknowledged before it. */
  readBarrier(): Promise<number>
  /** The node id of the current leader (the active controller), or null while there is none. */
  leaderId(): number | null
  close(): Promise<void>
}
