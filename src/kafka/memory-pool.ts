/**
 * Broker-wide accounting of request bytes held in memory (`queued.max.request.bytes`).
 *
 * A connection reserves a frame's size before it buffers the frame and releases it when the
 * response has been written. When the pool is exhausted, connections pause their sockets and
 * wait: memory stays bounded and nothing is dropped. A single frame larger than the whole
 * pool is still admitted when the pool is empty, so a legal request can never wait forever.
 */
import { assert } from '../lib/assert.ts'

export class RequestMemoryPool {
  readonly capacity: number
  #used = 0
  #waiters: (() => void)[] = []

  constructor(capacity: number) {
    assert(capacity > 0, 'memory pool capacity must be positive')
    this.capacity = capacity
  }

  get used(): number {
    return this.#used
  }

  tryReserve(bytes: number): boolean {
    if (this.#used > 0 && this.#used + bytes > this.capacity) return false
    this.#used += bytes
    return true
  }

  release(bytes: number): void {
    this.#used -= bytes
    assert(this.#used >= 0, 'memory pool released more than it reserved')
    if (this.#waiters.length > 0 && this.#used < this.capacity) {
      const waiters = this.#waiters
      this.#waiters = []
      for (const w of waiters) w()
    }
  }

  /** Calls back once when memory is released (the caller then retries tryReserve). */
  onRelease(cb: () => void): void {
    this.#waiters.push(cb)
  }
}
