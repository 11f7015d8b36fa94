/**
 * Idempotent-producer state of one partition (Kafka's ProducerStateManager / ProducerAppendInfo).
 *
 * Per producer id: the current epoch and the metadata of its last 5 batches (sequence range →
 * offsets), so a retried batch is recognised and answered with its original offsets. Checks, in
 * AK's order: duplicate (same epoch and sequence range as a cached batch) → epoch fencing → sequence
 * continuity. A producer we know nothing about may start at any sequence (KIP-360).
 *
 * Snapshots: `<20-digit offset>.snapshot`, Kafka's version-1 layout (see the storage README):
 * i16 version, u32 CRC-32C of everything after it, i32 count, then per producer
 * i64 id, i16 epoch, i32 last sequence, i64 last offset, i32 offset delta, i64 timestamp,
 * i32 coordinator epoch, i64 current transaction first offset. Like Kafka, only each producer's
 * last batch survives a snapshot.
 */
import { crc32c } from '@node-rs/crc32'
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { assert } from '../lib/assert.ts'
import { writeFileAtomically } from './checkpoint-file.ts'
import { readInt64, writeInt64 } from './record-batch.ts'
import { filenamePrefixFromOffset } from './segment.ts'

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. */
export const BATCHES_TO_RETAIN = 5
const SNAPSHOT_VERSION = 1
const SNAPSHOT_HEADER = 2 + 4 + 4
const SNAPSHOT_ENTRY = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
const SNAPSHOTS_TO_KEEP = 3
const INT32_MAX = 0x7fffffff

export type ProducerError = 'out_of_order_sequence_number' | 'invalid_producer_epoch' | 'invalid_txn_state'

export type ProducerCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; error: ProducerError; message: string }

interface BatchMetadata {
  firstSeq: number
  lastSeq: number
  firstOffset: number
  lastOffset: number
}

interface ProducerEntry {
  epoch: number
  /** Oldest first, at most BATCHES_TO_RETAIN. */
  batches: BatchMetadata[]
  /** now() of the last append (used for producer.id.expiration.ms). */
  lastTimestamp: number
  coordinatorEpoch: number
  /** First offset of the producer's open transaction, or -1. */
  currentTxnFirstOffset: number
}

/** The sequence `count - 1` after `baseSequence`, wrapping at Int32.MAX like DefaultRecordBatch.incrementSequence. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  const last = baseSequence + lastOffsetDelta
  return last > INT32_MAX ? last - INT32_MAX - 1 : last
}

const inSequence = (lastSeq: number, nextSeq: number): boolean => nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)

const ACCEPT: ProducerCheck = { kind: 'append' }

export class ProducerStateManager {
  readonly dir: string
  private readonly producers = new Map<number, ProducerEntry>()

  constructor(dir: string) {
    this.dir = dir
  }

  get producerCount(): number {
    return this.producers.size
  }

  /** Decides what to do with a client batch of producer `producerId` (>= 0). Changes nothing. */
  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number, isTransactional: boolean): ProducerCheck {
    const entry = this.producers.get(producerId)
    if (entry === undefined) return ACCEPT
    if (epoch === entry.epoch) {
      for (const b of entry.batches) {
        if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', firstOffset: b.firstOffset, lastOffset: b.lastOffset }
      }
    }
    if (epoch < entry.epoch) {
      return { kind: 'error', error: 'invalid_producer_epoch', message: `epoch ${epoch} is older than the current epoch ${entry.epoch}` }
    }
    if (epoch > entry.epoch) {
      if (firstSeq !== 0) {
        return { kind: 'error', error: 'out_of_order_sequence_number', message: `sequence ${firstSeq} for new epoch ${epoch} must be 0` }
      }
    } else {
      const last = entry.batches.at(-1)
      if (last !== undefined && !inSequence(last.lastSeq, firstSeq)) {
        return { kind: 'error', error: 'out_of_order_sequence_number', message: `sequence ${firstSeq} does not follow ${last.lastSeq}` }
      }
    }
    if (!isTransactional && entry.currentTxnFirstOffset >= 0) {
      return { kind: 'error', error: 'invalid_txn_state', message: `non-transactional write while a transaction is open` }
    }
    return ACCEPT
  }

  /** Records an appended batch (client or replicated/recovered). */
  update(producerId: number, epoch: number, firstSeq: number, lastSeq: number, firstOffset: number, lastOffset: number, now: number, isTransactional: boolean): void {
    let entry = this.producers.get(producerId)
    if (entry === undefined) {
      entry = { epoch, batches: [], lastTimestamp: now, coordinatorEpoch: -1, currentTxnFirstOffset: -1 }
      this.producers.set(producerId, entry)
    }
    if (epoch !== entry.epoch) {
      entry.epoch = epoch
      entry.batches = []
    }
    entry.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset })
    if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift()
    entry.lastTimestamp = now
    if (isTransactional && entry.currentTxnFirstOffset < 0) entry.currentTxnFirstOffset = firstOffset
  }

  /** The first offset of the oldest open transaction (bounds the last stable offset), or -1. */
  firstUnstableOffset(): number {
    let first = -1
    for (const e of this.producers.values()) {
      if (e.currentTxnFirstOffset >= 0 && (first < 0 || e.currentTxnFirstOffset < first)) first = e.currentTxnFirstOffset
    }
    return first
  }

  /** Forgets producers idle for `expirationMs` without an open transaction (producer.id.expiration.ms). True if any went. */
  removeExpired(now: number, expirationMs: number): boolean {
    const before = this.producers.size
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset < 0 && now - e.lastTimestamp >= expirationMs) this.producers.delete(id)
    }
    return this.producers.size !== before
  }

  clear(): void {
    this.producers.clear()
  }

  /** Writes `<offset>.snapshot` covering every batch below `offset`, and prunes old snapshots. */
  takeSnapshot(offset: number): void {
    const buf = Buffer.alloc(SNAPSHOT_HEADER + this.producers.size * SNAPSHOT_ENTRY)
    buf.writeInt16BE(SNAPSHOT_VERSION, 0)
    buf.writeInt32BE(this.producers.size, 6)
    let pos = SNAPSHOT_HEADER
    for (const [id, e] of this.producers) {
      const last = e.batches.at(-1)
      assert(last !== undefined, 'a producer entry always has a batch')
      writeInt64(buf, pos, id)
      buf.writeInt16BE(e.epoch, pos + 8)
      buf.writeInt32BE(last.lastSeq, pos + 10)
      writeInt64(buf, pos + 14, last.lastOffset)
      buf.writeInt32BE(last.lastOffset - last.firstOffset, pos + 22)
      writeInt64(buf, pos + 26, e.lastTimestamp)
      buf.writeInt32BE(e.coordinatorEpoch, pos + 34)
      writeInt64(buf, pos + 38, e.currentTxnFirstOffset)
      pos += SNAPSHOT_ENTRY
    }
    buf.writeUInt32BE(crc32c(buf.subarray(6)) >>> 0, 2)
    writeFileAtomically(`${this.dir}/${filenamePrefixFromOffset(offset)}.snapshot`, buf)
    for (const old of this.snapshotOffsets().slice(0, -SNAPSHOTS_TO_KEEP)) this.deleteSnapshot(old)
  }

  /**
   * Loads the newest valid snapshot at or below `maxOffset`, deleting newer ones (the log was cut
   * below them) and damaged ones. Returns the snapshot's offset, or -1 with empty state.
   */
  loadSnapshot(maxOffset: number): number {
    this.producers.clear()
    const offsets = this.snapshotOffsets()
    for (let i = offsets.length - 1; i >= 0; i--) {
      const offset = offsets[i]!
      if (offset > maxOffset || !this.readSnapshot(offset)) {
        this.deleteSnapshot(offset)
        continue
      }
      return offset
    }
    return -1
  }

  private readSnapshot(offset: number): boolean {
    const buf = readFileSync(`${this.dir}/${filenamePrefixFromOffset(offset)}.snapshot`)
    if (buf.length < SNAPSHOT_HEADER || buf.readInt16BE(0) !== SNAPSHOT_VERSION) return false
    if ((crc32c(buf.subarray(6)) >>> 0) !== buf.readUInt32BE(2)) return false
    const count = buf.readInt32BE(6)
    if (buf.length !== SNAPSHOT_HEADER + count * SNAPSHOT_ENTRY) return false
    for (let i = 0, pos = SNAPSHOT_HEADER; i < count; i++, pos += SNAPSHOT_ENTRY) {
      const lastSeq = buf.readInt32BE(pos + 10)
      const lastOffset = readInt64(buf, pos + 14)
      const delta = buf.readInt32BE(pos + 22)
      const firstSeq = lastSeq - delta < 0 ? lastSeq - delta + INT32_MAX + 1 : lastSeq - delta
      this.producers.set(readInt64(buf, pos), {
        epoch: buf.readInt16BE(pos + 8),
        batches: [{ firstSeq, lastSeq, firstOffset: lastOffset - delta, lastOffset }],
        lastTimestamp: readInt64(buf, pos + 26),
        coordinatorEpoch: buf.readInt32BE(pos + 34),
        currentTxnFirstOffset: readInt64(buf, pos + 38),
      })
    }
    return true
  }

  /** Offsets of the snapshot files in the directory, ascending. */
  snapshotOffsets(): number[] {
    const offsets: number[] = []
    for (const name of readdirSync(this.dir)) {
      const m = /^(\d{20})\.snapshot$/.exec(name)
      if (m !== null) offsets.push(Number(m[1]))
    }
    return offsets.sort((a, b) => a - b)
  }

  deleteSnapshotsAbove(offset: number): void {
    for (const o of this.snapshotOffsets()) if (o > offset) this.deleteSnapshot(o)
  }

  private deleteSnapshot(offset: number): void {
    rmSync(`${this.dir}/${filenamePrefixFromOffset(offset)}.snapshot`, { force: true })
  }
}
