/**
 * Admin calls: create, delete and grow topics, describe configs, list offsets.
 * Per-topic failures come back as values (`error: KafkaError | null`), like Kafka's
 * AdminClient futures, so a caller can decide what `--if-exists` and friends forgive.
 */
import type { KafkaClient, TopicInfo } from './client.ts'
import { KafkaError } from './errors.ts'
import { ZERO_UUID } from '../protocol/primitives/uuid.ts'

export interface NewTopic {
  name: string
  /** -1: the broker's num.partitions. */
  numPartitions?: number
  /** -1: the broker's default.replication.factor. */
  replicationFactor?: number
  configs?: Readonly<Record<string, string>>
}

export interface TopicResult {
  name: string
  error: KafkaError | null
}

export interface ConfigEntry {
  name: string
  value: string | null
  /** Kafka's ConfigSource id: 1 topic override, 4 static broker config, 5 default, ... */
  source: number
  isDefault: boolean
  readOnly: boolean
  isSensitive: boolean
}

export const CONFIG_SOURCE = {
  UNKNOWN: 0, DYNAMIC_TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5, DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const

const RESOURCE_TOPIC = 2

export interface PartitionOffset {
  topic: string
  partition: number
  offset: number
  timestamp: number
  error: KafkaError | null
}

/** ListOffsets special timestamps. */
export const LATEST = -1
export const EARLIEST = -2

export class Admin {
  readonly client: KafkaClient
  readonly timeoutMs: number

  constructor(client: KafkaClient, options: { timeoutMs?: number } = {}) {
    this.client = client
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  async createTopics(topics: readonly NewTopic[], options: { validateOnly?: boolean } = {}): Promise<TopicResult[]> {
    const conn = await this.client.controllerConnection()
    const res = await conn.request(19, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
    })
    return res.topics.map((t) => ({ name: t.name, error: t.errorCode === 0 ? null : new KafkaError(t.errorCode, `topic '${t.name}'`, t.errorMessage) }))
  }

  async deleteTopics(names: readonly string[]): Promise<TopicResult[]> {
    const conn = await this.client.controllerConnection()
    const res = await conn.request(20, {
      topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
      topicNames: [...names],
      timeoutMs: this.timeoutMs,
    })
    return res.responses.map((t) => ({
      name: t.name ?? '',
      error: t.errorCode === 0 ? null : new KafkaError(t.errorCode, `topic '${t.name}'`, t.errorMessage),
    }))
  }

  /** Grows topics to `count` partitions each. */
  async createPartitions(topics: readonly { name: string; count: number }[], options: { validateOnly?: boolean } = {}): Promise<TopicResult[]> {
    const conn = await this.client.controllerConnection()
    const res = await conn.request(37, {
      topics: topics.map((t) => ({ name: t.name, count: t.count, assignments: null })),
      timeoutMs: this.timeoutMs,
      validateOnly: options.validateOnly ?? false,
    })
    return res.results.map((t) => ({ name: t.name, error: t.errorCode === 0 ? null : new KafkaError(t.errorCode, `topic '${t.name}'`, t.errorMessage) }))
  }

  /** Every config of each topic, with its source. */
  async describeTopicConfigs(names: readonly string[]): Promise<Map<string, ConfigEntry[]>> {
    const out = new Map<string, ConfigEntry[]>()
    if (names.length === 0) return out
    const conn = await this.client.connect()
    const version = conn.versionOf(32)
    const res = await conn.request(32, {
      resources: names.map((resourceName) => ({ resourceType: RESOURCE_TOPIC, resourceName, configurationKeys: null })),
      includeSynonyms: false,
      includeDocumentation: false,
    })
    for (const r of res.results) {
      if (r.errorCode !== 0) throw new KafkaError(r.errorCode, `configs of topic '${r.resourceName}'`, r.errorMessage)
      out.set(r.resourceName, r.configs.map((c) => {
        const source = version === 0 ? (c.isDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG) : c.configSource
        return { name: c.name, value: c.value, source, isDefault: source === CONFIG_SOURCE.DEFAULT_CONFIG, readOnly: c.readOnly, isSensitive: c.isSensitive }
      }))
    }
    return out
  }

  /** Topic names (internal ones included unless asked otherwise), sorted. */
  async listTopics(options: { excludeInternal?: boolean } = {}): Promise<string[]> {
    const md = await this.client.metadata(null)
    return [...md.topics.values()]
      .filter((t) => t.errorCode === 0 && !(options.excludeInternal && t.isInternal))
      .map((t) => t.name)
      .sort()
  }

  async describeTopics(names: readonly string[]): Promise<TopicInfo[]> {
    if (names.length === 0) return []
    const md = await this.client.metadata(names)
    return names.map((n) => {
      const t = md.topics.get(n)
      if (!t || t.errorCode !== 0) throw new KafkaError(t?.errorCode ?? 3, `topic '${n}'`)
      return t
    })
  }

  /**
   * Offsets by timestamp (LATEST, EARLIEST, or a time in ms) for partitions, asking each
   * partition's leader.
   */
  async listOffsets(partitions: readonly { topic: string; partition: number }[], timestamp: number): Promise<PartitionOffset[]> {
    const byLeader = new Map<number, { topic: string; partition: number }[]>()
    const connections = new Map<number, Awaited<ReturnType<KafkaClient['leaderConnection']>>['connection']>()
    for (const p of partitions) {
      const leader = await this.client.leaderConnection(p.topic, p.partition)
      connections.set(leader.nodeId, leader.connection)
      const list = byLeader.get(leader.nodeId) ?? []
      list.push(p)
      byLeader.set(leader.nodeId, list)
    }
    const results: PartitionOffset[] = []
    await Promise.all([...byLeader].map(async ([nodeId, list]) => {
      const topics = new Map<string, number[]>()
      for (const p of list) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition])
      const res = await connections.get(nodeId)!.request(2, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [...topics].map(([name, parts]) => ({
          name,
          partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
        })),
      })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          results.push({
            topic: t.name, partition: p.partitionIndex,
            offset: p.offset >= 0 ? p.offset : (p.oldStyleOffsets[0] ?? -1), timestamp: p.timestamp,
            error: p.errorCode === 0 ? null : new KafkaError(p.errorCode, `offsets of ${t.name}-${p.partitionIndex}`),
          })
        }
      }
    }))
    return results
  }
}
