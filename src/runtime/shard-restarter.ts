/**
 * Brings a dead shard back: a new worker, and every partition it hosted re-opened from disk as
 * after an unclean stop (cleanShutdown false), so recovery validates the tail from the recovery
 * point and truncates a torn write.
 *
 * The recovery point and log start offset come from the shard's watermark table when its last
 * snapshot is consistent — the worker publishes the recovery point only after the fsync that
 * made it true, so it is always safe — else from the partition's spec (lower, also safe). The
 * dead writer may have left a slot mid-write (odd sequence); the slot is repaired before anyone
 * reads it again.
 *
 * While a shard restarts, isReady() is false: the pool answers its data requests
 * shard_unavailable and makes control calls wait. Repeated crashes back off (50 ms doubling to
 * 5 s) so a crash loop does not spin.
 */
import type { PartitionHandle, PartitionSpec } from '../broker/partition-host.ts'
import type { ControlResult, CreateActorSpec } from './shard-host.ts'
import type { ShardLink } from './shard-link.ts'
import type { RuntimeLogger } from './shard-pool.ts'
import { UNKNOWN_WATERMARKS, type WatermarkTable, type Watermarks } from './watermark-table.ts'

export interface ShardPartitionHandle extends PartitionHandle {
  readonly actorId: number
}

export interface Hosted {
  readonly handle: ShardPartitionHandle
  /** The latest spec (updates applied): what a restarted worker re-opens. */
  spec: PartitionSpec
}

export interface RestarterDeps {
  readonly logger: RuntimeLogger
  readonly controlTimeoutMs: number
  readonly spawn: (shard: number) => ShardLink
  readonly partitionsOf: (shard: number) => Hosted[]
  readonly table: (shard: number) => WatermarkTable
  readonly isStopped: () => boolean
}

const CRASH_WINDOW_MS = 60_000
const MAX_BACKOFF_MS = 5_000

export class ShardRestarter {
  readonly #d: RestarterDeps
  readonly #restarting = new Map<number, number>() // shard → generation of the restart in progress
  readonly #waiters = new Map<number, ((ready: boolean) => void)[]>()
  readonly #crashes = new Map<number, number[]>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #generation = 0

  constructor(deps: RestarterDeps) {
    this.#d = deps
  }

  isReady(shard: number): boolean {
    return !this.#restarting.has(shard)
  }

  /** Resolves true when the shard is up, false at the deadline or when the pool stops. */
  whenReady(shard: number, timeoutMs: number): Promise<boolean> {
    if (this.isReady(shard)) return Promise.resolve(!this.#d.isStopped())
    return new Promise((resolve) => {
      let done = false
      const finish = (ready: boolean): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        resolve(ready)
      }
      const timer = setTimeout(() => finish(false), timeoutMs)
      let list = this.#waiters.get(shard)
      if (list === undefined) this.#waiters.set(shard, (list = []))
      list.push(finish)
    })
  }

  /** Starts a restart of `shard`; `install` receives the new link as soon as it is spawned. */
  restart(shard: number, install: (link: ShardLink) => void): void {
    const generation = ++this.#generation
    this.#restarting.set(shard, generation)
    const table = this.#d.table(shard)
    const specs = this.#d.partitionsOf(shard).map((hosted) => {
      const last = table.tryRead(hosted.handle.slot, 1) // the writer is dead: one attempt tells torn from consistent
      table.reset(hosted.handle.slot, last ?? UNKNOWN_WATERMARKS)
      return recoverySpec(hosted, last, table)
    })
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      void this.#respawn(shard, generation, specs, install)
    }, this.#backoff(shard))
    this.#timers.add(timer)
  }

  async #respawn(shard: number, generation: number, specs: CreateActorSpec[], install: (link: ShardLink) => void): Promise<void> {
    if (this.#d.isStopped() || this.#restarting.get(shard) !== generation) return
    const link = this.#d.spawn(shard)
    install(link)
    const results = await Promise.all(specs.map((spec) => link.call<ControlResult<Watermarks>>((c) => c.createPartition(spec), this.#d.controlTimeoutMs)))
    // A newer crash started another restart, which owns the shard now.
    if (this.#d.isStopped() || this.#restarting.get(shard) !== generation) return
    results.forEach((r, i) => {
      const failed = 'error' in r ? r.error : 'error' in r.ok ? r.ok.error : null
      if (failed !== null) this.#d.logger.error({ shard, dir: specs[i]!.dir, error: failed }, 'partition not re-opened after a shard restart')
    })
    this.#d.logger.info({ shard, partitions: specs.length }, 'shard worker restarted')
    this.#restarting.delete(shard)
    this.#wake(shard, true)
  }

  #backoff(shard: number): number {
    const now = Date.now()
    const recent = (this.#crashes.get(shard) ?? []).filter((t) => now - t < CRASH_WINDOW_MS)
    recent.push(now)
    this.#crashes.set(shard, recent)
    return Math.min(MAX_BACKOFF_MS, 50 * 2 ** (recent.length - 1))
  }

  #wake(shard: number, ready: boolean): void {
    const list = this.#waiters.get(shard) ?? []
    this.#waiters.delete(shard)
    for (const finish of list) finish(ready)
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    for (const shard of [...this.#waiters.keys()]) this.#wake(shard, false)
  }
}

function recoverySpec(hosted: Hosted, last: Watermarks | undefined, table: WatermarkTable): CreateActorSpec {
  const { spec, handle } = hosted
  const published = last !== undefined && last.recoveryPoint >= 0
  const logStartOffset = published ? Math.max(spec.logStartOffset ?? 0, last.logStartOffset) : spec.logStartOffset
  return {
    ...spec, actorId: handle.actorId, slot: handle.slot, ...table.chunk(handle.slot), cleanShutdown: false,
    recoveryPoint: published ? Math.max(spec.recoveryPoint, last.recoveryPoint) : spec.recoveryPoint,
    ...(logStartOffset === undefined ? {} : { logStartOffset }),
    // A pass swapped in since the spec was made must not be forgotten (recleaning costs work, never data).
    ...(published && last.cleanerCheckpoint >= 0 ? { cleanerCheckpoint: Math.max(spec.cleanerCheckpoint ?? -1, last.cleanerCheckpoint) } : {}),
  }
}
