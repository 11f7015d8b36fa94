/** Shared set-up for the runtime tests: temp log dirs, partition specs, record batches. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { PartitionSpec } from '../../../src/broker/partition-host.ts'
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../../src/storage/partition-log.ts'
import { buildRecordBatch } from '../../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../../src/storage/record-batch-reader.ts'

export const TOPIC_A = 'AAAAAAAAAAAAAAAAAAAAAA'
export const TOPIC_B = 'BBBBBBBBBBBBBBBBBBBBBB'

export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-runtime-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function specFor(logDir: string, o: { topic?: string; partition?: number; topicId?: string; owner?: string; leaderEpoch?: number; config?: Partial<LogConfig>; cleanShutdown?: boolean }): PartitionSpec {
  const topic = o.topic ?? 'orders'
  const partition = o.partition ?? 0
  return {
    owner: o.owner ?? 'broker-1', dir: join(logDir, `${topic}-${partition}`), topic, partition, topicId: o.topicId ?? TOPIC_A,
    leaderEpoch: o.leaderEpoch ?? 0, config: { ...DEFAULT_LOG_CONFIG, ...o.config }, recoveryPoint: 0, cleanShutdown: o.cleanShutdown ?? true,
  }
}

/** A batch of `count` records valued `${tag}-${i}`. */
export function batch(tag: string, count = 1): Buffer {
  return buildRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: `${tag}-${i}` })), timestamp: 1_700_000_000_000 })
}

/** The record values in a fetched records Buffer, in offset order. */
export function valuesOf(records: Buffer): string[] {
  return decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.value?.toString('utf8') ?? ''))
}

export function offsetsOf(records: Buffer): number[] {
  return decodeRecordBatches(records).flatMap((b) => b.records.map((r) => r.offset))
}
