/**
 * The mutable state of one partition log, shared by the modules that each do one job on it
 * (log-appends.ts, log-reads.ts, log-flush.ts, log-truncation.ts, log-hygiene.ts). Only
 * PartitionLog creates it and only its owner thread touches it.
 *
 * Invariants: logStartOffset <= hw <= leo; flushedTo <= leo; `segments` is never empty, is
 * ascending by base offset, and its last entry is the active segment (the only one appended to).
 */
import type { FileHandleCache } from './file-handles.ts'
import type { LeaderEpochCache } from './leader-epoch-cache.ts'
import type { LoaderLogger } from './log-loader.ts'
import type { LogConfig } from './log-config.ts'
import type { DeletedFiles } from './log-retention.ts'
import type { ProducerStateManager } from './producer-state.ts'
import type { LogSegment } from './segment.ts'

export interface LogState {
  readonly topic: string
  readonly partition: number
  dir: string
  config: LogConfig
  readonly now: () => number
  readonly fds: FileHandleCache
  readonly logger: LoaderLogger | undefined
  readonly segments: LogSegment[]
  readonly epochs: LeaderEpochCache
  readonly producers: ProducerStateManager
  leo: number
  hw: number
  startOffset: number
  flushedTo: number
  unflushedMessages: number
  lastFlushTime: number
  /** A new segment file exists whose directory entry is not fsynced yet. */
  dirNeedsSync: boolean
  /** partition.metadata, the first epoch entry and the directory itself await their first fsync. */
  freshFilesUnsynced: boolean
  /** Set after a failed write: the log refuses appends until reopened (Kafka takes the log dir offline). */
  failed: boolean
  closed: boolean
  /** The offset of the producer snapshot that matches the current producer state, or -1. */
  snapshotOffset: number
  /** Segments deleted by retention or DeleteRecords, waiting for file.delete.delay.ms. */
  readonly deletedFiles: DeletedFiles
}

export function activeSegment(s: LogState): LogSegment {
  return s.segments[s.segments.length - 1]!
}

/** Index of the last segment whose base offset is <= `offset` (0 if none). */
export function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0
  let hi = segments.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (segments[mid]!.baseOffset <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

export function takeProducerSnapshot(s: LogState): void {
  s.producers.takeSnapshot(s.leo)
  s.snapshotOffset = s.leo
}

/** min(first offset of an open transaction, high watermark). */
export function lastStableOffset(s: LogState): number {
  const unstable = s.producers.firstUnstableOffset()
  return unstable >= 0 && unstable < s.hw ? unstable : s.hw
}
