/**
 * The read side of a partition log: Fetch reads and ListOffsets by time. Reads never change
 * the log; a read copies its bytes out synchronously, so no reader holds a segment across a
 * later roll, deletion or compaction swap.
 */
import { LOG_OVERHEAD, batchSizeOf, lastOffsetOf } from './record-batch.ts'
import type { TimestampAndOffset } from './segment.ts'
import { segmentIndexFor, type LogState } from './log-state.ts'

export type ReadOutcome = { error: 'offset_out_of_range' } | { records: Buffer }

/**
 * Whole batches from the first batch holding `fetchOffset`, up to `maxBytes`, never past
 * `upperBound` (the HW, or the LSO for read_committed), from one segment. With `minOneBatch` the
 * first batch comes back even when larger than maxBytes (KIP-74). The Buffer owns its
 * ArrayBuffer (transferable).
 */
export function readLog(s: LogState, fetchOffset: number, maxBytes: number, upperBound: number, minOneBatch: boolean, alloc?: (size: number) => Buffer): ReadOutcome {
  if (fetchOffset < s.startOffset || fetchOffset > s.leo) return { error: 'offset_out_of_range' }
  if (fetchOffset >= upperBound) return { records: Buffer.allocUnsafeSlow(0) }
  for (let i = segmentIndexFor(s.segments, fetchOffset); i < s.segments.length; i++) {
    const segment = s.segments[i]!
    const hit = segment.findBatch(fetchOffset)
    if (hit === null) continue
    if (hit.lastOffset >= upperBound) break
    const wanted = minOneBatch ? Math.max(maxBytes, hit.size) : maxBytes
    if (hit.size > wanted) break
    const buf = segment.read(hit.position, Math.min(wanted, segment.size - hit.position), alloc)
    let end = 0
    while (buf.length - end >= LOG_OVERHEAD) {
      const size = batchSizeOf(buf, end)
      if (end + size > buf.length || lastOffsetOf(buf, end) >= upperBound) break
      end += size
    }
    return { records: end === buf.length ? buf : buf.subarray(0, end) }
  }
  return { records: Buffer.allocUnsafeSlow(0) }
}

/** ListOffsets by time: the first record (compressed batches are decompressed to find it) at or after the log start with timestamp >= `timestamp`. */
export function offsetForTimestamp(s: LogState, timestamp: number): TimestampAndOffset | null {
  for (const segment of s.segments) {
    if (segment.largestTimestamp() < timestamp) continue
    const found = segment.findByTimestamp(timestamp, Math.max(segment.baseOffset, s.startOffset))
    if (found !== null) return found
  }
  return null
}

/** ListOffsets -3 (KIP-734): the first record carrying the log's largest timestamp, or null when empty. */
export function offsetOfMaxTimestamp(s: LogState): TimestampAndOffset | null {
  let max = -1
  for (const segment of s.segments) max = Math.max(max, segment.largestTimestamp())
  return max < 0 ? null : offsetForTimestamp(s, max)
}
