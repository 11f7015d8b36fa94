/**
 * Group commit for one shard: appends only mark a partition dirty; a periodic tick (from the
 * shard's timer wheel, off the request path) fsyncs each dirty partition whose flush policy
 * says so — once per tick, however many appends arrived since the last one.
 *
 * Acknowledgements never wait for this (they follow the writeSync in append); it only moves
 * recovery points forward so restarts after a crash have less to recover.
 */
export interface Flushable {
  needsFlush(now: number): boolean
  flush(): void
  readonly recoveryPoint: number
  readonly logEndOffset: number
}

export interface FlushTickResult<K> {
  flushed: K[]
  failed: Array<{ key: K; err: unknown }>
}

export class FlushScheduler<K> {
  private readonly dirty = new Map<K, Flushable>()

  /** Call after each successful append. O(1). */
  markAppended(key: K, log: Flushable): void {
    this.dirty.set(key, log)
  }

  /** The partition is closing or gone: stop tracking it (close() flushes by itself). */
  forget(key: K): void {
    this.dirty.delete(key)
  }

  get pending(): number {
    return this.dirty.size
  }

  /** Flushes every dirty partition whose policy is due; a failing partition is reported, the others still flush. */
  tick(now: number, force = false): FlushTickResult<K> {
    const result: FlushTickResult<K> = { flushed: [], failed: [] }
    for (const [key, log] of this.dirty) {
      if (!force && !log.needsFlush(now)) continue
      try {
        log.flush()
        result.flushed.push(key)
      } catch (err) {
        result.failed.push({ key, err })
        continue
      }
      if (log.recoveryPoint >= log.logEndOffset) this.dirty.delete(key)
    }
    return result
  }
}
