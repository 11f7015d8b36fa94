/**
 * A consumer by partition assignment (no group): the caller assigns partitions and starting
 * positions, `poll()` sends one long-polling Fetch per leader and returns what arrived.
 *
 * The fetcher owns its connections (one per leader, not shared with the client): a Fetch that
 * waits `maxWaitMs` on the broker would otherwise hold up whatever else is pipelined behind it
 * on the same connection (Kafka answers a connection's requests in order).
 *
 * Positions advance by batch headers; records before the requested offset (a fetch from the
 * middle of a batch returns the whole batch) and control batches are skipped when decoding.
 */
import type { Connection } from './connection.ts'
import type { KafkaClient } from './client.ts'
import { Admin, EARLIEST, LATEST } from './admin.ts'
import { ClientError, KafkaError } from './errors.ts'
import { decodeBatch, type DecodedRecord } from './records.ts'
import { ZERO_UUID } from '../protocol/primitives/uuid.ts'
import {
  LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, batchSizeOf, isControl, lastOffsetOf, recordCountOf, baseOffsetOf,
} from '../storage/record-batch.ts'

export type StartOffset = number | 'earliest' | 'latest'

export interface Assignment {
  topic: string
  partition: number
  offset: StartOffset
}

export interface FetcherOptions {
  /** Long-poll time on the broker (default 500 ms). */
  maxWaitMs?: number
  minBytes?: number
  /** Per response (default 50 MiB, Kafka's fetch.max.bytes). */
  maxBytes?: number
  /** Per partition (default 1 MiB, Kafka's max.partition.fetch.bytes). */
  partitionMaxBytes?: number
  /** 0 read_uncommitted (default), 1 read_committed. */
  isolationLevel?: number
  /** Where to go when a position falls outside the log (default 'earliest'; 'none' throws). */
  offsetReset?: 'earliest' | 'latest' | 'none'
}

export interface ConsumerRecord extends DecodedRecord {
  topic: string
  partition: number
  /** 'CreateTime' or 'LogAppendTime'. */
  timestampType: 'CreateTime' | 'LogAppendTime'
}

/** The raw result of one partition in one poll: whole batches only, as the broker stored them. */
export interface RawPartitionData {
  topic: string
  partition: number
  /** Offset the fetch started from (records below it in the first batch are not new). */
  fetchOffset: number
  highWatermark: number
  /** Concatenated whole batches (possibly empty). */
  records: Buffer
  /** Records at or after fetchOffset in non-control batches (from batch headers). */
  recordCount: number
}

interface Position {
  topic: string
  partition: number
  offset: number
}

const METADATA_ERRORS = new Set([3, 5, 6, 74, 76, 100])
const OFFSET_OUT_OF_RANGE = 1

export class Fetcher {
  readonly client: KafkaClient
  readonly options: Required<FetcherOptions>
  readonly #positions = new Map<string, Position>()
  readonly #connections = new Map<number, Promise<Connection>>()
  #pendingStarts: Assignment[] = []
  #closed = false

  constructor(client: KafkaClient, options: FetcherOptions = {}) {
    this.client = client
    this.options = {
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
      isolationLevel: options.isolationLevel ?? 0,
      offsetReset: options.offsetReset ?? 'earliest',
    }
  }

  /** Adds partitions with their starting positions ('earliest'/'latest' are resolved on the next poll). */
  assign(assignments: readonly Assignment[]): void {
    for (const a of assignments) {
      if (typeof a.offset === 'number') this.#positions.set(`${a.topic}\0${a.partition}`, { topic: a.topic, partition: a.partition, offset: a.offset })
      else this.#pendingStarts.push(a)
    }
  }

  /** Drops every partition (a group rebalance takes them all away; see GroupConsumer). */
  unassignAll(): void {
    this.#positions.clear()
    this.#pendingStarts = []
  }

  /** Current positions (the next offset to read per partition). */
  positions(): Position[] {
    return [...this.#positions.values()].map((p) => ({ ...p }))
  }

  /** Resolves the pending earliest/latest starting positions with ListOffsets (poll does it too). */
  async resolveStarts(): Promise<void> {
    if (this.#pendingStarts.length === 0) return
    const starts = this.#pendingStarts
    this.#pendingStarts = []
    const admin = new Admin(this.client)
    for (const which of ['earliest', 'latest'] as const) {
      const list = starts.filter((s) => s.offset === which)
      if (list.length === 0) continue
      const offsets = await admin.listOffsets(list, which === 'earliest' ? EARLIEST : LATEST)
      for (const o of offsets) {
        if (o.error) throw o.error
        this.#positions.set(`${o.topic}\0${o.partition}`, { topic: o.topic, partition: o.partition, offset: o.offset })
      }
    }
  }

  async #connection(nodeId: number): Promise<Connection> {
    let c = this.#connections.get(nodeId)
    if (c) {
      const conn = await c
      if (!conn.closed) return conn
      this.#connections.delete(nodeId)
    }
    c = this.client.dedicatedConnection(nodeId)
    c.catch(() => this.#connections.delete(nodeId))
    this.#connections.set(nodeId, c)
    return c
  }

  /** One round of Fetch requests (one per leader, in parallel); returns whole batches per partition. */
  async pollRaw(): Promise<RawPartitionData[]> {
    if (this.#closed) throw new ClientError('the fetcher is closed')
    await this.resolveStarts()
    const md = this.client.cachedMetadata
    const byLeader = new Map<number, Position[]>()
    for (const pos of this.#positions.values()) {
      let info = md?.topics.get(pos.topic)?.partitions.find((p) => p.partition === pos.partition)
      if (!info || info.leader < 0) info = (await this.client.topic(pos.topic, { retryMs: 5000 })).partitions.find((p) => p.partition === pos.partition)
      if (!info) throw new KafkaError(3, `partition ${pos.topic}-${pos.partition}`)
      const list = byLeader.get(info.leader) ?? []
      list.push(pos)
      byLeader.set(info.leader, list)
    }
    const results = await Promise.all([...byLeader].map(([leader, list]) => this.#fetchFrom(leader, list)))
    return results.flat()
  }

  async #fetchFrom(leader: number, list: Position[]): Promise<RawPartitionData[]> {
    const conn = await this.#connection(leader)
    const md = this.client.cachedMetadata
    const topicIds = new Map<string, string>()
    for (const p of list) topicIds.set(p.topic, md?.topics.get(p.topic)?.topicId ?? ZERO_UUID)
    // Fetch v13+ names topics by id; without ids (old metadata) stay at v12.
    let version = conn.versionOf(1)
    if (version >= 13 && [...topicIds.values()].some((id) => id === ZERO_UUID)) version = 12
    const byTopic = new Map<string, Position[]>()
    for (const p of list) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p])
    const res = await conn.request(1, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 },
      maxWaitMs: this.options.maxWaitMs, minBytes: this.options.minBytes, maxBytes: this.options.maxBytes,
      isolationLevel: this.options.isolationLevel, sessionId: 0, sessionEpoch: -1,
      topics: [...byTopic].map(([topic, parts]) => ({
        topic, topicId: topicIds.get(topic)!,
        partitions: parts.map((p) => ({
          partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1,
          logStartOffset: -1, partitionMaxBytes: this.options.partitionMaxBytes, replicaDirectoryId: ZERO_UUID,
        })),
      })),
      forgottenTopicsData: [], rackId: '',
    }, { version, timeoutMs: this.options.maxWaitMs + 30_000 })
    if (res.errorCode !== 0) throw new KafkaError(res.errorCode, `fetch from broker ${leader}`)
    const nameById = new Map([...topicIds].map(([name, id]) => [id, name]))
    const out: RawPartitionData[] = []
    let refresh = false
    for (const t of res.responses) {
      const topic = version >= 13 ? nameById.get(t.topicId) ?? t.topic : t.topic
      for (const p of t.partitions) {
        const pos = this.#positions.get(`${topic}\0${p.partitionIndex}`)
        if (!pos) continue
        if (p.errorCode === OFFSET_OUT_OF_RANGE) {
          await this.#reset(pos)
          continue
        }
        if (METADATA_ERRORS.has(p.errorCode)) {
          refresh = true
          continue
        }
        if (p.errorCode !== 0) throw new KafkaError(p.errorCode, `fetching ${topic}-${p.partitionIndex} at offset ${pos.offset}`)
        out.push(this.#advance(pos, p.records ?? Buffer.alloc(0), p.highWatermark))
      }
    }
    if (refresh) {
      await new Promise((r) => setTimeout(r, 100))
      await this.client.metadata([...byTopic.keys()])
    }
    return out
  }

  async #reset(pos: Position): Promise<void> {
    if (this.options.offsetReset === 'none') throw new KafkaError(OFFSET_OUT_OF_RANGE, `fetching ${pos.topic}-${pos.partition} at offset ${pos.offset}`)
    const [o] = await new Admin(this.client).listOffsets([pos], this.options.offsetReset === 'earliest' ? EARLIEST : LATEST)
    if (o?.error) throw o.error
    if (o) pos.offset = o.offset
  }

  /** Keeps the whole batches, counts new records, and moves the position past the last batch. */
  #advance(pos: Position, records: Buffer, highWatermark: number): RawPartitionData {
    const fetchOffset = pos.offset
    let end = 0
    let count = 0
    while (records.length - end >= RECORD_BATCH_OVERHEAD) {
      const size = batchSizeOf(records, end)
      if (size < LOG_OVERHEAD || end + size > records.length) break
      const last = lastOffsetOf(records, end)
      if (!isControl(records, end) && last >= fetchOffset) {
        const base = baseOffsetOf(records, end)
        count += base >= fetchOffset ? recordCountOf(records, end) : last - fetchOffset + 1
      }
      pos.offset = Math.max(pos.offset, last + 1)
      end += size
    }
    return { topic: pos.topic, partition: pos.partition, fetchOffset, highWatermark, records: records.subarray(0, end), recordCount: count }
  }

  /** One round of fetches, decoded into records (offset order per partition). */
  async poll(): Promise<ConsumerRecord[]> {
    const out: ConsumerRecord[] = []
    for (const d of await this.pollRaw()) out.push(...decodePartitionData(d))
    return out
  }

  close(): void {
    this.#closed = true
    for (const c of this.#connections.values()) c.then((conn) => conn.close(), () => {})
    this.#connections.clear()
  }
}

/** Decodes the records of one partition's fetch data, skipping control batches and records before fetchOffset. */
export function decodePartitionData(d: RawPartitionData): ConsumerRecord[] {
  const out: ConsumerRecord[] = []
  let pos = 0
  while (pos < d.records.length) {
    const size = batchSizeOf(d.records, pos)
    if (!isControl(d.records, pos) && lastOffsetOf(d.records, pos) >= d.fetchOffset) {
      const batch = decodeBatch(d.records, pos)
      const timestampType = batch.logAppendTime ? 'LogAppendTime' : 'CreateTime'
      for (const r of batch.records) {
        if (r.offset < d.fetchOffset) continue
        out.push({ ...r, timestamp: batch.logAppendTime ? batch.maxTimestamp : r.timestamp, topic: d.topic, partition: d.partition, timestampType })
      }
    }
    pos += size
  }
  return out
}
