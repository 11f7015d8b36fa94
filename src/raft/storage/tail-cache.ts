/**
 * The newest log entries, kept in memory up to a byte budget, so the leader replicates what it
 * just appended without reading it back from the segments.
 *
 * Invariant: items[head + k].index === first + k, and the cached entries are exactly the
 * newest ones of the log (it ends where the log ends).
 */
import { assert } from '../../lib/assert.ts'
import { entrySize, type Entry, type LogIndex, type Term } from '../types.ts'

export class TailCache {
  readonly #maxBytes: number
  #items: Entry[] = []
  #head = 0
  #bytes = 0
  /** Index of the oldest cached entry (= the next index while empty). */
  first: LogIndex

  constructor(maxBytes: number, next: LogIndex) {
    this.#maxBytes = maxBytes
    this.first = next
  }

  get #count(): number {
    return this.#items.length - this.#head
  }

  /** Entries must continue the cache (the log was truncated first when they did not). */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.first + this.#count, `tail cache: entry ${e.index} does not continue ${this.first + this.#count - 1}`)
      this.#items.push(e)
      this.#bytes += entrySize(e)
    }
    while (this.#bytes > this.#maxBytes && this.#count > 1) this.#evictOne()
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
  }

  #evictOne(): void {
    this.#bytes -= entrySize(this.#items[this.#head]!)
    this.#head++
    this.first++
  }

  slice(lo: LogIndex, hi: LogIndex): Entry[] {
    return this.#items.slice(this.#head + lo - this.first, this.#head + hi - this.first)
  }

  term(index: LogIndex): Term | undefined {
    if (index < this.first || index >= this.first + this.#count) return undefined
    return this.#items[this.#head + index - this.first]!.term
  }

  /** The log was cut: entries at or after `index` are gone. */
  truncateFrom(index: LogIndex): void {
    if (index < this.first) {
      this.reset(index)
      return
    }
    const keep = index - this.first
    for (let k = keep; k < this.#count; k++) this.#bytes -= entrySize(this.#items[this.#head + k]!)
    this.#items.length = Math.min(this.#items.length, this.#head + keep)
  }

  /** Compaction: entries below `index` are no longer in the log. */
  dropBefore(index: LogIndex): void {
    while (this.#count > 0 && this.first < index) this.#evictOne()
    if (this.#count === 0) this.first = Math.max(this.first, index)
  }

  reset(next: LogIndex): void {
    this.#items = []
    this.#head = 0
    this.#bytes = 0
    this.first = next
  }
}
