/**
 * What the broker needs from whatever hosts its partition actors: the shard pool of worker
 * threads (src/runtime) — or, until it is wired in, the inline host. Results are values.
 */
import type { AppendError, LogConfig } from '../storage/partition-log.ts'

export interface PartitionHandle {
  readonly shard: number
  readonly slot: number
  /** Unique per (owner, topic id, partition): a re-created topic gets a new key. */
  readonly key: string
}

export interface Watermarks {
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly lastStableOffset: number
  readonly logEndOffset: number
  readonly leaderEpoch: number
  readonly recoveryPoint: number
  /** The cleaner-offset-checkpoint value; -1: none. */
  readonly cleanerCheckpoint: number
}

export interface PartitionSpec {
  readonly owner: string
  readonly dir: string
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  readonly leaderEpoch: number
  readonly config: LogConfig
  readonly recoveryPoint: number
  readonly cleanShutdown: boolean
  readonly logStartOffset?: number
  /** From cleaner-offset-checkpoint: how far a compacted log was already cleaned. */
  readonly cleanerCheckpoint?: number
}

export type HostError =
  | AppendError | 'not_leader_or_follower' | 'fenced_leader_epoch' | 'unknown_leader_epoch'
  | 'offset_out_of_range' | 'shard_unavailable' | 'request_timed_out'

export type ProduceItemResult =
  | { readonly ok: { baseOffset: number; lastOffset: number; logAppendTime: number; logStartOffset: number } }
  | { readonly error: HostError; readonly message?: string }

export type FetchItemResult =
  | { readonly ok: { records: Buffer; highWatermark: number; lastStableOffset: number; logStartOffset: number; abortedTransactions?: { producerId: number; firstOffset: number }[] } }
  | { readonly error: HostError; readonly watermarks?: Watermarks }

/** DeleteRecords of one partition: the new low watermark (log start offset), or why not. */
export type DeleteRecordsItemResult =
  | { readonly ok: { lowWatermark: number } }
  | { readonly error: 'offset_out_of_range' | 'policy_violation' | 'not_leader_or_follower' | 'shard_unavailable' | 'request_timed_out'; readonly message?: string }

export interface FetchItem {
  readonly handle: PartitionHandle
  readonly fetchOffset: number
  readonly maxBytes: number
  readonly isolation: 'read_uncommitted' | 'read_committed'
  readonly currentLeaderEpoch: number
  readonly minOneBatch: boolean
}

export interface PartitionHost {
  createPartition(spec: PartitionSpec): Promise<PartitionHandle>
  updatePartition(handle: PartitionHandle, change: { leaderEpoch?: number; config?: LogConfig }): Promise<void>
  deletePartition(handle: PartitionHandle): Promise<string>
  /**
   * Clean close of one broker's partitions: the final watermarks of those closed cleanly, by
   * handle key (recovery point = log end), and whether all of them were.
   */
  closeOwner(owner: string): Promise<{ readonly watermarks: ReadonlyMap<string, Watermarks>; readonly clean: boolean }>
  /**
   * One Produce request's batches, one message per shard, posted synchronously before this
   * returns (appends keep arrival order). The host owns the records' memory afterwards (it may
   * transfer it to a worker). Results come back in item order.
   */
  produceAcrossShards(items: readonly { handle: PartitionHandle; records: Buffer }[], timeoutMs: number): Promise<ProduceItemResult[]>
  fetch(shard: number, items: readonly FetchItem[], timeoutMs: number): Promise<FetchItemResult[]>
  /**
   * Returns the ArrayBuffers behind fetched records to the shard that read them, once nothing
   * refers to them any more (the response is written): reads then reuse warm memory.
   */
  recycle(shard: number, buffers: readonly ArrayBuffer[]): void
  watermarks(handle: PartitionHandle): Watermarks
  listOffsetByTime(handle: PartitionHandle, timestamp: number): Promise<{ ok: { offset: number; timestamp: number; leaderEpoch: number } | null } | { error: HostError }>
  offsetForLeaderEpoch(handle: PartitionHandle, epoch: number): Promise<{ ok: { leaderEpoch: number; endOffset: number } } | { error: HostError }>
  /** Moves the partition's log start offset up to `offset` (-1: the high watermark); whole segments below it are deleted. */
  deleteRecords(handle: PartitionHandle, offset: number): Promise<DeleteRecordsItemResult>
  onWatermarksMoved(listener: (handles: readonly PartitionHandle[]) => void): () => void
  /** After a compaction pass was swapped in on any partition (its cleaner checkpoint is in watermarks()). */
  onCleaned(listener: () => void): () => void
  isSaturated(shard: number): boolean
  onDrain(shard: number, cb: () => void): void
}
