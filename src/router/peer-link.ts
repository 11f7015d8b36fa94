/**
 * A link to another node: an outbound TCP connection to the peer's listener (peer-listener.ts)
 * that connects at once, reconnects with exponential backoff (min → max, reset after a
 * successful connect), and keeps a bounded queue of frames. Each direction between two nodes
 * has its own connection, so no handshake is needed: every envelope names its sender.
 *
 * Invariant: queued bytes + bytes the socket has not flushed ≤ maxQueueBytes, so a dead or slow
 * peer costs bounded memory; frames beyond that are dropped (Raft retries what matters).
 * Frames written to a socket that then dies are lost, as on any network.
 */
import { connect, type Socket } from 'node:net'
import type { Envelope } from './envelope.ts'
import { frame } from './frames.ts'
import type { Link, LinkEvents } from './link.ts'
import { encodeEnvelope } from './wire.ts'

export interface PeerLinkOptions {
  /** The peer's node id (for names in logs and errors). */
  readonly node: number
  readonly host: string
  readonly port: number
  readonly maxQueueBytes: number
  readonly backoffMinMs: number
  readonly backoffMaxMs: number
}

export class PeerLink implements Link {
  readonly name: string
  readonly bytesOnly = true
  readonly #o: PeerLinkOptions
  #events: LinkEvents | null = null
  #socket: Socket | null = null
  #connected = false
  #queue: Buffer[] = []
  #queuedBytes = 0
  #backoff: number
  #retry: NodeJS.Timeout | null = null
  #flushScheduled = false
  #closed = false
  dropped = 0

  constructor(o: PeerLinkOptions) {
    this.#o = o
    this.name = `peer ${o.node} (${o.host}:${o.port})`
    this.#backoff = o.backoffMinMs
    this.#connect()
  }

  bind(events: LinkEvents): void {
    this.#events = events
  }

  send(env: Envelope): boolean {
    if (this.#closed) return false
    const f = frame(encodeEnvelope(env))
    const unflushed = this.#socket?.writableLength ?? 0
    if (this.#queuedBytes + unflushed + f.length > this.#o.maxQueueBytes) {
      this.dropped++
      return false
    }
    this.#queue.push(f)
    this.#queuedBytes += f.length
    // Frames queued in one turn of the event loop go out in one write (corked).
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => this.#flush())
    }
    return true
  }

  #flush(): void {
    this.#flushScheduled = false
    const s = this.#socket
    if (s === null || !this.#connected || s.writableNeedDrain || this.#queue.length === 0) return
    s.cork()
    for (const f of this.#queue) s.write(f)
    s.uncork()
    this.#queue = []
    this.#queuedBytes = 0
  }

  #connect(): void {
    if (this.#closed) return
    const s = connect({ host: this.#o.host, port: this.#o.port, noDelay: true })
    this.#socket = s
    s.on('connect', () => {
      this.#connected = true
      this.#backoff = this.#o.backoffMinMs
      this.#flush()
    })
    s.on('drain', () => this.#flush())
    s.on('data', () => {}) // peers never answer on this connection
    s.on('error', () => {}) // 'close' follows and handles it
    s.on('close', () => {
      if (this.#socket !== s) return
      this.#socket = null
      const wasConnected = this.#connected
      this.#connected = false
      if (this.#closed) return
      // Envelopes written to the dead socket are lost: asks waiting on them fail now, not at their timeout.
      if (wasConnected) this.#events?.down()
      this.#retry = setTimeout(() => this.#connect(), this.#backoff)
      this.#backoff = Math.min(this.#backoff * 2, this.#o.backoffMaxMs)
    })
  }

  close(): void {
    this.#closed = true
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#socket?.destroy()
    this.#socket = null
    this.#queue = []
  }
}
