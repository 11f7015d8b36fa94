/**
 * The lean produce/fetch protocol between the main thread (ShardPool) and a shard worker
 * (ShardHost), over the worker's own port. Control calls (create, delete, ...) go over comlink
 * on a separate MessageChannel; this protocol carries only the hot path and worker events.
 *
 * One message per (request, shard). Items are flat number arrays (cheap to clone, no per-item
 * objects); payloads travel as transferred ArrayBuffers, never cloned. Every request carries an
 * id (the response names it) and an absolute deadline (Date.now() based — both threads share the
 * wall clock, not performance.now()'s origin); the worker skips a request whose deadline passed
 * while it waited in the mailbox.
 */
import type { MessagePort } from 'node:worker_threads'
import type { Watermarks } from './watermark-table.ts'

export const PRODUCE_ITEM_FIELDS = 4 // actorId, buffer index, byte offset, byte length
export const FETCH_ITEM_FIELDS = 6 // actorId, fetchOffset, maxBytes, isolation, currentLeaderEpoch, minOneBatch

export const ISOLATION_READ_UNCOMMITTED = 0
export const ISOLATION_READ_COMMITTED = 1

export interface ProduceRequestMessage {
  readonly t: 'produce'
  readonly id: number
  readonly deadline: number
  readonly buffers: ArrayBuffer[]
  readonly items: number[]
}

export interface FetchRequestMessage {
  readonly t: 'fetch'
  readonly id: number
  readonly deadline: number
  readonly items: number[]
}

/** Fetch read buffers coming back once their response was written (see src/lib/buffer-pool.ts). */
export interface RecycleMessage {
  readonly t: 'recycle'
  readonly buffers: ArrayBuffer[]
}

export type ToShard = ProduceRequestMessage | FetchRequestMessage | RecycleMessage

/** Errors an actor or the host answers per item; the pool adds shard_unavailable and request_timed_out. */
export type WireError =
  | 'not_leader_or_follower' | 'fenced_leader_epoch' | 'unknown_leader_epoch' | 'offset_out_of_range' | 'request_timed_out'
  | 'corrupt_message' | 'invalid_record' | 'message_too_large' | 'record_list_too_large' | 'unsupported_for_message_format'
  | 'invalid_timestamp' | 'out_of_order_sequence_number' | 'invalid_producer_epoch' | 'invalid_txn_state' | 'kafka_storage_error'

export type WireProduceResult =
  | { readonly ok: { baseOffset: number; lastOffset: number; logAppendTime: number; logStartOffset: number; duplicate: boolean } }
  | { readonly error: WireError; readonly message?: string }

/** The records travel as (transferred ArrayBuffer, offset, length): a Buffer would arrive as a plain Uint8Array. */
export type WireFetchResult =
  | { readonly ok: { buffer: ArrayBuffer; byteOffset: number; byteLength: number; highWatermark: number; lastStableOffset: number; logStartOffset: number } }
  | { readonly error: WireError; readonly watermarks?: Watermarks }

export interface ResultMessage {
  readonly t: 'result'
  readonly id: number
  readonly results: WireProduceResult[] | WireFetchResult[]
  /** A produce request's payload buffers, handed back after the append for reuse (src/lib/buffer-pool.ts). */
  readonly returned?: ArrayBuffer[]
}

/** Coalesced per batch of work: the slots whose watermarks changed (long-polls wake on it). */
export interface MovedMessage {
  readonly t: 'moved'
  readonly slots: number[]
}

/** Workers have no logger of their own; lines are forwarded to the pool's. */
export interface LogMessage {
  readonly t: 'log'
  readonly level: 'info' | 'warn' | 'error'
  readonly obj: object
  readonly msg: string
}

export type FromShard = ResultMessage | MovedMessage | LogMessage

/** What actors/shard-worker.ts receives as workerData. */
export interface ShardWorkerData {
  readonly shard: number
  readonly control: MessagePort
  /** Test hook: the worker sleeps this long before each data message (simulates a slow shard). */
  readonly testDelayMs: number
  readonly maxOpenFiles: number
}
