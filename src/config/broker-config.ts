/**
 * Turns raw properties (a server.properties file, --override flags, or library options) into a
 * validated, typed BrokerConfig. Every failure names the key and what it accepts.
 *
 * "Never" values: Kafka spells "never" as Long.MAX_VALUE (flush intervals) or -1 (retention).
 * Both become Infinity here, so no caller ever hands such a value to a Node timer (Node fires
 * timers above 2^31-1 ms at once; src/lib/long-timer.ts clamps finite long delays).
 */
import { CONFIG_KEYS, KAFKA_KEYS_NOT_IMPLEMENTED, defaultShardWorkers, type KeyDef } from './keys.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ListenerConfig {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly securityProtocol: 'PLAINTEXT'
}

export interface BrokerConfig {
  readonly nodeId: number
  readonly processRoles: readonly string[]
  readonly clusterId: string | null
  readonly listeners: readonly ListenerConfig[]
  /** Advertised host/port per listener name; port 0 means "the port the listener got". */
  readonly advertisedListeners: ReadonlyMap<string, { host: string; port: number }>
  readonly logDirs: readonly string[]
  readonly numPartitions: number
  readonly defaultReplicationFactor: number
  readonly minInsyncReplicas: number
  readonly autoCreateTopicsEnable: boolean
  readonly deleteTopicEnable: boolean
  readonly socketRequestMaxBytes: number
  readonly queuedMaxRequestBytes: number
  readonly queuedMaxRequests: number
  readonly connectionsMaxIdleMs: number
  readonly shardWorkers: number
  /** log.cleaner.threads: threads of the process's compaction pool (piscina). */
  readonly cleanerThreads: number
  /** log.cleaner.backoff.ms: how often a compacted partition is checked for a cleaning pass. */
  readonly cleanerBackoffMs: number
  readonly logFormat: 'auto' | 'json' | 'pretty'
  readonly logLevel: string
  /** samsa.metrics.listener: where the Prometheus endpoint listens; null when off. */
  readonly metricsListener: { readonly host: string; readonly port: number } | null
  /** Topic-level defaults, under the topic config names (segment.bytes, retention.ms, ...). */
  readonly topicDefaults: TopicDefaults
  readonly fileDeleteDelayMs: number
  readonly offsetCheckpointIntervalMs: number
  /** log.retention.check.interval.ms: how often each partition's retention is checked. */
  readonly retentionCheckIntervalMs: number
  /** Everything, raw, for DescribeConfigs (after defaults were applied). */
  readonly raw: ReadonlyMap<string, string>
  /** Keys set explicitly (file, overrides or options), as opposed to defaults. */
  readonly explicitKeys: ReadonlySet<string>
}

export interface TopicDefaults {
  readonly segmentBytes: number
  readonly segmentMs: number
  readonly indexIntervalBytes: number
  readonly segmentIndexBytes: number
  readonly flushMessages: number
  readonly flushMs: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly maxMessageBytes: number
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime'
  readonly messageTimestampBeforeMaxMs: number
  readonly messageTimestampAfterMaxMs: number
  readonly producerIdExpirationMs: number
  readonly compressionType: string
  readonly cleanupPolicy: string
  readonly minInsyncReplicas: number
  readonly fileDeleteDelayMs: number
  readonly deleteRetentionMs: number
  readonly minCompactionLagMs: number
  readonly minCleanableDirtyRatio: number
}

export interface LoadedConfig {
  readonly config: BrokerConfig
  /** One line per ignored or unknown key. */
  readonly warnings: readonly string[]
}

export interface LoadOptions {
  /** Used for samsa.shard.workers when unset (library mode passes 1). */
  readonly defaultShardWorkers?: number
}

export function loadBrokerConfig(props: ReadonlyMap<string, string>, options: LoadOptions = {}): LoadedConfig {
  const warnings: string[] = []
  const values = new Map<string, string>()
  for (const [key, value] of props) {
    if (key in CONFIG_KEYS) {
      values.set(key, value.trim())
    } else if (KAFKA_KEYS_NOT_IMPLEMENTED.has(key)) {
      warnings.push(`${key}: a Kafka setting Samsa does not implement; ignored`)
    } else {
      const near = didYouMean(key)
      warnings.push(`${key}: unknown setting, ignored${near ? ` (did you mean ${near}?)` : ''}`)
    }
  }
  const r = new Reader(values)
  const roles = r.list('process.roles')
  for (const role of roles) {
    if (role !== 'broker' && role !== 'controller') throw new ConfigError(`process.roles: '${role}' is not a role; accepted: broker, controller`)
  }
  const listeners = parseListeners(r.list('listeners'), parseProtocolMap(r.list('listener.security.protocol.map')))
  const advertised = new Map<string, { host: string; port: number }>()
  // A listener on every interface (empty host, 0.0.0.0, ::) is advertised as 127.0.0.1 unless advertised.listeners says otherwise.
  for (const l of listeners) advertised.set(l.name, { host: WILDCARD_HOSTS.has(l.host) ? '127.0.0.1' : l.host, port: l.port })
  if (values.has('advertised.listeners')) {
    for (const a of parseListeners(r.list('advertised.listeners'), null, 'advertised.listeners')) {
      const own = advertised.get(a.name)
      if (!own) throw new ConfigError(`advertised.listeners: listener ${a.name} is not in listeners`)
      if (a.host !== '' && WILDCARD_HOSTS.has(a.host)) {
        throw new ConfigError(`advertised.listeners: cannot use the nonroutable meta-address ${a.host} (listener ${a.name}); use a routable IP address or host name`)
      }
      // No host (PLAINTEXT://:9092): the listener's own advertised host, as Kafka falls back to the local host.
      advertised.set(a.name, { host: a.host === '' ? own.host : a.host, port: a.port })
    }
  }
  const logDirs = values.has('log.dirs') ? r.list('log.dirs') : [r.string('log.dir')]
  if (logDirs.length === 0) throw new ConfigError('log.dirs: at least one directory is required')
  const nodeId = values.has('node.id') || !values.has('broker.id') ? r.int('node.id') : r.int('broker.id')
  const shardWorkers = values.has('samsa.shard.workers') ? r.int('samsa.shard.workers') : (options.defaultShardWorkers ?? defaultShardWorkers())
  // Keys whose default is derived (no static default) are described with the value in use.
  const raw = r.resolved()
  raw.set('samsa.shard.workers', String(shardWorkers))
  const config: BrokerConfig = {
    nodeId,
    processRoles: roles,
    clusterId: r.optionalString('cluster.id'),
    listeners,
    advertisedListeners: advertised,
    logDirs,
    numPartitions: r.int('num.partitions'),
    defaultReplicationFactor: r.int('default.replication.factor'),
    minInsyncReplicas: r.int('min.insync.replicas'),
    autoCreateTopicsEnable: r.bool('auto.create.topics.enable'),
    deleteTopicEnable: r.bool('delete.topic.enable'),
    socketRequestMaxBytes: r.int('socket.request.max.bytes'),
    queuedMaxRequestBytes: queuedMaxBytes(r),
    queuedMaxRequests: r.int('queued.max.requests'),
    connectionsMaxIdleMs: r.duration('connections.max.idle.ms'),
    cleanerThreads: r.int('log.cleaner.threads'),
    cleanerBackoffMs: r.duration('log.cleaner.backoff.ms'),
    shardWorkers,
    logFormat: r.string('samsa.log.format') as BrokerConfig['logFormat'],
    logLevel: r.string('samsa.log.level'),
    metricsListener: parseHostPort(r.string('samsa.metrics.listener'), 'samsa.metrics.listener'),
    topicDefaults: topicDefaults(r, values),
    fileDeleteDelayMs: fileDeleteDelay(r, values),
    offsetCheckpointIntervalMs: r.duration('log.flush.offset.checkpoint.interval.ms'),
    retentionCheckIntervalMs: r.duration('log.retention.check.interval.ms'),
    raw,
    explicitKeys: new Set(values.keys()),
  }
  return { config, warnings }
}

/** Kafka's broker key log.segment.delete.delay.ms; the topic key's name (file.delete.delay.ms) is accepted too. */
function fileDeleteDelay(r: Reader, values: Map<string, string>): number {
  return !values.has('log.segment.delete.delay.ms') && values.has('file.delete.delay.ms') ? r.duration('file.delete.delay.ms') : r.duration('log.segment.delete.delay.ms')
}

function queuedMaxBytes(r: Reader): number {
  const v = r.long('queued.max.request.bytes')
  return v < 0 ? 4 * r.int('socket.request.max.bytes') : v
}

function topicDefaults(r: Reader, values: Map<string, string>): TopicDefaults {
  const retentionMs = values.has('log.retention.ms') ? r.long('log.retention.ms')
    : values.has('log.retention.minutes') ? r.int('log.retention.minutes') * 60_000
      : r.int('log.retention.hours') * 3_600_000
  const rollMs = values.has('log.roll.ms') ? r.long('log.roll.ms') : r.int('log.roll.hours') * 3_600_000
  const flushMs = values.has('log.flush.interval.ms') ? r.duration('log.flush.interval.ms') : r.duration('log.flush.scheduler.interval.ms')
  return {
    segmentBytes: r.int('log.segment.bytes'),
    segmentMs: rollMs,
    indexIntervalBytes: r.int('log.index.interval.bytes'),
    segmentIndexBytes: r.int('log.index.size.max.bytes'),
    flushMessages: r.duration('log.flush.interval.messages'),
    flushMs,
    retentionMs: retentionMs < 0 ? Infinity : neverIfHuge(retentionMs),
    retentionBytes: r.long('log.retention.bytes') < 0 ? Infinity : r.long('log.retention.bytes'),
    maxMessageBytes: r.int('message.max.bytes'),
    messageTimestampType: r.string('log.message.timestamp.type') as TopicDefaults['messageTimestampType'],
    messageTimestampBeforeMaxMs: r.duration('log.message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: r.duration('log.message.timestamp.after.max.ms'),
    producerIdExpirationMs: r.int('producer.id.expiration.ms'),
    compressionType: r.string('compression.type'),
    cleanupPolicy: r.list('log.cleanup.policy').join(','),
    minInsyncReplicas: r.int('min.insync.replicas'),
    fileDeleteDelayMs: fileDeleteDelay(r, values),
    deleteRetentionMs: r.duration('log.cleaner.delete.retention.ms'),
    minCompactionLagMs: r.long('log.cleaner.min.compaction.lag.ms'),
    minCleanableDirtyRatio: r.double('log.cleaner.min.cleanable.ratio'),
  }
}

/** Values at or beyond 2^53 ms (Long.MAX and friends) mean "never". */
function neverIfHuge(n: number): number {
  return n >= Number.MAX_SAFE_INTEGER ? Infinity : n
}

/** Typed, validated reads of one key each; the error names the key and what it accepts. */
class Reader {
  readonly #values: Map<string, string>
  constructor(values: Map<string, string>) {
    this.#values = values
  }

  #raw(key: string): string {
    const def = keyDef(key)
    const v = this.#values.get(key) ?? def.default
    if (v === null) throw new ConfigError(`${key}: a value is required`)
    return v
  }

  int(key: string): number {
    return this.#number(key, 'int')
  }

  long(key: string): number {
    return this.#number(key, 'long')
  }

  /** A long where Long.MAX-like values and -1 mean "never" (Infinity). */
  duration(key: string): number {
    const v = this.#number(key, keyDef(key).type === 'int' ? 'int' : 'long')
    return v < 0 ? Infinity : neverIfHuge(v)
  }

  #number(key: string, type: 'int' | 'long'): number {
    const def = keyDef(key)
    const text = this.#raw(key)
    if (!/^-?\d+$/.test(text)) throw new ConfigError(`${key}: '${text}' is not an integer; accepted: ${describeRange(def, type)}`)
    const big = BigInt(text)
    const limit = type === 'int' ? 2n ** 31n : 2n ** 63n
    if (big < -limit || big >= limit) throw new ConfigError(`${key}: ${text} is out of range; accepted: ${describeRange(def, type)}`)
    const n = big >= BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big)
    if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
      throw new ConfigError(`${key}: ${text} is out of range; accepted: ${describeRange(def, type)}`)
    }
    return n
  }

  bool(key: string): boolean {
    const text = this.#raw(key).toLowerCase()
    if (text !== 'true' && text !== 'false') throw new ConfigError(`${key}: '${text}' is not a boolean; accepted: true, false`)
    return text === 'true'
  }

  string(key: string): string {
    const def = keyDef(key)
    const text = this.#raw(key)
    if (def.oneOf && !def.oneOf.includes(text)) throw new ConfigError(`${key}: '${text}' is not accepted; accepted: ${def.oneOf.join(', ')}`)
    return text
  }

  optionalString(key: string): string | null {
    const v = this.#values.get(key) ?? keyDef(key).default
    return v === null || v === '' ? null : v
  }

  list(key: string): string[] {
    const items = this.#raw(key).split(',').map((s) => s.trim()).filter((s) => s !== '')
    const { oneOf } = keyDef(key)
    if (oneOf) {
      const bad = items.find((i) => !oneOf.includes(i))
      if (bad !== undefined) throw new ConfigError(`${key}: '${bad}' is not accepted; accepted: a list of ${oneOf.join(', ')}`)
    }
    return items
  }

  double(key: string): number {
    const def = keyDef(key)
    const text = this.#raw(key).trim()
    const n = Number(text)
    if (text === '' || !Number.isFinite(n)) throw new ConfigError(`${key}: '${text}' is not a number; accepted: ${def.min} to ${def.max}`)
    if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
      throw new ConfigError(`${key}: ${text} is out of range; accepted: ${def.min} to ${def.max}`)
    }
    return n
  }

  resolved(): Map<string, string> {
    const out = new Map<string, string>()
    for (const [key, def] of Object.entries(CONFIG_KEYS)) {
      const v = this.#values.get(key) ?? def.default
      if (v !== null) out.set(key, v)
    }
    return out
  }
}

function keyDef(key: string): KeyDef {
  const def = CONFIG_KEYS[key]
  if (!def) throw new Error(`internal: config key ${key} is not defined`)
  return def
}

function describeRange(def: KeyDef, type: 'int' | 'long'): string {
  const lo = def.min ?? (type === 'int' ? -(2 ** 31) : '-2^63')
  const hi = def.max ?? (type === 'int' ? 2 ** 31 - 1 : '2^63-1')
  return `an integer from ${lo} to ${hi}`
}

function parseProtocolMap(entries: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const e of entries) {
    const [name, proto] = e.split(':')
    if (!name || !proto) throw new ConfigError(`listener.security.protocol.map: '${e}' is not NAME:PROTOCOL`)
    map.set(name.toUpperCase(), proto.toUpperCase())
  }
  return map
}

/** Hosts that mean "every interface": fine to listen on, meaningless to advertise. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['', '0.0.0.0', '::'])

function parseListeners(entries: string[], protocols: Map<string, string> | null, key = 'listeners'): ListenerConfig[] {
  const out: ListenerConfig[] = []
  for (const e of entries) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(e)
    if (!m) throw new ConfigError(`${key}: '${e}' is not NAME://host:port`)
    const name = m[1]!.toUpperCase()
    const host = m[2]!.replace(/^\[|\]$/g, '')
    const port = Number(m[3])
    if (port > 65535) throw new ConfigError(`${key}: port ${port} of ${name} is out of range; accepted: 0 to 65535`)
    if (out.some((l) => l.name === name)) throw new ConfigError(`${key}: listener ${name} is given twice`)
    if (protocols) {
      const proto = protocols.get(name) ?? (name === 'PLAINTEXT' ? 'PLAINTEXT' : undefined)
      if (proto === undefined) throw new ConfigError(`listener.security.protocol.map: no protocol for listener ${name}`)
      if (proto !== 'PLAINTEXT') throw new ConfigError(`${key}: listener ${name} uses ${proto}; this version of Samsa supports PLAINTEXT only`)
    }
    out.push({ name, host, port, securityProtocol: 'PLAINTEXT' })
  }
  if (protocols && out.length === 0) throw new ConfigError(`${key}: at least one listener is required`)
  return out
}

/** `host:port` (IPv6 hosts in brackets), or null for an empty value. */
function parseHostPort(value: string, key: string): { host: string; port: number } | null {
  if (value === '') return null
  const m = /^(\[[^\]]*\]|[^:\[\]]*):(\d+)$/.exec(value)
  if (!m) throw new ConfigError(`${key}: '${value}' is not host:port (for example 127.0.0.1:9404; empty turns it off)`)
  const port = Number(m[2])
  if (port > 65535) throw new ConfigError(`${key}: port ${port} is out of range; accepted: 0 to 65535`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

/** The closest known key within edit distance 3, for "did you mean". */
export function didYouMean(key: string): string | null {
  let best: string | null = null
  let bestDistance = 4
  for (const candidate of [...Object.keys(CONFIG_KEYS), ...KAFKA_KEYS_NOT_IMPLEMENTED]) {
    const d = editDistance(key, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}
