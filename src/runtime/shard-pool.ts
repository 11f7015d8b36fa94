/**
 * The main thread's face of the actor runtime: a fixed pool of shard workers hosting partition
 * actors. Placement, the watermark tables, the hot path (one message per (request, shard)),
 * backpressure, and recovery from a dead worker.
 *
 * Placement: a partition goes to the shard with the fewest partitions and stays there. Its
 * handle is { shard, slot, key }: the slot in that shard's watermark table, and the key
 * `owner/topicId/partition` (a topic re-created under the same name has a new topic id, hence a
 * new key). On the wire an actor is named by an actorId the pool never reuses, so a stale message
 * can never reach a newer actor.
 *
 * Worker death: pending requests are answered shard_unavailable at once (ShardLink); data
 * requests arriving while the shard restarts are answered shard_unavailable; control calls wait
 * for the restart (within their deadline). The restarted worker re-opens every partition it
 * hosted with cleanShutdown false — recovery from the last recovery point it published.
 */
import { cpus } from 'node:os'
import * as Comlink from 'comlink'
import type { Remote } from 'comlink'
import { assert } from '../lib/assert.ts'
import type { LogConfig } from '../storage/partition-log.ts'
import type {
  DeleteRecordsItemResult, FetchItem, FetchItemResult, PartitionHandle, PartitionHost, PartitionSpec, ProduceItemResult,
} from '../broker/partition-host.ts'
import { actorKey } from '../partition/partition-actor.ts'
import { encodeProduce, type PayloadMode } from './payload.ts'
import { FETCH_ITEM_FIELDS, ISOLATION_READ_COMMITTED, ISOLATION_READ_UNCOMMITTED, type WireFetchResult, type WireProduceResult } from './protocol.ts'
import type { ControlError, ControlResult, DeleteRecordsResult } from './shard-host.ts'
import type { ShardControl } from './shard-control.ts'
import { ShardLink, type LinkError, type LinkOutcome } from './shard-link.ts'
import { ShardRestarter, type Hosted, type ShardPartitionHandle } from './shard-restarter.ts'
import { CleanerPool } from './cleaner-pool.ts'
import { UNKNOWN_WATERMARKS, WatermarkTable, type Watermarks } from './watermark-table.ts'
import { fillPending, fromWireFetch, liftControl, mergeResults, sameIncarnation } from './pool-results.ts'

export type { ShardPartitionHandle }

export interface RuntimeLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface ShardPoolOptions {
  readonly workers: number
  readonly logger?: RuntimeLogger
  /** Per shard: a mailbox this full makes isSaturated() true. */
  readonly maxInFlightRequests?: number
  readonly maxInFlightBytes?: number
  /** Deadline of control calls (opening a partition may run a recovery scan). */
  readonly controlTimeoutMs?: number
  readonly maxOpenFilesPerShard?: number
  /** Test hook: each worker sleeps this long before every data message. */
  readonly testDelayMs?: number
  /** log.cleaner.threads: threads of the process's cleaner pool (the first pool in the process decides). */
  readonly cleanerThreads?: number
}

const silent: RuntimeLogger = { info() {}, warn() {}, error() {} }

export function defaultServerWorkers(): number {
  return Math.max(1, cpus().length - 1)
}

export function defaultLibraryWorkers(): number {
  return Math.min(2, defaultServerWorkers())
}

let shared: { pool: Promise<ShardPool>; refs: number } | null = null

export class ShardPool implements PartitionHost {
  readonly workers: number
  readonly #o: Required<Omit<ShardPoolOptions, 'logger'>>
  readonly #logger: RuntimeLogger
  readonly #links: ShardLink[] = []
  readonly #tables: WatermarkTable[] = []
  readonly #byKey = new Map<string, Hosted>()
  readonly #bySlot: Map<number, Hosted>[] = []
  readonly #listeners = new Set<(handles: readonly PartitionHandle[]) => void>()
  readonly #restarter: ShardRestarter
  #nextActorId = 1
  #payloadBytes = 0
  #copiedBytes = 0
  #stopped = false
  #shared = false
  /** The process's compaction pool (piscina), reached by each shard through its cleaner port. */
  readonly #cleaner: CleanerPool
  readonly #cleanerPorts: (() => void)[] = []
  readonly #cleanedListeners = new Set<() => void>()

  private constructor(o: ShardPoolOptions) {
    assert(Number.isInteger(o.workers) && o.workers >= 1, `workers must be a positive integer, got ${o.workers}`)
    this.workers = o.workers
    this.#logger = o.logger ?? silent
    this.#cleaner = CleanerPool.acquire(o.cleanerThreads ?? 1)
    this.#o = {
      workers: o.workers, maxInFlightRequests: o.maxInFlightRequests ?? 256, maxInFlightBytes: o.maxInFlightBytes ?? 64 * 1024 * 1024,
      controlTimeoutMs: o.controlTimeoutMs ?? 120_000, maxOpenFilesPerShard: o.maxOpenFilesPerShard ?? 256, testDelayMs: o.testDelayMs ?? 0,
      cleanerThreads: o.cleanerThreads ?? 1,
    }
    this.#restarter = new ShardRestarter({
      logger: this.#logger, controlTimeoutMs: this.#o.controlTimeoutMs,
      spawn: (shard) => this.#spawn(shard),
      partitionsOf: (shard) => [...this.#bySlot[shard]!.values()],
      table: (shard) => this.#tables[shard]!,
      isStopped: () => this.#stopped,
    })
    for (let shard = 0; shard < o.workers; shard++) {
      this.#tables.push(new WatermarkTable())
      this.#bySlot.push(new Map())
      this.#links.push(this.#spawn(shard))
    }
  }

  /** Starts `workers` shard workers and waits until each has loaded. */
  static async start(o: ShardPoolOptions): Promise<ShardPool> {
    const pool = new ShardPool(o)
    const pings = await Promise.all(pool.#links.map((link) => link.call((c) => c.ping(), pool.#o.controlTimeoutMs)))
    const failed = pings.find((p) => 'error' in p)
    if (failed !== undefined) {
      await pool.stop()
      throw new Error(`shard worker failed to start: ${'error' in failed ? failed.error : ''}`)
    }
    return pool
  }

  /**
   * Library mode: one pool of 1–2 workers per process, started lazily and shared by every
   * broker in it; each acquire is matched by a release(), and the last release stops it.
   */
  static acquireShared(o: Partial<ShardPoolOptions> = {}): Promise<ShardPool> {
    if (shared === null) {
      const entry: { pool: Promise<ShardPool>; refs: number } = { refs: 0, pool: ShardPool.start({ ...o, workers: o.workers ?? defaultLibraryWorkers() }) }
      entry.pool.then((pool) => { pool.#shared = true }, () => { if (shared === entry) shared = null })
      shared = entry
    }
    shared.refs++
    return shared.pool
  }

  /** Gives back an acquireShared() reference (stopping the pool with the last); for a pool from start(), stops it. */
  async release(): Promise<void> {
    if (!this.#shared) return this.stop()
    if (shared === null || (await shared.pool) !== this) return
    if (--shared.refs > 0) return
    shared = null
    await this.stop()
  }

  #spawn(shard: number): ShardLink {
    const link = this.#newLink(shard)
    // Each worker (and each restarted one) gets its own cleaner port; the call queues until the worker listens.
    this.#cleanerPorts[shard]?.()
    const { shardPort, close } = this.#cleaner.connect(() => { for (const listener of this.#cleanedListeners) listener() })
    this.#cleanerPorts[shard] = close
    void link.call((c) => c.attachCleaner(Comlink.transfer(shardPort, [shardPort])), this.#o.controlTimeoutMs).then((r) => {
      if ('error' in r && !this.#stopped) this.#logger.warn({ shard, err: r.error }, 'attaching the cleaner port failed; that shard compacts inline')
    })
    return link
  }

  #newLink(shard: number): ShardLink {
    const o = this.#o
    return new ShardLink({
      shard, maxInFlightRequests: o.maxInFlightRequests, maxInFlightBytes: o.maxInFlightBytes, maxOpenFiles: o.maxOpenFilesPerShard,
      testDelayMs: o.testDelayMs,
      onMoved: (slots) => this.#onMoved(shard, slots),
      onLog: (level, obj, msg) => this.#logger[level](obj, msg),
      onExit: (code, error) => {
        if (this.#stopped) return
        this.#logger.error({ shard, code, err: String(error) }, 'shard worker died; restarting it')
        this.#restarter.restart(shard, (link) => { this.#links[shard] = link })
      },
    })
  }

  // ---- control ----

  async createPartition(spec: PartitionSpec): Promise<ShardPartitionHandle> {
    const key = actorKey(spec.owner, spec.topicId, spec.partition)
    const existing = this.#byKey.get(key)
    if (existing !== undefined) return existing.handle
    const shard = this.#leastLoadedShard()
    const table = this.#tables[shard]!
    const slot = table.allocate()
    const handle: ShardPartitionHandle = Object.freeze({ shard, slot, key, actorId: this.#nextActorId++ })
    const hosted: Hosted = { handle, spec }
    // Registered before the call so a restart meanwhile re-creates it too; removed if the open fails.
    this.#byKey.set(key, hosted)
    this.#bySlot[shard]!.set(slot, hosted)
    const create = () => this.#controlResult<Watermarks>(shard, (c) => c.createPartition({ ...spec, actorId: handle.actorId, slot, ...table.chunk(slot) }))
    let r = await create()
    // The worker died during the call: its restart re-opens this partition too (it was registered),
    // so ask again once it is back — 'already_exists' then means the restart did it.
    for (let retry = 0; retry < 3 && 'error' in r && r.error === 'shard_unavailable' && !this.#stopped; retry++) r = await create()
    if ('error' in r && r.error !== 'already_exists') {
      if (this.#byKey.get(key) === hosted) this.#forget(hosted, r.error !== 'request_timed_out')
      throw new Error(`cannot open partition ${spec.topic}-${spec.partition} on shard ${shard}: ${r.error}${r.message ? ` (${r.message})` : ''}`)
    }
    return handle
  }

  async updatePartition(handle: PartitionHandle, change: { leaderEpoch?: number; config?: LogConfig }): Promise<void> {
    const hosted = this.#lookup(handle)
    if (hosted === undefined) return
    hosted.spec = {
      ...hosted.spec, leaderEpoch: Math.max(hosted.spec.leaderEpoch, change.leaderEpoch ?? -1),
      ...(change.config === undefined ? {} : { config: change.config }),
    }
    const update = () => this.#controlResult<Watermarks>(handle.shard, (c) => c.updatePartition(hosted.handle.actorId, change))
    let r = await update()
    // Idempotent, so after a worker death (the restart re-opens with the updated spec anyway) it is simply repeated.
    for (let retry = 0; retry < 3 && 'error' in r && r.error === 'shard_unavailable' && !this.#stopped; retry++) r = await update()
    if ('error' in r && r.error !== 'not_found') throw new Error(`cannot update partition ${handle.key}: ${r.error}`)
  }

  /** Closes the partition and renames its directory for deletion; returns the new path ('' if it was not hosted). */
  async deletePartition(handle: PartitionHandle): Promise<string> {
    const hosted = this.#lookup(handle)
    if (hosted === undefined) return ''
    this.#forget(hosted, false) // from now on its produce/fetch items answer not_leader_or_follower, and restarts skip it
    const r = await this.#controlResult<string>(handle.shard, (c) => c.deletePartition(hosted.handle.actorId))
    if ('error' in r) throw new Error(`cannot delete partition ${handle.key}: ${r.error}${r.message ? ` (${r.message})` : ''}`)
    this.#tables[handle.shard]!.free(handle.slot)
    return r.ok
  }

  /**
   * Clean close of every partition of one broker (its stop()). Returns each cleanly closed
   * partition's final watermarks by handle key (its recovery point is then its log end offset),
   * and whether every partition closed cleanly (one that failed, or whose shard did not answer,
   * needs recovery at the next start).
   */
  async closeOwner(owner: string): Promise<{ watermarks: Map<string, Watermarks>; clean: boolean }> {
    const slotsByShard = new Map<number, Map<number, { slot: number; key: string }>>() // shard → actorId → slot
    const final = new Map<string, Watermarks>()
    let clean = true
    for (const hosted of [...this.#byKey.values()]) {
      if (hosted.spec.owner !== owner) continue
      const { shard, slot, actorId, key } = hosted.handle
      let slots = slotsByShard.get(shard)
      if (slots === undefined) slotsByShard.set(shard, (slots = new Map()))
      slots.set(actorId, { slot, key })
      this.#forget(hosted, false)
    }
    await Promise.all([...slotsByShard].map(async ([shard, slots]) => {
      const r = await this.#control(shard, (c) => c.closeOwner(owner))
      if ('error' in r) {
        clean = false
        this.#logger.warn({ shard, owner, error: r.error }, 'partitions not closed cleanly; they recover at next start')
        return
      }
      // Only now does no worker write these slots any more (an actor that failed is gone too).
      const closed = new Set(r.ok)
      for (const [actorId, s] of slots) {
        if (closed.has(actorId)) final.set(s.key, this.#tables[shard]!.read(s.slot))
        else clean = false
        this.#tables[shard]!.free(s.slot)
      }
    }))
    return { watermarks: final, clean }
  }

  async listOffsetByTime(handle: PartitionHandle, timestamp: number): Promise<{ ok: { offset: number; timestamp: number; leaderEpoch: number } | null } | { error: 'not_leader_or_follower' | 'shard_unavailable' | 'request_timed_out' }> {
    const hosted = this.#lookup(handle)
    if (hosted === undefined) return { error: 'not_leader_or_follower' }
    return liftControl(await this.#controlResult<{ offset: number; timestamp: number; leaderEpoch: number } | null>(handle.shard, (c) => c.listOffsetByTime(hosted.handle.actorId, timestamp)))
  }

  async offsetForLeaderEpoch(handle: PartitionHandle, epoch: number): Promise<{ ok: { leaderEpoch: number; endOffset: number } } | { error: 'not_leader_or_follower' | 'shard_unavailable' | 'request_timed_out' }> {
    const hosted = this.#lookup(handle)
    if (hosted === undefined) return { error: 'not_leader_or_follower' }
    return liftControl(await this.#controlResult<{ leaderEpoch: number; endOffset: number }>(handle.shard, (c) => c.offsetForLeaderEpoch(hosted.handle.actorId, epoch)))
  }

  /** DeleteRecords on the partition's shard: the new low watermark, or why not. */
  async deleteRecords(handle: PartitionHandle, offset: number): Promise<DeleteRecordsItemResult> {
    const hosted = this.#lookup(handle)
    if (hosted === undefined) return { error: 'not_leader_or_follower' }
    const r = liftControl(await this.#controlResult<DeleteRecordsResult>(handle.shard, (c) => c.deleteRecords(hosted.handle.actorId, offset)))
    return 'ok' in r ? r.ok : r
  }

  // ---- hot path ----

  /**
   * Appends each item's batch to its partition, all items on `shard`, in one message. Takes
   * ownership of the ArrayBuffers behind the records (transferred: the caller's Buffers are
   * detached after this call) unless `mode` is 'copy'. For a request spanning several shards use
   * produceAcrossShards, which transfers the frame once and copies the other shards' slices.
   * Encoding and sending happen synchronously, before this returns.
   */
  produce(shard: number, items: readonly { handle: PartitionHandle; records: Buffer }[], timeoutMs: number, mode: PayloadMode = 'transfer'): Promise<ProduceItemResult[]> {
    const results: ProduceItemResult[] = new Array(items.length)
    const send: { actorId: number; records: Buffer }[] = []
    const at: number[] = []
    for (let i = 0; i < items.length; i++) {
      const hosted = this.#hostedOn(shard, items[i]!.handle)
      if (hosted === undefined) results[i] = { error: 'not_leader_or_follower' }
      else {
        at.push(i)
        send.push({ actorId: hosted.handle.actorId, records: items[i]!.records })
      }
    }
    const link = this.#links[shard]!
    if (send.length === 0 || !this.#restarter.isReady(shard) || !link.alive) return Promise.resolve(fillPending(results, at, 'shard_unavailable'))
    const payload = encodeProduce(send, mode)
    this.#payloadBytes += payload.bytes
    this.#copiedBytes += payload.copiedBytes
    const sent = link.request((id, deadline) => ({ t: 'produce', id, deadline, buffers: payload.buffers, items: payload.items }), payload.buffers, payload.bytes, timeoutMs)
    return sent.then((outcome) => mergeResults(results, at, outcome as LinkOutcome<WireProduceResult[]>))
  }

  /** A whole Produce request: one message per shard; the largest shard's part gets the frame by transfer, the others copies. Results in item order. */
  produceAcrossShards(items: readonly { handle: PartitionHandle; records: Buffer }[], timeoutMs: number): Promise<ProduceItemResult[]> {
    const groups = new Map<number, { at: number[]; bytes: number }>()
    items.forEach((item, i) => {
      let g = groups.get(item.handle.shard)
      if (g === undefined) groups.set(item.handle.shard, (g = { at: [], bytes: 0 }))
      g.at.push(i)
      g.bytes += item.records.byteLength
    })
    let largest = -1
    for (const [shard, g] of groups) if (largest === -1 || g.bytes > groups.get(largest)!.bytes) largest = shard
    // Copies first: the transfer detaches the frame the other shards' slices live in.
    const order = [...groups.keys()].sort((a, b) => (a === largest ? 1 : b === largest ? -1 : 0))
    const results: ProduceItemResult[] = new Array(items.length)
    const parts = order.map((shard) => {
      const g = groups.get(shard)!
      return this.produce(shard, g.at.map((i) => items[i]!), timeoutMs, shard === largest ? 'transfer' : 'copy')
        .then((r) => r.forEach((res, k) => { results[g.at[k]!] = res }))
    })
    return Promise.all(parts).then(() => results)
  }

  /** Reads each item on `shard` in one message; each records Buffer is the file read, transferred, not copied. */
  fetch(shard: number, items: readonly FetchItem[], timeoutMs: number): Promise<FetchItemResult[]> {
    const results: FetchItemResult[] = new Array(items.length)
    const flat: number[] = []
    const at: number[] = []
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      const hosted = this.#hostedOn(shard, item.handle)
      if (hosted === undefined) {
        results[i] = { error: 'not_leader_or_follower' }
        continue
      }
      at.push(i)
      flat.push(hosted.handle.actorId, item.fetchOffset, item.maxBytes,
        item.isolation === 'read_committed' ? ISOLATION_READ_COMMITTED : ISOLATION_READ_UNCOMMITTED, item.currentLeaderEpoch, item.minOneBatch ? 1 : 0)
    }
    assert(flat.length === at.length * FETCH_ITEM_FIELDS, 'fetch encoding')
    const link = this.#links[shard]!
    if (at.length === 0 || !this.#restarter.isReady(shard) || !link.alive) return Promise.resolve(fillPending(results, at, 'shard_unavailable'))
    return link.request((id, deadline) => ({ t: 'fetch', id, deadline, items: flat }), [], 0, timeoutMs).then((outcome) => {
      if ('error' in outcome) return fillPending(results, at, outcome.error)
      const wire = outcome.ok as WireFetchResult[]
      at.forEach((i, k) => { results[i] = fromWireFetch(wire[k]!) })
      return results
    })
  }

  /** Gives fetch read buffers back to the shard that filled them, once their response is written. */
  recycle(shard: number, buffers: readonly ArrayBuffer[]): void {
    const live = buffers.filter((b) => !b.detached && b.byteLength > 0)
    if (live.length > 0) this.#links[shard]?.post({ t: 'recycle', buffers: live }, live)
  }

  /** From the shared table, no round trip. UNKNOWN_WATERMARKS (all -1) for a handle not hosted (deleted, closed). */
  watermarks(handle: PartitionHandle): Watermarks {
    if (this.#lookup(handle) === undefined) return UNKNOWN_WATERMARKS
    return this.#tables[handle.shard]!.read(handle.slot)
  }

  /** Called after any shard swapped a compaction pass in (the new cleaner checkpoint is in the watermark table). */
  onCleaned(listener: () => void): () => void {
    this.#cleanedListeners.add(listener)
    return () => { this.#cleanedListeners.delete(listener) }
  }

  onWatermarksMoved(listener: (handles: readonly PartitionHandle[]) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  isSaturated(shard: number): boolean {
    return this.#links[shard]!.saturated
  }

  onDrain(shard: number, cb: () => void): void {
    this.#links[shard]!.onDrain(cb)
  }

  /** Produce payload bytes sent to shards, and how many of them the pool copied (the rest moved by transfer). */
  payloadStats(): { payloadBytes: number; copiedBytes: number } {
    return { payloadBytes: this.#payloadBytes, copiedBytes: this.#copiedBytes }
  }

  /** Placement counts per shard (for tests and metrics). */
  partitionCounts(): number[] {
    return this.#bySlot.map((m) => m.size)
  }

  /** Test hooks. */
  setTestDelay(shard: number, ms: number): Promise<LinkOutcome<void>> {
    return this.#control(shard, (c) => c.setTestDelay(ms))
  }
  crashForTest(shard: number): Promise<LinkOutcome<void>> {
    return this.#links[shard]!.call((c) => c.crashForTest(), this.#o.controlTimeoutMs)
  }
  killForTest(shard: number): Promise<number> {
    return this.#links[shard]!.killForTest()
  }
  isReadyForTest(shard: number): boolean {
    return this.#restarter.isReady(shard) && this.#links[shard]!.alive
  }
  whenReady(shard: number): Promise<boolean> {
    return this.#restarter.whenReady(shard, this.#o.controlTimeoutMs)
  }

  /** Closes every partition still open (clean), then ends the workers: nothing is left running. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await Promise.all(this.#links.map(async (link) => {
      if (link.alive) await link.call((c) => c.closeOwner(null), 10_000)
      await link.terminate()
    }))
    this.#restarter.stop()
    for (const close of this.#cleanerPorts) close?.()
    this.#cleanedListeners.clear()
    await this.#cleaner.release()
    this.#byKey.clear()
    for (const m of this.#bySlot) m.clear()
    this.#listeners.clear()
  }

  // ---- internals ----

  async #control<T>(shard: number, fn: (control: Remote<ShardControl>) => Promise<T>): Promise<LinkOutcome<T>> {
    if (this.#stopped) return { error: 'shard_unavailable' }
    const deadline = Date.now() + this.#o.controlTimeoutMs
    if (!(await this.#restarter.whenReady(shard, this.#o.controlTimeoutMs))) return { error: 'shard_unavailable' }
    return this.#links[shard]!.call(fn, Math.max(1, deadline - Date.now()))
  }

  /** A control call whose method answers a ControlResult, flattened with the link's own errors. */
  async #controlResult<T>(shard: number, fn: (control: Remote<ShardControl>) => Promise<ControlResult<T>>): Promise<{ ok: T } | { error: LinkError | ControlError; message?: string }> {
    const r = await this.#control<ControlResult<T>>(shard, fn)
    return 'error' in r ? r : r.ok
  }

  #hostedOn(shard: number, handle: PartitionHandle): Hosted | undefined {
    assert(handle.shard === shard, `partition ${handle.key} is on shard ${handle.shard}, not ${shard}`)
    return this.#lookup(handle)
  }

  /** The hosted partition `handle` names, unless it was deleted, closed or re-opened since. */
  #lookup(handle: PartitionHandle): Hosted | undefined {
    const hosted = this.#byKey.get(handle.key)
    return hosted !== undefined && sameIncarnation(hosted.handle, handle) ? hosted : undefined
  }

  #leastLoadedShard(): number {
    let best = 0
    for (let s = 1; s < this.#bySlot.length; s++) if (this.#bySlot[s]!.size < this.#bySlot[best]!.size) best = s
    return best
  }

  /** Unregisters a partition; `freeSlot` only when no worker can still write its slot. */
  #forget(hosted: Hosted, freeSlot: boolean): void {
    const { shard, slot, key } = hosted.handle
    this.#byKey.delete(key)
    this.#bySlot[shard]!.delete(slot)
    if (freeSlot) this.#tables[shard]!.free(slot)
  }

  #onMoved(shard: number, slots: number[]): void {
    if (this.#listeners.size === 0) return
    const bySlot = this.#bySlot[shard]!
    const handles: PartitionHandle[] = []
    for (const slot of slots) {
      const hosted = bySlot.get(slot)
      if (hosted !== undefined) handles.push(hosted.handle)
    }
    if (handles.length === 0) return
    for (const listener of this.#listeners) listener(handles)
  }
}
