/** Shared set-up for the storage tests: temp dirs, a controllable clock, opening a partition. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { FileHandleCache } from '../../../src/storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '../../../src/storage/partition-log.ts'
import { buildRecordBatch, type BuilderRecord } from '../../../src/storage/record-batch-builder.ts'

export const TOPIC_ID = 'c2Ftc2EtdGVzdC10b3BpYw'

export function tempDir(t: Test, prefix = 'samsa-storage-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export class Clock {
  ms = 1_700_000_000_000
  now = (): number => this.ms
}

export interface Harness {
  dir: string
  fds: FileHandleCache
  clock: Clock
  open(o?: { clean?: boolean; recoveryPoint?: number; config?: Partial<LogConfig>; logStartOffset?: number; topicId?: string }): PartitionLog
}

export function harness(t: Test, config: Partial<LogConfig> = {}): Harness {
  const root = tempDir(t)
  const fds = new FileHandleCache(32)
  t.teardown(() => fds.closeAll())
  const clock = new Clock()
  const dir = join(root, 'orders-0')
  return {
    dir, fds, clock,
    open: (o = {}) => PartitionLog.open({
      dir, topic: 'orders', partition: 0, topicId: o.topicId ?? TOPIC_ID,
      config: { ...DEFAULT_LOG_CONFIG, ...config, ...o.config }, now: clock.now,
      recoveryPoint: o.recoveryPoint ?? 0, cleanShutdown: o.clean ?? true, fds,
      ...(o.logStartOffset === undefined ? {} : { logStartOffset: o.logStartOffset }),
    }),
  }
}

/** A batch of `count` records whose values name their index: `${tag}-${i}`. */
export function batchOf(count: number, tag: string, extra: { timestamp?: number; valueBytes?: number; producerId?: number; producerEpoch?: number; baseSequence?: number } = {}): Buffer {
  const records: BuilderRecord[] = []
  for (let i = 0; i < count; i++) {
    const value = `${tag}-${i}`
    records.push({ key: `k${i}`, value: extra.valueBytes ? value.padEnd(extra.valueBytes, '.') : value })
  }
  return buildRecordBatch({
    records, timestamp: extra.timestamp ?? 1_700_000_000_000,
    ...(extra.producerId === undefined ? {} : { producerId: extra.producerId, producerEpoch: extra.producerEpoch ?? 0, baseSequence: extra.baseSequence ?? 0 }),
  })
}
