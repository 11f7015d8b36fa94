/**
 * The write side of a partition log: a produced batch appended as the leader, batches with
 * leader-assigned offsets appended as a follower, and segment rolls.
 *
 * Acknowledgement rule: an append returns after writeSync of every byte, so a process crash
 * (kill -9) after it returns loses nothing; fsync is log-flush.ts, run by group commit.
 * Nothing is appended when an append returns an error.
 */
import { AssertionError, assert, assertSafeInteger } from '../lib/assert.ts'
import { keylessRecordsOf } from './compacted-batch.ts'
import type { AppendError, AppendResult } from './log-config.ts'
import { flushRolledAsync } from './log-flush.ts'
import { deleteSegmentFiles } from './log-loader.ts'
import { activeSegment, takeProducerSnapshot, type LogState } from './log-state.ts'
import { lastSequenceOf } from './producer-state.ts'
import {
  baseOffsetOf, baseSequenceOf, batchSizeOf, checkBatchFraming, isControl, isTransactional, lastOffsetDeltaOf, lastOffsetOf,
  maxTimestampOf, partitionLeaderEpochOf, producerEpochOf, producerIdOf, setLogAppendTime, setMaxTimestamp, stampBatch,
  validateProducedRecords, type BatchSummary,
} from './record-batch.ts'
import { recompressBatch } from './recompress.ts'
import { INT32_MAX, LogSegment } from './segment.ts'

export type AppendOutcome = { ok: AppendResult } | { error: AppendError; message?: string }
export type FollowerAppendOutcome =
  | { ok: { lastOffset: number } }
  | { error: 'corrupt_message' | 'kafka_storage_error' | 'offset_out_of_order'; message?: string }

/**
 * Appends one produced batch as the leader: validate → producer checks → stamp offsets and
 * leader epoch in place → writeSync → indexes → roll if needed. `records` may be modified in
 * place (stamping) but is not kept.
 */
export function appendAsLeader(s: LogState, records: Buffer, leaderEpoch: number): AppendOutcome {
  assert(!s.closed, 'append to a closed log')
  if (s.failed) return { error: 'kafka_storage_error', message: 'the log failed an earlier write' }
  const validated = validateProducedRecords(records)
  if ('error' in validated) return validated
  const batch = validated.ok
  const now = s.now()
  const refused = checkLimits(s, records, batch, now)
  if (refused !== null) return refused
  const converted = toTopicCodec(s, records, batch)
  if ('error' in converted) return converted
  const stored = converted.ok
  const lastSeq = batch.producerId >= 0 ? lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta) : -1
  if (batch.producerId >= 0) {
    const check = s.producers.check(batch.producerId, batch.producerEpoch, batch.baseSequence, lastSeq, batch.isTransactional)
    if (check.kind === 'duplicate') {
      return { ok: { baseOffset: check.firstOffset, lastOffset: check.lastOffset, logAppendTime: -1, logStartOffset: s.startOffset, duplicate: true } }
    }
    if (check.kind === 'error') return { error: check.error, message: check.message }
  }
  const baseOffset = s.leo
  const lastOffset = baseOffset + batch.lastOffsetDelta
  assertSafeInteger(lastOffset, 'last offset')
  if (leaderEpoch > s.epochs.latestEpoch) s.epochs.assign(leaderEpoch, baseOffset)
  stampBatch(stored, 0, baseOffset, leaderEpoch)
  let logAppendTime = -1
  let maxTimestamp = batch.maxTimestamp
  if (s.config.messageTimestampType === 'LogAppendTime') {
    setLogAppendTime(stored, 0, now)
    logAppendTime = maxTimestamp = now
  } else if (batch.compression === 'none' && batch.maxRecordTimestamp !== batch.maxTimestamp) {
    setMaxTimestamp(stored, 0, batch.maxRecordTimestamp) // AK corrects a producer's wrong maxTimestamp
    maxTimestamp = batch.maxRecordTimestamp
  }
  if (!writeToActiveSegment(s, stored, 0, stored.length, lastOffset, maxTimestamp, now)) {
    return { error: 'kafka_storage_error', message: 'write to the segment failed' }
  }
  if (batch.producerId >= 0) {
    s.producers.update(batch.producerId, batch.producerEpoch, batch.baseSequence, lastSeq, baseOffset, lastOffset, now, batch.isTransactional)
  }
  s.unflushedMessages += batch.recordCount
  return { ok: { baseOffset, lastOffset, logAppendTime, logStartOffset: s.startOffset, duplicate: false } }
}

/** MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP and keyless records on compacted topics (INVALID_RECORD), in AK's terms. */
function checkLimits(s: LogState, records: Buffer, batch: BatchSummary, now: number): { error: AppendError; message: string } | null {
  const { config } = s
  if (batch.sizeInBytes > config.maxMessageBytes) {
    return { error: 'message_too_large', message: `batch of ${batch.sizeInBytes} bytes exceeds max.message.bytes ${config.maxMessageBytes}` }
  }
  if (batch.sizeInBytes > config.segmentBytes) {
    return { error: 'record_list_too_large', message: `batch of ${batch.sizeInBytes} bytes exceeds segment.bytes ${config.segmentBytes}` }
  }
  if (config.cleanupPolicy.compact && keylessRecordsOf(records, batch) > 0) {
    return { error: 'invalid_record', message: `Compacted topic cannot accept message without key in topic partition ${s.topic}-${s.partition}.` }
  }
  if (config.messageTimestampType === 'CreateTime') {
    const { minRecordTimestamp: min, maxRecordTimestamp: max } = batch
    if ((min >= 0 && now - min > config.messageTimestampBeforeMaxMs) || (max >= 0 && max - now > config.messageTimestampAfterMaxMs)) {
      return { error: 'invalid_timestamp', message: `record timestamps [${min}, ${max}] are outside the accepted range around ${now}` }
    }
  }
  return null
}

/**
 * compression.type: the batch as the topic stores it — the same Buffer unless the topic names a
 * codec other than the batch's, then a recompressed copy (inline on the actor: appends to a
 * partition must stay in arrival order, and a produce batch is at most max.message.bytes). The
 * recompressed size is checked against the limits again, as Kafka does.
 */
function toTopicCodec(s: LogState, records: Buffer, batch: BatchSummary): { ok: Buffer } | { error: AppendError; message: string } {
  const target = s.config.compressionType ?? 'producer'
  if (target === 'producer' || target === batch.compression) return { ok: records }
  let out: Buffer
  try {
    out = recompressBatch(records, target)
  } catch (err) {
    return { error: 'corrupt_message', message: `cannot decompress the ${batch.compression} batch to recompress it as ${target}: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (out.length > s.config.maxMessageBytes) {
    return { error: 'message_too_large', message: `batch recompressed as ${target} is ${out.length} bytes, above max.message.bytes ${s.config.maxMessageBytes}` }
  }
  if (out.length > s.config.segmentBytes) {
    return { error: 'record_list_too_large', message: `batch recompressed as ${target} is ${out.length} bytes, above segment.bytes ${s.config.segmentBytes}` }
  }
  return { ok: out }
}

/**
 * Replication seam: appends batches whose offsets were assigned by the leader (or by a Raft
 * leader for the metadata log). Checks framing and CRC of every batch and that offsets continue
 * the log; producer state and leader epochs are taken from the batches without client checks.
 */
export function appendAsFollower(s: LogState, records: Buffer): FollowerAppendOutcome {
  assert(!s.closed, 'append to a closed log')
  if (s.failed) return { error: 'kafka_storage_error' }
  let expected = s.leo
  for (let pos = 0; pos < records.length; pos += batchSizeOf(records, pos)) {
    const problem = checkBatchFraming(records, pos, records.length)
    if (problem !== null) return { error: 'corrupt_message', message: problem.message }
    if (baseOffsetOf(records, pos) < expected) return { error: 'offset_out_of_order', message: `batch at ${baseOffsetOf(records, pos)} is below ${expected}` }
    expected = lastOffsetOf(records, pos) + 1
  }
  const now = s.now()
  for (let pos = 0; pos < records.length; pos += batchSizeOf(records, pos)) {
    const size = batchSizeOf(records, pos)
    const lastOffset = lastOffsetOf(records, pos)
    s.epochs.assign(partitionLeaderEpochOf(records, pos), baseOffsetOf(records, pos))
    if (!writeToActiveSegment(s, records, pos, size, lastOffset, maxTimestampOf(records, pos), now)) return { error: 'kafka_storage_error' }
    const producerId = producerIdOf(records, pos)
    if (producerId >= 0 && !isControl(records, pos)) {
      const baseSeq = baseSequenceOf(records, pos)
      s.producers.update(producerId, producerEpochOf(records, pos), baseSeq, lastSequenceOf(baseSeq, lastOffsetDeltaOf(records, pos)),
        baseOffsetOf(records, pos), lastOffset, now, isTransactional(records, pos))
    }
    s.unflushedMessages += lastOffsetDeltaOf(records, pos) + 1
  }
  return { ok: { lastOffset: s.leo - 1 } }
}

/** Rolls if needed, writes, advances the LEO. False (and the log marked failed) on an I/O error. */
function writeToActiveSegment(s: LogState, buf: Buffer, pos: number, size: number, lastOffset: number, maxTimestamp: number, now: number): boolean {
  try {
    maybeRoll(s, size, baseOffsetOf(buf, pos), lastOffset, now)
    activeSegment(s).append(buf, pos, size, lastOffset, maxTimestamp, now)
  } catch (err) {
    if (err instanceof AssertionError) throw err // our bug, not the disk's
    s.failed = true
    s.logger?.warn({ dir: s.dir, err }, 'log write failed; the partition refuses appends until reopened')
    return false
  }
  s.leo = lastOffset + 1
  return true
}

/** Kafka's roll rule: segment.bytes would be exceeded, segment.ms elapsed, an index is full, or a relative offset would overflow int32. */
function maybeRoll(s: LogState, size: number, baseOffset: number, lastOffset: number, now: number): void {
  const active = activeSegment(s)
  if (lastOffset - active.baseOffset > INT32_MAX) {
    // A follower batch far beyond the segment base: the new segment starts at the batch (AK's rollOffset).
    rollAt(s, baseOffset)
    return
  }
  if (active.size === 0) return
  const full = active.size + size > s.config.segmentBytes
  const old = now - active.rollingBaseTime > s.config.segmentMs
  if (full || old || active.isIndexFull(s.config.segmentIndexBytes)) rollAt(s, s.leo)
}

/** Starts a new segment at the LEO unless the active one is empty. */
export function roll(s: LogState): void {
  if (activeSegment(s).size > 0) rollAt(s, s.leo)
}

/** A new active segment at `baseOffset`; the old one becomes read-only and a producer snapshot marks the boundary. */
function rollAt(s: LogState, baseOffset: number): void {
  assert(baseOffset >= s.leo, `roll at ${baseOffset} below the log end ${s.leo}`)
  const active = activeSegment(s)
  if (active.size === 0) {
    // An empty active segment is replaced rather than kept as a zero-length neighbour.
    deleteSegmentFiles(active)
    s.segments.pop()
  } else {
    active.onBecomeInactive()
  }
  s.segments.push(LogSegment.create(s.dir, baseOffset, s.fds, s.config.indexIntervalBytes))
  s.dirNeedsSync = true
  if (active.size > 0) flushRolledAsync(s, active, baseOffset)
  takeProducerSnapshot(s)
}
