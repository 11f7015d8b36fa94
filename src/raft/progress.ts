/**
 * The leader's view of one follower's log, and the flow control that decides
 * when to send it more (after etcd's tracker.Progress).
 *
 * States:
 *   probe     — we do not know where the follower's log matches ours; send one
 *               append per heartbeat interval and wait for its answer.
 *   replicate — the follower is in sync; stream appends optimistically, at most
 *               maxInflight messages unacknowledged.
 *   snapshot  — the follower needs a snapshot; send nothing until it is
 *               acknowledged (or times out, then probe again).
 *
 * Invariant: match < next; match only grows while this leader's term lasts.
 */
import { assert } from '../lib/assert.ts'
import type { LogIndex } from './types.ts'

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** Bounded FIFO of the last index of each unacknowledged append. */
export class Inflights {
  readonly #capacity: number
  #items: LogIndex[] = []

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  get count(): number {
    return this.#items.length
  }

  full(): boolean {
    return this.#items.length >= this.#capacity
  }

  add(lastIndex: LogIndex): void {
    assert(!this.full(), 'inflights overflow')
    const prev = this.#items[this.#items.length - 1]
    assert(prev === undefined || lastIndex > prev, 'inflight indexes must increase')
    this.#items.push(lastIndex)
  }

  /** The follower acknowledged up to `index`: free every message that ended there or before. */
  freeLE(index: LogIndex): void {
    let k = 0
    while (k < this.#items.length && this.#items[k]! <= index) k++
    if (k > 0) this.#items.splice(0, k)
  }

  /** Frees the oldest slot (its message was probably lost). */
  freeFirst(): void {
    this.#items.shift()
  }

  reset(): void {
    this.#items = []
  }
}

export class Progress {
  match: LogIndex = 0
  next: LogIndex
  state: ProgressState = 'probe'
  /** In probe state: an append was sent and we wait for its reply (or the next heartbeat). */
  probeSent = false
  /** In snapshot state: the index of the snapshot in flight. */
  pendingSnapshot: LogIndex = 0
  /** Ticks spent in snapshot state; after an election timeout we probe again (the snapshot may be lost). */
  snapshotTicks = 0
  /** Heard from this follower since the last check-quorum round. */
  recentActive = false
  readonly inflights: Inflights

  constructor(next: LogIndex, maxInflight: number) {
    this.next = next
    this.inflights = new Inflights(maxInflight)
  }

  becomeProbe(): void {
    // After a snapshot, continue from the snapshot's index if that is further.
    const from = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1
    this.reset('probe')
    this.next = from
  }

  becomeReplicate(): void {
    this.reset('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.reset('snapshot')
    this.pendingSnapshot = snapshotIndex
  }

  private reset(state: ProgressState): void {
    this.state = state
    this.probeSent = false
    this.pendingSnapshot = 0
    this.snapshotTicks = 0
    this.inflights.reset()
  }

  /** An accepting reply for `index`: returns true if it told us something new. */
  maybeUpdate(index: LogIndex): boolean {
    let updated = false
    if (index > this.match) {
      this.match = index
      updated = true
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /** We just sent entries ending at `lastIndex`. */
  sentEntries(lastIndex: LogIndex, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1
        this.inflights.add(lastIndex)
      }
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  /**
   * A rejecting reply for `rejected` (the prevIndex we sent). `nextGuess` is the
   * index we should try next. Returns false if the reply is stale.
   */
  maybeDecrTo(rejected: LogIndex, nextGuess: LogIndex): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below match must be a stale, reordered reply.
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    // In probe state only the reply to the probe we sent counts.
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, nextGuess), this.match + 1)
    this.probeSent = false
    return true
  }

  /** Should we hold back further appends? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent
      case 'replicate':
        return this.inflights.full()
      case 'snapshot':
        return true
    }
  }
}
