/**
 * Single-server membership changes (Ongaro's thesis §4.1–4.3; the Raft paper's §6 discussion)
 * and non-voting learners (thesis §4.2.1; Kafka's KIP-853 observers).
 *
 * A change adds or removes one voter or one learner, or promotes a learner to voter. It travels
 * as an ordinary log entry of kind 'config' whose data holds the change *and* the whole
 * configuration that results (voters and learners), so any config entry alone says what the
 * configuration is from its index on (a node joining late, or rebuilding after a restart, needs
 * no history before it).
 *
 * Learners receive the log like voters but count for nothing: commitment, elections,
 * check-quorum and read-index all count voters only, and a learner never campaigns. A new
 * server joins as a learner, catches up, and is then promoted (addVoter of a learner), which
 * the leader only accepts once the learner's match reaches the commit index, so the enlarged
 * quorum can commit at once. addVoter of a node that is not a learner stays allowed (it counts
 * toward the quorum at once with an empty log: the stall the learner path avoids).
 *
 * The safety conditions, and where each is enforced:
 *   1. A configuration takes effect on a node as soon as the entry is in its log, committed or
 *      not (ConfigTracker.onAppend, called from RaftLog.append); a truncated entry reverts it
 *      (the same call drops every change at or after the truncation point).
 *   2. One change at a time, learner changes included: a leader refuses a change while the
 *      previous one is uncommitted (Raft.proposeConfChange). Any two majorities of voter sets
 *      that differ by at most one voter intersect, which is what makes appending-time activation
 *      safe; learner changes leave the voter set alone.
 *   3. A leader changes membership only after committing an entry of its own term (the no-op);
 *      this is the fix for the single-server bug the thesis errata describe: without it a leader
 *      could append a change on top of an older leader's uncommitted change whose majority does
 *      not intersect its own.
 */
import { assert } from '../lib/assert.ts'
import type { Entry, LogIndex, NodeId } from './types.ts'

export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner' | 'removeLearner'

export interface ConfChange {
  readonly type: ConfChangeType
  readonly node: NodeId
}

/** A configuration: who votes and who only learns. Disjoint, each sorted ascending. */
export interface Membership {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

/** The content of a 'config' entry: the change, and the configuration in force from its index on. */
export interface ConfigEntryData {
  readonly change: ConfChange
  readonly voters: readonly NodeId[]
  /** Absent in version-1 entries (read as none). */
  readonly learners?: readonly NodeId[]
}

/**
 * Encoding (big endian):
 *   version 1: u8 1 | u8 type | u32 node | u32 count | count × u32 voter
 *   version 2: u8 2 | u8 type | u32 node | u32 count | count × u32 voter | u32 count | count × u32 learner
 * type: 1 addVoter, 2 removeVoter (both versions), 3 addLearner, 4 removeLearner (version 2 only).
 * Sets are sorted, so equal configurations encode equally. An entry that version 1 can express
 * (a voter change with no learners) is written as version 1, so logs and frames of clusters that
 * never use learners stay byte-identical to those of older builds; anything else is version 2.
 * Version 1 decodes as "no learners"; an unknown version or type is rejected.
 */
const TYPE_CODES: readonly ConfChangeType[] = ['addVoter', 'removeVoter', 'addLearner', 'removeLearner']

export function encodeConfigEntry(d: ConfigEntryData): Uint8Array {
  const learners = d.learners ?? []
  const code = TYPE_CODES.indexOf(d.change.type) + 1
  assert(code > 0, `config change type ${d.change.type} is unknown`)
  const version = learners.length === 0 && code <= 2 ? 1 : 2
  const out = new Uint8Array(10 + 4 * d.voters.length + (version === 2 ? 4 + 4 * learners.length : 0))
  const v = new DataView(out.buffer)
  v.setUint8(0, version)
  v.setUint8(1, code)
  v.setUint32(2, d.change.node)
  v.setUint32(6, d.voters.length)
  d.voters.forEach((id, k) => v.setUint32(10 + 4 * k, id))
  if (version === 2) {
    const at = 10 + 4 * d.voters.length
    v.setUint32(at, learners.length)
    learners.forEach((id, k) => v.setUint32(at + 4 + 4 * k, id))
  }
  return out
}

export function decodeConfigEntry(data: Uint8Array): ConfigEntryData {
  assert(data.byteLength >= 10, `config entry of ${data.byteLength} bytes is too short`)
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const version = v.getUint8(0)
  assert(version === 1 || version === 2, `config entry version ${version} is unknown`)
  const t = v.getUint8(1)
  const type = TYPE_CODES[t - 1]
  assert(type !== undefined && (version === 2 || t <= 2), `config entry change type ${t} is unknown in version ${version}`)
  const count = v.getUint32(6)
  const votersEnd = 10 + 4 * count
  const voters: NodeId[] = []
  const learners: NodeId[] = []
  if (version === 1) {
    assert(data.byteLength === votersEnd, `config entry of ${data.byteLength} bytes does not hold ${count} voters`)
  } else {
    assert(data.byteLength >= votersEnd + 4, `config entry of ${data.byteLength} bytes does not hold ${count} voters`)
    const nl = v.getUint32(votersEnd)
    assert(data.byteLength === votersEnd + 4 + 4 * nl, `config entry of ${data.byteLength} bytes does not hold ${count} voters and ${nl} learners`)
    for (let k = 0; k < nl; k++) learners.push(v.getUint32(votersEnd + 4 + 4 * k))
  }
  for (let k = 0; k < count; k++) voters.push(v.getUint32(10 + 4 * k))
  return { change: { type, node: v.getUint32(2) }, voters, learners }
}

/** The configuration a config entry's data describes. */
export function membershipOf(d: ConfigEntryData): Membership {
  return { voters: d.voters, learners: d.learners ?? [] }
}

const sorted = (ids: NodeId[]): NodeId[] => ids.sort((a, b) => a - b)

/**
 * The configuration after `change`; the caller has checked that it is not a no-op. addVoter of
 * a learner promotes it (it leaves the learners).
 */
export function applyChange(m: Membership, change: ConfChange): Membership {
  const n = change.node
  const without = (ids: readonly NodeId[]): NodeId[] => ids.filter((v) => v !== n)
  switch (change.type) {
    case 'addVoter': return { voters: sorted([...without(m.voters), n]), learners: without(m.learners) }
    case 'removeVoter': return { voters: without(m.voters), learners: [...m.learners] }
    case 'addLearner': return { voters: [...m.voters], learners: sorted([...without(m.learners), n]) }
    case 'removeLearner': return { voters: [...m.voters], learners: without(m.learners) }
  }
}

interface ConfigAt {
  readonly index: LogIndex
  readonly config: Membership
}

/**
 * The configuration a log implies: a base (the snapshot's configuration at its index, or the
 * bootstrap one at index 0) and every config entry after it that is still in the log, ascending.
 *
 * Invariants: changes[k].index > base.index and strictly increasing; the current configuration
 * is the last change, else the base. Changes only disappear by truncation (uncommitted entries,
 * which a leader overwrote) or by folding into the base once compacted away. An installed
 * snapshot counts as a change at its index (restore), so every change at or below the commit
 * index is committed.
 */
export class ConfigTracker {
  #base: ConfigAt
  #changes: ConfigAt[] = []

  constructor(baseIndex: LogIndex, config: Membership) {
    this.#base = { index: baseIndex, config }
  }

  /** The configuration in force: the latest in the log, committed or not. */
  get current(): Membership {
    return (this.#changes.at(-1) ?? this.#base).config
  }

  get voters(): readonly NodeId[] {
    return this.current.voters
  }

  get learners(): readonly NodeId[] {
    return this.current.learners
  }

  /** Index of the latest config entry still in the log (0 if there is none after the base). */
  get lastChangeIndex(): LogIndex {
    return this.#changes.at(-1)?.index ?? 0
  }

  /** Entries were appended at ents[0].index, replacing anything from there on. */
  onAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return
    const first = ents[0]!.index
    // A truncated config entry reverts the configuration to the one before it.
    while (this.#changes.length > 0 && this.#changes.at(-1)!.index >= first) this.#changes.pop()
    for (const e of ents) {
      if (e.kind !== 'config') continue
      assert(e.index > this.#base.index, `config entry ${e.index} at or below the base ${this.#base.index}`)
      this.#changes.push({ index: e.index, config: membershipOf(decodeConfigEntry(e.data)) })
    }
  }

  /**
   * The log was replaced by a snapshot: its configuration is the one at its index. Changes
   * at or below `committed` (our commit index before the snapshot) stay as history: they are
   * committed, so the snapshot agrees with them, and the application may still be snapshotting
   * at its applied index below this one (an asynchronous Ready in flight) and ask configAt.
   */
  restore(index: LogIndex, config: Membership, committed: LogIndex): void {
    assert(index > committed, 'a snapshot installs beyond the commit index')
    this.#changes = this.#changes.filter((c) => c.index <= committed)
    this.#changes.push({ index, config })
  }

  /** The configuration in force at `index` (for snapshots taken there); index ≥ the base's. */
  configAt(index: LogIndex): Membership {
    assert(index >= this.#base.index, `configuration at ${index} is before the tracked base ${this.#base.index}`)
    let found = this.#base.config
    for (const c of this.#changes) {
      if (c.index > index) break
      found = c.config
    }
    return found
  }

  votersAt(index: LogIndex): readonly NodeId[] {
    return this.configAt(index).voters
  }

  /** The log now starts after `index`: fold the changes it covered into the base. */
  compact(index: LogIndex): void {
    let k = 0
    while (k < this.#changes.length && this.#changes[k]!.index <= index) k++
    if (k === 0) return
    this.#base = this.#changes[k - 1]!
    this.#changes = this.#changes.slice(k)
  }
}
