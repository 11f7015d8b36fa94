/**
 * A broker's Prometheus metrics (prom-client), one registry per broker: several brokers may share
 * a process in library mode, and each scrape must describe one of them.
 *
 * Two kinds:
 * - Event counts, updated where the event happens: requests per API (count, failures, latency
 *   from the frame's dispatch to its response being ready), rejected frames, produced and fetched
 *   bytes per topic. Each update is a label lookup and an add, once per request or per topic of
 *   a request — never per record.
 * - State, read when scraped: per-partition offsets (from the shards' watermark tables, no
 *   round trip), under-replicated partitions (from the metadata image), open connections, and
 *   consumer-group lag (committed offsets asked of the group coordinator, compared with the high
 *   watermark). Nothing to keep in sync between scrapes, and no cost when nobody scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface PartitionOffsets {
  readonly topic: string
  readonly partition: number
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly logEndOffset: number
}

/** What the scrape-time gauges read. */
export interface MetricsSources {
  /** Every partition replica this broker hosts, with its current offsets. */
  partitions(): Iterable<PartitionOffsets>
  /** Partitions whose ISR is smaller than their replica set, across the cluster's metadata. */
  underReplicatedPartitions(): number
  connections(): number
  /** Committed offsets of the groups this node coordinates; null when no coordinator runs (nothing is started for a scrape). */
  committedOffsets(): Promise<{ group: string; topic: string; partition: number; offset: number }[] | null>
}

/** Why a frame was refused before any handler saw it (the connection is closed, as Kafka does). */
export type RejectReason = 'unknown_api' | 'unsupported_version' | 'malformed'

/** Latency buckets in seconds: sub-millisecond appends up to long polls and parked joins. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export class BrokerMetrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'api'>
  readonly #failed: Counter<'api'>
  readonly #latency: Histogram<'api'>
  readonly #rejected: Counter<'reason'>
  readonly #bytesIn: Counter<'topic'>
  readonly #recordsIn: Counter<'topic'>
  readonly #bytesOut: Counter<'topic'>

  constructor(nodeId: number, sources: MetricsSources) {
    const registers = [this.registry]
    this.registry.setDefaultLabels({ node_id: String(nodeId) })
    collectDefaultMetrics({ register: this.registry, prefix: 'samsa_' })
    this.#requests = new Counter({ name: 'samsa_requests_total', help: 'Requests handled, by API', labelNames: ['api'], registers })
    this.#failed = new Counter({ name: 'samsa_requests_failed_total', help: 'Requests that ended with the connection closed (bad input, or an internal error), by API', labelNames: ['api'], registers })
    this.#latency = new Histogram({ name: 'samsa_request_duration_seconds', help: 'Time from dispatch to response ready, by API (long polls and rebalances included)', labelNames: ['api'], buckets: LATENCY_BUCKETS, registers })
    this.#rejected = new Counter({ name: 'samsa_frames_rejected_total', help: 'Frames refused before any handler (unknown API key, unsupported version, undecodable)', labelNames: ['reason'], registers })
    this.#bytesIn = new Counter({ name: 'samsa_topic_bytes_in_total', help: 'Record batch bytes appended by Produce, by topic', labelNames: ['topic'], registers })
    this.#recordsIn = new Counter({ name: 'samsa_topic_records_in_total', help: 'Records appended by Produce, by topic', labelNames: ['topic'], registers })
    this.#bytesOut = new Counter({ name: 'samsa_topic_bytes_out_total', help: 'Record batch bytes returned by Fetch, by topic', labelNames: ['topic'], registers })

    new Gauge({ name: 'samsa_connections', help: 'Open client connections', registers, collect() { this.set(sources.connections()) } })
    new Gauge({ name: 'samsa_under_replicated_partitions', help: 'Partitions whose ISR is smaller than their replica set', registers, collect() { this.set(sources.underReplicatedPartitions()) } })
    const offsetGauge = (name: string, help: string, pick: (p: PartitionOffsets) => number): void => {
      new Gauge({
        name, help, labelNames: ['topic', 'partition'], registers,
        collect() {
          this.reset() // partitions of deleted topics must disappear
          for (const p of sources.partitions()) this.set({ topic: p.topic, partition: String(p.partition) }, pick(p))
        },
      })
    }
    offsetGauge('samsa_partition_log_start_offset', 'First offset still in the log', (p) => p.logStartOffset)
    offsetGauge('samsa_partition_high_watermark', 'High watermark: offsets below it are committed and readable', (p) => p.highWatermark)
    offsetGauge('samsa_partition_log_end_offset', 'Offset the next appended record gets', (p) => p.logEndOffset)
    new Gauge({
      name: 'samsa_consumer_group_lag', help: 'High watermark minus the group\'s committed offset, per partition with a commit',
      labelNames: ['group', 'topic', 'partition'], registers,
      async collect() {
        this.reset()
        const committed = await sources.committedOffsets()
        if (committed === null) return
        const hw = new Map<string, number>()
        for (const p of sources.partitions()) hw.set(`${p.topic}\u0000${p.partition}`, p.highWatermark)
        for (const c of committed) {
          const end = hw.get(`${c.topic}\u0000${c.partition}`)
          if (end === undefined || c.offset < 0) continue
          this.set({ group: c.group, topic: c.topic, partition: String(c.partition) }, Math.max(0, end - c.offset))
        }
      },
    })
  }

  /** Call when a request reaches its handler; the returned function when it is answered (failed: the connection closes). */
  requestStarted(api: string): (failed: boolean) => void {
    const end = this.#latency.startTimer({ api })
    return (failed) => {
      end()
      this.#requests.inc({ api })
      if (failed) this.#failed.inc({ api })
    }
  }

  rejected(reason: RejectReason): void {
    this.#rejected.inc({ reason })
  }

  produced(topic: string, bytes: number, records: number): void {
    this.#bytesIn.inc({ topic }, bytes)
    this.#recordsIn.inc({ topic }, records)
  }

  fetched(topic: string, bytes: number): void {
    this.#bytesOut.inc({ topic }, bytes)
  }
}
