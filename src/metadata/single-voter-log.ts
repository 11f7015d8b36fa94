/**
 * The metadata log of a one-voter quorum: this node is the whole quorum, so a proposal is
 * committed once it is durable on this node's disk.
 *
 * Storage is the broker's own log format: RecordBatches in `__cluster_metadata-0/` with the
 * Raft epoch in partitionLeaderEpoch (always 1 here), each record value a Kafka metadata record.
 * A proposal becomes one batch (so it is applied atomically), written and fsynced before it
 * counts as committed. Runs on the main thread: metadata writes are small and rare, and the
 * Raft quorum will replace this class behind the same MetadataLog interface.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../lib/logger.ts'
import { assert } from '../lib/assert.ts'
import { PartitionLog, DEFAULT_LOG_CONFIG } from '../storage/partition-log.ts'
import { FileHandleCache } from '../storage/file-handles.ts'
import { buildRecordBatch } from '../storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../storage/record-batch-reader.ts'
import type { CommittedBatch, MetadataLog, ProposeResult } from './metadata-log.ts'
import type { MetadataRecord } from './records.ts'
import { decodeMetadataRecord, encodeMetadataRecord } from './record-codec.ts'

/** Kafka's reserved topic id of `__cluster_metadata` (Uuid.METADATA_TOPIC_ID). */
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'
export const METADATA_TOPIC = '__cluster_metadata'
const SINGLE_VOTER_EPOCH = 1
const REPLAY_CHUNK_BYTES = 1 << 20

export class SingleVoterLog implements MetadataLog {
  readonly #dir: string
  readonly #nodeId: number
  readonly #log: Logger
  readonly #fds = new FileHandleCache(16)
  #partition: PartitionLog | null = null
  readonly #listeners: ((batch: CommittedBatch) => void)[] = []

  constructor(o: { metadataLogDir: string; nodeId: number; log: Logger }) {
    this.#dir = join(o.metadataLogDir, `${METADATA_TOPIC}-0`)
    this.#nodeId = o.nodeId
    this.#log = o.log
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    this.#listeners.push(listener)
  }

  async start(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true })
    // Always recover: the metadata log is small, and a torn tail must never reach the image.
    this.#partition = PartitionLog.open({
      dir: this.#dir, topic: METADATA_TOPIC, partition: 0, topicId: METADATA_TOPIC_ID,
      config: { ...DEFAULT_LOG_CONFIG, flushIntervalMessages: 1 }, now: Date.now,
      recoveryPoint: 0, cleanShutdown: false, fds: this.#fds,
    })
    if (this.#partition.leaderEpoch < SINGLE_VOTER_EPOCH) this.#partition.assignLeaderEpoch(SINGLE_VOTER_EPOCH)
    const replayed = this.#replay()
    this.#log.info({ records: replayed, endOffset: this.#partition.logEndOffset }, 'metadata log replayed')
  }

  #replay(): number {
    const p = this.#partition!
    let offset = p.logStartOffset
    let count = 0
    while (offset < p.logEndOffset) {
      const read = p.read(offset, REPLAY_CHUNK_BYTES, p.logEndOffset, true)
      assert(!('error' in read), `metadata log read failed at ${offset}`)
      const batches = decodeRecordBatches(read.records)
      assert(batches.length > 0, `metadata log has no batch at ${offset}`)
      for (const b of batches) {
        const records = b.records.map((r) => decodeMetadataRecord(r.value!))
        this.#deliver({ baseOffset: b.baseOffset, records })
        count += records.length
        offset = b.baseOffset + b.lastOffsetDelta + 1
      }
    }
    p.setHighWatermark(p.logEndOffset)
    return count
  }

  #deliver(batch: CommittedBatch): void {
    for (const l of this.#listeners) l(batch)
  }

  async propose(records: readonly MetadataRecord[]): Promise<ProposeResult> {
    const p = this.#partition
    assert(p, 'metadata log not started')
    assert(records.length > 0, 'empty proposal')
    const batch = buildRecordBatch({ records: records.map((r) => ({ key: null, value: encodeMetadataRecord(r) })), timestamp: Date.now() })
    const appended = p.append(batch, SINGLE_VOTER_EPOCH)
    assert(!('error' in appended), `metadata append failed: ${'error' in appended ? appended.error : ''}`)
    // Committed means durable: fsync before anyone learns of it.
    p.flush()
    p.setHighWatermark(p.logEndOffset)
    this.#deliver({ baseOffset: appended.ok.baseOffset, records })
    return { offset: appended.ok.lastOffset }
  }

  async readBarrier(): Promise<number> {
    return (this.#partition?.logEndOffset ?? 0) - 1
  }

  leaderId(): number | null {
    return this.#nodeId
  }

  async close(): Promise<void> {
    this.#partition?.close()
    this.#partition = null
    this.#fds.closeAll?.()
  }
}
