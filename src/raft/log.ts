/**
 * The node's view of the replicated log: what stable storage holds plus the
 * "unstable" tail (and possibly a snapshot) that has been accepted in memory
 * but not yet handed to the caller to persist.
 *
 * Invariants:
 *   applied ≤ committed ≤ lastIndex()
 *   firstIndex() - 1 ≤ applied  (a snapshot is only installed once applied)
 *   unstable.entries[k].index === unstable.offset + k
 *   a committed entry is never truncated (asserted in append()).
 *   config.current is the configuration (voters, learners) of the latest config entry in this log (or of the
 *   snapshot / bootstrap if there is none): every change to the log goes through append()
 *   or restore(), which keep the tracker in step.
 */
import { assert } from '../lib/assert.ts'
import { ConfigTracker } from './membership.ts'
import type { Membership } from './membership.ts'
import { limitBytes } from './storage.ts'
import type { RaftStorage } from './storage.ts'
import type { Entry, LogIndex, Snapshot, Term } from './types.ts'

/** Bytes read per storage call while scanning the log for config entries at start-up. */
const CONFIG_SCAN_BYTES = 1 << 20

export class RaftLog {
  readonly storage: RaftStorage
  /** Accepted entries not yet persisted; entries[0].index === offset. */
  unstable: Entry[] = []
  offset: LogIndex
  /** A snapshot received from the leader, not yet persisted. */
  pendingSnapshot: Snapshot | null = null
  committed: LogIndex
  applied: LogIndex
  /** The membership the log implies (latest config entry, committed or not). */
  readonly config: ConfigTracker

  /** `base`: the snapshot's configuration if storage holds one, else the bootstrap one. */
  constructor(storage: RaftStorage, committed: LogIndex, base: Membership) {
    this.storage = storage
    this.offset = storage.lastIndex() + 1
    const first = storage.firstIndex()
    assert(committed <= storage.lastIndex(), `durable commit ${committed} is past the durable log ${storage.lastIndex()}`)
    this.committed = Math.max(committed, first - 1)
    this.applied = first - 1
    // A restart rebuilds the configuration from the snapshot plus every config entry after it
    // (thesis §4.1: a server uses the latest configuration in its log, committed or not).
    this.config = new ConfigTracker(first - 1, base)
    for (let lo = first; lo <= storage.lastIndex();) {
      const chunk = storage.entries(lo, storage.lastIndex() + 1, CONFIG_SCAN_BYTES)
      this.config.onAppend(chunk.filter((e) => e.kind === 'config'))
      lo += chunk.length
    }
  }

  firstIndex(): LogIndex {
    return this.pendingSnapshot ? this.pendingSnapshot.meta.index + 1 : this.storage.firstIndex()
  }

  lastIndex(): LogIndex {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1
    if (this.pendingSnapshot) return this.pendingSnapshot.meta.index
    return this.storage.lastIndex()
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex())
    assert(t !== undefined, 'the last entry always has a known term')
    return t
  }

  /** Term of the entry at `index`, or undefined if compacted away or beyond the log. */
  term(index: LogIndex): Term | undefined {
    if (index >= this.offset && index < this.offset + this.unstable.length) return this.unstable[index - this.offset]!.term
    const snap = this.pendingSnapshot
    if (snap) return index === snap.meta.index ? snap.meta.term : undefined
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex() || index >= this.offset) return undefined
    return this.storage.term(index)
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term
  }

  /** §5.4.1: a log is at least as up-to-date if its last term is higher, or equal with a longer log. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const myTerm = this.lastTerm()
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex())
  }

  /**
   * Entries [lo, hi), capped at maxBytes (at least one entry). Returns undefined
   * when lo has been compacted away (the caller must fall back to a snapshot).
   */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): readonly Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined
    hi = Math.min(hi, this.lastIndex() + 1)
    if (lo >= hi) return []
    let out: readonly Entry[] = []
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes)
      if (out.length < Math.min(hi, this.offset) - lo || hi <= this.offset) return out
    }
    const from = Math.max(lo, this.offset)
    const tail = this.unstable.slice(from - this.offset, hi - this.offset)
    return limitBytes(out.length > 0 ? [...out, ...tail] : tail, maxBytes)
  }

  /**
   * Follower side of AppendEntries (§5.3): if our log holds (prevIndex, prevTerm),
   * drop any conflicting suffix, append what is new and return the index of the
   * last entry the leader sent. Returns undefined when the logs do not match.
   */
  maybeAppend(prevIndex: LogIndex, prevTerm: Term, leaderCommit: LogIndex, ents: readonly Entry[]): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined
    const lastNew = prevIndex + ents.length
    const conflict = this.findConflict(ents)
    if (conflict > 0) this.append(ents.slice(conflict - ents[0]!.index))
    // Only entries up to lastNew are known to match the leader's log, so the
    // commit index must not pass it even if the leader's commit is higher.
    this.commitTo(Math.min(leaderCommit, lastNew))
    return lastNew
  }

  /** First index of `ents` that is new or disagrees with our log; 0 if all already match. */
  findConflict(ents: readonly Entry[]): LogIndex {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term` (or the first known
   * index). Used to skip a whole diverging term in one round trip (§5.3's
   * optimisation, as in etcd's findConflictByTerm).
   */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    for (;;) {
      const t = this.term(index)
      if (t === undefined || t <= term) return index
      index--
    }
  }

  /** Appends entries, truncating the unstable tail (or shadowing storage) from ents[0].index. */
  append(ents: readonly Entry[]): LogIndex {
    if (ents.length === 0) return this.lastIndex()
    const first = ents[0]!.index
    assert(first > this.committed, `append at ${first} would truncate committed entries (commit ${this.committed})`)
    assert(first <= this.lastIndex() + 1, `append at ${first} leaves a gap after ${this.lastIndex()}`)
    if (first === this.offset + this.unstable.length) {
      for (const e of ents) this.unstable.push(e)
    } else if (first <= this.offset) {
      // Replaces stored entries from `first` on: storage.append will truncate them.
      this.offset = first
      this.unstable = ents.slice()
    } else {
      this.unstable = this.unstable.slice(0, first - this.offset)
      for (const e of ents) this.unstable.push(e)
    }
    this.config.onAppend(ents)
    return this.lastIndex()
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) return
    assert(index <= this.lastIndex(), `commit ${index} is past the last index ${this.lastIndex()}`)
    this.committed = index
  }

  appliedTo(index: LogIndex): void {
    assert(index >= this.applied && index <= this.committed, `applied ${index} out of [${this.applied}, ${this.committed}]`)
    this.applied = index
  }

  /** The caller persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: LogIndex, term: Term): void {
    if (index < this.offset || this.term(index) !== term) return // truncated meanwhile
    if (index >= this.offset + this.unstable.length) return
    this.unstable = this.unstable.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  stableSnapTo(index: LogIndex): void {
    if (this.pendingSnapshot?.meta.index === index) this.pendingSnapshot = null
  }

  /** Replaces the whole log with a snapshot from the leader (§7). */
  restore(snap: Snapshot): void {
    assert(snap.meta.index > this.committed, 'restore must move past the commit index')
    this.pendingSnapshot = snap
    this.unstable = []
    this.config.restore(snap.meta.index, { voters: snap.meta.voters, learners: snap.meta.learners ?? [] }, this.committed)
    this.offset = snap.meta.index + 1
    this.committed = snap.meta.index
  }

  /** Committed entries not yet applied. */
  nextCommitted(): readonly Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex())
    if (lo > this.committed) return []
    const ents = this.entries(lo, this.committed + 1, Infinity)
    assert(ents !== undefined, 'unapplied committed entries are never compacted')
    return ents
  }
}
