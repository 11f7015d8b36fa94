/**
 * The main thread's connection to one shard worker thread: spawns it, carries the lean
 * produce/fetch protocol (request ids, deadlines, in-flight accounting for backpressure) and the
 * comlink control channel, and turns the worker's death into answers.
 *
 * Failure propagation: when the worker exits for any reason but terminate(), every pending data
 * request and control call is answered `shard_unavailable` at once (comlink alone would hang
 * forever on a dead port), the in-flight counters drop to zero (so paused sockets resume), and
 * `onExit` tells the pool, which restarts the shard. Deadlines: each request and call has a timer
 * that answers `request_timed_out`; a late response is then dropped, but the request still counts
 * as in flight until the worker answers or dies, because it still occupies the worker's mailbox.
 */
// comlink ships no types for its Node adapter: referenced here so that a project type-checking
// Samsa from outside (without this tsconfig) finds them too.
/// <reference path="../types/comlink-node-adapter.d.ts" />
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { FromShard, ResultMessage, ShardWorkerData, ToShard } from './protocol.ts'
import type { ShardControl } from './shard-control.ts'
import { framePool } from '../lib/buffer-pool.ts'

export type LinkError = 'shard_unavailable' | 'request_timed_out'
export type LinkOutcome<T> = { ok: T } | { error: LinkError; message?: string }

export interface ShardLinkOptions {
  readonly shard: number
  readonly maxInFlightRequests: number
  readonly maxInFlightBytes: number
  readonly maxOpenFiles: number
  readonly testDelayMs: number
  readonly onMoved: (slots: number[]) => void
  readonly onLog: (level: 'info' | 'warn' | 'error', obj: object, msg: string) => void
  /** The worker ended unexpectedly (not through terminate()). */
  readonly onExit: (code: number, error: unknown) => void
}

interface Pending {
  readonly resolve: (outcome: LinkOutcome<ResultMessage['results']>) => void
  readonly timer: NodeJS.Timeout
  readonly bytes: number
  settled: boolean
}

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const WORKER_URL = new URL(`../../actors/shard-worker${ext}`, import.meta.url)

/** Hysteresis: a saturated shard drains when both counters fall to 3/4 of their limits. */
const DRAIN_FRACTION = 0.75

export class ShardLink {
  readonly shard: number
  readonly #o: ShardLinkOptions
  readonly #worker: Worker
  readonly #controlPort: MessagePort
  readonly #control: Comlink.Remote<ShardControl>
  readonly #pending = new Map<number, Pending>()
  readonly #calls = new Set<(outcome: LinkOutcome<never>) => void>()
  #drainWaiters: (() => void)[] = []
  #nextId = 1
  #inFlightRequests = 0
  #inFlightBytes = 0
  #alive = true
  #terminating = false
  #exited: Promise<void>

  constructor(o: ShardLinkOptions) {
    this.shard = o.shard
    this.#o = o
    const channel = new MessageChannel()
    const workerData: ShardWorkerData = { shard: o.shard, control: channel.port2, testDelayMs: o.testDelayMs, maxOpenFiles: o.maxOpenFiles }
    this.#worker = new Worker(WORKER_URL, { workerData, transferList: [channel.port2], name: `samsa-shard-${o.shard}` })
    this.#controlPort = channel.port1
    this.#control = Comlink.wrap<ShardControl>(nodeEndpoint(channel.port1))
    let lastError: unknown = null
    this.#worker.on('message', (msg: FromShard) => this.#onMessage(msg))
    // Without an 'error' listener a worker's uncaught exception would be re-thrown on the main thread.
    this.#worker.on('error', (err) => {
      lastError = err
    })
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#die()
        resolve()
        if (!this.#terminating) this.#o.onExit(code, lastError)
      })
    })
  }

  get alive(): boolean {
    return this.#alive
  }

  get inFlightRequests(): number {
    return this.#inFlightRequests
  }

  get inFlightBytes(): number {
    return this.#inFlightBytes
  }

  /** The mailbox is full: the caller should stop reading its socket until onDrain. Sending anyway is allowed (never dropped). */
  get saturated(): boolean {
    return this.#inFlightRequests >= this.#o.maxInFlightRequests || this.#inFlightBytes >= this.#o.maxInFlightBytes
  }

  /** Calls `cb` once the mailbox has room again (at once if it has). */
  onDrain(cb: () => void): void {
    if (!this.saturated) cb()
    else this.#drainWaiters.push(cb)
  }

  /** Sends a message that expects no answer (recycled buffers); dropped if the worker is gone. */
  post(msg: ToShard, transfer: ArrayBuffer[]): void {
    if (this.#alive) this.#worker.postMessage(msg, transfer)
  }

  /**
   * Sends one data message. `build` receives the request id and the absolute deadline. `bytes`
   * counts toward the in-flight byte limit. The ArrayBuffers in `transfer` are detached here.
   */
  request(build: (id: number, deadline: number) => ToShard, transfer: ArrayBuffer[], bytes: number, timeoutMs: number): Promise<LinkOutcome<ResultMessage['results']>> {
    if (!this.#alive) return Promise.resolve({ error: 'shard_unavailable' })
    const id = this.#nextId++
    const msg = build(id, Date.now() + timeoutMs)
    return new Promise((resolve) => {
      // Posted first: a DataCloneError (a programming error) then rejects this promise and leaves no pending entry behind.
      this.#worker.postMessage(msg, transfer)
      const timer = setTimeout(() => {
        const p = this.#pending.get(id)
        if (p === undefined || p.settled) return
        p.settled = true
        resolve({ error: 'request_timed_out' })
      }, timeoutMs)
      this.#pending.set(id, { resolve, timer, bytes, settled: false })
      this.#inFlightRequests++
      this.#inFlightBytes += bytes
    })
  }

  /** A comlink control call with a deadline; answered shard_unavailable if the worker dies first. */
  call<T>(fn: (control: Comlink.Remote<ShardControl>) => Promise<T>, timeoutMs: number): Promise<LinkOutcome<T>> {
    if (!this.#alive) return Promise.resolve({ error: 'shard_unavailable' })
    return new Promise((resolve) => {
      let done = false
      const finish = (outcome: LinkOutcome<T>): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#calls.delete(finish)
        resolve(outcome)
      }
      const timer = setTimeout(() => finish({ error: 'request_timed_out' }), timeoutMs)
      this.#calls.add(finish)
      // Control methods return values; a rejection means the call itself broke (e.g. the port closed).
      fn(this.#control).then((value) => finish({ ok: value }), (err) => finish({ error: 'shard_unavailable', message: String(err) }))
    })
  }

  /** Stops the worker (no onExit); pending work is answered shard_unavailable. */
  async terminate(): Promise<void> {
    this.#terminating = true
    await this.#worker.terminate()
    await this.#exited
  }

  /** Test hook: kills the thread as a crash would (onExit fires). */
  killForTest(): Promise<number> {
    return this.#worker.terminate()
  }

  #onMessage(msg: FromShard): void {
    if (msg.t === 'result') {
      if (msg.returned) for (const b of msg.returned) framePool.give(b)
      const p = this.#pending.get(msg.id)
      if (p === undefined) return
      this.#pending.delete(msg.id)
      clearTimeout(p.timer)
      this.#release(p.bytes)
      if (!p.settled) {
        p.settled = true
        p.resolve({ ok: msg.results })
      }
    } else if (msg.t === 'moved') {
      this.#o.onMoved(msg.slots)
    } else {
      this.#o.onLog(msg.level, msg.obj, msg.msg)
    }
  }

  #release(bytes: number): void {
    this.#inFlightRequests--
    this.#inFlightBytes -= bytes
    if (this.#drainWaiters.length === 0) return
    const o = this.#o
    if (this.#inFlightRequests > o.maxInFlightRequests * DRAIN_FRACTION || this.#inFlightBytes > o.maxInFlightBytes * DRAIN_FRACTION) return
    this.#fireDrain()
  }

  #fireDrain(): void {
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const cb of waiters) cb()
  }

  #die(): void {
    this.#alive = false
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer)
      if (!p.settled) p.resolve({ error: 'shard_unavailable' })
    }
    this.#pending.clear()
    for (const finish of [...this.#calls]) finish({ error: 'shard_unavailable' })
    this.#inFlightRequests = 0
    this.#inFlightBytes = 0
    this.#controlPort.close()
    this.#fireDrain()
  }
}
