/**
 * An LRU of open file descriptors, one per shard worker (or per test).
 *
 * Segments never keep an fd of their own: they ask the cache for one each time, use it
 * synchronously and let it go. So 10,000 partitions cost at most `maxOpen` fds, and an
 * old segment is opened only when something reads it.
 *
 * Invariant: an fd obtained from `get` is only valid until the next call into the cache
 * (which may evict and close it). Callers never keep it across calls.
 */
import { closeSync, constants, openSync } from 'node:fs'
import { assert } from '../lib/assert.ts'

const OPEN_FLAGS = constants.O_RDWR

export class FileHandleCache {
  readonly maxOpen: number
  // Map iteration order is insertion order: the first key is the least recently used.
  private readonly open = new Map<string, number>()
  private opened = 0

  constructor(maxOpen = 256) {
    assert(Number.isInteger(maxOpen) && maxOpen >= 1, `maxOpen must be a positive integer, got ${maxOpen}`)
    this.maxOpen = maxOpen
  }

  /** Returns an fd opened read-write for `path`; `create` makes the file if it is missing. Throws the fs error (ENOENT...). */
  get(path: string, create = false): number {
    const fd = this.open.get(path)
    if (fd !== undefined) {
      // Refresh recency: delete + set moves the key to the end.
      this.open.delete(path)
      this.open.set(path, fd)
      return fd
    }
    if (this.open.size >= this.maxOpen) this.evictOldest()
    const newFd = openSync(path, create ? OPEN_FLAGS | constants.O_CREAT : OPEN_FLAGS, 0o644)
    this.opened++
    this.open.set(path, newFd)
    return newFd
  }

  /** Closes the fd of `path` if it is open (before a rename, delete or truncate by path). */
  close(path: string): void {
    const fd = this.open.get(path)
    if (fd === undefined) return
    this.open.delete(path)
    closeSync(fd)
  }

  /** Closes every fd whose path starts with `prefix` (a partition directory followed by '/'). */
  closeUnder(prefix: string): void {
    for (const [path, fd] of this.open) {
      if (path.startsWith(prefix)) {
        this.open.delete(path)
        closeSync(fd)
      }
    }
  }

  closeAll(): void {
    for (const fd of this.open.values()) closeSync(fd)
    this.open.clear()
  }

  get size(): number {
    return this.open.size
  }

  /** How many opens happened in total (tests use it to see that old segments open lazily). */
  get openCount(): number {
    return this.opened
  }

  private evictOldest(): void {
    const first = this.open.entries().next()
    if (first.done) return
    const [path, fd] = first.value
    this.open.delete(path)
    closeSync(fd)
  }
}
