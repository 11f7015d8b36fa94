/**
 * Cutting a partition log's end: a follower whose log diverged from its leader's, or a Raft
 * log's conflicting suffix (truncateTo), and a Raft snapshot install (truncateFullyAndStartAt).
 * Cuts happen at batch boundaries only; the leader epochs and producer state follow the new end.
 */
import { assert, assertSafeInteger } from '../lib/assert.ts'
import { deleteSegmentFiles, rebuildProducerState } from './log-loader.ts'
import { segmentIndexFor, type LogState } from './log-state.ts'
import { LogSegment } from './segment.ts'

/** Removes every batch holding an offset >= `offset`; returns the new log end offset (see PartitionLog.truncateTo). */
export function truncateTo(s: LogState, offset: number): number {
  assert(!s.closed, 'truncate of a closed log')
  assertSafeInteger(offset, 'truncation offset')
  if (offset >= s.leo) return s.leo
  if (offset <= s.startOffset) {
    truncateFullyAndStartAt(s, offset)
    return s.leo
  }
  const i = segmentIndexFor(s.segments, offset)
  for (const later of s.segments.splice(i + 1)) deleteSegmentFiles(later)
  const segment = s.segments[i]!
  const hit = segment.findBatch(offset)
  segment.truncateTo(hit === null ? segment.size : hit.position, s.now())
  s.leo = segment.nextOffset
  afterTruncation(s)
  return s.leo
}

/** Deletes every segment and starts an empty log at `offset`. */
export function truncateFullyAndStartAt(s: LogState, offset: number): void {
  assert(!s.closed, 'truncate of a closed log')
  assertSafeInteger(offset, 'new log start offset')
  for (const segment of s.segments.splice(0)) deleteSegmentFiles(segment)
  s.segments.push(LogSegment.create(s.dir, offset, s.fds, s.config.indexIntervalBytes))
  s.leo = offset
  s.startOffset = offset
  s.epochs.truncateFromEnd(0) // every entry starts at an offset >= 0: all go
  afterTruncation(s)
}

/** Watermarks, recovery point, epochs and producer state follow a truncation of the log end. */
function afterTruncation(s: LogState): void {
  s.hw = Math.min(Math.max(s.hw, s.startOffset), s.leo)
  s.flushedTo = Math.min(s.flushedTo, s.leo)
  s.dirNeedsSync = true // the next flush() syncs the cut segment and the directory
  s.epochs.truncateFromEnd(s.leo)
  s.producers.deleteSnapshotsAbove(s.leo)
  const atEnd = rebuildProducerState({ fds: s.fds, now: s.now(), producerState: s.producers }, s.segments, s.leo)
  s.snapshotOffset = atEnd ? s.leo : -1
}
