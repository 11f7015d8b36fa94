/**
 * Raft snapshots as KRaft-style checkpoint files: `<endOffset:20>-<epoch:10>.checkpoint` in the
 * log directory, where endOffset is the snapshot's exclusive end offset (offsets.ts) and epoch the
 * term of its last entry.
 *
 * The file is a sequence of RecordBatches (offsets 0.., epoch = the term), CRC-checked on read:
 *   1. a control batch with a SnapshotHeader key (version 0, type 3) whose value is our JSON
 *      header {version, index, term, voters, learners?, bytes, chunks} (`learners` only when
 *      there are any, so files without learners are those of older builds);
 *   2. data batches, one record each, holding the state-machine image in chunks of ≤ 1 MiB;
 *   3. a control batch with a SnapshotFooter key (version 0, type 4), empty value.
 * (Kafka's ControlRecordType numbers. Builds before 2026-11-26 wrote types 4 and 5; such files
 * are still read, as a pair.)
 * It is written to `<name>.tmp` (removed by the log loader if a crash leaves it), fsynced and
 * renamed, so a checkpoint that exists is complete; the footer and CRCs catch anything else.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomically } from '../../storage/checkpoint-file.ts'
import { buildRecordBatch } from '../../storage/record-batch-builder.ts'
import { decodeRecordBatch } from '../../storage/record-batch-reader.ts'
import { LOG_OVERHEAD, batchSizeOf, isCrcValid } from '../../storage/record-batch.ts'
import type { NodeId, Snapshot } from '../types.ts'
import { snapshotEndOffset } from './offsets.ts'

const HEADER_KEY = Buffer.from([0, 0, 0, 3])
const FOOTER_KEY = Buffer.from([0, 0, 0, 4])
const LEGACY_HEADER_KEY = Buffer.from([0, 0, 0, 4])
const LEGACY_FOOTER_KEY = Buffer.from([0, 0, 0, 5])
const CHUNK_BYTES = 1 << 20
const NAME = /^(\d{20})-(\d{10})\.checkpoint$/

export function snapshotFileName(index: number, term: number): string {
  return `${String(snapshotEndOffset(index)).padStart(20, '0')}-${String(term).padStart(10, '0')}.checkpoint`
}

export function writeSnapshotFile(dir: string, snap: Snapshot, durable: boolean, timestamp: number): string {
  const { index, term, voters } = snap.meta
  const learners = snap.meta.learners ?? []
  const chunks: Uint8Array[] = []
  for (let at = 0; at < snap.data.byteLength; at += CHUNK_BYTES) chunks.push(snap.data.subarray(at, at + CHUNK_BYTES))
  const header = JSON.stringify({ version: 0, index, term, voters, ...(learners.length > 0 ? { learners } : {}), bytes: snap.data.byteLength, chunks: chunks.length })
  const batches: Buffer[] = [buildRecordBatch({ records: [{ key: HEADER_KEY, value: header }], baseOffset: 0, partitionLeaderEpoch: term, isControl: true, timestamp })]
  chunks.forEach((c, i) => batches.push(buildRecordBatch({ records: [{ value: c }], baseOffset: i + 1, partitionLeaderEpoch: term, timestamp })))
  batches.push(buildRecordBatch({ records: [{ key: FOOTER_KEY, value: null }], baseOffset: chunks.length + 1, partitionLeaderEpoch: term, isControl: true, timestamp }))
  const name = snapshotFileName(index, term)
  writeFileAtomically(join(dir, name), Buffer.concat(batches), durable)
  return name
}

/** Checkpoint files in `dir`, newest (largest end offset) first. */
export function listSnapshotFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => NAME.test(n)).sort().reverse()
}

/** Parses and checks one checkpoint; null when it is damaged or does not match its name. */
export function readSnapshotFile(dir: string, name: string): Snapshot | null {
  const m = NAME.exec(name)
  if (m === null) return null
  const buf = readFileSync(join(dir, name))
  const values: Array<{ control: boolean; key: Buffer | null; value: Buffer | null }> = []
  let pos = 0
  for (; buf.length - pos >= LOG_OVERHEAD; pos += batchSizeOf(buf, pos)) {
    if (pos + batchSizeOf(buf, pos) > buf.length || !isCrcValid(buf, pos)) return null
    const b = decodeRecordBatch(buf, pos)
    if (b.records.length !== 1 || b.baseOffset !== values.length) return null
    values.push({ control: b.isControl, key: b.records[0]!.key, value: b.records[0]!.value })
  }
  if (pos !== buf.length) return null
  const first = values[0]
  const last = values.at(-1)
  if (first === undefined || last === undefined || values.length < 2 || !first.control || !last.control) return null
  const keysMatch = (first.key?.equals(HEADER_KEY) === true && last.key?.equals(FOOTER_KEY) === true) ||
    (first.key?.equals(LEGACY_HEADER_KEY) === true && last.key?.equals(LEGACY_FOOTER_KEY) === true)
  if (!keysMatch || first.value === null) return null
  let h: { version: number; index: number; term: number; voters: NodeId[]; learners?: NodeId[]; bytes: number; chunks: number }
  try {
    h = JSON.parse(first.value.toString('utf8')) as typeof h
  } catch {
    return null
  }
  const chunks = values.slice(1, -1)
  if (h.version !== 0 || h.chunks !== chunks.length || snapshotFileName(h.index, h.term) !== name) return null
  const data = Buffer.concat(chunks.map((c) => c.value ?? Buffer.alloc(0)))
  if (data.length !== h.bytes) return null
  const learners = h.learners ?? []
  return { meta: { index: h.index, term: h.term, voters: h.voters, ...(learners.length > 0 ? { learners } : {}) }, data }
}

export function deleteSnapshotFile(dir: string, name: string): void {
  rmSync(join(dir, name), { force: true })
}
