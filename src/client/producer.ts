/**
 * A batching producer: records are collected per partition and sent as one RecordBatch per
 * partition per Produce request, to the partition's leader, when a batch is full
 * (`batchBytes`) or `lingerMs` after its first record. Several requests may be in flight per
 * broker (`maxInFlight`); retriable errors (leader moved, topic not ready) refresh metadata and
 * retry. Partitioning follows Kafka's default: murmur2 of the key, sticky partition for records
 * without a key — so keyed records land on the same partitions as with the Java client.
 *
 * Not idempotent (no producer id), which matches the console producer's needs; ordering within
 * a partition is kept by sending a partition's next batch only after the previous one returned.
 */
import type { KafkaClient, TopicInfo } from './client.ts'
import { buildBatch } from './records.ts'
import type { CompressionType } from './compression.ts'
import { ClientError, KafkaError } from './errors.ts'
import type { BuilderRecord } from '../storage/record-batch-builder.ts'

export interface ProducerOptions {
  /** 0, 1 or -1 (all). Default -1, as Kafka's producer since 3.0. */
  acks?: number
  compression?: CompressionType
  /** Close a batch once it holds this many bytes of records (default 16384, Kafka's batch.size). */
  batchBytes?: number
  /** Wait this long for more records before sending a batch (default 5 ms, Kafka 4's linger.ms). */
  lingerMs?: number
  /** Produce request timeout on the broker (default 30 s). */
  timeoutMs?: number
  /** Attempts for retriable errors (default 5). */
  retries?: number
  /** Let the broker create a missing topic (auto.create.topics.enable), as producers do. Default true. */
  allowAutoTopicCreation?: boolean
}

export interface ProducerRecord extends BuilderRecord {
  topic: string
  partition?: number
}

export interface RecordMetadata {
  topic: string
  partition: number
  /** -1 with acks=0. */
  offset: number
}

interface Waiter {
  resolve: (m: RecordMetadata) => void
  reject: (err: Error) => void
}

interface PartitionQueue {
  topic: string
  partition: number
  records: BuilderRecord[]
  waiters: Waiter[]
  bytes: number
  /** A batch of this partition is on the wire. */
  sending: boolean
  timer: NodeJS.Timeout | null
}

const RETRIABLE_FOR_METADATA = new Set([3, 5, 6, 7, 13, 19, 20, 74, 100])

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2). */
export function murmur2(data: Buffer): number {
  const length = data.length
  const m = 0x5bd1e995
  let h = (0x9747b28c ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length & ~3
  const rest = length % 4
  if (rest >= 3) h ^= (data[tail + 2]! & 0xff) << 16
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8
  if (rest >= 1) {
    h ^= data[tail]! & 0xff
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** The partition Kafka's default partitioner picks for a key. */
export function partitionForKey(key: Buffer, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions
}

const toBuffer = (b: Buffer | Uint8Array | string): Buffer => (typeof b === 'string' ? Buffer.from(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

function recordSize(r: BuilderRecord): number {
  let n = 16
  if (r.key) n += typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.byteLength
  if (r.value) n += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.byteLength
  for (const h of r.headers ?? []) n += h.key.length + (h.value === null ? 0 : typeof h.value === 'string' ? Buffer.byteLength(h.value) : h.value.byteLength)
  return n
}

export class Producer {
  readonly client: KafkaClient
  readonly acks: number
  readonly compression: CompressionType
  readonly batchBytes: number
  readonly lingerMs: number
  readonly timeoutMs: number
  readonly retries: number
  readonly allowAutoTopicCreation: boolean
  readonly #queues = new Map<string, PartitionQueue>()
  readonly #topics = new Map<string, Promise<TopicInfo>>()
  readonly #sticky = new Map<string, number>()
  #inFlight = new Set<Promise<void>>()

  constructor(client: KafkaClient, options: ProducerOptions = {}) {
    this.client = client
    this.acks = options.acks ?? -1
    if (![0, 1, -1].includes(this.acks)) throw new ClientError(`acks must be 0, 1 or -1 (all), got ${this.acks}`)
    this.compression = options.compression ?? 'none'
    this.batchBytes = options.batchBytes ?? 16384
    this.lingerMs = options.lingerMs ?? 5
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.retries = options.retries ?? 5
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true
  }

  /** Metadata of a topic, fetched once (and again after errors). */
  topicInfo(topic: string): Promise<TopicInfo> {
    let p = this.#topics.get(topic)
    if (!p) {
      p = this.client.topic(topic, { allowAutoTopicCreation: this.allowAutoTopicCreation, retryMs: 5000 })
      p.catch(() => this.#topics.delete(topic))
      this.#topics.set(topic, p)
    }
    return p
  }

  /** Queues a record; resolves when the broker acknowledged it (or it was sent, with acks=0). */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    const info = await this.topicInfo(record.topic)
    const count = info.partitions.length
    let partition = record.partition
    if (partition === undefined || partition < 0) {
      if (record.key !== undefined && record.key !== null) partition = partitionForKey(toBuffer(record.key), count)
      else {
        partition = this.#sticky.get(record.topic) ?? Math.floor(Math.random() * count)
        this.#sticky.set(record.topic, partition)
      }
    } else if (partition >= count) {
      throw new KafkaError(3, `partition ${record.topic}-${partition} (the topic has ${count} partitions)`)
    }
    const key = `${record.topic}\0${partition}`
    let q = this.#queues.get(key)
    if (!q) {
      q = { topic: record.topic, partition, records: [], waiters: [], bytes: 0, sending: false, timer: null }
      this.#queues.set(key, q)
    }
    const queue = q
    return new Promise<RecordMetadata>((resolve, reject) => {
      queue.records.push({ key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp ?? Date.now() })
      queue.waiters.push({ resolve, reject })
      queue.bytes += recordSize(record)
      if (queue.bytes >= this.batchBytes) this.#drain(queue)
      else if (!queue.timer && !queue.sending) queue.timer = setTimeout(() => this.#drain(queue), this.lingerMs)
    })
  }

  /** Sends everything queued and waits for all answers. */
  async flush(): Promise<void> {
    for (;;) {
      for (const q of this.#queues.values()) if (q.records.length > 0 && !q.sending) this.#drain(q)
      if (this.#inFlight.size === 0) {
        if ([...this.#queues.values()].every((q) => q.records.length === 0)) return
      } else {
        await Promise.allSettled([...this.#inFlight])
      }
    }
  }

  #drain(q: PartitionQueue): void {
    if (q.timer) {
      clearTimeout(q.timer)
      q.timer = null
    }
    if (q.sending || q.records.length === 0) return
    // Take the records that fit one batch (at least one).
    let n = 0
    let bytes = 0
    while (n < q.records.length && (n === 0 || bytes + recordSize(q.records[n]!) <= this.batchBytes)) bytes += recordSize(q.records[n++]!)
    const records = q.records.splice(0, n)
    const waiters = q.waiters.splice(0, n)
    q.bytes -= bytes
    q.sending = true
    if (this.#sticky.get(q.topic) === q.partition) this.#sticky.delete(q.topic)
    const p = this.#sendBatch(q, records, waiters).finally(() => {
      q.sending = false
      this.#inFlight.delete(p)
      if (q.records.length > 0) {
        if (q.bytes >= this.batchBytes || this.lingerMs === 0) this.#drain(q)
        else q.timer ??= setTimeout(() => this.#drain(q), this.lingerMs)
      }
    })
    this.#inFlight.add(p)
  }

  async #sendBatch(q: PartitionQueue, records: BuilderRecord[], waiters: Waiter[]): Promise<void> {
    let batch: Buffer
    try {
      batch = buildBatch({ records, compression: this.compression })
    } catch (err) {
      for (const w of waiters) w.reject(err as Error)
      return
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const offset = await this.#produce(q.topic, q.partition, batch)
        waiters.forEach((w, i) => w.resolve({ topic: q.topic, partition: q.partition, offset: offset < 0 ? -1 : offset + i }))
        return
      } catch (err) {
        const retriable = err instanceof KafkaError ? RETRIABLE_FOR_METADATA.has(err.code) : false
        if (!retriable || attempt >= this.retries) {
          for (const w of waiters) w.reject(err as Error)
          return
        }
        this.#topics.delete(q.topic)
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)))
        await this.client.metadata([q.topic]).catch(() => {})
      }
    }
  }

  async #produce(topic: string, partition: number, batch: Buffer): Promise<number> {
    const { connection } = await this.client.leaderConnection(topic, partition)
    const body = {
      transactionalId: null, acks: this.acks, timeoutMs: this.timeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    }
    if (this.acks === 0) {
      await connection.sendOnly(0, body)
      return -1
    }
    const res = await connection.request(0, body, { timeoutMs: this.timeoutMs + 5000 })
    const pr = res.responses[0]?.partitionResponses[0]
    if (!pr) throw new ClientError(`the broker sent an empty Produce response for ${topic}-${partition}`)
    if (pr.errorCode !== 0) {
      const detail = pr.errorMessage ?? pr.recordErrors.map((e) => e.batchIndexErrorMessage).filter(Boolean).join('; ')
      throw new KafkaError(pr.errorCode, `producing to ${topic}-${partition}`, detail || null)
    }
    return pr.baseOffset
  }

  async close(): Promise<void> {
    await this.flush()
  }
}
