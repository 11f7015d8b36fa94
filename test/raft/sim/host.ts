/**
 * One simulated server: a RaftNode, its durable storage, its register state
 * machine, and the caller's side of the Ready loop — the same loop a real
 * deployment runs, with a crash that can strike in the middle of a write.
 *
 * What survives a crash is exactly what reached `storage`: a completed Ready
 * is durable (it was synced before its messages went out); a crash during a
 * Ready keeps a random prefix of its writes (a torn tail), in the order a
 * durable implementation writes them: snapshot, entries, then hard state.
 */
import { RaftNode } from '../../../src/raft/raft-node.ts'
import { MemoryStorage } from '../../../src/raft/storage.ts'
import type { Ready } from '../../../src/raft/raft-node.ts'
import type { HardState, Message, NodeId, ReadState } from '../../../src/raft/types.ts'
import type { Checker } from './checker.ts'
import type { History } from './history.ts'
import type { Prng } from './prng.ts'
import type { FaultProfile } from './profiles.ts'
import { Register } from './register.ts'

export const electionTicks = 10
export const heartbeatTicks = 2

export interface HostEnv {
  readonly rng: Prng
  readonly profile: FaultProfile
  readonly checker: Checker
  readonly history: History
  readonly voters: readonly NodeId[]
  now(): number
  send(m: Message): void
  /** Called when this node has just become leader and persisted its no-op. */
  becameLeader(id: NodeId): void
  /** Runs `fn` after `delayMs` of simulated time. */
  schedule(delayMs: number, fn: () => void): void
}

export class Host {
  readonly id: NodeId
  readonly storage: MemoryStorage
  readonly #env: HostEnv
  raft: RaftNode | null = null
  sm = new Register()
  /** Reads whose read index is known, waiting for the state machine to catch up. */
  #waitingReads: ReadState[] = []
  /** The next Ready crashes this node partway through persisting it. */
  crashDuringNextWrite = false
  #durableHard: HardState = { term: 0, vote: 0, commit: 0 }
  /** With an asynchronous disk: the Ready being written, not yet synced. */
  #writing: Ready | null = null
  /** Whether the node led when it produced the Ready being persisted. */
  #leaderAtReady = false
  /** Bumped on every crash, so a write completion from a previous life is ignored. */
  #generation = 0
  crashes = 0

  constructor(id: NodeId, env: HostEnv) {
    this.id = id
    this.#env = env
    this.storage = new MemoryStorage(env.voters)
    this.boot()
  }

  get alive(): boolean {
    return this.raft !== null
  }

  boot(): void {
    const p = this.#env.profile
    this.raft = new RaftNode({
      id: this.id, voters: this.#env.voters, storage: this.storage, random: this.#env.rng,
      electionTicks, heartbeatTicks,
      maxInflightMessages: p.maxInflightMessages, maxBytesPerMessage: p.maxBytesPerMessage,
    })
    const snap = this.storage.snapshot()
    this.sm = new Register()
    this.sm.restore(snap.data, snap.meta.index)
    this.#durableHard = this.storage.hardState()
    this.#waitingReads = []
    this.crashDuringNextWrite = false
  }

  crash(): void {
    // A write in flight at the crash is torn: only a prefix of it reached the disk.
    if (this.#writing) this.#tornWrite(this.#writing)
    this.#writing = null
    this.raft = null
    this.#generation++
    this.crashes++
    // Its pending proposals and reads die with it: a restarted node reports no outcome for them,
    // and may even reuse their index and term for other entries.
    this.#env.history.forgetWritesOf(this.id)
    this.#env.history.forgetReadsOf(this.id)
  }

  tick(): void {
    this.raft?.tick()
    this.process()
  }

  step(m: Message): void {
    this.raft?.step(m)
    this.process()
  }

  /**
   * The caller's Ready loop. With a synchronous disk each Ready is written,
   * sent, applied and advanced at once. With an asynchronous disk the write
   * takes simulated time, and the node keeps ticking and stepping meanwhile
   * (the next Ready waits for advance()).
   */
  process(): void {
    while (this.raft?.hasReady() && !this.#writing) {
      this.#leaderAtReady = this.raft.status().role === 'leader'
      const rd = this.raft.ready()
      const latency = this.#env.profile.diskLatency
      if (latency > 0) {
        this.#writing = rd
        const generation = this.#generation
        this.#env.schedule(this.#env.rng.between(1, latency), () => this.#writeDone(generation))
        return
      }
      if (this.crashDuringNextWrite) {
        this.#tornWrite(rd)
        this.crash()
        return
      }
      this.#finish(rd)
    }
  }

  #writeDone(generation: number): void {
    const rd = this.#writing
    if (generation !== this.#generation || !rd) return
    if (this.crashDuringNextWrite) {
      this.crash()
      return
    }
    this.#writing = null
    this.#finish(rd)
    this.process()
  }

  #finish(rd: Ready): void {
    this.#persist(rd)
    for (const m of rd.messages) this.#env.send(m)
    this.#apply(rd)
    this.raft!.advance()
    this.#maybeCompact()
  }

  #persist(rd: Ready): void {
    const { checker } = this.#env
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot)
    this.storage.append(rd.entries)
    checker.onPersist(this.id, rd.entries, this.storage)
    if (rd.hardState) {
      checker.onHardState(this.id, this.#durableHard, rd.hardState)
      if (rd.hardState.commit > this.#durableHard.commit && this.#leaderAtReady) {
        checker.onLeaderCommit(this.id, rd.hardState, this.storage)
      }
      this.storage.setHardState(rd.hardState)
      this.#durableHard = rd.hardState
    }
    if (this.#leaderAtReady && rd.entries.some((e) => e.kind === 'config' && e.term === this.#durableHard.term)) {
      checker.onLeaderConfigChange(this.id, this.storage)
    }
    if (rd.softState?.role === 'leader') {
      checker.onLeader(this.id, this.storage.hardState().term, this.storage)
      this.#env.becameLeader(this.id)
    }
  }

  /** A crash mid-write: some prefix of the snapshot/entries/hard-state sequence reached the disk. */
  #tornWrite(rd: Ready): void {
    const rng = this.#env.rng
    if (rd.snapshot) {
      if (!rng.chance(0.5)) return
      this.storage.applySnapshot(rd.snapshot)
    }
    const k = rng.int(rd.entries.length + 1)
    const written = rd.entries.slice(0, k)
    this.storage.append(written)
    this.#env.checker.onPersist(this.id, written, this.storage)
    if (k === rd.entries.length && rd.hardState && rng.chance(0.5)) {
      this.#env.checker.onHardState(this.id, this.#durableHard, rd.hardState)
      this.storage.setHardState(rd.hardState)
    }
  }

  #apply(rd: Ready): void {
    const { checker, history } = this.#env
    const now = this.#env.now()
    if (rd.snapshot) {
      this.sm.restore(rd.snapshot.data, rd.snapshot.meta.index)
      checker.onRestore(this.id, rd.snapshot.meta, this.sm)
    }
    for (const e of rd.committedEntries) {
      checker.onApply(this.id, e, this.sm.applied)
      this.sm.apply(e)
    }
    for (const o of rd.proposalOutcomes) history.onOutcome(this.id, o, now)
    for (const rs of rd.readStates) this.#waitingReads.push(rs)
    if (this.#waitingReads.length > 0) {
      const stillWaiting: ReadState[] = []
      for (const rs of this.#waitingReads) {
        if (rs.index <= this.sm.applied) history.readDone(this.id, rs.context, this.sm.valueIndex, this.sm.value)
        else stillWaiting.push(rs)
      }
      this.#waitingReads = stillWaiting
    }
  }

  /** The application decides when to snapshot; here, every `compactEvery` applied entries. */
  #maybeCompact(): void {
    const every = this.#env.profile.compactEvery
    if (every === 0 || this.sm.applied - (this.storage.firstIndex() - 1) < every) return
    // The snapshot records the configuration (voters and learners) in force at its index.
    this.storage.createSnapshot(this.sm.applied, this.sm.snapshot(), this.raft!.votersAt(this.sm.applied), this.raft!.learnersAt(this.sm.applied))
  }
}
