/**
 * Safety checkers, fed by the hosts as things happen, so a violation is caught
 * at the step that caused it:
 *   - election safety: at most one leader per term (§5.2)
 *   - log matching: equal (index, term) ⇒ equal entry and equal predecessor term (§5.3)
 *   - leader completeness: a new leader holds every entry applied anywhere (§5.4)
 *   - commitment rule: a leader commits only onto an entry of its own term (§5.4.2)
 *   - state-machine safety: every node applies the same entry at each index (§5.4.3)
 *   - durable hard state: term never decreases, one vote per term, commit never goes back
 *   - acknowledged writes are never lost; writes reported lost never apply
 *   - one membership change at a time: when a leader appends a config entry, it is the only
 *     uncommitted one in its log (thesis §4.1)
 */
import type { Entry, HardState, LogIndex, NodeId, SnapshotMeta, Term } from '../../../src/raft/types.ts'
import type { MemoryStorage } from '../../../src/raft/storage.ts'
import { decodeOp } from './register.ts'
import type { RegisterImage } from './register.ts'

/**
 * What the checkers compare entries by: a data entry's op id (> 0), 0 for a no-op, and for a
 * config entry a negative number derived from its bytes (the change and the voter set), so log
 * matching and state-machine safety cover configurations too.
 */
function entryId(e: Entry): number {
  if (e.kind === 'data') return decodeOp(e.data)
  if (e.kind === 'noop') return 0
  let h = 7
  for (const b of e.data) h = (h * 31 + b) % 1_000_000_007
  return -1 - h
}

export class SafetyViolation extends Error {
  override name = 'SafetyViolation'
}

function violated(what: string): never {
  throw new SafetyViolation(what)
}

export class Checker {
  readonly #leaderOfTerm = new Map<Term, NodeId>()
  /** (index, term) → the op of the entry persisted there and the term of its predecessor. */
  readonly #entryAt = new Map<string, { op: number; prevTerm: Term | undefined }>()
  /** The applied log, shared by all nodes: index → term and op id (0 for a noop). */
  readonly #appliedTerm: Term[] = []
  readonly #appliedOp: number[] = []
  /** Index of each applied write, by op id. */
  readonly #indexOfOp = new Map<number, LogIndex>()
  readonly #acked = new Map<LogIndex, number>()
  readonly #lost = new Set<number>()
  maxApplied: LogIndex = 0
  elections = 0

  /** A node persisted `entries` (already in `storage`). */
  onPersist(id: NodeId, entries: readonly Entry[], storage: MemoryStorage): void {
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!
      let prevTerm: Term | undefined
      if (k > 0) prevTerm = entries[k - 1]!.term
      else if (e.index - 1 >= storage.firstIndex() - 1) prevTerm = storage.term(e.index - 1)
      const key = `${e.index}/${e.term}`
      const op = entryId(e)
      const seen = this.#entryAt.get(key)
      if (seen === undefined) {
        this.#entryAt.set(key, { op, prevTerm })
        continue
      }
      if (seen.op !== op) violated(`log matching: node ${id} holds op ${op} at ${key}, another node op ${seen.op}`)
      if (prevTerm === undefined) continue
      if (seen.prevTerm === undefined) seen.prevTerm = prevTerm
      else if (seen.prevTerm !== prevTerm) {
        violated(`log matching: node ${id} has term ${prevTerm} before ${key}, another node ${seen.prevTerm}`)
      }
    }
  }

  onHardState(id: NodeId, prev: HardState, next: HardState): void {
    if (next.term < prev.term) violated(`node ${id}: durable term went back ${prev.term} → ${next.term}`)
    if (next.term === prev.term && prev.vote !== 0 && next.vote !== prev.vote) {
      violated(`node ${id}: voted twice in term ${next.term} (${prev.vote}, then ${next.vote})`)
    }
    if (next.commit < prev.commit) violated(`node ${id}: durable commit went back ${prev.commit} → ${next.commit}`)
  }

  /**
   * §5.4.2: a leader moves its commit index only onto an entry of its own
   * term (older entries commit implicitly, underneath it).
   */
  onLeaderCommit(id: NodeId, hs: HardState, storage: MemoryStorage): void {
    if (hs.commit < storage.firstIndex()) return // covered by a snapshot: term known only at its index
    const term = storage.term(hs.commit)
    if (term !== hs.term) violated(`leader ${id} (term ${hs.term}) committed index ${hs.commit} of term ${term} by counting replicas`)
  }

  /** `id` just became leader of `term` and persisted its log to `storage`. */
  onLeader(id: NodeId, term: Term, storage: MemoryStorage): void {
    this.elections++
    const other = this.#leaderOfTerm.get(term)
    if (other !== undefined && other !== id) violated(`two leaders in term ${term}: ${other} and ${id}`)
    this.#leaderOfTerm.set(term, id)
    for (let i = storage.firstIndex(); i <= this.maxApplied; i++) {
      if (i > storage.lastIndex()) violated(`leader completeness: leader ${id} (term ${term}) lacks applied index ${i}`)
      if (storage.term(i) !== this.#appliedTerm[i]) {
        violated(`leader completeness: leader ${id} (term ${term}) has term ${storage.term(i)} at ${i}, applied ${this.#appliedTerm[i]}`)
      }
    }
  }

  /**
   * Leader `id` just persisted a config entry of its own term: no other config entry may be
   * above its commit index (one change at a time; its commit index here is what it had when it
   * proposed, or later). An older uncommitted change would make the two majorities disjoint.
   */
  onLeaderConfigChange(id: NodeId, storage: MemoryStorage): void {
    const commit = storage.hardState().commit
    const lo = Math.max(commit + 1, storage.firstIndex())
    if (lo > storage.lastIndex()) return
    const pending = storage.entries(lo, storage.lastIndex() + 1, Infinity).filter((e) => e.kind === 'config')
    if (pending.length > 1) {
      violated(`leader ${id}: ${pending.length} uncommitted config entries (${pending.map((e) => `${e.index}/${e.term}`).join(', ')}) above commit ${commit}`)
    }
  }

  /** `id` applied `e`; `prevApplied` is the index it had applied before. */
  onApply(id: NodeId, e: Entry, prevApplied: LogIndex): void {
    if (e.index !== prevApplied + 1) violated(`node ${id} applied ${e.index} after ${prevApplied}`)
    const op = entryId(e)
    const term = this.#appliedTerm[e.index]
    if (term === undefined) {
      this.#appliedTerm[e.index] = e.term
      this.#appliedOp[e.index] = op
      if (e.index > this.maxApplied) this.maxApplied = e.index
      if (op > 0) {
        if (this.#indexOfOp.has(op)) violated(`op ${op} applied twice (indexes ${this.#indexOfOp.get(op)} and ${e.index})`)
        if (this.#lost.has(op)) violated(`op ${op} was reported lost but applied at ${e.index}`)
        this.#indexOfOp.set(op, e.index)
      }
      const acked = this.#acked.get(e.index)
      if (acked !== undefined && acked !== op) violated(`acknowledged op ${acked} at ${e.index} lost: applied op ${op}`)
    } else if (term !== e.term || this.#appliedOp[e.index] !== op) {
      violated(`state machine safety: node ${id} applied ${e.term}:${op} at ${e.index}, others ${term}:${this.#appliedOp[e.index]}`)
    }
  }

  /** `id` restored its state machine from a snapshot. */
  onRestore(id: NodeId, meta: SnapshotMeta, image: RegisterImage): void {
    if (meta.index > this.maxApplied) violated(`node ${id} got a snapshot at ${meta.index} beyond anything applied (${this.maxApplied})`)
    if (this.#appliedTerm[meta.index] !== meta.term) violated(`snapshot at ${meta.index} has term ${meta.term}, applied ${this.#appliedTerm[meta.index]}`)
    let last = meta.index
    while (last > 0 && this.#appliedOp[last]! <= 0) last-- // skip no-ops and config entries
    if (image.valueIndex !== last || image.value !== (this.#appliedOp[last] ?? 0)) {
      violated(`snapshot at ${meta.index} of node ${id} holds write ${image.valueIndex}, the log says ${last}`)
    }
  }

  /** A client was told that op `op` committed at `index`. */
  onAck(op: number, index: LogIndex): void {
    const applied = this.#appliedOp[index]
    if (applied !== undefined && applied !== op) violated(`op ${op} acknowledged at ${index} but op ${applied} applied there`)
    this.#acked.set(index, op)
  }

  onLost(op: number): void {
    if (this.#indexOfOp.has(op)) violated(`op ${op} reported lost but applied at ${this.#indexOfOp.get(op)}`)
    this.#lost.add(op)
  }

  /** Op id applied at `index` (0 for a noop or the initial value), undefined if nothing applied there yet. */
  opAt(index: LogIndex): number | undefined {
    return index === 0 ? 0 : this.#appliedOp[index]
  }

  /** Has any of `ops` been applied at or below `applied`? */
  appliedAny(ops: ReadonlySet<number>, applied: LogIndex): boolean {
    for (const op of ops) {
      const index = this.#indexOfOp.get(op)
      if (index !== undefined && index <= applied) return true
    }
    return false
  }

  /** Every acknowledged write must be in the applied log by the end of a run. */
  checkAckedApplied(): void {
    for (const [index, op] of this.#acked) {
      if (this.#appliedOp[index] !== op) violated(`acknowledged op ${op} at ${index} never applied`)
    }
  }
}
