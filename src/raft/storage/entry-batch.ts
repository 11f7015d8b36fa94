/**
 * Raft entries as RecordBatches, the broker's own on-disk format.
 *
 * One entry is one batch of one record: baseOffset = the entry's offset (see offsets.ts),
 * partitionLeaderEpoch = the entry's Raft term, the record's value = the entry's data. A no-op
 * entry (what a new leader appends in its term) is a control batch whose one record has KRaft's
 * LEADER_CHANGE control key (version 0, type 2) and an empty value, so Kafka tools see what
 * KRaft writes at the start of an epoch (without its LeaderChangeMessage body). A config entry
 * (one voter added or removed, membership.ts) is a control batch with KRaft's KRAFT_VOTERS key
 * (version 0, type 6) whose value is our own encoding of the change and the resulting voter set
 * (not KRaft's VotersRecord). Logs written before membership changes hold no type-6 batch, so
 * they read back unchanged; a control batch of any other type is rejected, never read as data.
 */
import { assert } from '../../lib/assert.ts'
import { buildRecordBatch } from '../../storage/record-batch-builder.ts'
import { decodeRecordBatch } from '../../storage/record-batch-reader.ts'
import { LOG_OVERHEAD, batchSizeOf } from '../../storage/record-batch.ts'
import type { Entry } from '../types.ts'
import { indexOfOffset, offsetOfIndex } from './offsets.ts'

/** ControlRecordType key: int16 version 0, int16 type 2 (LEADER_CHANGE). */
const LEADER_CHANGE_KEY = Buffer.from([0, 0, 0, 2])
/** ControlRecordType key: int16 version 0, int16 type 6 (KRAFT_VOTERS). */
const KRAFT_VOTERS_KEY = Buffer.from([0, 0, 0, 6])
const EMPTY = new Uint8Array(0)

/** The batch of one entry, offset and epoch stamped, CRC valid. */
export function encodeEntry(e: Entry, timestamp: number): Buffer {
  const control = e.kind !== 'data'
  const key = e.kind === 'noop' ? LEADER_CHANGE_KEY : e.kind === 'config' ? KRAFT_VOTERS_KEY : null
  return buildRecordBatch({
    records: [{ key, value: e.kind === 'noop' ? null : e.data }],
    baseOffset: offsetOfIndex(e.index), partitionLeaderEpoch: e.term, isControl: control, timestamp,
  })
}

/** One buffer with the batches of `entries`, ready for PartitionLog.appendAsFollower. */
export function encodeEntries(entries: readonly Entry[], timestamp: number): Buffer {
  if (entries.length === 1) return encodeEntry(entries[0]!, timestamp)
  return Buffer.concat(entries.map((e) => encodeEntry(e, timestamp)))
}

/** Decodes whole batches from `buf` (as PartitionLog.read returns them) into entries. */
export function decodeEntries(buf: Buffer): Entry[] {
  const out: Entry[] = []
  for (let pos = 0; buf.length - pos >= LOG_OVERHEAD; pos += batchSizeOf(buf, pos)) {
    const b = decodeRecordBatch(buf, pos)
    assert(b.records.length === 1 && b.lastOffsetDelta === 0, `raft log batch at offset ${b.baseOffset} holds ${b.records.length} records, not 1`)
    const r = b.records[0]!
    let kind: Entry['kind'] = 'data'
    if (b.isControl) {
      if (r.key?.equals(LEADER_CHANGE_KEY)) kind = 'noop'
      else if (r.key?.equals(KRAFT_VOTERS_KEY)) kind = 'config'
      else assert(false, `raft log control batch at offset ${b.baseOffset} has an unknown key`)
    }
    out.push({
      index: indexOfOffset(b.baseOffset), term: b.partitionLeaderEpoch,
      kind, data: kind === 'noop' ? EMPTY : (r.value ?? EMPTY),
    })
  }
  return out
}
