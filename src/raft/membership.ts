/**
 * Single-server membership changes (Ongaro's thesis §4.1–4.3; the Raft paper's §6 discussion).
 *
 * A change adds or removes one voter. It travels as an ordinary log entry of kind 'config' whose
 * data holds the change *and* the whole voter set that results, so any config entry alone says
 * what the configuration is from its index on (a node joining late, or rebuilding after a
 * restart, needs no history before it).
 *
 * The safety conditions, and where each is enforced:
 *   1. A configuration takes effect on a node as soon as the entry is in its log, committed or
 *      not (ConfigTracker.onAppend, called from RaftLog.append); a truncated entry reverts it
 *      (the same call drops every change at or after the truncation point).
 *   2. One change at a time: a leader refuses a change while the previous one is uncommitted
 *      (Raft.proposeConfChange). Any two majorities of configurations that differ by one voter
 *      intersect, which is what makes appending-time activation safe.
 *   3. A leader changes membership only after committing an entry of its own term (the no-op);
 *      this is the fix for the single-server bug the thesis errata describe: without it a leader
 *      could append a change on top of an older leader's uncommitted change whose majority does
 *      not intersect its own.
 */
import { assert } from '../lib/assert.ts'
import type { Entry, LogIndex, NodeId } from './types.ts'

export type ConfChangeType = 'addVoter' | 'removeVoter'

export interface ConfChange {
  readonly type: ConfChangeType
  readonly node: NodeId
}

/** The content of a 'config' entry: the change, and the voter set in force from its index on. */
export interface ConfigEntryData {
  readonly change: ConfChange
  readonly voters: readonly NodeId[]
}

/**
 * Encoding (big endian): u8 version (1) | u8 type (1 addVoter, 2 removeVoter) | u32 node |
 * u32 count | count × u32 voter. Voters are sorted, so equal sets encode equally.
 */
const VERSION = 1

export function encodeConfigEntry(d: ConfigEntryData): Uint8Array {
  const out = new Uint8Array(10 + 4 * d.voters.length)
  const v = new DataView(out.buffer)
  v.setUint8(0, VERSION)
  v.setUint8(1, d.change.type === 'addVoter' ? 1 : 2)
  v.setUint32(2, d.change.node)
  v.setUint32(6, d.voters.length)
  d.voters.forEach((id, k) => v.setUint32(10 + 4 * k, id))
  return out
}

export function decodeConfigEntry(data: Uint8Array): ConfigEntryData {
  assert(data.byteLength >= 10, `config entry of ${data.byteLength} bytes is too short`)
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength)
  assert(v.getUint8(0) === VERSION, `config entry version ${v.getUint8(0)} is not ${VERSION}`)
  const t = v.getUint8(1)
  assert(t === 1 || t === 2, `config entry change type ${t} is unknown`)
  const count = v.getUint32(6)
  assert(data.byteLength === 10 + 4 * count, `config entry of ${data.byteLength} bytes does not hold ${count} voters`)
  const voters: NodeId[] = []
  for (let k = 0; k < count; k++) voters.push(v.getUint32(10 + 4 * k))
  return { change: { type: t === 1 ? 'addVoter' : 'removeVoter', node: v.getUint32(2) }, voters }
}

/** The voter set after `change`; the caller has checked that the change is not a no-op. */
export function applyChange(voters: readonly NodeId[], change: ConfChange): NodeId[] {
  const next = change.type === 'addVoter' ? [...voters, change.node] : voters.filter((v) => v !== change.node)
  return next.sort((a, b) => a - b)
}

interface ConfigAt {
  readonly index: LogIndex
  readonly voters: readonly NodeId[]
}

/**
 * The configuration a log implies: a base (the snapshot's voters at its index, or the bootstrap
 * voters at index 0) and every config entry after it that is still in the log, ascending.
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

  constructor(baseIndex: LogIndex, voters: readonly NodeId[]) {
    this.#base = { index: baseIndex, voters }
  }

  /** The configuration in force: the latest in the log, committed or not. */
  get voters(): readonly NodeId[] {
    return this.#changes.at(-1)?.voters ?? this.#base.voters
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
      this.#changes.push({ index: e.index, voters: decodeConfigEntry(e.data).voters })
    }
  }

  /**
   * The log was replaced by a snapshot: its voters are the configuration at its index. Changes
   * at or below `committed` (our commit index before the snapshot) stay as history: they are
   * committed, so the snapshot agrees with them, and the application may still be snapshotting
   * at its applied index below this one (an asynchronous Ready in flight) and ask votersAt.
   */
  restore(index: LogIndex, voters: readonly NodeId[], committed: LogIndex): void {
    assert(index > committed, 'a snapshot installs beyond the commit index')
    this.#changes = this.#changes.filter((c) => c.index <= committed)
    this.#changes.push({ index, voters })
  }

  /** The configuration in force at `index` (for snapshots taken there); index ≥ the base's. */
  votersAt(index: LogIndex): readonly NodeId[] {
    assert(index >= this.#base.index, `configuration at ${index} is before the tracked base ${this.#base.index}`)
    let found = this.#base.voters
    for (const c of this.#changes) {
      if (c.index > index) break
      found = c.voters
    }
    return found
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
