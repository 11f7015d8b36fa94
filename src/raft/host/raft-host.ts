/**
 * Runs one RaftNode against durable storage and a transport: the Ready loop, ticks, and the
 * caller-facing promises for proposals and linearizable reads. Thread-agnostic (tests run it in
 * one thread); actors/raft-worker.ts runs it on its own worker thread.
 *
 * The order inside a Ready is the durability rule, enforced here and nowhere else:
 *   snapshot → entries → sync (fsync) → hard state (atomic) → send messages → apply → advance.
 * A vote, an append acknowledgement or a commit is therefore never seen by a peer before the
 * state it vouches for is on disk.
 *
 * Timing: the caller ticks it (actors/raft-worker.ts every DEFAULT_TICK_MS by default); election
 * and heartbeat ticks default to timing.ts, the values measured in docs/raft.md.
 *
 * Readies are drained on setImmediate, so every proposal and message that arrived in one turn
 * of the event loop shares one Ready and one fsync (group commit).
 */
import { randomInt } from 'node:crypto'
import type { RaftConfig, Random } from '../config.ts'
import type { ConfChange } from '../membership.ts'
import { RaftNode, type Ready, type Status } from '../raft-node.ts'
import type { RaftStorage } from '../storage.ts'
import type { Entry, HardState, LogIndex, Message, NodeId, RefusalReason, Snapshot, SoftState, Term } from '../types.ts'
import { isRefusal } from '../types.ts'
import type { RaftTransport } from '../transport/transport.ts'
import { resolveTiming } from './timing.ts'

/** The write side a host needs besides the core's read side (LogStorage implements it). */
export interface HostStorage extends RaftStorage {
  append(entries: readonly Entry[]): void
  /** Makes appended entries durable. */
  sync(): void
  /** Durable before it returns when term or vote changed. */
  setHardState(hs: HardState): void
  applySnapshot(snap: Snapshot): void
  createSnapshot(index: LogIndex, data: Uint8Array, voters?: readonly NodeId[], learners?: readonly NodeId[]): Snapshot
  close(): void
}

export type FailureReason = RefusalReason | 'lost' | 'unknown' | 'timeout' | 'stopped'
export interface Failure {
  readonly error: FailureReason
  readonly leaderId: NodeId
}
export type ProposeReply = { readonly index: LogIndex; readonly term: Term } | Failure
export type ReadReply = { readonly index: LogIndex } | Failure

export interface RaftHostOptions {
  readonly id: NodeId
  readonly voters: readonly NodeId[]
  readonly storage: HostStorage
  readonly transport: RaftTransport
  /** Default DEFAULT_ELECTION_TICKS (timing.ts; measured for DEFAULT_TICK_MS ticks). */
  readonly electionTicks?: number
  /** Default DEFAULT_HEARTBEAT_TICKS (timing.ts). */
  readonly heartbeatTicks?: number
  readonly random?: Random
  /** Other core settings (preVote, checkQuorum, flow control). */
  readonly raft?: Partial<Omit<RaftConfig, 'id' | 'voters' | 'storage' | 'random' | 'electionTicks' | 'heartbeatTicks'>>
  /** Unanswered proposals and reads fail with 'timeout' after this many ticks (default 4 election timeouts). */
  readonly requestTimeoutTicks?: number
  /** Committed entries, in order, exactly once per host life (re-applied from the snapshot after a restart). */
  readonly onApply?: (entries: readonly Entry[]) => void
  /** A snapshot replaced the state machine (installed from the leader). */
  readonly onRestore?: (snap: Snapshot) => void
  readonly onSoftState?: (s: SoftState & { readonly term: Term }) => void
}

interface Pending<T> {
  readonly resolve: (v: T) => void
  readonly since: number
}

const cryptoRandom: Random = { int: (n) => randomInt(n) }

export class RaftHost {
  readonly id: NodeId
  readonly #o: RaftHostOptions
  readonly #node: RaftNode
  readonly #electionTicks: number
  readonly #heartbeatTicks: number
  #ticks = 0
  #applied: LogIndex
  #drainScheduled = false
  #closed = false
  #readSeq = 0
  readonly #proposals = new Map<string, Pending<ProposeReply> & { readonly index: LogIndex; readonly term: Term }>()
  readonly #reads = new Map<string, Pending<ReadReply>>()
  /** Reads whose index is known, waiting for the state machine to reach it. */
  #readsWaiting: Array<{ index: LogIndex; resolve: (v: ReadReply) => void }> = []

  constructor(o: RaftHostOptions) {
    this.id = o.id
    this.#o = o
    const { electionTicks, heartbeatTicks } = resolveTiming(o)
    this.#electionTicks = electionTicks
    this.#heartbeatTicks = heartbeatTicks
    this.#node = new RaftNode({
      ...o.raft, id: o.id, voters: o.voters, storage: o.storage, random: o.random ?? cryptoRandom,
      electionTicks, heartbeatTicks,
    })
    this.#applied = o.storage.firstIndex() - 1
    // A restart restores the state machine from the snapshot, then re-applies committed entries.
    if (this.#applied > 0) o.onRestore?.(o.storage.snapshot())
    o.transport.onMessage((m) => this.step(m))
    this.#schedule()
  }

  tick(): void {
    if (this.#closed) return
    this.#ticks++
    this.#node.tick()
    this.#expire()
    this.#schedule()
  }

  step(m: Message): void {
    if (this.#closed) return
    this.#node.step(m)
    this.#schedule()
  }

  propose(data: Uint8Array): Promise<ProposeReply> {
    if (this.#closed) return Promise.resolve({ error: 'stopped', leaderId: 0 })
    const r = this.#node.propose(data)
    if (isRefusal(r)) return Promise.resolve(r)
    this.#schedule()
    return new Promise((resolve) => this.#proposals.set(`${r.index}:${r.term}`, { ...r, resolve, since: this.#ticks }))
  }

  /** Resolves once the local state machine reflects every write committed before the call (read-index, §8). */
  readIndex(): Promise<ReadReply> {
    if (this.#closed) return Promise.resolve({ error: 'stopped', leaderId: 0 })
    const context = `${this.id}:${++this.#readSeq}`
    const refused = this.#node.readIndex(context)
    if (refused !== null) return Promise.resolve(refused)
    this.#schedule()
    return new Promise((resolve) => this.#reads.set(context, { resolve, since: this.#ticks }))
  }

  /**
   * Adds or removes one voter or learner, or promotes a learner (addVoter of a learner); resolves
   * once the config entry commits (or fails: a refusal such as 'change_pending',
   * 'term_not_committed' or 'not_caught_up', 'lost', 'timeout'). The change is in force on the
   * leader as soon as it is accepted; `status().voters` and `status().learners` show it. Add a
   * server as a learner first and promote it once caught up ('not_caught_up' until then).
   */
  changeMembership(cc: ConfChange): Promise<ProposeReply> {
    if (this.#closed) return Promise.resolve({ error: 'stopped', leaderId: 0 })
    const r = this.#node.proposeConfChange(cc)
    if (isRefusal(r)) return Promise.resolve(r)
    this.#schedule()
    return new Promise((resolve) => this.#proposals.set(`${r.index}:${r.term}`, { ...r, resolve, since: this.#ticks }))
  }

  transferLeader(to: NodeId): Failure | null {
    const r = this.#node.transferLeader(to)
    this.#schedule()
    return r
  }

  campaign(): void {
    this.#node.campaign()
    this.#schedule()
  }

  status(): Status {
    return this.#node.status()
  }

  /** Snapshots the state machine image `data` taken at `index` (≤ applied) and compacts the log below it. */
  compact(index: LogIndex, data: Uint8Array): void {
    if (index > this.#applied || index < this.#o.storage.firstIndex()) return
    // The snapshot records the configuration in force at its index, so a restart or a follower
    // installing it starts from the right voters and learners.
    this.#o.storage.createSnapshot(index, data, this.#node.votersAt(index), this.#node.learnersAt(index))
  }

  #schedule(): void {
    if (this.#drainScheduled || this.#closed) return
    this.#drainScheduled = true
    setImmediate(() => {
      this.#drainScheduled = false
      if (!this.#closed) this.#drain()
    })
  }

  #drain(): void {
    while (this.#node.hasReady()) {
      const rd = this.#node.ready()
      this.#persistAndSend(rd)
      this.#apply(rd)
      this.#node.advance()
    }
  }

  #persistAndSend(rd: Ready): void {
    const s = this.#o.storage
    if (rd.snapshot) s.applySnapshot(rd.snapshot)
    if (rd.entries.length > 0) s.append(rd.entries)
    if (rd.snapshot || rd.entries.length > 0) s.sync()
    if (rd.hardState) s.setHardState(rd.hardState)
    // Only now: the messages of this Ready may vouch for anything persisted above.
    for (const m of rd.messages) this.#o.transport.send(m)
  }

  #apply(rd: Ready): void {
    if (rd.softState) this.#o.onSoftState?.({ ...rd.softState, term: this.#node.status().term })
    if (rd.snapshot && rd.snapshot.meta.index > this.#applied) {
      this.#applied = rd.snapshot.meta.index
      this.#o.onRestore?.(rd.snapshot)
    }
    const committed = rd.committedEntries.filter((e) => e.index > this.#applied)
    if (committed.length > 0) {
      this.#o.onApply?.(committed)
      this.#applied = committed.at(-1)!.index
    }
    for (const o of rd.proposalOutcomes) {
      const p = this.#proposals.get(`${o.index}:${o.term}`)
      if (p === undefined) continue
      this.#proposals.delete(`${o.index}:${o.term}`)
      p.resolve(o.outcome === 'committed' ? { index: o.index, term: o.term } : { error: o.outcome, leaderId: this.#node.status().lead })
    }
    for (const r of rd.readStates) {
      const p = this.#reads.get(r.context)
      if (p === undefined) continue
      this.#reads.delete(r.context)
      this.#readsWaiting.push({ index: r.index, resolve: p.resolve })
    }
    if (this.#readsWaiting.length > 0) {
      const ready = this.#readsWaiting.filter((w) => w.index <= this.#applied)
      this.#readsWaiting = this.#readsWaiting.filter((w) => w.index > this.#applied)
      for (const w of ready) w.resolve({ index: w.index })
    }
  }

  /** Requests the core will never answer (a lost read, a leader that stepped down for good) fail with 'timeout'. */
  #expire(): void {
    const limit = this.#o.requestTimeoutTicks ?? 4 * this.#electionTicks
    if (this.#ticks % this.#heartbeatTicks !== 0) return
    const lead = this.#node.status().lead
    for (const [k, p] of this.#proposals) {
      if (this.#ticks - p.since < limit) continue
      this.#proposals.delete(k)
      p.resolve({ error: 'timeout', leaderId: lead })
    }
    for (const [k, p] of this.#reads) {
      if (this.#ticks - p.since < limit) continue
      this.#reads.delete(k)
      p.resolve({ error: 'timeout', leaderId: lead })
    }
  }

  /** Fails what is pending with 'stopped', closes the transport and the storage (flush, commit hint). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const p of this.#proposals.values()) p.resolve({ error: 'stopped', leaderId: 0 })
    for (const p of this.#reads.values()) p.resolve({ error: 'stopped', leaderId: 0 })
    for (const w of this.#readsWaiting) w.resolve({ error: 'stopped', leaderId: 0 })
    this.#proposals.clear()
    this.#reads.clear()
    this.#readsWaiting = []
    await this.#o.transport.close()
    this.#o.storage.close()
  }
}
