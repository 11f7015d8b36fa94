/**
 * Stable storage as the core sees it, and an in-memory reference implementation.
 *
 * The core only *reads* storage. The caller writes to it while processing a
 * `Ready`, in this order, and syncs before sending that Ready's messages:
 *   1. the snapshot (if any), replacing every entry it covers;
 *   2. the entries (truncating any stored suffix from the first new index);
 *   3. the hard state, atomically.
 * Entries go before the hard state so a crash can never leave a durable commit
 * index pointing past the durable log.
 */
import { assert } from '../lib/assert.ts'
import { entrySize } from './types.ts'
import type { Entry, HardState, LogIndex, NodeId, Snapshot, Term } from './types.ts'

export interface InitialState {
  readonly hardState: HardState
  /** The voters recorded in the latest snapshot, or null when there is none. */
  readonly voters: readonly NodeId[] | null
  /** The learners recorded in the latest snapshot (absent or null: none). */
  readonly learners?: readonly NodeId[] | null
}

/**
 * Read side of stable storage. Indexes passed in are always within
 * [firstIndex() - 1, lastIndex()] (term) or [firstIndex(), lastIndex() + 1) (entries):
 * the core checks bounds first, so an out-of-range call is a programmer error.
 */
export interface RaftStorage {
  initialState(): InitialState
  /** Entries [lo, hi), stopping early once maxBytes is exceeded but always returning at least one. */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[]
  /** Term of the entry at `index`; firstIndex() - 1 answers the snapshot's term. */
  term(index: LogIndex): Term
  /** First index still held as an entry (snapshot index + 1). */
  firstIndex(): LogIndex
  lastIndex(): LogIndex
  /** The latest snapshot (possibly empty: index 0). */
  snapshot(): Snapshot
}

const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 }

/** Collects entries from `source` until the byte budget is spent, keeping at least one. */
export function limitBytes(source: readonly Entry[], maxBytes: number): readonly Entry[] {
  let bytes = 0
  for (let i = 0; i < source.length; i++) {
    bytes += entrySize(source[i]!)
    if (bytes > maxBytes && i > 0) return source.slice(0, i)
  }
  return source
}

/**
 * Keeps everything in arrays. Used by tests and the simulator (which models
 * crashes by deciding what reaches an instance of this class) and as the
 * reference for durable implementations.
 *
 * Invariant: entries[k].index === snap.meta.index + 1 + k, terms never decrease
 * along the array.
 */
export class MemoryStorage implements RaftStorage {
  #hardState: HardState = emptyHardState
  #snapshot: Snapshot
  #entries: Entry[] = []

  constructor(voters: readonly NodeId[] = []) {
    this.#snapshot = { meta: { index: 0, term: 0, voters }, data: new Uint8Array(0) }
  }

  initialState(): InitialState {
    const has = this.#snapshot.meta.index > 0
    return { hardState: this.#hardState, voters: has ? this.#snapshot.meta.voters : null, learners: has ? (this.#snapshot.meta.learners ?? []) : null }
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] {
    const offset = this.#snapshot.meta.index + 1
    assert(lo >= offset && hi <= this.lastIndex() + 1 && lo <= hi, `storage.entries(${lo}, ${hi}) out of range`)
    return limitBytes(this.#entries.slice(lo - offset, hi - offset), maxBytes)
  }

  term(index: LogIndex): Term {
    const snap = this.#snapshot.meta
    if (index === snap.index) return snap.term
    assert(index > snap.index && index <= this.lastIndex(), `storage.term(${index}) out of range`)
    return this.#entries[index - snap.index - 1]!.term
  }

  firstIndex(): LogIndex {
    return this.#snapshot.meta.index + 1
  }

  lastIndex(): LogIndex {
    return this.#snapshot.meta.index + this.#entries.length
  }

  snapshot(): Snapshot {
    return this.#snapshot
  }

  hardState(): HardState {
    return this.#hardState
  }

  // ---- write side (the caller's, never the core's) ----

  setHardState(hs: HardState): void {
    this.#hardState = hs
  }

  /** Appends entries, first discarding any stored entries at or after entries[0].index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0]!.index
    const offset = this.#snapshot.meta.index + 1
    // Entries the snapshot already covers are redundant: skip them.
    const skip = Math.max(0, offset - first)
    if (skip >= entries.length) return
    const start = first + skip
    assert(start <= this.lastIndex() + 1, `storage.append: gap before index ${start}`)
    this.#entries.length = start - offset
    for (let i = skip; i < entries.length; i++) this.#entries.push(entries[i]!)
  }

  /**
   * Installs a snapshot received from the leader. The core only asks for this
   * when its log disagrees with the snapshot, so every stored entry goes.
   */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.#snapshot.meta.index) return
    this.#entries = []
    this.#snapshot = snap
  }

  /**
   * Records a snapshot the local state machine took at `index` (≤ applied) and
   * drops the entries it covers. The caller decides when to compact. `voters` and `learners` are
   * the configuration at `index` (RaftNode.votersAt / learnersAt).
   */
  createSnapshot(index: LogIndex, data: Uint8Array, voters: readonly NodeId[], learners: readonly NodeId[] = []): Snapshot {
    const cur = this.#snapshot.meta
    assert(index > cur.index && index <= this.lastIndex(), `createSnapshot(${index}) out of range`)
    const snap: Snapshot = { meta: { index, term: this.term(index), voters, ...(learners.length > 0 ? { learners } : {}) }, data }
    this.#entries = this.#entries.slice(index - cur.index)
    this.#snapshot = snap
    return snap
  }
}
