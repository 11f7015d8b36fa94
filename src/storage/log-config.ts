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

