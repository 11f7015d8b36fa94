/**
 * Log hygiene for one partition: which old segments retention may delete (Kafka's
 * UnifiedLog.deleteOldSegments rules), and the `.deleted` files that wait for
 * `file.delete.delay.ms` before they leave the disk.
 *
 * Invariants (what must never be removed):
 * - only whole segments, from the oldest, and only while every one before it is deleted too;
 * - only segments entirely below the high watermark (their upper bound — the next segment's base
 *   offset, or the LEO for the active one — is <= HW);
 * - never an empty active segment; a non-empty active segment only by rolling first (the caller
 *   rolls when every segment is deletable, so a log always keeps an active segment).
 *
 * Used by PartitionLog only; synchronous, single owner, time injected.
 */
import { renameSync, rmSync, statSync } from 'node:fs'
import type { LogConfig } from './log-config.ts'
import type { LogSegment } from './segment.ts'

/** Kafka's order of passes: time, size, then segments wholly below the log start offset. */
export const RETENTION_PASSES = ['retention_ms', 'retention_bytes', 'log_start_offset'] as const
export type RetentionReason = (typeof RETENTION_PASSES)[number]

export const DELETED_FILE_SUFFIX = '.deleted'

export interface RetentionView {
  readonly segments: readonly LogSegment[]
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly logEndOffset: number
  readonly config: LogConfig
}

/**
 * A segment's largest record timestamp, or — for a segment without timestamps — its file's
 * modification time (Kafka's LogSegment.largestTimestamp does the same).
 */
export function segmentLargestTimestamp(segment: LogSegment): number {
  const ts = segment.largestTimestamp()
  if (ts >= 0) return ts
  try {
    return statSync(segment.logPath).mtimeMs
  } catch {
    return -1
  }
}

/** How many leading segments the pass `reason` may delete (0 if none or the pass does not apply). */
export function deletableSegmentCount(view: RetentionView, reason: RetentionReason, now: number): number {
  const { segments, config } = view
  if (reason !== 'log_start_offset' && !config.cleanupPolicy.delete) return 0
  let predicate: (segment: LogSegment, next: LogSegment | undefined) => boolean
  switch (reason) {
    case 'retention_ms':
      if (config.retentionMs === Infinity) return 0
      predicate = (segment) => now - segmentLargestTimestamp(segment) > config.retentionMs
      break
    case 'retention_bytes': {
      if (config.retentionBytes === Infinity) return 0
      let excess = segments.reduce((sum, s) => sum + s.size, 0) - config.retentionBytes
      if (excess <= 0) return 0
      predicate = (segment) => {
        if (excess - segment.size < 0) return false
        excess -= segment.size
        return true
      }
      break
    }
    case 'log_start_offset':
      predicate = (_segment, next) => next !== undefined && next.baseOffset <= view.logStartOffset
      break
  }
  let count = 0
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const next = segments[i + 1]
    const upperBound = next === undefined ? view.logEndOffset : next.baseOffset
    const emptyActive = next === undefined && segment.size === 0
    if (emptyActive || view.highWatermark < upperBound || !predicate(segment, next)) break
    count++
  }
  return count
}

/**
 * Segments renamed `<file>.deleted`, removed once their delay has passed. Kafka delays the
 * removal so that readers still holding a segment can finish; here it also leaves an operator a
 * window to recover a mistake. Whatever is left at a restart is removed when the partition is
 * opened (log-loader removes every `.deleted` file).
 */
export class DeletedFiles {
  readonly #pending: { paths: string[]; due: number }[] = []

  /** Closes the segment's fds and renames its files; they are removed at `due`. */
  add(segment: LogSegment, due: number): void {
    segment.close()
    const paths: string[] = []
    for (const path of [segment.logPath, segment.offsetIndex.path, segment.timeIndex.path]) {
      try {
        renameSync(path, path + DELETED_FILE_SUFFIX)
        paths.push(path + DELETED_FILE_SUFFIX)
      } catch (err) {
        // An index that was never written has no file; the .log always exists.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
    this.#pending.push({ paths, due })
  }

  /** When the next removal is due (Infinity: nothing pending). */
  get nextDue(): number {
    let due = Infinity
    for (const p of this.#pending) due = Math.min(due, p.due)
    return due
  }

  get size(): number {
    return this.#pending.length
  }

  /** Removes every file whose delay has passed; returns how many segments went. */
  removeDue(now: number): number {
    let removed = 0
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const p = this.#pending[i]!
      if (p.due > now) continue
      for (const path of p.paths) rmSync(path, { force: true })
      this.#pending.splice(i, 1)
      removed++
    }
    return removed
  }

  /** The partition directory moved (topic deletion): pending files now live there and go with it. */
  forget(): void {
    this.#pending.length = 0
  }
}
