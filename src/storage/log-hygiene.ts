/**
 * Log hygiene on a partition log: time/size retention, DeleteRecords (moving the log start),
 * and the compaction glue (which segments the cleaner gets, and swapping its output in).
 * Deletes whole segments only, from the oldest, below the high watermark (log-retention.ts).
 */
import { assert } from '../lib/assert.ts'
import { cleaningDue, discardCleaned, runCleanJob, type CleanJob, type CleanResult, type CleanerConfig } from './log-cleaner.ts'
import { cleanerViewOf, swapAll, type SwapStep } from './log-cleaner-swap.ts'
import { roll } from './log-appends.ts'
import { RETENTION_PASSES, deletableSegmentCount, type RetentionReason } from './log-retention.ts'
import { lastStableOffset, type LogState } from './log-state.ts'

export type DeleteRecordsOutcome = { ok: { lowWatermark: number } } | { error: 'offset_out_of_range' | 'policy_violation'; message: string }

/**
 * The periodic retention check: time and size retention when cleanup.policy has `delete`, then
 * segments wholly below the log start offset (any policy). Rolls first when every segment would
 * go. Returns the number of segments deleted per reason.
 */
export function deleteOldSegments(s: LogState, now: number, passes: readonly RetentionReason[] = RETENTION_PASSES): Partial<Record<RetentionReason, number>> {
  assert(!s.closed, 'retention on a closed log')
  const deleted: Partial<Record<RetentionReason, number>> = {}
  for (const reason of passes) {
    const view = { segments: s.segments, logStartOffset: s.startOffset, highWatermark: s.hw, logEndOffset: s.leo, config: s.config }
    const count = deletableSegmentCount(view, reason, now)
    if (count === 0) continue
    if (count === s.segments.length) roll(s) // never delete the active segment: a new one takes its place
    for (const segment of s.segments.splice(0, count)) s.deletedFiles.add(segment, now + s.config.fileDeleteDelayMs)
    s.dirNeedsSync = true
    advanceLogStart(s, s.segments[0]!.baseOffset)
    deleted[reason] = count
    s.logger?.info({ dir: s.dir, reason, segments: count, logStartOffset: s.startOffset }, 'deleted old log segments')
  }
  return deleted
}

/** DeleteRecords: the log start moves up to `offset` (-1: the HW), never past the HW; covered segments go at once. */
export function deleteRecordsBefore(s: LogState, offset: number): DeleteRecordsOutcome {
  assert(!s.closed, 'DeleteRecords on a closed log')
  if (!s.config.cleanupPolicy.delete) {
    return { error: 'policy_violation', message: `Records of partition ${s.topic}-${s.partition} can not be deleted due to the configured policy (cleanup.policy has no delete)` }
  }
  const target = offset === -1 ? s.hw : offset
  if (target < 0 || target > s.hw) {
    return { error: 'offset_out_of_range', message: `Cannot delete records of ${s.topic}-${s.partition} up to ${offset}: outside [0, high watermark ${s.hw}]` }
  }
  if (target > s.startOffset) {
    advanceLogStart(s, target)
    deleteOldSegments(s, s.now(), ['log_start_offset']) // time and size retention wait for their check
  }
  return { ok: { lowWatermark: s.startOffset } }
}

/** Moves the log start offset forward; the recovery point and leader epochs follow (AK's updateLogStartOffset). */
function advanceLogStart(s: LogState, offset: number): void {
  if (offset <= s.startOffset) return
  assert(offset <= s.hw, `log start ${offset} above the high watermark ${s.hw}`)
  s.startOffset = offset
  if (s.flushedTo < offset) s.flushedTo = offset
  s.epochs.truncateFromStart(offset)
}

/**
 * Compaction, step 1 (owner): the job for a pass over the rolled segments below the last stable
 * offset (Kafka's firstUncleanableOffset: an open transaction's records stay as written), or
 * null when the policy has no compact or the dirty ratio is below min.cleanable.dirty.ratio.
 */
export function prepareCleaning(s: LogState, cleanedOffset: number | undefined, config: CleanerConfig, now: number): CleanJob | null {
  assert(!s.closed, 'cleaning a closed log')
  if (s.failed || !s.config.cleanupPolicy.compact) return null
  const view = cleanerViewOf(s.segments, { logStartOffset: s.startOffset, highWatermark: lastStableOffset(s), cleanedOffset })
  return cleaningDue(view, config, now) ? { dir: s.dir, view, config, now } : null
}

/**
 * Compaction, step 3 (owner, after the job ran anywhere): swaps the cleaned files in. True when
 * every group was swapped (the checkpoint may move to result.endOffset). A closed log only
 * discards the files.
 */
export function completeCleaning(s: LogState, job: CleanJob, result: CleanResult, stopAfter?: SwapStep): boolean {
  if (s.closed || s.dir !== job.dir) {
    discardCleaned(result)
    return false
  }
  return swapAll({ dir: s.dir, segments: s.segments, fds: s.fds, indexIntervalBytes: s.config.indexIntervalBytes, now: s.now(), ...(stopAfter === undefined ? {} : { stopAfter }) }, result)
}

/**
 * Whether every segment a job was given is still in the log, unchanged. A job that failed while
 * this is false failed because the log moved under it (retention, truncation, deletion) — not
 * because the partition cannot be cleaned.
 */
export function cleanJobStillValid(s: LogState, job: CleanJob): boolean {
  if (s.closed || s.dir !== job.dir) return false
  const bySegment = new Map(s.segments.map((segment) => [segment.baseOffset, segment]))
  return job.view.segments.every((g) => bySegment.get(g.baseOffset)?.size === g.size)
}

/** One inline compaction pass (prepared, cleaned and swapped in on this thread); null when nothing was cleaned. */
export function cleanInline(s: LogState, cleanedOffset: number | undefined, config: CleanerConfig, now: number, stopAfter?: SwapStep): CleanResult | null {
  const job = prepareCleaning(s, cleanedOffset, config, now)
  if (job === null) return null
  const result = runCleanJob(job)
  if (result === null) return null
  return completeCleaning(s, job, result, stopAfter) ? result : null
}
