import type { CompressionType } from './record-batch.ts'

/**
 * Per-topic log settings as the storage engine sees them (Kafka's LogConfig subset), and the
 * shapes of append outcomes. Long.MAX / "never" values are Infinity here, never huge numbers.
 */

export interface LogConfig {
  segmentBytes: number
  segmentMs: number
  indexIntervalBytes: number
  segmentIndexBytes: number
  flushIntervalMessages: number
  flushIntervalMs: number
  maxMessageBytes: number
  messageTimestampType: 'CreateTime' | 'LogAppendTime'
  messageTimestampBeforeMaxMs: number
  messageTimestampAfterMaxMs: number
  producerIdExpirationMs: number
  /** retention.ms: segments whose largest timestamp is older than this are deleted (Infinity: never). */
  retentionMs: number
  /** retention.bytes: the log is kept at most this large, whole segments at a time (Infinity: unlimited). */
  retentionBytes: number
  /** cleanup.policy: `delete` enables time/size retention; `compact` the cleaner. */
  cleanupPolicy: { readonly delete: boolean; readonly compact: boolean }
  /** file.delete.delay.ms: how long a `.deleted` segment stays on disk before it is removed. */
  fileDeleteDelayMs: number
  /** log.retention.check.interval.ms (a broker setting, carried here so each shard can schedule it). */
  retentionCheckIntervalMs: number
  /** log.cleaner.backoff.ms (a broker setting): how often a compacted log is checked for a pass (default 15 s). */
  cleanerBackoffMs?: number
  /** delete.retention.ms: how long a compacted topic keeps tombstones (default 1 day). */
  deleteRetentionMs?: number
  /** min.compaction.lag.ms: records younger than this are never compacted (default 0). */
  minCompactionLagMs?: number
  /** min.cleanable.dirty.ratio: the cleaner runs once dirty / cleanable bytes reaches it (default 0.5). */
  minCleanableDirtyRatio?: number
  /** compression.type: produced batches in another codec are recompressed to this one (`producer`, the default: kept as sent). */
  compressionType?: 'producer' | CompressionType
}

/** Kafka's topic-level defaults; Long.MAX "never" values are Infinity. */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024, // log.segment.bytes
  segmentMs: 7 * 24 * 60 * 60 * 1000, // log.roll.hours = 168
  indexIntervalBytes: 4096, // log.index.interval.bytes
  segmentIndexBytes: 10 * 1024 * 1024, // log.index.size.max.bytes (an entry limit here, nothing is preallocated)
  flushIntervalMessages: Infinity, // log.flush.interval.messages = Long.MAX
  flushIntervalMs: Infinity, // log.flush.interval.ms unset → never
  maxMessageBytes: 1048588, // message.max.bytes
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Infinity,
  messageTimestampAfterMaxMs: Infinity,
  producerIdExpirationMs: 86_400_000,
  retentionMs: 7 * 24 * 60 * 60 * 1000, // log.retention.hours = 168
  retentionBytes: Infinity, // log.retention.bytes = -1
  cleanupPolicy: Object.freeze({ delete: true, compact: false }),
  fileDeleteDelayMs: 60_000,
  retentionCheckIntervalMs: 300_000,
})

export type AppendError =
  | 'corrupt_message' | 'invalid_record' | 'message_too_large' | 'record_list_too_large' | 'unsupported_for_message_format'
  | 'invalid_timestamp' | 'out_of_order_sequence_number' | 'invalid_producer_epoch' | 'invalid_txn_state' | 'kafka_storage_error'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** The broker time stamped into the batch, -1 unless the topic uses LogAppendTime. */
  logAppendTime: number
  logStartOffset: number
  /** A retried idempotent batch: nothing was appended, the offsets are the original ones. */
  duplicate: boolean
}

