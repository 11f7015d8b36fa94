/**
 * Client operations on the register and a linearizability check over them.
 *
 * Writes are totally ordered by their log index (the order the state machine
 * applies them), and each read reports the index of the write it observed.
 * Given that order, a history is not linearizable if any of these hold, so the
 * check never reports a false violation:
 *   1. a read observed a write older than one acknowledged before the read began
 *      (a stale read, e.g. from a deposed leader);
 *   2. a read observed a write older than one observed by a read that finished
 *      before it began (reads going back in time).
 * Both reduce to a "floor" fixed when the read starts: the highest write index
 * any completed operation had exposed by then.
 */
import type { LogIndex, NodeId, ProposalOutcome, Term } from '../../../src/raft/types.ts'
import type { Checker } from './checker.ts'
import { SafetyViolation } from './checker.ts'

interface WriteOp {
  readonly op: number
  readonly start: number
  end: number
}

interface ReadOp {
  readonly op: number
  readonly node: NodeId
  readonly start: number
  readonly floor: LogIndex
}

export class History {
  readonly #checker: Checker
  #nextOp = 1
  /**
   * Accepted writes awaiting their outcome, by "node/index/term". The key is only unique
   * within one life of a node: a node that crashed and restarted may run the same term again
   * and put another entry at the same index, so a crash forgets the node's pending writes
   * (`forgetWritesOf`), as RaftNode itself forgets its pending proposals.
   */
  readonly #writes = new Map<string, WriteOp>()
  readonly #reads = new Map<string, ReadOp>()
  #maxAckedIndex: LogIndex = 0
  #maxReadIndex: LogIndex = 0
  acked = 0
  lost = 0
  readsDone = 0
  /** Writes accepted at or after this time count for liveness. */
  livenessFrom = Infinity
  /** Op ids of writes accepted during the liveness phase. */
  readonly livenessOps = new Set<number>()

  constructor(checker: Checker) {
    this.#checker = checker
  }

  nextOp(): number {
    return this.#nextOp++
  }

  /**
   * Writes still awaiting an outcome, younger than `patienceMs`. Clients are
   * closed-loop: they stop writing while too many are outstanding, so the
   * offered load never exceeds what the slowest fault profile can commit.
   */
  outstandingWrites(now: number, patienceMs: number): number {
    let n = 0
    for (const w of this.#writes.values()) if (now - w.start < patienceMs) n++
    return n
  }

  writeAccepted(op: number, node: NodeId, index: LogIndex, term: Term, now: number): void {
    this.#writes.set(`${node}/${index}/${term}`, { op, start: now, end: -1 })
    if (now >= this.livenessFrom) this.livenessOps.add(op)
  }

  onOutcome(node: NodeId, o: ProposalOutcome, now: number): void {
    const key = `${node}/${o.index}/${o.term}`
    const w = this.#writes.get(key)
    if (!w) return
    this.#writes.delete(key)
    if (o.outcome === 'committed') {
      w.end = now
      this.acked++
      this.#checker.onAck(w.op, o.index)
      if (o.index > this.#maxAckedIndex) this.#maxAckedIndex = o.index
    } else if (o.outcome === 'lost') {
      this.lost++
      this.#checker.onLost(w.op)
    }
  }

  /** Starts a read; returns its context for readIndex(). */
  readStarted(node: NodeId, now: number): string {
    const op = this.nextOp()
    const context = `r${op}`
    this.#reads.set(context, { op, node, start: now, floor: Math.max(this.#maxAckedIndex, this.#maxReadIndex) })
    return context
  }

  /** Node `node` served read `context`, observing the write at `valueIndex` with op `value`. */
  readDone(node: NodeId, context: string, valueIndex: LogIndex, value: number): void {
    const r = this.#reads.get(context)
    if (!r || r.node !== node) return
    this.#reads.delete(context)
    this.readsDone++
    if (valueIndex < r.floor) {
      throw new SafetyViolation(`linearizability: read ${r.op} on node ${node} saw write at ${valueIndex}, but write at ${r.floor} completed before it began`)
    }
    const applied = this.#checker.opAt(valueIndex)
    if (applied !== value) throw new SafetyViolation(`read ${r.op} saw op ${value} at ${valueIndex}, the log has ${applied}`)
    if (valueIndex > this.#maxReadIndex) this.#maxReadIndex = valueIndex
  }

  /**
   * Writes accepted by a node that crashed never get an outcome from it: the restarted node
   * knows nothing of them (which constrains nothing; the write may still commit or not). Keeping
   * them would credit an outcome of the next life to the wrong op when that life reuses
   * index/term (e.g. a sole voter that loses the hard state of its term in a torn write).
   */
  forgetWritesOf(node: NodeId): void {
    const prefix = `${node}/`
    for (const key of this.#writes.keys()) if (key.startsWith(prefix)) this.#writes.delete(key)
  }

  /** Reads on a crashed node never complete (which constrains nothing). */
  forgetReadsOf(node: NodeId): void {
    for (const [ctx, r] of this.#reads) if (r.node === node) this.#reads.delete(ctx)
  }
}
