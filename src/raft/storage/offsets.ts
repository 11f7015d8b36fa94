/**
 * The mapping between Raft log indexes and Kafka log offsets — the only place it is written down.
 *
 * Raft indexes start at 1 (0 means "before the first entry"); Kafka offsets start at 0. Every
 * Raft entry is exactly one RecordBatch holding one record, so entry i lives at offset i - 1 and
 * a log whose end offset (LEO, exclusive) is n holds indexes 1..n.
 *
 * Snapshots are named, as in KRaft, by their end offset (exclusive) and epoch: a snapshot that
 * covers indexes 1..i covers offsets 0..i-1, so its end offset is i.
 */
import type { LogIndex } from '../types.ts'

/** Log offset of the entry at Raft index `index` (≥ 1). */
export function offsetOfIndex(index: LogIndex): number {
  return index - 1
}

/** Raft index of the entry stored at log offset `offset` (≥ 0). */
export function indexOfOffset(offset: number): LogIndex {
  return offset + 1
}

/** The last Raft index held by a log whose end offset is `logEndOffset` (0: empty since the start). */
export function lastIndexOfLogEnd(logEndOffset: number): LogIndex {
  return indexOfOffset(logEndOffset - 1)
}

/** The log end offset of a log whose last entry is `lastIndex`. */
export function logEndOfLastIndex(lastIndex: LogIndex): number {
  return offsetOfIndex(lastIndex) + 1
}

/** End offset (exclusive) of a snapshot whose last covered index is `index`. */
export function snapshotEndOffset(index: LogIndex): number {
  return logEndOfLastIndex(index)
}

/** Last covered index of a snapshot with end offset `endOffset`. */
export function snapshotIndexOfEndOffset(endOffset: number): LogIndex {
  return lastIndexOfLogEnd(endOffset)
}
