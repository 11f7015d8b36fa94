/**
 * One client connection: framing, in-order responses, and backpressure.
 *
 * Invariants:
 * - Frames are handed to the dispatcher synchronously and in arrival order; nothing between
 *   the socket and a partition's mailbox reorders them (idempotent producers pipeline up to 5
 *   Produce requests and rely on it).
 * - Responses are written in request order, whatever order their handlers finish in.
 * - Memory is bounded: each frame's bytes are reserved in the broker-wide pool before they are
 *   buffered and released once the response is written; at most `maxInFlight` requests per
 *   connection. When either limit is reached, or a dispatcher asks to hold reads (a full actor
 *   mailbox), or responses wait unsent because the client does not read them, the socket is
 *   paused — requests are delayed, never dropped.
 * - Each frame lands in a Buffer with its own ArrayBuffer, which the broker owns and may transfer
 *   to a shard worker. Reads go straight into it (see "Reading" below), so a large frame is not
 *   copied at all in user space; the start of each frame, and small frames, are copied once out
 *   of a staging buffer shared by the thread's connections.
 *
 * Reading: the socket is re-wrapped with Node's `onread` option (its user-buffer read path), so
 * no per-read ArrayBuffer is allocated — at produce rates those 64 KiB chunks were most of the
 * network thread's GC work. After each read, `#nextReadTarget` names where the next read lands:
 * the unfilled tail of the frame being assembled when at least DIRECT_READ_MIN bytes of it are
 * missing and nothing is stashed (the read is bounded by the tail, so it can never swallow the
 * next frame), else the staging buffer. Invariant: after every read callback the staging buffer
 * holds no live bytes — whatever cannot be framed yet is copied into the stash — so it can be
 * handed out again whole, to this or any other connection.
 */
import { Socket } from 'node:net'
import type { Logger } from '../lib/logger.ts'
import { assert } from '../lib/assert.ts'
import type { RequestMemoryPool } from './memory-pool.ts'
import { framePool } from '../lib/buffer-pool.ts'

/** What a dispatched request turns into. */
export type Outcome =
  | { readonly kind: 'respond'; readonly chunks: readonly Buffer[]; readonly written?: () => void }
  | { readonly kind: 'none' } // acks=0 Produce: no response
  | { readonly kind: 'close'; readonly reason: string } // as Kafka: unsupported version, malformed request, acks=0 error

export interface ConnectionInfo {
  readonly id: number
  readonly listenerName: string
  readonly remoteAddress: string
  /** The authenticated principal; every connection is ANONYMOUS until SASL exists. */
  principal: string
  /** Stop reading this socket until `until` settles (a full shard mailbox, for instance). */
  holdReads(until: Promise<unknown>): void
}

export interface FrameDispatcher {
  dispatch(frame: Buffer, conn: ConnectionInfo): Outcome | Promise<Outcome>
}

export interface ConnectionLimits {
  readonly maxFrameBytes: number
  readonly maxInFlight: number
  readonly idleTimeoutMs: number
}

interface Pending {
  outcome: Outcome | null
  readonly bytes: number
}

let nextConnectionId = 1

/**
 * The staging buffer for reads that are not a large frame's tail (Node's own read size), shared
 * by every connection on this thread: libuv calls each read's callback right after that read,
 * and a callback leaves no live bytes in it (see "Reading" above), so reads of different sockets
 * never overlap in it — and idle connections cost no read memory.
 */
const STAGING_BYTES = 64 * 1024
/** The longest delay Node's timers (and socket timeouts) hold. */
const MAX_TIMER_MS = 2 ** 31 - 1
const sharedStaging = Buffer.allocUnsafeSlow(STAGING_BYTES)
/** A frame tail at least this long is read into directly; a shorter one comes through staging (one read may then carry several frames). */
const DIRECT_READ_MIN = 64 * 1024

/**
 * Moves an accepted socket's handle into a new Socket that reads into user buffers (`onread`).
 * Node offers `onread` only for sockets it constructs, so the handle of the server's socket
 * (accepted with pauseOnConnect: nothing was read yet) is adopted and the original socket is
 * destroyed without closing the handle. Returns null when the socket does not expose a
 * libuv stream handle (then the ordinary 'data' path is used).
 */
function adoptWithUserBuffer(socket: Socket, buffer: () => Uint8Array, callback: (nread: number, buf: Uint8Array) => boolean): Socket | null {
  const raw = socket as unknown as { _handle: { readStart?: unknown } | null }
  const handle = raw._handle
  if (handle === null || typeof handle !== 'object' || typeof handle.readStart !== 'function' || socket.destroyed) return null
  raw._handle = null
  socket.destroy() // no handle: only emits 'close' and gives the server its connection count back
  return new Socket({ handle, readable: true, writable: true, onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0])
}

export class Connection implements ConnectionInfo {
  readonly id = nextConnectionId++
  readonly listenerName: string
  readonly remoteAddress: string
  principal = 'User:ANONYMOUS'
  readonly #socket: Socket
  readonly #dispatcher: FrameDispatcher
  readonly #pool: RequestMemoryPool
  readonly #limits: ConnectionLimits
  readonly #log: Logger
  // Framing state: either reading the 4-byte size, or filling #frame.
  #sizeBuf = Buffer.alloc(4)
  #sizeFilled = 0
  #frame: Buffer | null = null
  #frameFilled = 0
  readonly #pending: Pending[] = []
  #holds = 0
  #waitingForMemory = false
  #closed = false
  /** Chunks that arrived while reads were held (pause() does not stop an in-progress 'data' delivery). */
  #stash: Buffer[] = []
  /** Reads are held until the socket drains its unsent responses (one waiter at a time). */
  #awaitingDrain = false
  /** When the connection last read or answered; kept only for idle timeouts beyond Node's timer range. */
  #lastActivity = Date.now()
  readonly #tracksActivity: boolean
  /** True while a chunk is being framed: a response settling synchronously must not start framing later bytes first. */
  #consuming = false
  /** User-buffer reads: the (shared) staging buffer, and the view handed out for the next read (staging, or a frame's tail). */
  readonly #staging = sharedStaging
  #readTarget: Buffer = sharedStaging
  /** False when the socket could not be adopted for user-buffer reads (chunks then arrive as 'data', owned by us). */
  readonly #userBuffer: boolean

  /** `socket` should come from a server with pauseOnConnect (it is re-wrapped for user-buffer reads); use `socket` getter after. */
  constructor(socket: Socket, listenerName: string, dispatcher: FrameDispatcher, pool: RequestMemoryPool, limits: ConnectionLimits, log: Logger) {
    this.listenerName = listenerName
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`
    const adopted = adoptWithUserBuffer(socket, () => this.#nextReadTarget(), (n, buf) => this.#onRead(n, buf))
    this.#userBuffer = adopted !== null
    socket = adopted ?? socket
    this.#socket = socket
    this.#dispatcher = dispatcher
    this.#pool = pool
    this.#limits = limits
    this.#tracksActivity = Number.isFinite(limits.idleTimeoutMs) && limits.idleTimeoutMs > MAX_TIMER_MS
    this.#log = log
    socket.setNoDelay(true)
    if (Number.isFinite(limits.idleTimeoutMs)) {
      socket.on('timeout', () => this.#onIdleTimer())
      socket.setTimeout(Math.min(limits.idleTimeoutMs, MAX_TIMER_MS))
    }
    if (!this.#userBuffer) {
      socket.on('data', (chunk: Buffer) => this.#onData(chunk))
      socket.resume() // accepted paused (pauseOnConnect)
    }
    socket.on('error', (err) => this.#log.debug({ conn: this.id, err: err.message }, 'socket error'))
    socket.on('close', () => this.#onClosed())
  }

  /** The socket this connection reads and writes (not the accepted one when it was re-wrapped). */
  get socket(): Socket {
    return this.#socket
  }

  get closed(): boolean {
    return this.#closed
  }

  close(reason: string): void {
    if (this.#closed) return
    this.#log.warn({ conn: this.id, remote: this.remoteAddress, reason }, 'closing connection')
    this.#socket.destroy()
    this.#onClosed()
  }

  holdReads(until: Promise<unknown>): void {
    this.#holds++
    this.#updateFlow()
    until.finally(() => {
      this.#holds--
      this.#updateFlow()
    }).catch(() => {})
  }

  #onClosed(): void {
    if (this.#closed && this.#pending.length === 0 && this.#frame === null) return
    this.#closed = true
    // Release what this connection still holds; late outcomes of in-flight requests are ignored.
    for (const p of this.#pending) this.#pool.release(p.bytes)
    this.#pending.length = 0
    if (this.#frame) this.#pool.release(this.#frame.length)
    this.#frame = null
    this.#stash = []
  }

  #readsBlocked(): boolean {
    return this.#holds > 0 || this.#waitingForMemory || this.#pending.length >= this.#limits.maxInFlight
  }

  #updateFlow(): void {
    if (this.#closed) return
    if (this.#readsBlocked()) {
      this.#socket.pause()
      return
    }
    if (this.#consuming) return
    // Process what arrived while held before reading more, to keep arrival order.
    while (this.#stash.length > 0 && !this.#readsBlocked() && !this.#closed) {
      this.#consume(this.#stash.shift()!)
    }
    if (!this.#readsBlocked() && !this.#closed && this.#stash.length === 0) this.#socket.resume()
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return
    if (this.#tracksActivity) this.#lastActivity = Date.now()
    if (this.#stash.length > 0 || this.#readsBlocked() || this.#consuming) {
      this.#stash.push(this.#own(chunk))
      this.#socket.pause()
      return
    }
    this.#consume(chunk)
  }

  /**
   * Node's socket timer fires after idleTimeoutMs without socket activity. It holds at most
   * 2^31-1 ms (longer values are cut to it, with a warning):
   * a longer connections.max.idle.ms is measured from the last read or write here, and the
   * timer re-armed for what remains.
   */
  #onIdleTimer(): void {
    const idleMs = this.#limits.idleTimeoutMs
    // A connection with a request in progress (a long poll, a slow CreateTopics) or reads held
    // for memory is waiting on the broker, not idle: its clock restarts.
    if (this.#pending.length > 0 || this.#waitingForMemory) {
      this.#socket.setTimeout(Math.min(idleMs, MAX_TIMER_MS))
      return
    }
    const remaining = idleMs <= MAX_TIMER_MS ? 0 : idleMs - (Date.now() - this.#lastActivity)
    if (remaining <= 0) {
      this.close('idle for connections.max.idle.ms')
      return
    }
    this.#socket.setTimeout(Math.min(remaining, MAX_TIMER_MS))
  }

  /** Bytes kept past this callback: a staging-buffer view must be copied (staging is reused), a 'data' chunk is ours already. */
  #own(bytes: Buffer): Buffer {
    return this.#userBuffer && bytes.buffer === this.#staging.buffer ? Buffer.from(bytes) : bytes
  }

  /** User-buffer read callback: `nread` bytes landed at the start of `#readTarget`. */
  #onRead(nread: number, _buf: Uint8Array): boolean {
    if (this.#closed) return false
    if (this.#tracksActivity) this.#lastActivity = Date.now()
    const target = this.#readTarget
    if (target.buffer === this.#staging.buffer) {
      this.#onData(this.#staging.subarray(0, nread))
      return true
    }
    // A direct read into the tail of the frame being filled (chosen only while nothing was stashed).
    const frame = this.#frame
    assert(frame !== null && target.buffer === frame.buffer && target.byteOffset === frame.byteOffset + this.#frameFilled, 'direct read target is the current frame tail')
    this.#frameFilled += nread
    if (this.#frameFilled === frame.length) {
      this.#frame = null
      this.#consuming = true
      try {
        this.#dispatchFrame(frame)
      } finally {
        this.#consuming = false
      }
      if (this.#stash.length > 0 || this.#readsBlocked()) this.#updateFlow()
    }
    return true
  }

  /** Called by Node after each read: where the next one lands. */
  #nextReadTarget(): Buffer {
    const frame = this.#frame
    if (frame !== null && !this.#closed && this.#stash.length === 0 && frame.length - this.#frameFilled >= DIRECT_READ_MIN) {
      this.#readTarget = frame.subarray(this.#frameFilled)
    } else {
      this.#readTarget = this.#staging
    }
    return this.#readTarget
  }

  /** Frames as much of `chunk` as limits allow; the rest goes back to the stash. */
  #consume(chunk: Buffer): void {
    this.#consuming = true
    try {
      this.#frameChunk(chunk)
    } finally {
      this.#consuming = false
    }
    if (this.#stash.length > 0) this.#updateFlow()
  }

  #frameChunk(chunk: Buffer): void {
    let at = 0
    while (at < chunk.length && !this.#closed) {
      if (this.#frame === null) {
        const n = Math.min(4 - this.#sizeFilled, chunk.length - at)
        chunk.copy(this.#sizeBuf, this.#sizeFilled, at, at + n)
        this.#sizeFilled += n
        at += n
        if (this.#sizeFilled < 4) return
        const size = this.#sizeBuf.readInt32BE(0)
        if (size < 0 || size > this.#limits.maxFrameBytes) {
          this.close(`request size ${size} is larger than socket.request.max.bytes (${this.#limits.maxFrameBytes}) or negative`)
          return
        }
        if (!this.#pool.tryReserve(size)) {
          // Undo the size read and wait for memory; the bytes stay stashed, in order.
          this.#sizeFilled = 0
          this.#stash.unshift(Buffer.concat([this.#sizeBuf, chunk.subarray(at)]))
          this.#waitingForMemory = true
          this.#socket.pause()
          this.#pool.onRelease(() => {
            this.#waitingForMemory = false
            this.#updateFlow()
          })
          return
        }
        this.#sizeFilled = 0
        // Its own ArrayBuffer (not Node's shared pool), so it can be transferred to a shard worker;
        // large frames come from the recycled frame pool (the worker hands Produce frames back).
        this.#frame = framePool.take(size)
        this.#frameFilled = 0
      }
      const frame = this.#frame
      const n = Math.min(frame.length - this.#frameFilled, chunk.length - at)
      chunk.copy(frame, this.#frameFilled, at, at + n)
      this.#frameFilled += n
      at += n
      if (this.#frameFilled === frame.length) {
        this.#frame = null
        this.#dispatchFrame(frame)
        if (this.#readsBlocked() && at < chunk.length) {
          this.#stash.unshift(this.#own(chunk.subarray(at)))
          this.#socket.pause()
          return
        }
      }
    }
  }

  #dispatchFrame(frame: Buffer): void {
    const pending: Pending = { outcome: null, bytes: frame.length }
    this.#pending.push(pending)
    let result: Outcome | Promise<Outcome>
    try {
      result = this.#dispatcher.dispatch(frame, this)
    } catch (err) {
      result = { kind: 'close', reason: `internal error: ${(err as Error).stack ?? String(err)}` }
    }
    if (result instanceof Promise) {
      result.then(
        (o) => this.#settle(pending, o),
        (err: unknown) => this.#settle(pending, { kind: 'close', reason: `internal error: ${(err as Error)?.stack ?? String(err)}` }),
      )
    } else {
      this.#settle(pending, result)
    }
  }

  #settle(pending: Pending, outcome: Outcome): void {
    if (this.#closed) return
    pending.outcome = outcome
    if (this.#tracksActivity) this.#lastActivity = Date.now()
    // Write every finished response at the head of the queue, in request order.
    this.#socket.cork()
    while (this.#pending.length > 0 && this.#pending[0]!.outcome !== null) {
      const head = this.#pending.shift()!
      const o = head.outcome!
      this.#pool.release(head.bytes)
      if (o.kind === 'close') {
        this.#socket.uncork()
        this.close(o.reason)
        return
      }
      if (o.kind === 'respond') {
        const last = o.chunks.length - 1
        o.chunks.forEach((c, i) => {
          // The callback fires when the bytes left for the kernel, or with an error when the socket died.
          if (i === last && o.written) this.#socket.write(c, o.written)
          else this.#socket.write(c)
        })
      }
    }
    this.#socket.uncork()
    assert(this.#pending.length <= this.#limits.maxInFlight + 1, 'in-flight requests exceed the cap')
    // A client that does not read its responses stops being read from, so unsent responses stay bounded.
    if (this.#socket.writableNeedDrain && !this.#awaitingDrain) {
      this.#awaitingDrain = true
      this.holdReads(new Promise<void>((resolve) => {
        const done = (): void => {
          this.#awaitingDrain = false
          this.#socket.off('drain', done)
          this.#socket.off('close', done)
          resolve()
        }
        this.#socket.on('drain', done)
        this.#socket.on('close', done)
      }))
    }
    this.#updateFlow()
  }
}
