/**
 * How produce payloads cross to a shard worker within the copy budget (≤ 1 copy in the broker).
 *
 * The network layer frames each request into a broker-owned Buffer with its own ArrayBuffer —
 * that is the one copy (for a large frame only its first ≤ 64 KiB; socket reads land in the
 * rest directly, see src/kafka/connection.ts). The items' records are subarrays of it. Here:
 *  - 'transfer': the ArrayBuffer(s) behind the records are transferred (moved, zero copies); the
 *    worker gets (buffer index, offset, length) per item. The caller's Buffers are detached after.
 *  - 'copy': only the items' slices are copied into one fresh ArrayBuffer, which is transferred.
 *    Used for all shards but one when a request spans several shards (see
 *    ShardPool.produceAcrossShards), so the frame is transferred once and the other shards'
 *    bytes are copied once each.
 * A buffer that cannot be transferred (Node's Buffer pool, a SharedArrayBuffer) falls back to
 * 'copy' for its items: correct, one copy more, and counted in `copiedBytes` so tests and
 * benchmarks can see it.
 */
import { isMarkedAsUntransferable } from 'node:worker_threads'
import { assert } from '../lib/assert.ts'
import { PRODUCE_ITEM_FIELDS } from './protocol.ts'

export type PayloadMode = 'transfer' | 'copy'

export interface EncodedProduce {
  readonly buffers: ArrayBuffer[]
  readonly items: number[]
  /** Payload bytes (for the in-flight byte limit). */
  readonly bytes: number
  /** Bytes copied here (0 on the pure transfer path). */
  readonly copiedBytes: number
}

function transferable(buffer: ArrayBufferLike): buffer is ArrayBuffer {
  return buffer instanceof ArrayBuffer && !buffer.detached && !isMarkedAsUntransferable(buffer)
}

export function encodeProduce(items: readonly { readonly actorId: number; readonly records: Buffer }[], mode: PayloadMode): EncodedProduce {
  const buffers: ArrayBuffer[] = []
  const index = new Map<ArrayBuffer, number>()
  const flat: number[] = new Array(items.length * PRODUCE_ITEM_FIELDS)
  const toCopy: number[] = []
  let bytes = 0
  let copyBytes = 0
  for (let i = 0; i < items.length; i++) {
    const { actorId, records } = items[i]!
    // A detached buffer means the caller transferred this frame already (e.g. called produce per shard on a shared frame).
    assert(!(records.buffer instanceof ArrayBuffer && records.buffer.detached), 'produce records whose ArrayBuffer was already transferred')
    bytes += records.byteLength
    const p = i * PRODUCE_ITEM_FIELDS
    flat[p] = actorId
    const buffer = records.buffer
    if (mode === 'copy' || !transferable(buffer)) {
      toCopy.push(i)
      copyBytes += records.byteLength
      continue
    }
    let b = index.get(buffer)
    if (b === undefined) {
      b = buffers.push(buffer) - 1
      index.set(buffer, b)
    }
    flat[p + 1] = b
    flat[p + 2] = records.byteOffset
    flat[p + 3] = records.byteLength
  }
  if (toCopy.length > 0) {
    const copy = new ArrayBuffer(copyBytes)
    const target = new Uint8Array(copy)
    const b = buffers.push(copy) - 1
    let at = 0
    for (const i of toCopy) {
      const records = items[i]!.records
      target.set(records, at)
      const p = i * PRODUCE_ITEM_FIELDS
      flat[p + 1] = b
      flat[p + 2] = at
      flat[p + 3] = records.byteLength
      at += records.byteLength
    }
  }
  return { buffers, items: flat, bytes, copiedBytes: copyBytes }
}
