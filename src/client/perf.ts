/**
 * Load generators that measure the broker, not themselves (`samsa perf`, benchmarks).
 *
 * - ProducePerf: record batches are built once before the clock starts (one full batch and,
 *   when needed, one short last batch) and the same bytes are sent again and again; each
 *   connection keeps `maxInFlight` Produce requests pipelined; `connections` > 1 opens more
 *   sockets per leader. Latency is per batch (send → acknowledgement), recorded once per record
 *   into an HDR histogram, as Kafka's ProducerPerformance does per record.
 * - ConsumePerf: long-polling Fetch over every partition, records counted from batch headers
 *   (no per-record decoding); latency is the Fetch round trip.
 * - EndToEndPerf: one record at a time — produce, then wait until the consumer sees it — as
 *   Kafka's EndToEndLatency; latency is produce start → record fetched.
 *
 * Histograms hold microseconds; summaries report milliseconds (src/client/perf-stats.ts).
 */
import { performance } from 'node:perf_hooks'
import type { KafkaClient } from './client.ts'
import type { Connection } from './connection.ts'
import { Fetcher } from './fetcher.ts'
import { buildBatch } from './records.ts'
import type { CompressionType } from './compression.ts'
import { ClientError, KafkaError } from './errors.ts'
import { PerfStats, randomPayload, resultOf, type PerfResult } from './perf-stats.ts'

export interface ProducePerfOptions {
  topic: string
  numRecords: number
  recordSize: number
  /** Records per second; -1 for as fast as possible. */
  throughput: number
  acks: number
  /** Bytes of records per batch (default 16384, Kafka's batch.size). */
  batchBytes?: number
  /** Requests in flight per connection (default 5, Kafka's max.in.flight.requests.per.connection). */
  maxInFlight?: number
  /** Connections per leader (default 1). */
  connections?: number
  compression?: CompressionType
  /** Payloads to pick from instead of random ones (--payload-file). */
  payloads?: Buffer[]
  timeoutMs?: number
}

interface Lane {
  connection: Connection
  partitions: number[]
  next: number
  inFlight: number
}

export class ProducePerf {
  readonly client: KafkaClient
  readonly options: Required<Omit<ProducePerfOptions, 'payloads'>> & { payloads?: Buffer[] }
  readonly stats: PerfStats
  #stopped = false
  #sent = 0
  #done: { resolve: () => void; reject: (e: Error) => void } | null = null
  #batches = new Map<number, Buffer>()
  #recordsPerBatch = 1
  #timer: NodeJS.Timeout | null = null

  constructor(client: KafkaClient, options: ProducePerfOptions) {
    this.client = client
    this.options = {
      batchBytes: 16384, maxInFlight: 5, connections: 1, compression: 'none', timeoutMs: 30_000, ...options,
    }
    if (![0, 1, -1].includes(this.options.acks)) throw new ClientError(`acks must be 0, 1 or -1 (all), got ${this.options.acks}`)
    this.stats = new PerfStats(options.numRecords)
  }

  /** Builds a batch of `count` records (before the clock starts, except for odd sizes). */
  #batch(count: number): Buffer {
    let b = this.#batches.get(count)
    if (!b) {
      const { recordSize, payloads } = this.options
      const records = Array.from({ length: count }, (_, i) => ({ value: payloads ? payloads[(this.#batches.size * count + i) % payloads.length]! : randomPayload(recordSize) }))
      b = buildBatch({ records, compression: this.options.compression })
      this.#batches.set(count, b)
    }
    return b
  }

  async run(): Promise<PerfResult> {
    const { topic, numRecords, throughput, recordSize } = this.options
    const info = await this.client.topic(topic, { allowAutoTopicCreation: true, retryMs: 10_000 })
    const perBatch = Math.max(1, Math.floor(this.options.batchBytes / Math.max(1, recordSize)))
    // Throttled runs send smaller batches (about 100 a second) so the pace stays smooth.
    this.#recordsPerBatch = throughput > 0 ? Math.min(perBatch, Math.max(1, Math.ceil(throughput / 100))) : perBatch
    this.#recordsPerBatch = Math.min(this.#recordsPerBatch, Math.max(1, numRecords))
    this.#batch(this.#recordsPerBatch)
    if (numRecords % this.#recordsPerBatch !== 0) this.#batch(numRecords % this.#recordsPerBatch)
    const byLeader = new Map<number, number[]>()
    for (const p of info.partitions) byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition])
    const lanes: Lane[] = []
    for (const [leader, partitions] of byLeader) {
      for (let c = 0; c < this.options.connections; c++) {
        const connection = c === 0 ? await this.client.brokerConnection(leader) : await this.client.dedicatedConnection(leader)
        lanes.push({ connection, partitions, next: c, inFlight: 0 })
      }
    }
    if (numRecords <= 0) return resultOf(this.stats)
    const finished = new Promise<void>((resolve, reject) => {
      this.#done = { resolve, reject }
    })
    this.stats.start()
    for (const lane of lanes) this.#pump(lane)
    try {
      await finished
    } finally {
      this.stats.endedAt = performance.now()
      if (this.#timer) clearTimeout(this.#timer)
      for (const lane of lanes.slice(1)) if (lane.connection !== lanes[0]!.connection) lane.connection.close()
    }
    return resultOf(this.stats)
  }

  #pump(lane: Lane): void {
    const { numRecords, throughput, maxInFlight, acks, topic } = this.options
    while (!this.#stopped && lane.inFlight < maxInFlight && this.#sent < numRecords) {
      if (throughput > 0) {
        const aheadMs = (this.#sent / throughput) * 1000 - (performance.now() - this.stats.startedAt)
        if (aheadMs > 1) {
          this.#timer ??= setTimeout(() => {
            this.#timer = null
            this.#pump(lane)
          }, aheadMs)
          return
        }
      }
      const count = Math.min(this.#recordsPerBatch, numRecords - this.#sent)
      const partition = lane.partitions[lane.next++ % lane.partitions.length]!
      const batch = this.#batch(count)
      this.#sent += count
      lane.inFlight++
      const body = {
        transactionalId: null, acks, timeoutMs: this.options.timeoutMs,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      }
      const t0 = performance.now()
      const sent = acks === 0
        ? lane.connection.sendOnly(0, body).then(() => null)
        : lane.connection.request(0, body, { timeoutMs: this.options.timeoutMs + 5000 })
      sent.then((res) => {
        const pr = res?.responses[0]?.partitionResponses[0]
        if (pr && pr.errorCode !== 0) throw new KafkaError(pr.errorCode, `producing to ${topic}-${partition}`, pr.errorMessage)
        lane.inFlight--
        this.stats.record(count, count * this.options.recordSize, (performance.now() - t0) * 1000)
        if (this.stats.records >= numRecords) this.#done?.resolve()
        else this.#pump(lane)
      }).catch((err: Error) => {
        this.#stopped = true
        this.#done?.reject(err)
      })
    }
    if (this.#stopped && lane.inFlight === 0) this.#done?.resolve()
  }

  /** Stops sending; run() resolves once the requests in flight are answered. */
  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#done?.resolve()
  }
}

export interface ConsumePerfOptions {
  topic: string
  messages: number
  fromLatest?: boolean
  /** Per-partition fetch size (default 1 MiB). */
  fetchSize?: number
  /** Give up when no record arrives for this long (default 10 s, as Kafka's --timeout). */
  timeoutMs?: number
}

export class ConsumePerf {
  readonly client: KafkaClient
  readonly options: ConsumePerfOptions
  readonly stats: PerfStats
  #stopped = false
  /** True when the run ended because no record came within the timeout. */
  timedOut = false

  constructor(client: KafkaClient, options: ConsumePerfOptions) {
    this.client = client
    this.options = options
    this.stats = new PerfStats(options.messages)
  }

  async run(): Promise<PerfResult> {
    const { topic, messages } = this.options
    const info = await this.client.topic(topic, { retryMs: 2000 })
    const fetcher = new Fetcher(this.client, { partitionMaxBytes: this.options.fetchSize ?? 1024 * 1024, maxWaitMs: 500 })
    fetcher.assign(info.partitions.map((p) => ({ topic, partition: p.partition, offset: this.options.fromLatest ? 'latest' : 'earliest' })))
    const timeoutMs = this.options.timeoutMs ?? 10_000
    try {
      await fetcher.resolveStarts()
      this.stats.start()
      let lastRecordAt = performance.now()
      while (!this.#stopped && this.stats.records < messages) {
        const t0 = performance.now()
        const data = await fetcher.pollRaw()
        const latencyUs = (performance.now() - t0) * 1000
        let records = 0
        let bytes = 0
        for (const d of data) {
          records += d.recordCount
          bytes += d.records.length
        }
        records = Math.min(records, messages - this.stats.records)
        if (records > 0) {
          lastRecordAt = performance.now()
          this.stats.record(records, bytes, latencyUs, 1)
        } else if (performance.now() - lastRecordAt > timeoutMs) {
          // The wait for records that never came is not part of the measurement.
          this.timedOut = true
          this.stats.endedAt = lastRecordAt
          break
        }
      }
    } finally {
      this.stats.endedAt ??= performance.now()
      fetcher.close()
    }
    return resultOf(this.stats)
  }

  stop(): void {
    this.#stopped = true
  }
}

export interface EndToEndPerfOptions {
  topic: string
  numRecords: number
  recordSize: number
  acks: number
  partition?: number
  timeoutMs?: number
}

export class EndToEndPerf {
  readonly client: KafkaClient
  readonly options: EndToEndPerfOptions
  readonly stats: PerfStats
  #stopped = false

  constructor(client: KafkaClient, options: EndToEndPerfOptions) {
    this.client = client
    this.options = options
    this.stats = new PerfStats(options.numRecords)
  }

  async run(): Promise<PerfResult> {
    const { topic, numRecords, recordSize, acks } = this.options
    const partition = this.options.partition ?? 0
    const timeoutMs = this.options.timeoutMs ?? 30_000
    await this.client.topic(topic, { allowAutoTopicCreation: true, retryMs: 10_000 })
    const { connection } = await this.client.leaderConnection(topic, partition)
    const fetcher = new Fetcher(this.client, { maxWaitMs: 1000, minBytes: 1 })
    fetcher.assign([{ topic, partition, offset: 'latest' }])
    try {
      await fetcher.resolveStarts()
      this.stats.start()
      for (let i = 0; i < numRecords && !this.#stopped; i++) {
        const batch = buildBatch({ records: [{ value: randomPayload(recordSize) }] })
        const body = {
          transactionalId: null, acks, timeoutMs,
          topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
        }
        const t0 = performance.now()
        let fetch = fetcher.pollRaw()
        if (acks === 0) await connection.sendOnly(0, body)
        else {
          const res = await connection.request(0, body)
          const pr = res.responses[0]?.partitionResponses[0]
          if (pr && pr.errorCode !== 0) throw new KafkaError(pr.errorCode, `producing to ${topic}-${partition}`, pr.errorMessage)
        }
        for (;;) {
          const got = (await fetch).reduce((n, d) => n + d.recordCount, 0)
          if (got > 0) break
          if (performance.now() - t0 > timeoutMs) throw new ClientError(`record ${i} was produced but not fetched within ${timeoutMs} ms`)
          fetch = fetcher.pollRaw()
        }
        this.stats.record(1, recordSize, (performance.now() - t0) * 1000)
      }
    } finally {
      this.stats.endedAt = performance.now()
      fetcher.close()
    }
    return resultOf(this.stats)
  }

  stop(): void {
    this.#stopped = true
  }
}
