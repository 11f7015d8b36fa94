/**
 * The shared watermark table of one shard: one slot per hosted partition, in SharedArrayBuffers
 * that the shard worker writes and the main thread reads — so ListOffsets(latest), `min_bytes`
 * checks and long-poll wake-ups need no round trip to the worker.
 *
 * Layout. The table is a list of fixed-size chunks (CHUNK_SLOTS slots each); a slot never moves,
 * so growing the table is adding a chunk (sent to the worker with the first partition placed in
 * it) and no reader or writer ever sees a reallocation. A slot is 16 Int32s (64 bytes, one cache
 * line, so two partitions never share a line):
 *   [0]        sequence number (seqlock)
 *   [1 + 2i]   high 32 bits of field i  (signed)
 *   [2 + 2i]   low 32 bits of field i   (unsigned, stored as int32)
 *   [15]       spare
 * Fields i = 0..6 are WATERMARK_FIELDS. Every int64 we keep is a safe integer (|v| < 2^53), so
 * hi·2^32 + lo reconstructs it exactly without BigInt allocations.
 *
 * Consistency: a per-slot seqlock. The single writer of a slot (the actor that owns it, or the
 * main thread while no worker owns it: at allocation and after the worker died) bumps the
 * sequence to odd, stores the fields, bumps it back to even. A reader loads the sequence, retries
 * while it is odd, loads the fields, and accepts them only if the sequence is unchanged. Every
 * access — sequence and fields — is an Atomics operation, hence sequentially consistent: there
 * are no data races in the ECMAScript memory model, so the field loads cannot be reordered
 * outside the two sequence loads and a torn snapshot is always detected.
 */
import { assert } from '../lib/assert.ts'

export interface Watermarks {
  readonly logStartOffset: number
  readonly highWatermark: number
  readonly lastStableOffset: number
  readonly logEndOffset: number
  readonly leaderEpoch: number
  readonly recoveryPoint: number
  /** How far the log is compacted (its cleaner-offset-checkpoint entry); -1: never cleaned or not compacted. */
  readonly cleanerCheckpoint: number
}

export const WATERMARK_FIELDS = ['logStartOffset', 'highWatermark', 'lastStableOffset', 'logEndOffset', 'leaderEpoch', 'recoveryPoint', 'cleanerCheckpoint'] as const

export const CHUNK_SLOTS = 1024
const SLOT_INTS = 16
const CHUNK_BYTES = CHUNK_SLOTS * SLOT_INTS * Int32Array.BYTES_PER_ELEMENT
const TWO_32 = 2 ** 32
/**
 * A writer holds the odd sequence for 16 stores. A reader that keeps colliding with writes (a
 * writer publishing in a tight loop, or one that died mid-write) stops after this many attempts
 * and falls back to the last snapshot it read of the slot: older, but consistent — and a stale
 * watermark is what any reader may see anyway.
 */
const MAX_READ_ATTEMPTS = 1_000

export const UNKNOWN_WATERMARKS: Watermarks = Object.freeze({
  logStartOffset: -1, highWatermark: -1, lastStableOffset: -1, logEndOffset: -1, leaderEpoch: -1, recoveryPoint: -1, cleanerCheckpoint: -1,
})

export function chunkOf(slot: number): number {
  return Math.floor(slot / CHUNK_SLOTS)
}

function baseOf(slot: number): number {
  return (slot % CHUNK_SLOTS) * SLOT_INTS
}

function storeInt64(view: Int32Array, at: number, value: number): void {
  const hi = Math.floor(value / TWO_32)
  Atomics.store(view, at, hi)
  Atomics.store(view, at + 1, (value - hi * TWO_32) | 0)
}

function loadInt64(view: Int32Array, at: number): number {
  return Atomics.load(view, at) * TWO_32 + (Atomics.load(view, at + 1) >>> 0)
}

/** The seqlock write of one slot; `view` is the slot's chunk. The caller is the slot's only writer. */
function writeSlot(view: Int32Array, slot: number, w: Watermarks): void {
  const base = baseOf(slot)
  const seq = Atomics.add(view, base, 1) + 1
  assert((seq & 1) === 1, `watermark slot ${slot} had two writers`)
  storeInt64(view, base + 1, w.logStartOffset)
  storeInt64(view, base + 3, w.highWatermark)
  storeInt64(view, base + 5, w.lastStableOffset)
  storeInt64(view, base + 7, w.logEndOffset)
  storeInt64(view, base + 9, w.leaderEpoch)
  storeInt64(view, base + 11, w.recoveryPoint)
  storeInt64(view, base + 13, w.cleanerCheckpoint)
  Atomics.add(view, base, 1)
}

/** The seqlock read of one slot; undefined only if the sequence stayed odd (a writer died mid-write). */
function readSlot(view: Int32Array, slot: number, attempts: number): Watermarks | undefined {
  const base = baseOf(slot)
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = Atomics.load(view, base)
    if ((before & 1) === 1) continue
    const w: Watermarks = {
      logStartOffset: loadInt64(view, base + 1),
      highWatermark: loadInt64(view, base + 3),
      lastStableOffset: loadInt64(view, base + 5),
      logEndOffset: loadInt64(view, base + 7),
      leaderEpoch: loadInt64(view, base + 9),
      recoveryPoint: loadInt64(view, base + 11),
      cleanerCheckpoint: loadInt64(view, base + 13),
    }
    if (Atomics.load(view, base) === before) return w
  }
  return undefined
}

/** The worker's side: publishes the slots of the partitions it hosts. */
export class WatermarkWriter {
  readonly #chunks: Int32Array[] = []

  /** Idempotent; the pool sends the chunk of a slot with every partition it places there. */
  attach(chunkIndex: number, chunk: SharedArrayBuffer): void {
    assert(chunk.byteLength === CHUNK_BYTES, 'watermark chunk of the wrong size')
    this.#chunks[chunkIndex] ??= new Int32Array(chunk)
  }

  publish(slot: number, w: Watermarks): void {
    const view = this.#chunks[chunkOf(slot)]
    assert(view !== undefined, `watermark chunk of slot ${slot} not attached`)
    writeSlot(view, slot, w)
  }
}

/**
 * The main thread's side for one shard: allocates and frees slots, grows by chunks, reads
 * snapshots. Slots are allocated when a partition is placed on the shard, freed when it is
 * deleted or closed; a freed slot is reused (the pool never reads a slot it has freed).
 */
export class WatermarkTable {
  readonly #chunks: SharedArrayBuffer[] = []
  readonly #views: Int32Array[] = []
  readonly #free: number[] = []
  /** Per slot: the last consistent snapshot read or written here (read()'s fallback). */
  readonly #last: Watermarks[] = []
  #next = 0
  #used = 0

  get size(): number {
    return this.#used
  }

  /** A fresh slot, initialised to `initial` (written here: no worker owns it yet). */
  allocate(initial: Watermarks = UNKNOWN_WATERMARKS): number {
    const slot = this.#free.pop() ?? this.#next++
    const c = chunkOf(slot)
    if (c === this.#chunks.length) {
      const sab = new SharedArrayBuffer(CHUNK_BYTES)
      this.#chunks.push(sab)
      this.#views.push(new Int32Array(sab))
    }
    this.#used++
    this.reset(slot, initial)
    return slot
  }

  free(slot: number): void {
    assert(slot >= 0 && slot < this.#next && !this.#free.includes(slot), `freeing watermark slot ${slot} twice`)
    this.#free.push(slot)
    this.#used--
  }

  /** The chunk holding `slot`, to hand to the worker that will write it. */
  chunk(slot: number): { chunkIndex: number; chunk: SharedArrayBuffer } {
    const chunkIndex = chunkOf(slot)
    const chunk = this.#chunks[chunkIndex]
    assert(chunk !== undefined, `no watermark chunk for slot ${slot}`)
    return { chunkIndex, chunk }
  }

  /** A consistent snapshot: the current one, or if writes keep colliding, the last one seen (never torn). */
  read(slot: number): Watermarks {
    const fresh = this.tryRead(slot, MAX_READ_ATTEMPTS)
    if (fresh !== undefined) return fresh
    const last = this.#last[slot]
    assert(last !== undefined, `watermark slot ${slot} was never written`)
    return last
  }

  /** The current snapshot, or undefined if each of `attempts` found a write in progress. */
  tryRead(slot: number, attempts: number): Watermarks | undefined {
    const view = this.#views[chunkOf(slot)]
    assert(view !== undefined, `no watermark chunk for slot ${slot}`)
    const w = readSlot(view, slot, attempts)
    if (w !== undefined) this.#last[slot] = w
    return w
  }

  /**
   * Main-thread write, only while no worker owns the slot (allocation, or after its worker
   * exited — a dead writer may have left the sequence odd, which this repairs).
   */
  reset(slot: number, w: Watermarks): void {
    const view = this.#views[chunkOf(slot)]
    assert(view !== undefined, `no watermark chunk for slot ${slot}`)
    const base = baseOf(slot)
    if ((Atomics.load(view, base) & 1) === 1) Atomics.add(view, base, 1)
    writeSlot(view, slot, w)
    this.#last[slot] = w
  }
}
