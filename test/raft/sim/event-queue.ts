/**
 * A binary min-heap of timed events. Ties break by insertion order, so two
 * runs with the same seed pop events in exactly the same order.
 */
export interface Timed<T> {
  readonly time: number
  readonly seq: number
  readonly event: T
}

export class EventQueue<T> {
  #heap: Timed<T>[] = []
  #seq = 0

  get size(): number {
    return this.#heap.length
  }

  push(time: number, event: T): void {
    const h = this.#heap
    h.push({ time, seq: this.#seq++, event })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  pop(): Timed<T> | undefined {
    const h = this.#heap
    const top = h[0]
    const last = h.pop()
    if (h.length === 0 || !last) return top
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l]!, h[m]!)) m = l
      if (r < h.length && before(h[r]!, h[m]!)) m = r
      if (m === i) break
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
    return top
  }
}

function before<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
