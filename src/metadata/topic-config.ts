/**
 * Topic-level configuration: the keys a topic may set, how each is validated, the broker key it
 * defaults to (its "synonym" in DescribeConfigs), and how the effective values become the
 * storage engine's LogConfig.
 */
import type { TopicDefaults } from '../config/broker-config.ts'

type Kind = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list'

interface TopicKey {
  readonly kind: Kind
  /**
   * The broker keys whose value is the default, most specific first (Kafka's synonyms:
   * retention.ms ← log.retention.ms, log.retention.minutes, log.retention.hours).
   */
  readonly brokerKeys: readonly string[]
  readonly min?: number
  readonly max?: number
  readonly oneOf?: readonly string[]
  /** Kafka's own default when no broker key Samsa knows backs it. */
  readonly fallback?: string
}

export const TOPIC_CONFIG_KEYS: Readonly<Record<string, TopicKey>> = {
  'cleanup.policy': { kind: 'list', brokerKeys: ['log.cleanup.policy'], oneOf: ['delete', 'compact'] },
  'compression.type': { kind: 'string', brokerKeys: ['compression.type'], oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] },
  'delete.retention.ms': { kind: 'long', brokerKeys: ['log.cleaner.delete.retention.ms'], min: 0 },
  'file.delete.delay.ms': { kind: 'long', brokerKeys: ['log.segment.delete.delay.ms', 'file.delete.delay.ms'], min: 0 },
  'flush.messages': { kind: 'long', brokerKeys: ['log.flush.interval.messages'], min: 1 },
  'flush.ms': { kind: 'long', brokerKeys: ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'], min: 0, fallback: '9223372036854775807' },
  'index.interval.bytes': { kind: 'int', brokerKeys: ['log.index.interval.bytes'], min: 0 },
  'max.message.bytes': { kind: 'int', brokerKeys: ['message.max.bytes'], min: 0 },
  'message.timestamp.type': { kind: 'string', brokerKeys: ['log.message.timestamp.type'], oneOf: ['CreateTime', 'LogAppendTime'] },
  'message.timestamp.before.max.ms': { kind: 'long', brokerKeys: ['log.message.timestamp.before.max.ms'], min: 0 },
  'message.timestamp.after.max.ms': { kind: 'long', brokerKeys: ['log.message.timestamp.after.max.ms'], min: 0 },
  'min.cleanable.dirty.ratio': { kind: 'double', brokerKeys: ['log.cleaner.min.cleanable.ratio'], min: 0, max: 1 },
  'min.compaction.lag.ms': { kind: 'long', brokerKeys: ['log.cleaner.min.compaction.lag.ms'], min: 0 },
  'min.insync.replicas': { kind: 'int', brokerKeys: ['min.insync.replicas'], min: 1 },
  // No lower bound, as in Kafka: any negative value means "no size limit".
  'retention.bytes': { kind: 'long', brokerKeys: ['log.retention.bytes'] },
  'retention.ms': { kind: 'long', brokerKeys: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'], min: -1, fallback: '604800000' },
  'segment.bytes': { kind: 'int', brokerKeys: ['log.segment.bytes'], min: 14 },
  'segment.index.bytes': { kind: 'int', brokerKeys: ['log.index.size.max.bytes'], min: 4 },
  'segment.ms': { kind: 'long', brokerKeys: ['log.roll.ms', 'log.roll.hours'], min: 1, fallback: '604800000' },
  'unclean.leader.election.enable': { kind: 'boolean', brokerKeys: ['unclean.leader.election.enable'], fallback: 'false' },
  // From here on: Kafka topic keys accepted, validated and described, that nothing in Samsa acts
  // on yet (listed in docs/compatibility.md) — tools and clients create topics with them.
  'compression.gzip.level': { kind: 'int', brokerKeys: ['compression.gzip.level'], min: -1, max: 9, fallback: '-1' },
  'compression.lz4.level': { kind: 'int', brokerKeys: ['compression.lz4.level'], min: 1, max: 17, fallback: '9' },
  'compression.zstd.level': { kind: 'int', brokerKeys: ['compression.zstd.level'], min: -131072, max: 22, fallback: '3' },
  'follower.replication.throttled.replicas': { kind: 'list', brokerKeys: [], fallback: '' },
  'leader.replication.throttled.replicas': { kind: 'list', brokerKeys: [], fallback: '' },
  'local.retention.bytes': { kind: 'long', brokerKeys: ['log.local.retention.bytes'], min: -2, fallback: '-2' },
  'local.retention.ms': { kind: 'long', brokerKeys: ['log.local.retention.ms'], min: -2, fallback: '-2' },
  'max.compaction.lag.ms': { kind: 'long', brokerKeys: ['log.cleaner.max.compaction.lag.ms'], min: 1, fallback: '9223372036854775807' },
  'message.downconversion.enable': { kind: 'boolean', brokerKeys: ['log.message.downconversion.enable'], fallback: 'true' },
  'message.format.version': { kind: 'string', brokerKeys: ['log.message.format.version'], fallback: '3.0-IV1' },
  'message.timestamp.difference.max.ms': { kind: 'long', brokerKeys: ['log.message.timestamp.difference.max.ms'], min: 0, fallback: '9223372036854775807' },
  'preallocate': { kind: 'boolean', brokerKeys: ['log.preallocate'], fallback: 'false' },
  'remote.storage.enable': { kind: 'boolean', brokerKeys: [], fallback: 'false' },
  'segment.jitter.ms': { kind: 'long', brokerKeys: ['log.roll.jitter.ms', 'log.roll.jitter.hours'], min: 0, fallback: '0' },
}

/**
 * A value as Kafka's ConfigDef parses it, written back in its canonical form: surrounding
 * whitespace dropped, booleans in lower case (accepted in any case), list items trimmed and
 * joined with ','. Unknown keys are returned as they are (validation refuses them).
 */
export function normalizeTopicConfigValue(name: string, value: string): string {
  const key = TOPIC_CONFIG_KEYS[name]
  if (!key) return value
  const v = value.trim()
  if (key.kind === 'boolean') return v.toLowerCase() === 'true' || v.toLowerCase() === 'false' ? v.toLowerCase() : v
  if (key.kind === 'list') return v.split(/\s*,\s*/).filter(Boolean).join(',')
  return v
}

/** Returns a message naming the first invalid entry, or null. */
export function validateTopicConfig(entries: readonly { name: string; value: string | null }[]): string | null {
  for (const { name, value } of entries) {
    const key = TOPIC_CONFIG_KEYS[name]
    if (!key) return `Unknown topic config name: ${name}`
    if (value === null) continue
    const problem = checkValue(key, value)
    if (problem) return `Invalid value ${value} for configuration ${name}: ${problem}`
  }
  return null
}

function checkValue(key: TopicKey, value: string): string | null {
  switch (key.kind) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(value.trim())) return 'Not a number of type ' + key.kind.toUpperCase()
      // Kafka's INT and LONG are 32- and 64-bit: anything outside is not a number of the type.
      const big = BigInt(value.trim())
      const limit = key.kind === 'int' ? 2n ** 31n : 2n ** 63n
      if (big < -limit || big >= limit) return 'Not a number of type ' + key.kind.toUpperCase()
      const n = Number(big)
      if (key.min !== undefined && n < key.min) return `Value must be at least ${key.min}`
      if (key.max !== undefined && n > key.max) return `Value must be no more than ${key.max}`
      return null
    }
    case 'double': {
      const n = Number(value)
      if (value.trim() === '' || !Number.isFinite(n)) return 'Not a number of type DOUBLE'
      if (key.min !== undefined && n < key.min) return `Value must be at least ${key.min}`
      if (key.max !== undefined && n > key.max) return `Value must be no more than ${key.max}`
      return null
    }
    case 'boolean':
      return value === 'true' || value === 'false' ? null : 'Expected value to be either true or false'
    case 'string':
      return key.oneOf && !key.oneOf.includes(value) ? `String must be one of: ${key.oneOf.join(', ')}` : null
    case 'list': {
      const items = value.split(',').map((s) => s.trim()).filter(Boolean)
      const bad = key.oneOf ? items.find((i) => !key.oneOf!.includes(i)) : undefined
      if (bad === undefined) return null
      return items.length === 1 ? `String must be one of: ${key.oneOf!.join(', ')}` : `${bad} is not one of: ${key.oneOf!.join(', ')}`
    }
  }
}

/** Effective config of a topic: its own overrides on top of the broker's defaults. */
export interface EffectiveTopicConfig {
  readonly segmentBytes: number
  readonly segmentMs: number
  readonly indexIntervalBytes: number
  readonly segmentIndexBytes: number
  readonly flushIntervalMessages: number
  readonly flushIntervalMs: number
  readonly maxMessageBytes: number
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime'
  readonly messageTimestampBeforeMaxMs: number
  readonly messageTimestampAfterMaxMs: number
  readonly producerIdExpirationMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly minInsyncReplicas: number
  readonly cleanupPolicy: string
  readonly compressionType: string
  readonly fileDeleteDelayMs: number
  readonly deleteRetentionMs: number
  readonly minCompactionLagMs: number
  readonly minCleanableDirtyRatio: number
}

/** "Never" spellings (Long.MAX, -1 for retention) become Infinity. */
function never(n: number, negativeIsNever: boolean): number {
  if (negativeIsNever && n < 0) return Infinity
  return n >= Number.MAX_SAFE_INTEGER ? Infinity : n
}

export function effectiveTopicConfig(defaults: TopicDefaults, overrides: ReadonlyMap<string, string> | undefined): EffectiveTopicConfig {
  const num = (key: string, fallback: number, negativeIsNever = false): number => {
    const v = overrides?.get(key)
    return v === undefined ? fallback : never(Number(v), negativeIsNever)
  }
  const str = (key: string, fallback: string): string => overrides?.get(key) ?? fallback
  return {
    segmentBytes: num('segment.bytes', defaults.segmentBytes),
    segmentMs: num('segment.ms', defaults.segmentMs),
    indexIntervalBytes: num('index.interval.bytes', defaults.indexIntervalBytes),
    segmentIndexBytes: num('segment.index.bytes', defaults.segmentIndexBytes),
    flushIntervalMessages: num('flush.messages', defaults.flushMessages),
    flushIntervalMs: num('flush.ms', defaults.flushMs),
    maxMessageBytes: num('max.message.bytes', defaults.maxMessageBytes),
    messageTimestampType: str('message.timestamp.type', defaults.messageTimestampType) as EffectiveTopicConfig['messageTimestampType'],
    messageTimestampBeforeMaxMs: num('message.timestamp.before.max.ms', defaults.messageTimestampBeforeMaxMs),
    messageTimestampAfterMaxMs: num('message.timestamp.after.max.ms', defaults.messageTimestampAfterMaxMs),
    producerIdExpirationMs: defaults.producerIdExpirationMs,
    retentionMs: num('retention.ms', defaults.retentionMs, true),
    retentionBytes: num('retention.bytes', defaults.retentionBytes, true),
    minInsyncReplicas: num('min.insync.replicas', defaults.minInsyncReplicas),
    cleanupPolicy: str('cleanup.policy', defaults.cleanupPolicy),
    compressionType: str('compression.type', defaults.compressionType),
    fileDeleteDelayMs: num('file.delete.delay.ms', defaults.fileDeleteDelayMs),
    deleteRetentionMs: num('delete.retention.ms', defaults.deleteRetentionMs),
    minCompactionLagMs: num('min.compaction.lag.ms', defaults.minCompactionLagMs),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio', defaults.minCleanableDirtyRatio),
  }
}
