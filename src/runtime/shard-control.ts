/**
 * The comlink-exposed control surface of a shard worker (src/runtime/shard-host.ts hosts the
 * actors). Control calls only — never the produce/fetch path, which has its own lean protocol.
 */
import type { MessagePort } from 'node:worker_threads'
import type { LogConfig } from '../storage/partition-log.ts'
import type { PartitionActor } from '../partition/partition-actor.ts'
import type { Watermarks } from './watermark-table.ts'
import type { ControlResult, CreateActorSpec, DeleteRecordsResult, ShardHost } from './shard-host.ts'

/**
 * The comlink-exposed surface of a shard (control calls only — never the hot path). Every
 * method returns a value; the pool wraps each call with a deadline and dead-worker rejection.
 */
export class ShardControl {
  readonly #host: ShardHost

  constructor(host: ShardHost) {
    this.#host = host
  }

  /** Answers once the worker has loaded and exposed its control surface (pool start-up). */
  ping(): number {
    return this.#host.shard
  }

  createPartition(spec: CreateActorSpec): ControlResult<Watermarks> {
    return this.#host.createActor(spec)
  }

  updatePartition(actorId: number, change: { leaderEpoch?: number; config?: LogConfig }): ControlResult<Watermarks> {
    return this.#host.updateActor(actorId, change)
  }

  deletePartition(actorId: number): ControlResult<string> {
    return this.#host.deleteActor(actorId)
  }

  listOffsetByTime(actorId: number, timestamp: number): ControlResult<{ offset: number; timestamp: number; leaderEpoch: number } | null> {
    return this.#lookup(actorId, (actor) => actor.offsetForTimestamp(timestamp))
  }

  offsetForLeaderEpoch(actorId: number, epoch: number): ControlResult<{ leaderEpoch: number; endOffset: number }> {
    return this.#lookup(actorId, (actor) => actor.endOffsetForEpoch(epoch))
  }

  /** A read-only question to one actor; a throw (an fs error) answers `failed`, never crashes the worker. */
  #lookup<T>(actorId: number, ask: (actor: PartitionActor) => T): ControlResult<T> {
    const actor = this.#host.actor(actorId)
    if (actor === undefined) return { error: 'not_found' }
    try {
      return { ok: ask(actor) }
    } catch (err) {
      return { error: 'failed', message: String(err) }
    }
  }

  /** DeleteRecords: the actor's answer (new low watermark, or its refusal) as the ok value. */
  deleteRecords(actorId: number, offset: number): ControlResult<DeleteRecordsResult> {
    return this.#host.deleteRecords(actorId, offset)
  }

  /** `owner` null closes every partition of the shard (pool stop). */
  closeOwner(owner: string | null): number[] {
    return this.#host.closeOwner(owner)
  }

  setTestDelay(ms: number): void {
    this.#host.setTestDelay(ms)
  }

  /** The shard's end of its cleaner port (transferred by the pool at spawn). */
  attachCleaner(port: MessagePort): void {
    this.#host.attachCleaner(port)
  }

  /** Test hook: an uncaught exception outside any request, as a bug in the worker would raise. */
  crashForTest(): void {
    setImmediate(() => {
      throw new Error('injected shard crash')
    })
  }
}
