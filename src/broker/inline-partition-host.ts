/**
 * A PartitionHost that runs partition logs on the calling thread. It is the reference the
 * worker-thread shard pool is tested against and a fallback while that pool is being wired
 * in; the production path is src/runtime/shard-pool.ts.
 */
import { FileHandleCache } from '../storage/file-handles.ts'
import { PartitionLog, type LogConfig } from '../storage/partition-log.ts'
import type { FetchItem, FetchItemResult, PartitionHandle, PartitionHost, PartitionSpec, ProduceItemResult, Watermarks } from './partition-host.ts'

/** ListOffsets' "max timestamp" query (KIP-734). */
const MAX_TIMESTAMP = -3

interface Hosted {
  readonly owner: string
  readonly log: PartitionLog
  leaderEpoch: number
}

export class InlinePartitionHost implements PartitionHost {
  readonly #fds = new FileHandleCache(256)
  readonly #partitions = new Map<string, Hosted>()
  readonly #listeners = new Set<(handles: readonly PartitionHandle[]) => void>()
  #nextKey = 1

  async createPartition(spec: PartitionSpec): Promise<PartitionHandle> {
    const log = PartitionLog.open({
      dir: spec.dir, topic: spec.topic, partition: spec.partition, topicId: spec.topicId, config: spec.config, now: Date.now,
      recoveryPoint: spec.recoveryPoint, cleanShutdown: spec.cleanShutdown, fds: this.#fds,
      ...(spec.logStartOffset === undefined ? {} : { logStartOffset: spec.logStartOffset }),
    })
    if (log.leaderEpoch < spec.leaderEpoch) log.assignLeaderEpoch(spec.leaderEpoch)
    // Single-replica partitions: everything written is replicated to the whole ISR (itself).
    log.setHighWatermark(log.logEndOffset)
    const key = `${spec.owner}/${spec.topicId}/${spec.partition}#${this.#nextKey++}`
    this.#partitions.set(key, { owner: spec.owner, log, leaderEpoch: spec.leaderEpoch })
    return { shard: 0, slot: 0, key }
  }

  #get(handle: PartitionHandle): Hosted | undefined {
    return this.#partitions.get(handle.key)
  }

  async updatePartition(handle: PartitionHandle, change: { leaderEpoch?: number; config?: LogConfig }): Promise<void> {
    const p = this.#get(handle)
    if (!p) return
    if (change.leaderEpoch !== undefined && change.leaderEpoch > p.leaderEpoch) {
      p.leaderEpoch = change.leaderEpoch
      p.log.assignLeaderEpoch(change.leaderEpoch)
    }
    if (change.config) p.log.updateConfig(change.config)
  }

  async deletePartition(handle: PartitionHandle): Promise<string> {
    const p = this.#get(handle)
    if (!p) return ''
    this.#partitions.delete(handle.key)
    return p.log.renameForDelete()
  }

  async closeOwner(owner: string): Promise<void> {
    for (const [key, p] of this.#partitions) {
      if (p.owner !== owner) continue
      p.log.close()
      this.#partitions.delete(key)
    }
  }

  async produce(_shard: number, items: readonly { handle: PartitionHandle; records: Buffer }[]): Promise<ProduceItemResult[]> {
    const moved: PartitionHandle[] = []
    const results = items.map((item): ProduceItemResult => {
      const p = this.#get(item.handle)
      if (!p) return { error: 'not_leader_or_follower' }
      const r = p.log.append(item.records, p.leaderEpoch)
      if ('error' in r) return r.message === undefined ? { error: r.error } : { error: r.error, message: r.message }
      p.log.setHighWatermark(p.log.logEndOffset)
      if (p.log.needsFlush(Date.now())) p.log.flush()
      moved.push(item.handle)
      return { ok: r.ok }
    })
    if (moved.length > 0) queueMicrotask(() => { for (const l of this.#listeners) l(moved) })
    return results
  }

  async fetch(_shard: number, items: readonly FetchItem[]): Promise<FetchItemResult[]> {
    return items.map((item): FetchItemResult => {
      const p = this.#get(item.handle)
      if (!p) return { error: 'not_leader_or_follower' }
      const epochCheck = item.currentLeaderEpoch
      if (epochCheck !== -1 && epochCheck !== p.leaderEpoch) {
        return { error: epochCheck < p.leaderEpoch ? 'fenced_leader_epoch' : 'unknown_leader_epoch' }
      }
      const bound = item.isolation === 'read_committed' ? p.log.lastStableOffset : p.log.highWatermark
      const read = p.log.read(item.fetchOffset, item.maxBytes, bound, item.minOneBatch)
      const wm = { highWatermark: p.log.highWatermark, lastStableOffset: p.log.lastStableOffset, logStartOffset: p.log.logStartOffset }
      if ('error' in read) return { error: read.error, watermarks: this.watermarks(item.handle) }
      return { ok: { records: read.records, ...wm } }
    })
  }

  watermarks(handle: PartitionHandle): Watermarks {
    const p = this.#get(handle)
    if (!p) return { logStartOffset: -1, highWatermark: -1, lastStableOffset: -1, logEndOffset: -1, leaderEpoch: -1, recoveryPoint: -1 }
    const l = p.log
    return { logStartOffset: l.logStartOffset, highWatermark: l.highWatermark, lastStableOffset: l.lastStableOffset, logEndOffset: l.logEndOffset, leaderEpoch: p.leaderEpoch, recoveryPoint: l.recoveryPoint }
  }

  async listOffsetByTime(handle: PartitionHandle, timestamp: number) {
    const p = this.#get(handle)
    if (!p) return { error: 'not_leader_or_follower' as const }
    return { ok: timestamp === MAX_TIMESTAMP ? p.log.offsetOfMaxTimestamp() : p.log.offsetForTimestamp(timestamp) }
  }

  async offsetForLeaderEpoch(handle: PartitionHandle, epoch: number) {
    const p = this.#get(handle)
    if (!p) return { error: 'not_leader_or_follower' as const }
    return { ok: p.log.endOffsetForEpoch(epoch) }
  }

  onWatermarksMoved(listener: (handles: readonly PartitionHandle[]) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  isSaturated(): boolean {
    return false
  }

  onDrain(_shard: number, cb: () => void): void {
    cb()
  }

  async stop(): Promise<void> {
    for (const p of this.#partitions.values()) p.log.close()
    this.#partitions.clear()
  }
}
