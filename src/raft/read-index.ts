/**
 * Read-index bookkeeping on the leader (Raft §8, thesis §6.4).
 *
 * A read request records the commit index at the moment it arrives; it may be
 * answered once a quorum has acknowledged a heartbeat sent *after* that moment,
 * proving that no other leader could have committed anything newer. Requests
 * are answered in arrival order: a quorum ack for a later request also proves
 * leadership for every earlier one.
 */
import type { LogIndex, NodeId } from './types.ts'

export interface PendingRead {
  readonly context: string
  /** The leader's commit index when the request arrived. */
  readonly index: LogIndex
  /** Who asked: the leader itself or a follower that forwarded the request. */
  readonly from: NodeId
  readonly acks: Set<NodeId>
}

export class ReadIndexQueue {
  #byContext = new Map<string, PendingRead>()
  #order: PendingRead[] = []

  get size(): number {
    return this.#order.length
  }

  /** Queues a request; a repeated context is ignored (the first one will answer it). */
  add(context: string, index: LogIndex, from: NodeId, self: NodeId): PendingRead | undefined {
    if (this.#byContext.has(context)) return undefined
    const read: PendingRead = { context, index, from, acks: new Set([self]) }
    this.#byContext.set(context, read)
    this.#order.push(read)
    return read
  }

  /** Records that `from` acknowledged a heartbeat carrying `context`. */
  recordAck(context: string, from: NodeId): PendingRead | undefined {
    const read = this.#byContext.get(context)
    read?.acks.add(from)
    return read
  }

  /** Removes and returns every request up to and including `context`, in order. */
  releaseThrough(context: string): PendingRead[] {
    const k = this.#order.findIndex((r) => r.context === context)
    if (k < 0) return []
    const released = this.#order.splice(0, k + 1)
    for (const r of released) this.#byContext.delete(r.context)
    return released
  }

  /** The newest request's context: a heartbeat carrying it confirms all of them. */
  newestContext(): string | null {
    return this.#order.at(-1)?.context ?? null
  }

  clear(): void {
    this.#byContext.clear()
    this.#order = []
  }
}
