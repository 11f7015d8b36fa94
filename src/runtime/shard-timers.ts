/**
 * The one timer of a shard worker (the design's "timer wheel per shard"): every delayed job of
 * every partition on the shard — group-commit flushes, producer expiry — is an entry here, and a
 * single Node timer is armed for the earliest one. 10,000 idle partitions therefore cost no Node
 * timers, and an idle shard with nothing due sleeps (no periodic tick).
 *
 * Entries are keyed (at most one per key); a min-heap orders them by due time, with lazy
 * deletion: cancelling or replacing an entry bumps its generation and the stale heap node is
 * dropped when it surfaces. Delays of any length are safe: the Node timer is clamped to 2^31−1 ms
 * and re-armed, and Infinity means "never" (nothing is scheduled).
 */
import { MAX_TIMER_DELAY_MS } from '../lib/long-timer.ts'

interface Entry {
  readonly due: number
  readonly gen: number
  readonly fn: () => void
}

interface HeapNode {
  readonly due: number
  readonly key: string
  readonly gen: number
}

export class ShardTimers {
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #heap: HeapNode[] = []
  #gen = 0
  #timer: NodeJS.Timeout | null = null
  #armedFor = Infinity
  #closed = false

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  get size(): number {
    return this.#entries.size
  }

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  /** Runs `fn` at `due` (ms since the epoch), replacing any entry with the same key. */
  schedule(key: string, due: number, fn: () => void): void {
    if (this.#closed || due === Infinity) {
      this.cancel(key)
      return
    }
    const gen = ++this.#gen
    this.#entries.set(key, { due, gen, fn })
    this.#push({ due, key, gen })
    if (due < this.#armedFor) this.#arm()
  }

  /** Like schedule, but keeps an existing entry (a deadline that later events must not push back). */
  scheduleIfAbsent(key: string, due: number, fn: () => void): void {
    if (!this.#entries.has(key)) this.schedule(key, due, fn)
  }

  cancel(key: string): void {
    this.#entries.delete(key) // its heap node is now stale
    if (this.#entries.size === 0) {
      // Nothing left: drop the heap and the Node timer so an idle shard holds no timer at all.
      this.#heap.length = 0
      if (this.#timer) clearTimeout(this.#timer)
      this.#timer = null
      this.#armedFor = Infinity
    }
  }

  close(): void {
    this.#closed = true
    this.#entries.clear()
    this.#heap.length = 0
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#armedFor = Infinity
  }

  /** Fires every entry due by now (also called by the Node timer). */
  runDue(): void {
    const now = this.#now()
    for (;;) {
      const top = this.#heap[0]
      if (top === undefined || top.due > now) break
      this.#pop()
      const entry = this.#entries.get(top.key)
      if (entry === undefined || entry.gen !== top.gen) continue
      this.#entries.delete(top.key)
      entry.fn()
    }
    this.#arm()
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#armedFor = Infinity
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!
      const entry = this.#entries.get(top.key)
      if (entry !== undefined && entry.gen === top.gen) break
      this.#pop()
    }
    const top = this.#heap[0]
    if (top === undefined || this.#closed) return
    this.#armedFor = top.due
    const delay = Math.min(Math.max(0, top.due - this.#now()), MAX_TIMER_DELAY_MS)
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#armedFor = Infinity
      this.runDue()
    }, delay)
    // The shard's port keeps its thread alive; the timer alone must not (a host used in-process, in tests).
    this.#timer.unref()
  }

  #push(node: HeapNode): void {
    const h = this.#heap
    h.push(node)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.due <= node.due) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = node
  }

  #pop(): void {
    const h = this.#heap
    const last = h.pop()!
    if (h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const r = l + 1
      const child = r < h.length && h[r]!.due < h[l]!.due ? r : l
      if (h[child]!.due >= last.due) break
      h[i] = h[child]!
      i = child
    }
    h[i] = last
  }
}
