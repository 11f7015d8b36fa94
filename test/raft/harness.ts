/**
 * A fluent harness for readable Raft scenario tests: a handful of nodes, an
 * explicit message queue the test delivers on demand, partitions, crashes and
 * restarts. Unlike the simulator nothing here is random unless a test asks:
 * election timeouts are fixed and campaigns are triggered explicitly.
 *
 *   const c = new Cluster([1, 2, 3])
 *   c.campaign(1).stabilize()
 *   c.expectLeader(1)
 */
import { RaftNode } from '../../src/raft/raft-node.ts'
import { MemoryStorage } from '../../src/raft/storage.ts'
import type { RaftConfig } from '../../src/raft/config.ts'
import { decodeConfigEntry } from '../../src/raft/membership.ts'
import type { ConfChange } from '../../src/raft/membership.ts'
import type { Entry, Message, MessageType, NodeId, ProposalOutcome, ProposeResult, ReadState } from '../../src/raft/types.ts'
import type { Status } from '../../src/raft/raft-node.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export interface ClusterOptions {
  preVote?: boolean
  checkQuorum?: boolean
  electionTicks?: number
  heartbeatTicks?: number
  maxInflightMessages?: number
  maxBytesPerMessage?: number
  maxPendingReads?: number
  /**
   * The bootstrap voter set (default: every node). Nodes not in it run as non-members that a
   * membership change can add.
   */
  voters?: readonly NodeId[]
  /** Extra election-timeout ticks per node (default 0: every timeout is exactly electionTicks). */
  jitter?: (id: NodeId) => number
}

interface HarnessNode {
  raft: RaftNode
  storage: MemoryStorage
  alive: boolean
  /** Applied entries as "term:data" (noops as "term:-"), since the last restart from a snapshot. */
  applied: string[]
  snapshotIndex: number
  readStates: ReadState[]
  outcomes: ProposalOutcome[]
}

export class Cluster {
  readonly ids: readonly NodeId[]
  readonly voters: readonly NodeId[]
  readonly opts: ClusterOptions
  readonly nodes = new Map<NodeId, HarnessNode>()
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = []
  /** Directed links that drop everything: "from>to". */
  readonly #cut = new Set<string>()

  constructor(ids: readonly NodeId[], opts: ClusterOptions = {}) {
    this.ids = ids
    this.voters = opts.voters ?? ids
    this.opts = opts
    for (const id of ids) {
      const storage = new MemoryStorage(this.voters)
      this.nodes.set(id, this.#boot(id, storage))
    }
  }

  #boot(id: NodeId, storage: MemoryStorage): HarnessNode {
    const jitter = this.opts.jitter?.(id) ?? 0
    const cfg: RaftConfig = {
      id, voters: this.voters, storage,
      random: { int: () => jitter },
      electionTicks: this.opts.electionTicks ?? 10,
      heartbeatTicks: this.opts.heartbeatTicks ?? 1,
      preVote: this.opts.preVote ?? true,
      checkQuorum: this.opts.checkQuorum ?? true,
      maxInflightMessages: this.opts.maxInflightMessages ?? 64,
      maxBytesPerMessage: this.opts.maxBytesPerMessage ?? 1 << 20,
      maxPendingReads: this.opts.maxPendingReads ?? 100,
    }
    const snap = storage.snapshot()
    return {
      raft: new RaftNode(cfg), storage, alive: true,
      applied: [], snapshotIndex: snap.meta.index, readStates: [], outcomes: [],
    }
  }

  n(id: NodeId): HarnessNode {
    const node = this.nodes.get(id)
    if (!node) throw new Error(`no node ${id}`)
    return node
  }

  status(id: NodeId): Status {
    return this.n(id).raft.status()
  }

  /** Runs the caller's side of the Ready loop until the node has nothing more to do. */
  process(id: NodeId): this {
    const node = this.n(id)
    while (node.alive && node.raft.hasReady()) {
      const rd = node.raft.ready()
      if (rd.snapshot) node.storage.applySnapshot(rd.snapshot)
      node.storage.append(rd.entries)
      if (rd.hardState) node.storage.setHardState(rd.hardState)
      // A message sent over a cut link is lost at once (a partition drops, not delays).
      for (const m of rd.messages) if (!this.#cut.has(`${m.from}>${m.to}`)) this.queue.push(m)
      if (rd.snapshot) {
        node.applied = []
        node.snapshotIndex = rd.snapshot.meta.index
      }
      for (const e of rd.committedEntries) node.applied.push(describe(e))
      node.readStates.push(...rd.readStates)
      node.outcomes.push(...rd.proposalOutcomes)
      node.raft.advance()
    }
    return this
  }

  processAll(): this {
    for (const id of this.ids) this.process(id)
    return this
  }

  /** Delivers the messages queued right now (matching `filter`), leaving the rest queued. */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const now = this.queue
    this.queue = []
    let count = 0
    for (const m of now) {
      if (!filter(m)) {
        this.queue.push(m)
        continue
      }
      const node = this.nodes.get(m.to)
      if (!node?.alive || this.#cut.has(`${m.from}>${m.to}`)) continue
      count++
      node.raft.step(m)
      this.process(m.to)
    }
    return count
  }

  /** Delivers messages until none are left (bounded, so a livelock fails loudly). */
  stabilize(rounds = 200): this {
    this.processAll()
    for (let i = 0; i < rounds; i++) {
      if (this.queue.length === 0) return this
      this.deliver()
    }
    throw new Error('cluster did not stabilize')
  }

  /** Drops queued messages matching `filter` (all by default); returns how many. */
  drop(filter: (m: Message) => boolean = () => true): number {
    const before = this.queue.length
    this.queue = this.queue.filter((m) => !filter(m))
    return before - this.queue.length
  }

  /** Queued messages of the given type. */
  pending(type?: MessageType): Message[] {
    return this.queue.filter((m) => type === undefined || m.type === type)
  }

  tick(id: NodeId, times = 1): this {
    for (let i = 0; i < times; i++) {
      if (!this.n(id).alive) return this
      this.n(id).raft.tick()
      this.process(id)
    }
    return this
  }

  /** Ticks every live node `times` times, delivering messages after each round. */
  tickAll(times = 1): this {
    for (let i = 0; i < times; i++) {
      for (const id of this.ids) this.tick(id)
      this.stabilize()
    }
    return this
  }

  campaign(id: NodeId): this {
    this.n(id).raft.campaign()
    return this.process(id)
  }

  propose(id: NodeId, data: string): ProposeResult {
    const res = this.n(id).raft.propose(enc.encode(data))
    this.process(id)
    return res
  }

  changeMembership(id: NodeId, cc: ConfChange): ProposeResult {
    const res = this.n(id).raft.proposeConfChange(cc)
    this.process(id)
    return res
  }

  readIndex(id: NodeId, context: string): ReturnType<RaftNode['readIndex']> {
    const res = this.n(id).raft.readIndex(context)
    this.process(id)
    return res
  }

  transferLeader(from: NodeId, to: NodeId): ReturnType<RaftNode['transferLeader']> {
    const res = this.n(from).raft.transferLeader(to)
    this.process(from)
    return res
  }

  /** Cuts both directions between every pair of groups. */
  partition(...groups: NodeId[][]): this {
    this.heal()
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue
        for (const x of a) for (const y of b) this.#cut.add(`${x}>${y}`)
      }
    }
    return this
  }

  isolate(id: NodeId): this {
    return this.partition([id], this.ids.filter((x) => x !== id))
  }

  /** Cuts only the direction from → to. */
  cut(from: NodeId, to: NodeId): this {
    this.#cut.add(`${from}>${to}`)
    return this
  }

  heal(): this {
    this.#cut.clear()
    return this
  }

  /** Stops a node; what reached its storage survives, messages to it are lost. */
  crash(id: NodeId): this {
    this.n(id).alive = false
    this.drop((m) => m.to === id)
    return this
  }

  restart(id: NodeId): this {
    this.nodes.set(id, this.#boot(id, this.n(id).storage))
    return this.process(id)
  }

  /** The application snapshots its state at the applied index and compacts the log (§7). */
  compact(id: NodeId): this {
    const node = this.n(id)
    const applied = node.raft.status().applied
    node.storage.createSnapshot(applied, enc.encode(JSON.stringify(node.applied)), node.raft.votersAt(applied), node.raft.learnersAt(applied))
    return this
  }

  /** Entries in stable storage as "term:data" strings. */
  log(id: NodeId): string[] {
    const s = this.n(id).storage
    if (s.lastIndex() < s.firstIndex()) return []
    return s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity).map(describe)
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.n(id).alive && this.status(id).role === 'leader')
  }
}

/**
 * "term:data", "term:-" for a no-op, "term:+4" / "term:-4" for adding / removing voter 4,
 * "term:+L4" / "term:-L4" for adding / removing learner 4.
 */
export function describe(e: Entry): string {
  if (e.kind === 'config') {
    const { change } = decodeConfigEntry(e.data)
    const sign = change.type === 'addVoter' || change.type === 'addLearner' ? '+' : '-'
    const learner = change.type === 'addLearner' || change.type === 'removeLearner' ? 'L' : ''
    return `${e.term}:${sign}${learner}${change.node}`
  }
  return `${e.term}:${e.kind === 'noop' ? '-' : dec.decode(e.data)}`
}
