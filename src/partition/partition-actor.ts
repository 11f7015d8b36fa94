/**
 * One partition replica on a shard worker: the only code that touches the partition's files.
 * It owns the PartitionLog and the replica's state (topic id, partition, leader epoch, role) and
 * answers produce/fetch items with values, never exceptions.
 *
 * Identity: an actor is keyed by (owner id, topic id, partition). The owner is the broker
 * instance (several brokers can share one process's shard workers, each with its own log dir);
 * the topic id makes a topic deleted and re-created under the same name a different actor, so
 * in-flight writes for the old topic can never land in the new one. On the wire an actor is named
 * by `actorId`, a number the pool never reuses.
 *
 * Replication seam: every replica is a leader with ISR = {self} for now, but the high watermark
 * is decided by a HighWatermarkPolicy, not here; ISR replication supplies another policy.
 */
import type { FileHandleCache } from '../storage/file-handles.ts'
import type { LoaderLogger } from '../storage/log-loader.ts'
import { PartitionLog, type DeleteRecordsOutcome, type LogConfig } from '../storage/partition-log.ts'
import type { RetentionReason } from '../storage/log-retention.ts'
import { discardCleaned, inlineCleaner, type CleanJob, type CleanResult, type CleanerRunner } from '../storage/log-cleaner.ts'
import type { WireFetchResult, WireProduceResult } from '../runtime/protocol.ts'
import type { Watermarks } from '../runtime/watermark-table.ts'

/** ListOffsets' "max timestamp" query (KIP-734). */
const MAX_TIMESTAMP = -3

/** Decides the high watermark after the local log changed. */
export interface HighWatermarkPolicy {
  highWatermark(log: { readonly logEndOffset: number; readonly highWatermark: number }): number
}

/** A leader whose ISR is itself: everything written locally is fully replicated. */
export const soleReplicaPolicy: HighWatermarkPolicy = Object.freeze({
  highWatermark: (log: { readonly logEndOffset: number }) => log.logEndOffset,
})

export type ReplicaRole = 'leader' | 'follower'

export interface PartitionActorSpec {
  readonly actorId: number
  readonly slot: number
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
  /** This partition's cleaner-offset-checkpoint entry: compaction resumes from there. */
  readonly cleanerCheckpoint?: number
}

export interface ActorLogger extends LoaderLogger {
  error?(obj: object, msg: string): void
}

export interface ActorDeps {
  readonly fds: FileHandleCache
  readonly now: () => number
  readonly logger?: ActorLogger
  readonly policy?: HighWatermarkPolicy
  /** Where compaction's CPU work runs (the process's piscina pool); inline when absent. */
  readonly cleaner?: CleanerRunner
}

/** How a compaction pass ended. */
export type CleanOutcome = 'cleaned' | 'nothing' | 'discarded' | 'uncleanable'


export function actorKey(owner: string, topicId: string, partition: number): string {
  return `${owner}/${topicId}/${partition}`
}

export type EpochError = 'fenced_leader_epoch' | 'unknown_leader_epoch'

/** Kafka's current_leader_epoch check: -1 skips it; older is fenced, newer is not known here yet. */
export function checkLeaderEpoch(requested: number, ours: number): EpochError | null {
  if (requested === -1 || requested === ours) return null
  return requested < ours ? 'fenced_leader_epoch' : 'unknown_leader_epoch'
}

/** Distinct keys one compaction pass maps: bounds the work (and memory) of one pass. */
const CLEANER_MAX_MAP_ENTRIES = 100_000

export class PartitionActor {
  readonly actorId: number
  readonly slot: number
  readonly owner: string
  readonly topicId: string
  readonly partition: number
  readonly #log: PartitionLog
  readonly #policy: HighWatermarkPolicy
  #leaderEpoch: number
  #role: ReplicaRole = 'leader'
  #flushIntervalMs: number
  #retentionCheckIntervalMs: number
  #logConfig: LogConfig
  readonly #cleaner: CleanerRunner
  readonly #logger: ActorLogger | undefined
  /** How far the log is compacted (Kafka's cleaner-offset-checkpoint, published for the broker to write). */
  #cleanedOffset: number | undefined
  /** The pass in flight (at most one per partition). */
  #cleaning: Promise<CleanOutcome> | null = null
  /** Why compaction stopped for this partition (Kafka's uncleanable partitions); null while cleanable. */
  #uncleanable: string | null = null
  #closed = false

  private constructor(spec: PartitionActorSpec, log: PartitionLog, deps: ActorDeps) {
    this.actorId = spec.actorId
    this.slot = spec.slot
    this.owner = spec.owner
    this.topicId = spec.topicId
    this.partition = spec.partition
    this.#log = log
    this.#policy = deps.policy ?? soleReplicaPolicy
    this.#cleaner = deps.cleaner ?? inlineCleaner
    this.#logger = deps.logger
    this.#cleanedOffset = spec.cleanerCheckpoint !== undefined && spec.cleanerCheckpoint >= 0 ? spec.cleanerCheckpoint : undefined
    this.#leaderEpoch = spec.leaderEpoch
    this.#flushIntervalMs = spec.config.flushIntervalMs
    this.#retentionCheckIntervalMs = spec.config.retentionCheckIntervalMs
    this.#logConfig = spec.config
  }

  /** Opens (and recovers, after an unclean stop) the partition's log. Throws what PartitionLog.open throws. */
  static open(spec: PartitionActorSpec, deps: ActorDeps): PartitionActor {
    const log = PartitionLog.open({
      dir: spec.dir, topic: spec.topic, partition: spec.partition, topicId: spec.topicId, config: spec.config, now: deps.now,
      recoveryPoint: spec.recoveryPoint, cleanShutdown: spec.cleanShutdown, fds: deps.fds,
      ...(spec.logStartOffset === undefined ? {} : { logStartOffset: spec.logStartOffset }),
      ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    })
    const actor = new PartitionActor(spec, log, deps)
    // Becoming leader: the epoch (from the metadata image) starts at the current LEO.
    if (log.leaderEpoch < spec.leaderEpoch) log.assignLeaderEpoch(spec.leaderEpoch)
    actor.#advanceHighWatermark()
    return actor
  }

  get key(): string {
    return actorKey(this.owner, this.topicId, this.partition)
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch
  }

  get role(): ReplicaRole {
    return this.#role
  }

  get flushIntervalMs(): number {
    return this.#flushIntervalMs
  }

  watermarks(): Watermarks {
    const l = this.#log
    return {
      logStartOffset: l.logStartOffset, highWatermark: l.highWatermark, lastStableOffset: l.lastStableOffset,
      logEndOffset: l.logEndOffset, leaderEpoch: this.#leaderEpoch, recoveryPoint: l.recoveryPoint,
      cleanerCheckpoint: this.#cleanedOffset ?? -1,
    }
  }

  /** A leader-epoch bump from the metadata image (a lower one is stale and ignored) and/or a topic config change. */
  update(change: { leaderEpoch?: number; config?: LogConfig }): void {
    if (change.leaderEpoch !== undefined && change.leaderEpoch > this.#leaderEpoch) {
      this.#leaderEpoch = change.leaderEpoch
      this.#log.assignLeaderEpoch(change.leaderEpoch)
    }
    if (change.config !== undefined) {
      this.#log.updateConfig(change.config)
      this.#flushIntervalMs = change.config.flushIntervalMs
      this.#retentionCheckIntervalMs = change.config.retentionCheckIntervalMs
      this.#logConfig = change.config
      // Kafka retries an uncleanable partition after a restart or a config change.
      this.#uncleanable = null
    }
  }

  /** Appends one produced batch (stamped in place) and moves the high watermark per the policy. */
  produce(records: Buffer): WireProduceResult {
    if (this.#role !== 'leader') return { error: 'not_leader_or_follower' }
    const r = this.#log.append(records, this.#leaderEpoch)
    if ('error' in r) return r.message === undefined ? { error: r.error } : { error: r.error, message: r.message }
    this.#advanceHighWatermark()
    return { ok: r.ok }
  }

  /** Reads whole batches below the HW (read_committed: the LSO); the Buffer owns its ArrayBuffer. */
  fetch(fetchOffset: number, maxBytes: number, readCommitted: boolean, currentLeaderEpoch: number, minOneBatch: boolean, alloc?: (size: number) => Buffer): WireFetchResult {
    if (this.#role !== 'leader') return { error: 'not_leader_or_follower' }
    const epochError = checkLeaderEpoch(currentLeaderEpoch, this.#leaderEpoch)
    if (epochError !== null) return { error: epochError }
    const l = this.#log
    const read = l.read(fetchOffset, maxBytes, readCommitted ? l.lastStableOffset : l.highWatermark, minOneBatch, alloc)
    if ('error' in read) return { error: read.error, watermarks: this.watermarks() }
    const records = read.records
    return {
      ok: {
        buffer: records.buffer as ArrayBuffer, byteOffset: records.byteOffset, byteLength: records.byteLength,
        highWatermark: l.highWatermark, lastStableOffset: l.lastStableOffset, logStartOffset: l.logStartOffset,
      },
    }
  }

  /** ListOffsets by time; -3 asks for the first record carrying the largest timestamp (KIP-734). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number; leaderEpoch: number } | null {
    const found = timestamp === MAX_TIMESTAMP ? this.#log.offsetOfMaxTimestamp() : this.#log.offsetForTimestamp(timestamp)
    return found === null ? null : { offset: found.offset, timestamp: found.timestamp, leaderEpoch: found.leaderEpoch }
  }

  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: number } {
    return this.#log.endOffsetForEpoch(epoch)
  }

  needsFlush(now: number): boolean {
    return this.#log.needsFlush(now)
  }

  /** True while written bytes are not yet fsynced. */
  get hasUnflushed(): boolean {
    return this.#log.recoveryPoint < this.#log.logEndOffset
  }

  flush(): void {
    this.#log.flush()
  }

  get retentionCheckIntervalMs(): number {
    return this.#retentionCheckIntervalMs
  }

  /** How often the cleaner looks at this log (log.cleaner.backoff.ms); null when it is not compacted. */
  get cleanerCheckIntervalMs(): number | null {
    return this.#logConfig.cleanupPolicy.compact ? (this.#logConfig.cleanerBackoffMs ?? 15_000) : null
  }

  /** The periodic retention check (see PartitionLog.deleteOldSegments). */
  deleteOldSegments(now: number): Partial<Record<RetentionReason, number>> {
    return this.#log.deleteOldSegments(now)
  }

  /** DeleteRecords (leader only): moves the log start offset up to `offset` (-1: the HW). */
  deleteRecords(offset: number): DeleteRecordsOutcome | { error: 'not_leader_or_follower'; message: string } {
    if (this.#role !== 'leader') return { error: 'not_leader_or_follower', message: 'not the leader' }
    return this.#log.deleteRecordsBefore(offset)
  }

  /** When the next `.deleted` segment file is due for removal (Infinity: none). */
  get nextFileDeletionDue(): number {
    return this.#log.nextFileDeletionDue
  }

  removeDeletedFiles(now: number): number {
    return this.#log.removeDeletedFiles(now)
  }

  /**
   * Log compaction (cleanup.policy has compact). When the dirty ratio reaches
   * min.cleanable.dirty.ratio, the rolled segments are handed to the cleaner (a piscina task:
   * the CPU work never runs on this shard's thread) and this actor swaps the cleaned files in
   * when it answers — so it stays the only code renaming or deleting its files. Null when no
   * pass started (none due, one in flight, or the partition is uncleanable).
   *
   * A pass that throws marks the partition uncleanable (Kafka's LogCleanerManager does the
   * same): an error is logged, no pass runs until a config change or restart, and the log, its
   * appends and its reads are untouched. A failure of the swap itself is a storage error and
   * rejects (the host fails the actor, as for any write error).
   */
  startCleaning(now: number): Promise<CleanOutcome> | null {
    const c = this.#logConfig
    if (!c.cleanupPolicy.compact || this.#cleaning !== null || this.#uncleanable !== null || this.#closed) return null
    const job = this.#log.prepareClean(this.#cleanedOffset, {
      minCompactionLagMs: c.minCompactionLagMs ?? 0, deleteRetentionMs: c.deleteRetentionMs ?? 86_400_000,
      minCleanableDirtyRatio: c.minCleanableDirtyRatio ?? 0.5, segmentBytes: c.segmentBytes, maxMapEntries: CLEANER_MAX_MAP_ENTRIES,
    }, now)
    if (job === null) return null
    const pass = this.#cleaner(job).then((result) => this.#finishCleaning(job, result), (err: unknown) => this.#cleaningFailed(job, err))
    this.#cleaning = pass.finally(() => { this.#cleaning = null })
    return this.#cleaning
  }

  /** One whole pass, awaited (tests, tools). */
  async clean(now: number): Promise<number | undefined> {
    await this.startCleaning(now)
    return this.#cleanedOffset
  }

  /** How far the log is compacted (undefined: not yet). */
  get cleanedOffset(): number | undefined {
    return this.#cleanedOffset
  }

  /** Why compaction stopped for this partition, or null. */
  get uncleanableReason(): string | null {
    return this.#uncleanable
  }

  #finishCleaning(job: CleanJob, result: CleanResult | null): CleanOutcome {
    if (result === null) return 'nothing'
    if (this.#closed) {
      discardCleaned(result)
      return 'discarded'
    }
    if (!this.#log.completeClean(job, result)) return 'discarded'
    this.#cleanedOffset = result.endOffset
    return 'cleaned'
  }

  #cleaningFailed(job: CleanJob, err: unknown): CleanOutcome {
    // The job removed its own .cleaned files. A segment deleted or cut under it explains the failure.
    if (this.#closed || !this.#log.cleanJobStillValid(job)) return 'discarded'
    this.#uncleanable = err instanceof Error ? err.message : String(err)
    const log = this.#logger?.error ?? this.#logger?.warn
    log?.call(this.#logger, { topicId: this.topicId, partition: this.partition, dir: job.dir, reason: this.#uncleanable },
      'log cleaning failed; the partition is marked uncleanable until a restart or a config change (it keeps serving)')
    return 'uncleanable'
  }

  expireProducers(now: number): void {
    this.#log.expireProducers(now)
  }

  /** Whether a write of this partition's log failed (its files may hold a torn write: recover them). */
  get logFailed(): boolean {
    return this.#log.failed
  }

  /** Clean close: flush, producer snapshot, fds released. */
  close(): void {
    this.#closed = true
    this.#log.close()
  }

  /** Closes and renames the directory for deletion; returns the new path. */
  renameForDelete(): string {
    this.#closed = true
    return this.#log.renameForDelete()
  }

  #advanceHighWatermark(): void {
    const hw = this.#policy.highWatermark(this.#log)
    if (hw !== this.#log.highWatermark) this.#log.setHighWatermark(hw)
  }
}
