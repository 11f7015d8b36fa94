/**
 * Durable RaftStorage on the broker's storage engine: the entries live in a PartitionLog
 * (`__cluster_metadata-0/`-style directory, one RecordBatch per entry, the term in
 * partitionLeaderEpoch), the hard state in `quorum-state`, snapshots in `.checkpoint` files.
 *
 * Write order (the host's Ready loop, src/raft/host/raft-host.ts): applySnapshot → append →
 * sync → setHardState, and only then send. So entries are durable before a hard state that
 * counts them, and both before any message that depends on them.
 *
 * Recovery on open: the PartitionLog recovers every segment from the snapshot's end offset (a torn
 * tail is cut after the last intact batch); the newest valid checkpoint wins; a log that
 * disagrees with it (a crash between installing a snapshot and truncating) is reset to start at
 * the snapshot's end.
 *
 * Reads: the newest entries are kept in a bounded in-memory tail (the leader reads what it just
 * appended to replicate it); older ones come from the segments. Terms of entries outside the
 * tail come from the log's leader-epoch cache, which is exactly the list of term starts.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { assert } from '../../lib/assert.ts'
import { FileHandleCache } from '../../storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog, type LogConfig } from '../../storage/partition-log.ts'
import { limitBytes, type InitialState, type RaftStorage } from '../storage.ts'
import { entrySize, type Entry, type HardState, type LogIndex, type NodeId, type Snapshot, type Term } from '../types.ts'
import { decodeEntries, encodeEntries } from './entry-batch.ts'
import { lastIndexOfLogEnd, offsetOfIndex, snapshotEndOffset } from './offsets.ts'
import { QUORUM_STATE_FILE, readQuorumState, writeQuorumState } from './quorum-state.ts'
import { deleteSnapshotFile, listSnapshotFiles, readSnapshotFile, writeSnapshotFile } from './snapshot-file.ts'
import { TailCache } from './tail-cache.ts'

/** Kafka's `__cluster_metadata` topic and its reserved topic id (Uuid.METADATA_TOPIC_ID). */
export const RAFT_LOG_TOPIC = '__cluster_metadata'
export const RAFT_LOG_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'
const READ_CHUNK_BYTES = 256 * 1024

export interface LogStorageOptions {
  /** The partition directory, e.g. `<metadata.log.dir>/__cluster_metadata-0`. */
  readonly dir: string
  /**
   * The bootstrap voter set: recorded in quorum-state (informational) and the default for
   * createSnapshot. With membership changes the host passes the voters and learners in force at
   * the snapshot's index (RaftNode.votersAt, learnersAt) instead; the configuration itself lives
   * in the log.
   */
  readonly voters: readonly NodeId[]
  /** false: no fsync at all (benchmarks, tests). A crash may then lose acknowledged state. */
  readonly fsync?: boolean
  readonly now?: () => number
  readonly segmentBytes?: number
  /** Bytes of newest entries kept in memory (default 8 MiB). */
  readonly tailCacheBytes?: number
}

export class LogStorage implements RaftStorage {
  readonly dir: string
  readonly #fsync: boolean
  readonly #now: () => number
  readonly #voters: readonly NodeId[]
  readonly #fds = new FileHandleCache(32)
  readonly #log: PartitionLog
  readonly #tail: TailCache
  #hard: HardState
  /** The hard state as last written to quorum-state (the commit in it may lag). */
  #written: HardState
  #snapshot: Snapshot
  #snapshotFile: string | null
  #closed = false

  private constructor(o: LogStorageOptions) {
    this.dir = o.dir
    this.#fsync = o.fsync ?? true
    this.#now = o.now ?? Date.now
    this.#voters = o.voters
    mkdirSync(o.dir, { recursive: true })
    this.#hard = this.#written = readQuorumState(join(o.dir, QUORUM_STATE_FILE))
    const loaded = loadNewestSnapshot(o.dir)
    this.#snapshotFile = loaded?.name ?? null
    this.#snapshot = loaded?.snapshot ?? { meta: { index: 0, term: 0, voters: o.voters }, data: new Uint8Array(0) }
    const end = snapshotEndOffset(this.#snapshot.meta.index)
    const config: LogConfig = {
      // No offset index: every open recovers (rebuilds it) anyway, and without one a flush is a single
      // fdatasync instead of three. Reads that miss the tail cache scan batch headers from the
      // segment's start, which small segments keep cheap; they only serve lagging followers.
      ...DEFAULT_LOG_CONFIG, segmentBytes: o.segmentBytes ?? 16 * 1024 * 1024, indexIntervalBytes: Infinity, segmentMs: Infinity, retentionMs: Infinity,
      retentionBytes: Infinity, cleanupPolicy: { delete: true, compact: false }, fileDeleteDelayMs: 0,
    }
    // Always an unclean open from the snapshot's end: every batch a restart depends on is CRC-checked.
    this.#log = PartitionLog.open({
      dir: o.dir, topic: RAFT_LOG_TOPIC, partition: 0, topicId: RAFT_LOG_TOPIC_ID, config, now: this.#now,
      recoveryPoint: end, cleanShutdown: false, fds: this.#fds,
    })
    this.#reconcileWithSnapshot(end)
    this.#tail = new TailCache(o.tailCacheBytes ?? 8 * 1024 * 1024, this.lastIndex() + 1)
    // A commit hint past the durable log would be a lie (e.g. a disk that dropped an fsync): the leader re-teaches it.
    this.#hard = { ...this.#hard, commit: Math.min(this.#hard.commit, this.lastIndex()) }
    // Entries are synced before the hard state of the same Ready, so a crash between the two can
    // leave entries of a term newer than quorum-state. The node never sent a vote in that term
    // (messages follow both writes), so moving up to it without a vote is what it would have done.
    const lastTerm = this.term(this.lastIndex())
    if (this.#hard.term < lastTerm) this.#hard = { term: lastTerm, vote: 0, commit: this.#hard.commit }
  }

  static open(o: LogStorageOptions): LogStorage {
    return new LogStorage(o)
  }

  /** The log must start exactly at the snapshot's end offset, holding nothing the snapshot contradicts. */
  #reconcileWithSnapshot(end: number): void {
    const log = this.#log
    if (log.logStartOffset === end) return
    assert(log.logStartOffset < end, `${this.dir}: the log starts at ${log.logStartOffset}, after the newest snapshot's end ${end}`)
    // The term at the snapshot's last offset; -1 when the epoch cache was already cut there by an
    // earlier compaction to this very snapshot (segments are deleted whole, so older ones linger).
    const epoch = log.epochForOffset(end - 1)
    if (log.logEndOffset >= end && (epoch === this.#snapshot.meta.term || epoch === -1)) {
      // Log matching: same index and term ⇒ the same prefix; the suffix after the snapshot stays.
      if (log.highWatermark < end) log.setHighWatermark(end)
      log.deleteRecordsBefore(end)
      log.removeDeletedFiles(Infinity)
    } else {
      log.truncateFullyAndStartAt(end)
    }
  }

  // ---- RaftStorage (read side, the core's) ----

  initialState(): InitialState {
    const has = this.#snapshot.meta.index > 0
    return { hardState: this.#hard, voters: has ? this.#snapshot.meta.voters : null, learners: has ? (this.#snapshot.meta.learners ?? []) : null }
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, `storage.entries(${lo}, ${hi}) out of range`)
    if (lo === hi) return []
    if (lo >= this.#tail.first) return limitBytes(this.#tail.slice(lo, hi), maxBytes)
    const out: Entry[] = []
    let bytes = 0
    let next = lo
    while (next < hi && (bytes <= maxBytes || out.length === 0)) {
      if (next >= this.#tail.first) {
        out.push(...this.#tail.slice(next, hi))
        break
      }
      const read = this.#log.read(offsetOfIndex(next), Math.max(READ_CHUNK_BYTES, Math.min(maxBytes, 8 * READ_CHUNK_BYTES)), offsetOfIndex(hi), true)
      assert(!('error' in read), `raft log read at index ${next} failed`)
      const got = decodeEntries(read.records).filter((e) => e.index >= next && e.index < hi)
      assert(got.length > 0 && got[0]!.index === next, `raft log has no entry at index ${next}`)
      for (const e of got) bytes += entrySize(e)
      out.push(...got)
      next = got.at(-1)!.index + 1
    }
    return limitBytes(out, maxBytes)
  }

  term(index: LogIndex): Term {
    const snap = this.#snapshot.meta
    if (index === snap.index) return snap.term
    assert(index > snap.index && index <= this.lastIndex(), `storage.term(${index}) out of range`)
    const cached = this.#tail.term(index)
    if (cached !== undefined) return cached
    const term = this.#log.epochForOffset(offsetOfIndex(index))
    assert(term >= 0, `no leader epoch covers index ${index}`)
    return term
  }

  firstIndex(): LogIndex {
    return this.#snapshot.meta.index + 1
  }

  lastIndex(): LogIndex {
    return lastIndexOfLogEnd(this.#log.logEndOffset)
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  hardState(): HardState {
    return this.#hard
  }

  // ---- write side (the host's, in Ready order) ----

  /** Appends entries after truncating any stored suffix from entries[0].index (a conflict found by the core). */
  append(entries: readonly Entry[]): void {
    const skip = entries.findIndex((e) => e.index > this.#snapshot.meta.index)
    if (entries.length === 0 || skip === -1) return
    const fresh = skip === 0 ? entries : entries.slice(skip)
    const first = fresh[0]!.index
    assert(first <= this.lastIndex() + 1, `storage.append: gap before index ${first}`)
    if (first <= this.lastIndex()) {
      assert(first > this.#hard.commit, `storage.append would truncate committed index ${first}`)
      this.#log.truncateTo(offsetOfIndex(first))
      this.#tail.truncateFrom(first)
    }
    const appended = this.#log.appendAsFollower(encodeEntries(fresh, this.#now()))
    assert(!('error' in appended), `raft log append failed: ${'error' in appended ? appended.error : ''}`)
    this.#tail.append(fresh)
  }

  /** Makes every appended entry durable (one fdatasync per dirty segment). */
  sync(): void {
    if (this.#fsync) this.#log.flush()
  }

  /**
   * Records the hard state. A new term or vote is written to quorum-state (atomically and durably)
   * before this returns; a commit change alone only updates memory and reaches the file later.
   */
  setHardState(hs: HardState): void {
    const changed = hs.term !== this.#written.term || hs.vote !== this.#written.vote
    this.#hard = hs
    if (changed) this.#writeHardState()
  }

  #writeHardState(): void {
    writeQuorumState(join(this.dir, QUORUM_STATE_FILE), this.#hard, this.#voters, this.#fsync)
    this.#written = this.#hard
  }

  /** Installs a snapshot from the leader: checkpoint first (durable), then the log restarts at its end. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.#snapshot.meta.index) return
    this.#replaceSnapshot(snap)
    this.#log.truncateFullyAndStartAt(snapshotEndOffset(snap.meta.index))
    this.#tail.reset(snap.meta.index + 1)
  }

  /**
   * Records a snapshot the local state machine took at `index` (≤ applied) and compacts the log
   * below it: the checkpoint is durable before any segment goes.
   */
  createSnapshot(index: LogIndex, data: Uint8Array, voters: readonly NodeId[] = this.#voters, learners: readonly NodeId[] = []): Snapshot {
    const cur = this.#snapshot.meta
    assert(index > cur.index && index <= this.lastIndex(), `createSnapshot(${index}) out of range`)
    const snap: Snapshot = { meta: { index, term: this.term(index), voters, ...(learners.length > 0 ? { learners } : {}) }, data }
    this.#replaceSnapshot(snap)
    const end = snapshotEndOffset(index)
    if (this.#log.highWatermark < end) this.#log.setHighWatermark(end)
    const deleted = this.#log.deleteRecordsBefore(end)
    assert('ok' in deleted, `compaction of ${this.dir} to ${end} failed`)
    this.#log.removeDeletedFiles(Infinity)
    this.#tail.dropBefore(index + 1)
    return snap
  }

  #replaceSnapshot(snap: Snapshot): void {
    const name = writeSnapshotFile(this.dir, snap, this.#fsync, this.#now())
    const old = this.#snapshotFile
    this.#snapshot = snap
    this.#snapshotFile = name
    if (old !== null && old !== name) deleteSnapshotFile(this.dir, old)
  }

  /** Releases file handles without flushing or writing anything, as a crash would (tests). */
  abandon(): void {
    this.#closed = true
    this.#fds.closeAll()
  }

  /** Flushes, writes the latest commit hint, releases files. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#log.close()
    if (this.#hard.commit !== this.#written.commit) this.#writeHardState()
    this.#fds.closeAll()
  }
}

/** The newest checkpoint that parses; damaged newer ones are deleted (the previous one was kept until a newer was durable). */
function loadNewestSnapshot(dir: string): { name: string; snapshot: Snapshot } | null {
  for (const name of listSnapshotFiles(dir)) {
    const snapshot = readSnapshotFile(dir, name)
    if (snapshot !== null) return { name, snapshot }
    rmSync(join(dir, name), { force: true })
  }
  return null
}

