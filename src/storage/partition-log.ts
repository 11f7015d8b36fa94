/**
 * The log of one partition replica: segments, indexes, leader epochs, producer state — the API
 * the partition actors (and the metadata and Raft logs) use. This class holds the state
 * (log-state.ts) and delegates each job to its module: appends and rolls (log-appends.ts),
 * reads (log-reads.ts), fsync policy (log-flush.ts), truncation (log-truncation.ts), retention,
 * DeleteRecords and compaction glue (log-hygiene.ts).
 *
 * Synchronous and single-owner: exactly one thread (a shard worker's partition actor, or the
 * main thread for the metadata log) calls it, with `node:fs` sync calls only. Time comes from
 * the injected `now()`. Operating errors are returned as values; only `open` throws, when a
 * directory belongs to another topic id.
 *
 * Acknowledgement rule: `append` returns after writeSync of every byte, so a process crash
 * (kill -9) after it returns loses nothing; fsync is `flush()`, run by a group-commit scheduler.
 *
 * Offsets: logStartOffset <= highWatermark <= logEndOffset, lastStableOffset <= highWatermark.
 * They coincide on a single replica but stay distinct values (replication moves them apart).
 */
import { mkdirSync, renameSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { basename, dirname } from 'node:path'
import { assert, assertSafeInteger } from '../lib/assert.ts'
import { fsyncDirectory } from './checkpoint-file.ts'
import type { FileHandleCache } from './file-handles.ts'
import { LeaderEpochCache } from './leader-epoch-cache.ts'
import { appendAsFollower, appendAsLeader, roll, type AppendOutcome, type FollowerAppendOutcome } from './log-appends.ts'
import type { CleanJob, CleanResult, CleanerConfig } from './log-cleaner.ts'
import type { SwapStep } from './log-cleaner-swap.ts'
import type { LogConfig } from './log-config.ts'
import { flushLog, needsFlush } from './log-flush.ts'
import {
  cleanInline, cleanJobStillValid, completeCleaning, deleteOldSegments, deleteRecordsBefore, prepareCleaning, type DeleteRecordsOutcome,
} from './log-hygiene.ts'
import { checkPartitionMetadata, loadLog, type LoaderLogger } from './log-loader.ts'
import { offsetForTimestamp, offsetOfMaxTimestamp, readLog, type ReadOutcome } from './log-reads.ts'
import { DeletedFiles, RETENTION_PASSES, type RetentionReason } from './log-retention.ts'
import { lastStableOffset, takeProducerSnapshot, type LogState } from './log-state.ts'
import { truncateFullyAndStartAt, truncateTo } from './log-truncation.ts'
import { ProducerStateManager } from './producer-state.ts'
import type { TimestampAndOffset } from './segment.ts'

export { DEFAULT_LOG_CONFIG, type AppendError, type AppendResult, type LogConfig } from './log-config.ts'
export type { AppendOutcome, DeleteRecordsOutcome, ReadOutcome }

export interface PartitionLogOptions {
  dir: string
  topic: string
  partition: number
  topicId: string
  config: LogConfig
  now: () => number
  recoveryPoint: number
  cleanShutdown: boolean
  logStartOffset?: number
  fds: FileHandleCache
  logger?: LoaderLogger
}

const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint'

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly topicId: string
  readonly #s: LogState

  private constructor(o: PartitionLogOptions, epochs: LeaderEpochCache, producers: ProducerStateManager, fresh: boolean) {
    this.topic = o.topic
    this.partition = o.partition
    this.topicId = o.topicId
    const loaded = loadLog({
      dir: o.dir, fds: o.fds, indexIntervalBytes: o.config.indexIntervalBytes, now: o.now(), recoveryPoint: o.recoveryPoint,
      cleanShutdown: o.cleanShutdown, logStartOffset: o.logStartOffset, epochCache: epochs, producerState: producers, logger: o.logger,
    })
    this.#s = {
      topic: o.topic, partition: o.partition, dir: o.dir, config: o.config, now: o.now, fds: o.fds, logger: o.logger,
      segments: loaded.segments, epochs, producers,
      leo: loaded.logEndOffset,
      // Until replication says otherwise, nothing above the log start is known committed.
      hw: loaded.logStartOffset,
      startOffset: loaded.logStartOffset,
      flushedTo: loaded.recoveryPoint,
      unflushedMessages: 0,
      lastFlushTime: o.now(),
      dirNeedsSync: false,
      freshFilesUnsynced: fresh,
      failed: false,
      closed: false,
      snapshotOffset: loaded.snapshotAtEnd ? loaded.logEndOffset : -1,
      deletedFiles: new DeletedFiles(),
    }
  }

  /** Creates or opens `<logDir>/<topic>-<n>` (see the module comment). Throws if the directory belongs to another topic id. */
  static open(o: PartitionLogOptions): PartitionLog {
    assertSafeInteger(o.recoveryPoint, 'recovery point')
    mkdirSync(o.dir, { recursive: true })
    const fresh = checkPartitionMetadata(o.dir, o.topicId)
    const epochs = LeaderEpochCache.load(`${o.dir}/${LEADER_EPOCH_CHECKPOINT}`, (m) => o.logger?.warn({ dir: o.dir }, m))
    // A fresh partition makes its files durable at its first flush (see checkPartitionMetadata).
    epochs.deferSync = fresh
    return new PartitionLog(o, epochs, new ProducerStateManager(o.dir), fresh)
  }

  get logStartOffset(): number {
    return this.#s.startOffset
  }
  get logEndOffset(): number {
    return this.#s.leo
  }
  get highWatermark(): number {
    return this.#s.hw
  }
  /** min(first offset of an open transaction, high watermark). */
  get lastStableOffset(): number {
    return lastStableOffset(this.#s)
  }
  get recoveryPoint(): number {
    return this.#s.flushedTo
  }
  get leaderEpoch(): number {
    return this.#s.epochs.latestEpoch
  }
  get directory(): string {
    return this.#s.dir
  }
  get sizeBytes(): number {
    let size = 0
    for (const s of this.#s.segments) size += s.size
    return size
  }
  segmentCount(): number {
    return this.#s.segments.length
  }
  /** Topic config changes (DescribeConfigs/AlterConfigs) apply to later appends and rolls. */
  updateConfig(config: LogConfig): void {
    this.#s.config = config
  }

  setHighWatermark(offset: number): void {
    const s = this.#s
    assert(offset >= s.startOffset && offset <= s.leo, `high watermark ${offset} outside [${s.startOffset}, ${s.leo}]`)
    s.hw = offset
  }

  /** Records (epoch, LEO) before the first append of a new leader epoch; durable when this returns. */
  assignLeaderEpoch(epoch: number): void {
    this.#s.epochs.assign(epoch, this.#s.leo)
  }

  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: number } {
    return this.#s.epochs.endOffsetFor(epoch, this.#s.leo)
  }

  /** The leader epoch that wrote `offset` (the newest epoch starting at or before it), or -1. */
  epochForOffset(offset: number): number {
    return this.#s.epochs.epochForOffset(offset)
  }

  /**
   * Removes every batch holding an offset >= `offset` (Kafka's truncateTo: a follower whose log
   * diverged from its leader's). Cuts at batch boundaries, so when `offset` falls inside a batch
   * the whole batch goes. At or below the log start the log restarts empty at `offset`. The cut
   * is durable at the next flush(). Returns the new log end offset.
   */
  truncateTo(offset: number): number {
    return truncateTo(this.#s, offset)
  }

  /** Deletes every segment and starts an empty log at `offset` (Kafka's truncateFullyAndStartAt; a Raft snapshot install). */
  truncateFullyAndStartAt(offset: number): void {
    truncateFullyAndStartAt(this.#s, offset)
  }

  /**
   * Appends one produced batch as the leader: validate → producer checks → stamp offsets and
   * leader epoch in place → writeSync → indexes → roll if needed. Nothing is appended on error.
   * `records` may be modified in place (stamping) but is not kept.
   */
  append(records: Buffer, leaderEpoch: number): AppendOutcome {
    return appendAsLeader(this.#s, records, leaderEpoch)
  }

  /** Replication seam: batches with leader-assigned offsets (see log-appends.ts). */
  appendAsFollower(records: Buffer): FollowerAppendOutcome {
    return appendAsFollower(this.#s, records)
  }

  /** Starts a new segment at the LEO; the old one becomes read-only and a producer snapshot marks the boundary. */
  roll(): void {
    roll(this.#s)
  }

  /**
   * Reads whole batches from the first batch holding `fetchOffset`, up to `maxBytes`, never
   * past `upperBound` (the high watermark, or the last stable offset for read_committed), from one
   * segment. With `minOneBatch` the first batch comes back even when larger than maxBytes (KIP-74).
   * The Buffer owns its ArrayBuffer, so it can be transferred to another thread.
   */
  read(fetchOffset: number, maxBytes: number, upperBound: number, minOneBatch: boolean, alloc?: (size: number) => Buffer): ReadOutcome {
    return readLog(this.#s, fetchOffset, maxBytes, upperBound, minOneBatch, alloc)
  }

  /** ListOffsets by time: the first record (compressed batches are decompressed to find it) at or after the log start with timestamp >= `timestamp`. */
  offsetForTimestamp(timestamp: number): TimestampAndOffset | null {
    return offsetForTimestamp(this.#s, timestamp)
  }

  /** ListOffsets -3 (KIP-734): the first record carrying the log's largest timestamp, or null when empty. */
  offsetOfMaxTimestamp(): TimestampAndOffset | null {
    return offsetOfMaxTimestamp(this.#s)
  }

  /** log.flush.interval.messages / .ms (rolled segments are synced in the background). */
  needsFlush(now: number): boolean {
    return needsFlush(this.#s, now)
  }

  /** fdatasync every segment holding offsets in [recoveryPoint, LEO); then the recovery point is the LEO. */
  flush(): void {
    flushLog(this.#s)
  }

  /** Drops producers idle longer than producer.id.expiration.ms (called from the shard's timer wheel). */
  expireProducers(now: number): void {
    if (this.#s.producers.removeExpired(now, this.#s.config.producerIdExpirationMs)) this.#s.snapshotOffset = -1
  }

  /**
   * The periodic retention check (log.retention.check.interval.ms): time and size retention when
   * cleanup.policy has `delete`, then segments wholly below the log start offset (any policy).
   * Deletes whole segments only, below the HW, rolling first when every segment would go (see
   * log-retention.ts). Returns the number of segments deleted per reason.
   */
  deleteOldSegments(now: number = this.#s.now(), passes: readonly RetentionReason[] = RETENTION_PASSES): Partial<Record<RetentionReason, number>> {
    return deleteOldSegments(this.#s, now, passes)
  }

  /**
   * DeleteRecords: the log start offset moves up to `offset` (-1: the high watermark), never past
   * the HW; segments wholly below it are deleted at once. Answers the new low watermark.
   */
  deleteRecordsBefore(offset: number): DeleteRecordsOutcome {
    return deleteRecordsBefore(this.#s, offset)
  }

  /** When the next `.deleted` file is due for removal (Infinity: none pending). */
  get nextFileDeletionDue(): number {
    return this.#s.deletedFiles.nextDue
  }

  /** Removes `.deleted` segment files whose file.delete.delay.ms has passed. */
  removeDeletedFiles(now: number = this.#s.now()): number {
    return this.#s.deletedFiles.removeDue(now)
  }

  /**
   * One log-compaction pass, inline (log-cleaner.ts, log-cleaner-swap.ts): rolled segments below
   * the HW are cleaned and swapped in. `cleanedOffset` is the partition's cleaner checkpoint; the
   * result's endOffset is the new one. Null when nothing was cleaned (or the policy has no compact).
   */
  clean(cleanedOffset: number | undefined, config: CleanerConfig, now: number = this.#s.now(), stopAfter?: SwapStep): CleanResult | null {
    return cleanInline(this.#s, cleanedOffset, config, now, stopAfter)
  }

  /**
   * Compaction off this thread, step 1: the job for the cleaner (rolled segments only, as plain
   * data), or null when no pass is due. Run it anywhere (`runCleanJob`), then `completeClean`.
   */
  prepareClean(cleanedOffset: number | undefined, config: CleanerConfig, now: number = this.#s.now()): CleanJob | null {
    return prepareCleaning(this.#s, cleanedOffset, config, now)
  }

  /** Step 3: swaps a finished job's cleaned files in; true when all were (the checkpoint may move to result.endOffset). */
  completeClean(job: CleanJob, result: CleanResult, stopAfter?: SwapStep): boolean {
    return completeCleaning(this.#s, job, result, stopAfter)
  }

  /** False when a segment the job was given has since been deleted or changed (a failed job then says nothing about the log). */
  cleanJobStillValid(job: CleanJob): boolean {
    return cleanJobStillValid(this.#s, job)
  }

  /** True once a write failed: the log refuses appends until reopened, and needs recovery then. */
  get failed(): boolean {
    return this.#s.failed
  }

  /** Flush, producer snapshot at the LEO, fds released. After this the partition is clean — unless it had failed. */
  close(): void {
    const s = this.#s
    if (s.closed) return
    if (!s.failed) {
      flushLog(s)
      // An empty log has no producer state worth a snapshot (and 10,000 idle partitions must close fast).
      if (s.snapshotOffset !== s.leo && s.leo > s.startOffset) takeProducerSnapshot(s)
    }
    for (const segment of s.segments) segment.close()
    s.fds.closeUnder(`${s.dir}/`)
    s.closed = true
  }

  /** Closes and renames the directory `<topic>-<n>.<uuid hex>-delete` (Kafka's LocalLog.logDeleteDirName); returns the new path. */
  renameForDelete(): string {
    this.close()
    const s = this.#s
    const target = `${dirname(s.dir)}/${deleteDirName(basename(s.dir), s.partition)}`
    renameSync(s.dir, target)
    fsyncDirectory(dirname(s.dir))
    s.deletedFiles.forget() // they moved with the directory, which is removed as a whole
    s.dir = target
    return target
  }
}

/** `<topic>-<n>.<32 hex>-delete`, the topic cut so the name stays within 255 characters. */
export function deleteDirName(partitionDirName: string, partition: number): string {
  const suffix = `-${partition}.${randomUUID().replaceAll('-', '')}-delete`
  const topic = partitionDirName.slice(0, partitionDirName.length - `-${partition}`.length)
  return topic.slice(0, Math.min(topic.length, 255 - suffix.length)) + suffix
}
