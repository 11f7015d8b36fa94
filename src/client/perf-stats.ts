/**
 * What `samsa perf` measures with and prints: HDR latency histograms (microseconds in,
 * milliseconds out), throughput over the whole run and per reporting window, the result record.
 */
import { performance } from 'node:perf_hooks'
import { randomInt } from 'node:crypto'
import * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
}

export interface LatencySummary {
  avg: number
  p50: number
  p95: number
  p99: number
  p999: number
  max: number
}

const round = (n: number): number => Math.round(n * 1000) / 1000

/** Milliseconds from a histogram of microseconds. */
export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { avg: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 }
  // Percentiles come back as the top of their bucket, which may lie above the exact maximum.
  const at = (p: number): number => round(Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000)
  return { avg: round(h.mean / 1000), p50: at(50), p95: at(95), p99: at(99), p999: at(99.9), max: round(h.maxValue / 1000) }
}

/** Counters a progress display may read at any time. */
export class PerfStats {
  readonly total: number
  readonly histogram = newHistogram()
  records = 0
  bytes = 0
  startedAt = performance.now()
  endedAt: number | null = null
  /** Since the last `takeWindow()`. */
  windowRecords = 0
  windowBytes = 0
  windowLatencySumUs = 0
  windowLatencyCount = 0
  windowLatencyMaxUs = 0
  windowStartedAt = performance.now()

  constructor(total: number) {
    this.total = total
  }

  start(): void {
    this.startedAt = this.windowStartedAt = performance.now()
  }

  /**
   * Counts records and bytes, and a latency observed `weight` times (default: once per record,
   * as for produce acknowledgements; once per request for fetch round trips).
   */
  record(records: number, bytes: number, latencyUs: number | null, weight = records): void {
    this.records += records
    this.bytes += bytes
    this.windowRecords += records
    this.windowBytes += bytes
    if (latencyUs !== null && weight > 0) {
      const us = Math.max(1, Math.round(latencyUs))
      this.histogram.recordValueWithCount(us, weight)
      this.windowLatencySumUs += us * weight
      this.windowLatencyCount += weight
      if (us > this.windowLatencyMaxUs) this.windowLatencyMaxUs = us
    }
  }

  elapsedMs(): number {
    return (this.endedAt ?? performance.now()) - this.startedAt
  }

  /** Counters since the previous call (for Kafka-style interval lines). */
  takeWindow(): { records: number; bytes: number; ms: number; avgLatencyMs: number; maxLatencyMs: number } {
    const now = performance.now()
    const w = {
      records: this.windowRecords, bytes: this.windowBytes, ms: now - this.windowStartedAt,
      avgLatencyMs: this.windowLatencyCount ? this.windowLatencySumUs / this.windowLatencyCount / 1000 : 0,
      maxLatencyMs: this.windowLatencyMaxUs / 1000,
    }
    this.windowRecords = this.windowBytes = this.windowLatencySumUs = this.windowLatencyCount = this.windowLatencyMaxUs = 0
    this.windowStartedAt = now
    return w
  }
}

export interface PerfResult {
  records: number
  bytes: number
  elapsedMs: number
  recordsPerSec: number
  mbPerSec: number
  latencyMs: LatencySummary
}

export function resultOf(stats: PerfStats): PerfResult {
  const elapsedMs = stats.elapsedMs()
  const secs = Math.max(elapsedMs, 0.001) / 1000
  return {
    records: stats.records, bytes: stats.bytes, elapsedMs: round(elapsedMs),
    recordsPerSec: round(stats.records / secs), mbPerSec: round(stats.bytes / 1024 / 1024 / secs),
    latencyMs: summarize(stats.histogram),
  }
}

/** `size` random uppercase letters, like Kafka's ProducerPerformance payloads. */
export function randomPayload(size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = 65 + randomInt(26)
  return b
}
