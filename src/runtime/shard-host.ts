/**
 * The worker side of a shard: hosts many partition actors and serves the lean produce/fetch
 * protocol (src/runtime/protocol.ts) and the comlink control calls (ShardControl).
 *
 * Ordering: data messages are handled synchronously, one after another, in the order the port
 * delivers them — which is the order the main thread sent them. There is no queue that could
 * reorder, no await between receiving a message and appending its batches: appends to a
 * partition happen in send order.
 *
 * After each batch of work (everything the event loop delivered in one turn; a setImmediate
 * closes it) the host posts one coalesced "moved" event listing the slots whose watermarks
 * changed, then runs group commit: partitions that need a flush (log.flush.interval.messages,
 * a rolled segment) are fsynced after their responses went out, off the request path; the
 * interval rule (log.flush.interval.ms) is an entry in the shard's single timer.
 *
 * An actor that throws (a broken invariant, or an fs error on open) is failed alone: its items
 * answer kafka_storage_error and the rest of the shard keeps serving.
 */
import type { MessagePort } from 'node:worker_threads'
import { FileHandleCache } from '../storage/file-handles.ts'
import { inlineCleaner, type CleanJob, type CleanResult } from '../storage/log-cleaner.ts'
import type { LoaderLogger } from '../storage/log-loader.ts'
import type { LogConfig } from '../storage/partition-log.ts'
import { PartitionActor, type PartitionActorSpec } from '../partition/partition-actor.ts'
import {
  FETCH_ITEM_FIELDS, ISOLATION_READ_COMMITTED, PRODUCE_ITEM_FIELDS,
  type FetchRequestMessage, type FromShard, type ProduceRequestMessage, type ToShard, type WireFetchResult, type WireProduceResult,
} from './protocol.ts'
import { ShardTimers } from './shard-timers.ts'
import { CleanerLink } from './cleaner-link.ts'
import { BufferPool } from '../lib/buffer-pool.ts'
import { WatermarkWriter, type Watermarks } from './watermark-table.ts'
import { ShardControl } from './shard-control.ts'

/** Per shard: how much recycled read-buffer memory may sit idle. */
const READ_BUFFER_POOL_BYTES = 256 * 1024 * 1024

/** producer.id.expiration.check.interval.ms (Kafka's default, 10 minutes). */
const PRODUCER_EXPIRATION_CHECK_MS = 600_000

export interface ShardHostOptions {
  readonly shard: number
  /** Sends a message to the main thread (the worker's parentPort). */
  readonly post: (msg: FromShard, transfer?: ArrayBuffer[]) => void
  readonly now?: () => number
  readonly maxOpenFiles?: number
  readonly testDelayMs?: number
}

export type ControlError = 'not_found' | 'already_exists' | 'open_failed' | 'failed'
export type ControlResult<T> = { ok: T } | { error: ControlError; message?: string }
export type DeleteRecordsResult =
  | { ok: { lowWatermark: number } }
  | { error: 'offset_out_of_range' | 'policy_violation' | 'not_leader_or_follower'; message: string }

export interface CreateActorSpec extends PartitionActorSpec {
  readonly chunkIndex: number
  readonly chunk: SharedArrayBuffer
}

export class ShardHost {
  readonly shard: number
  readonly control: ShardControl
  readonly #post: ShardHostOptions['post']
  readonly #now: () => number
  readonly #fds: FileHandleCache
  readonly #table = new WatermarkWriter()
  readonly #timers: ShardTimers
  readonly #actors = new Map<number, PartitionActor>()
  /** Actors that threw: their items answer kafka_storage_error until deleted or re-created. */
  readonly #failed = new Set<number>()
  readonly #published = new Map<number, Watermarks>()
  readonly #moved = new Set<number>()
  readonly #touched = new Set<PartitionActor>()
  readonly #logger: LoaderLogger & { error(obj: object, msg: string): void }
  readonly #sleepCell = new Int32Array(new SharedArrayBuffer(4))
  #testDelayMs: number
  #endOfBatchScheduled = false
  /** The port to the process's cleaner pool; until attached (and in thread-less tests) passes run inline. */
  #cleanerLink: CleanerLink | null = null
  readonly #runCleaner = (job: CleanJob): Promise<CleanResult | null> => this.#cleanerLink?.run(job) ?? inlineCleaner(job)

  constructor(o: ShardHostOptions) {
    this.shard = o.shard
    this.#post = o.post
    this.#now = o.now ?? Date.now
    this.#fds = new FileHandleCache(o.maxOpenFiles ?? 256)
    this.#timers = new ShardTimers(this.#now)
    this.#testDelayMs = o.testDelayMs ?? 0
    const log = (level: 'info' | 'warn' | 'error') => (obj: object, msg: string) => this.#postLog(level, obj, msg)
    this.#logger = { info: log('info'), warn: log('warn'), error: log('error') }
    this.control = new ShardControl(this)
  }

  /** Fetch reads land in recycled buffers (no page faults on the hot path); the network thread returns them. */
  readonly #readBuffers = new BufferPool(READ_BUFFER_POOL_BYTES)
  readonly #takeReadBuffer = (size: number): Buffer => this.#readBuffers.take(size)

  get actorCount(): number {
    return this.#actors.size
  }

  /** The data path: one produce or fetch message, answered before the next one is looked at. */
  handleMessage(msg: ToShard): void {
    if (msg.t === 'recycle') {
      for (const b of msg.buffers) this.#readBuffers.give(b)
      return
    }
    if (this.#testDelayMs > 0) Atomics.wait(this.#sleepCell, 0, 0, this.#testDelayMs)
    if (msg.t === 'produce') this.#produce(msg)
    else this.#fetch(msg)
    this.#scheduleEndOfBatch()
  }

  #produce(msg: ProduceRequestMessage): void {
    const n = msg.items.length / PRODUCE_ITEM_FIELDS
    const results: WireProduceResult[] = new Array(n)
    if (this.#now() > msg.deadline) {
      results.fill({ error: 'request_timed_out' })
    } else {
      const it = msg.items
      const appendedTo = new Set<PartitionActor>()
      for (let i = 0, p = 0; i < n; i++, p += PRODUCE_ITEM_FIELDS) {
        const actorId = it[p]!
        const actor = this.#actors.get(actorId)
        if (actor === undefined) {
          results[i] = { error: this.#failed.has(actorId) ? 'kafka_storage_error' : 'not_leader_or_follower' }
          continue
        }
        const records = Buffer.from(msg.buffers[it[p + 1]!]!, it[p + 2]!, it[p + 3]!)
        results[i] = this.#guard(actor, { error: 'kafka_storage_error' }, () => actor.produce(records))
        appendedTo.add(actor)
      }
      // Published before the response is posted: whoever sees the response sees the new HW.
      for (const actor of appendedTo) {
        if (!this.#actors.has(actor.actorId)) continue // failed while appending
        this.#publish(actor)
        this.#touched.add(actor)
      }
    }
    // append() keeps no reference to the payload: its buffers go back for the next request's framing.
    this.#post({ t: 'result', id: msg.id, results, returned: msg.buffers }, msg.buffers)
  }

  #fetch(msg: FetchRequestMessage): void {
    const n = msg.items.length / FETCH_ITEM_FIELDS
    const results: WireFetchResult[] = new Array(n)
    const transfer = new Set<ArrayBuffer>()
    if (this.#now() > msg.deadline) {
      results.fill({ error: 'request_timed_out' })
    } else {
      const it = msg.items
      for (let i = 0, p = 0; i < n; i++, p += FETCH_ITEM_FIELDS) {
        const actorId = it[p]!
        const actor = this.#actors.get(actorId)
        if (actor === undefined) {
          results[i] = { error: this.#failed.has(actorId) ? 'kafka_storage_error' : 'not_leader_or_follower' }
          continue
        }
        const r = this.#guard(actor, { error: 'kafka_storage_error' }, () =>
          actor.fetch(it[p + 1]!, it[p + 2]!, it[p + 3] === ISOLATION_READ_COMMITTED, it[p + 4]!, it[p + 5] === 1, this.#takeReadBuffer))
        if ('ok' in r) transfer.add(r.ok.buffer)
        results[i] = r
      }
    }
    this.#post({ t: 'result', id: msg.id, results }, [...transfer])
  }

  /** Runs an actor operation; an exception fails that actor only (see the module comment). */
  #guard<T>(actor: PartitionActor, onFailure: T, op: () => T): T {
    try {
      return op()
    } catch (err) {
      this.#failActor(actor, err)
      return onFailure
    }
  }

  #failActor(actor: PartitionActor, err: unknown): void {
    this.#logger.error({ err: String(err), topicId: actor.topicId, partition: actor.partition }, 'partition actor failed; it answers kafka_storage_error until re-created')
    this.#actors.delete(actor.actorId)
    this.#failed.add(actor.actorId)
    this.#touched.delete(actor)
    this.#timers.cancel(`flush:${actor.actorId}`)
    this.#cancelHygiene(actor)
    try {
      actor.close()
    } catch {
      // Already failed; the close is best effort.
    }
  }

  /** Writes the actor's watermarks to its slot; remembers the slot for the next "moved" event if any wake-relevant value changed. */
  #publish(actor: PartitionActor): void {
    const w = actor.watermarks()
    const before = this.#published.get(actor.actorId)
    if (before !== undefined && sameWatermarks(before, w)) return
    this.#table.publish(actor.slot, w)
    this.#published.set(actor.actorId, w)
    if (before === undefined || movedForReaders(before, w)) this.#moved.add(actor.slot)
  }

  #scheduleEndOfBatch(): void {
    if (this.#endOfBatchScheduled) return
    this.#endOfBatchScheduled = true
    setImmediate(() => this.#endOfBatch())
  }

  #endOfBatch(): void {
    this.#endOfBatchScheduled = false
    if (this.#moved.size > 0) {
      this.#post({ t: 'moved', slots: [...this.#moved] })
      this.#moved.clear()
    }
    const now = this.#now()
    for (const actor of this.#touched) this.#groupCommit(actor, now)
    this.#touched.clear()
  }

  /** Flushes now when the log asks for it, else makes sure the interval rule has a timer entry. */
  #groupCommit(actor: PartitionActor, now: number): void {
    if (!this.#actors.has(actor.actorId)) return
    this.#guard(actor, undefined, () => {
      if (actor.needsFlush(now)) {
        actor.flush()
        this.#publish(actor)
      }
      if (actor.hasUnflushed && actor.flushIntervalMs !== Infinity) {
        this.#timers.scheduleIfAbsent(`flush:${actor.actorId}`, now + actor.flushIntervalMs, () => this.#flushTimer(actor))
      }
    })
  }

  #flushTimer(actor: PartitionActor): void {
    if (!this.#actors.has(actor.actorId)) return
    this.#touched.add(actor)
    this.#scheduleEndOfBatch()
  }

  #postLog(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    try {
      this.#post({ t: 'log', level, obj: { shard: this.shard, ...obj }, msg })
    } catch {
      this.#post({ t: 'log', level, obj: { shard: this.shard, detail: String(JSON.stringify(obj)) }, msg })
    }
  }

  // ---- control operations (called through ShardControl) ----

  createActor(spec: CreateActorSpec): ControlResult<Watermarks> {
    if (this.#actors.has(spec.actorId)) return { error: 'already_exists' }
    this.#table.attach(spec.chunkIndex, spec.chunk)
    let actor: PartitionActor
    try {
      const { chunk: _chunk, chunkIndex: _chunkIndex, ...actorSpec } = spec
      actor = PartitionActor.open(actorSpec, { fds: this.#fds, now: this.#now, logger: this.#logger, cleaner: this.#runCleaner })
    } catch (err) {
      return { error: 'open_failed', message: String(err) }
    }
    this.#failed.delete(spec.actorId)
    this.#actors.set(spec.actorId, actor)
    this.#published.delete(spec.actorId)
    this.#publish(actor)
    this.#scheduleEndOfBatch()
    if (!this.#timers.has('expire-producers')) this.#scheduleProducerExpiry()
    this.#scheduleRetention(actor)
    this.#scheduleCleaning(actor)
    return { ok: actor.watermarks() }
  }

  updateActor(actorId: number, change: { leaderEpoch?: number; config?: LogConfig }): ControlResult<Watermarks> {
    const actor = this.#actors.get(actorId)
    if (actor === undefined) return { error: 'not_found' }
    const ok = this.#guard(actor, false, () => {
      actor.update(change)
      return true
    })
    if (!ok) return { error: 'failed' }
    this.#publish(actor)
    this.#scheduleEndOfBatch()
    if (change.config !== undefined) this.#scheduleCleaning(actor) // cleanup.policy may have gained or lost compact
    return { ok: actor.watermarks() }
  }

  /** Closes the actor (clean) and renames its directory `<topic>-<n>.<id>-delete`; returns the new path. */
  deleteActor(actorId: number): ControlResult<string> {
    const actor = this.#actors.get(actorId)
    this.#failed.delete(actorId)
    if (actor === undefined) return { error: 'not_found' }
    this.#forget(actor)
    try {
      return { ok: actor.renameForDelete() }
    } catch (err) {
      return { error: 'failed', message: String(err) }
    }
  }

  /** Clean close of every actor of one broker (owner). Returns the actor ids closed. */
  /**
   * Returns the actor ids closed cleanly (flushed, final watermarks published). An actor whose
   * close failed, or that failed earlier, is not among them: its log must be recovered at the
   * next start, so the broker must not write the clean-shutdown marker.
   */
  closeOwner(owner: string | null): number[] {
    const closed: number[] = []
    for (const actor of [...this.#actors.values()]) {
      if (owner !== null && actor.owner !== owner) continue
      this.#forget(actor)
      try {
        actor.close()
        if (actor.logFailed) {
          // A write failed earlier: the file may hold a torn write, so this is no clean close.
          this.#logger.warn({ topicId: actor.topicId, partition: actor.partition }, 'partition closed after a failed write; it recovers at the next start')
          continue
        }
        // The close flushed: its final watermarks (recovery point = log end) go to the slot, which
        // the pool reads for the broker's last checkpoint files before it frees the slot.
        this.#table.publish(actor.slot, actor.watermarks())
        closed.push(actor.actorId)
      } catch (err) {
        this.#logger.error({ err: String(err), topicId: actor.topicId, partition: actor.partition }, 'closing a partition failed')
      }
    }
    if (this.#actors.size === 0) this.#timers.cancel('expire-producers')
    return closed
  }

  actor(actorId: number): PartitionActor | undefined {
    return this.#actors.get(actorId)
  }

  setTestDelay(ms: number): void {
    this.#testDelayMs = ms
  }

  #forget(actor: PartitionActor): void {
    this.#actors.delete(actor.actorId)
    this.#published.delete(actor.actorId)
    this.#touched.delete(actor)
    this.#moved.delete(actor.slot)
    this.#timers.cancel(`flush:${actor.actorId}`)
    this.#cancelHygiene(actor)
  }

  // ---- log hygiene: retention checks, `.deleted` file removal, DeleteRecords ----

  /** Each actor's retention check is an entry in the shard's timer, every log.retention.check.interval.ms. */
  #scheduleRetention(actor: PartitionActor): void {
    this.#timers.schedule(`retention:${actor.actorId}`, this.#now() + actor.retentionCheckIntervalMs, () => {
      if (this.#actors.get(actor.actorId) !== actor) return
      this.#guard(actor, undefined, () => actor.deleteOldSegments(this.#now()))
      // Log compaction rides on the same check: the pass runs on the cleaner pool, the swap back here.
      if (this.#actors.get(actor.actorId) === actor) this.#startCleaning(actor)
      this.#afterHygiene(actor)
      if (this.#actors.get(actor.actorId) === actor) this.#scheduleRetention(actor)
    })
  }

  /**
   * A compacted log is also looked at every log.cleaner.backoff.ms (Kafka's cleaner threads back
   * off that long when nothing is dirty enough), so compaction does not wait for the retention
   * check (5 minutes by default). A log that is not compacted has no entry.
   */
  #scheduleCleaning(actor: PartitionActor): void {
    const every = actor.cleanerCheckIntervalMs
    if (every === null) {
      this.#timers.cancel(`cleaning:${actor.actorId}`)
      return
    }
    this.#timers.schedule(`cleaning:${actor.actorId}`, this.#now() + every, () => {
      if (this.#actors.get(actor.actorId) !== actor) return
      this.#startCleaning(actor)
      if (this.#actors.get(actor.actorId) === actor) this.#scheduleCleaning(actor)
    })
  }

  /**
   * Starts a compaction pass if one is due. Its end arrives later on this thread: a swapped-in
   * pass publishes the new cleaner checkpoint and tells the broker (which writes
   * cleaner-offset-checkpoint); a failed swap fails the actor like any write error.
   */
  #startCleaning(actor: PartitionActor): void {
    const pass = this.#guard(actor, null, () => actor.startCleaning(this.#now()))
    if (pass === null) return
    pass.then((outcome) => {
      if (this.#actors.get(actor.actorId) !== actor || outcome !== 'cleaned') return
      this.#afterHygiene(actor)
      this.#cleanerLink?.notifyCleaned()
    }, (err: unknown) => {
      if (this.#actors.get(actor.actorId) === actor) this.#failActor(actor, err)
    })
  }

  /** Jobs go to the main thread's cleaner relay from now on (see src/runtime/cleaner-pool.ts). */
  attachCleaner(port: MessagePort): void {
    this.#cleanerLink?.close()
    this.#cleanerLink = new CleanerLink(port)
  }

  /** The log start may have moved (readers wake on it) and `.deleted` files may wait for removal. */
  #afterHygiene(actor: PartitionActor): void {
    if (this.#actors.get(actor.actorId) !== actor) return // failed meanwhile
    this.#publish(actor)
    this.#scheduleEndOfBatch()
    // schedule() with Infinity cancels: nothing pending, no timer entry.
    this.#timers.schedule(`deleted-files:${actor.actorId}`, actor.nextFileDeletionDue, () => {
      if (this.#actors.get(actor.actorId) !== actor) return
      this.#guard(actor, 0, () => actor.removeDeletedFiles(this.#now()))
      this.#afterHygiene(actor)
    })
  }

  #cancelHygiene(actor: PartitionActor): void {
    this.#timers.cancel(`retention:${actor.actorId}`)
    this.#timers.cancel(`deleted-files:${actor.actorId}`)
    this.#timers.cancel(`cleaning:${actor.actorId}`)
  }

  deleteRecords(actorId: number, offset: number): ControlResult<DeleteRecordsResult> {
    const actor = this.#actors.get(actorId)
    if (actor === undefined) return { error: 'not_found' }
    const r = this.#guard(actor, null, () => actor.deleteRecords(offset))
    if (r === null) return { error: 'failed' }
    this.#afterHygiene(actor)
    return { ok: r }
  }

  #scheduleProducerExpiry(): void {
    this.#timers.schedule('expire-producers', this.#now() + PRODUCER_EXPIRATION_CHECK_MS, () => {
      const now = this.#now()
      for (const actor of this.#actors.values()) this.#guard(actor, undefined, () => actor.expireProducers(now))
      if (this.#actors.size > 0) this.#scheduleProducerExpiry()
    })
  }
}

function sameWatermarks(a: Watermarks, b: Watermarks): boolean {
  return a.recoveryPoint === b.recoveryPoint && a.cleanerCheckpoint === b.cleanerCheckpoint && !movedForReaders(a, b)
}

/** Changes a waiting reader cares about (everything but the recovery point). */
function movedForReaders(a: Watermarks, b: Watermarks): boolean {
  return a.highWatermark !== b.highWatermark || a.lastStableOffset !== b.lastStableOffset || a.logStartOffset !== b.logStartOffset ||
    a.logEndOffset !== b.logEndOffset || a.leaderEpoch !== b.leaderEpoch
}
