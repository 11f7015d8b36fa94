/**
 * Raft messages over TCP: each node listens for its peers, and sends over one outbound
 * PeerLink per peer (so a pair of nodes uses two connections, one per direction; no
 * handshake is needed because every message names its sender). Frames: frames.ts; messages:
 * codec.ts.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Message, NodeId } from '../types.ts'
import { decodeMessage, encodeMessage } from './codec.ts'
import { FrameDecoder, frame } from './frames.ts'
import { PeerLink } from './peer-link.ts'
import type { PeerAddress, RaftTransport } from './transport.ts'

export interface TcpTransportOptions {
  readonly id: NodeId
  /** Listen address; loopback by default. */
  readonly host?: string
  /** 0 picks a free port (read it from `port` afterwards). */
  readonly port: number
  readonly maxQueueBytes?: number
  readonly backoffMinMs?: number
  readonly backoffMaxMs?: number
}

export class TcpTransport implements RaftTransport {
  readonly id: NodeId
  readonly #o: TcpTransportOptions
  readonly #server: Server
  readonly #inbound = new Set<Socket>()
  readonly #links = new Map<NodeId, PeerLink>()
  #handler: (m: Message) => void = () => {}
  /** Frames that did not decode (a peer on another version, or a bug): the connection is dropped. */
  badFrames = 0

  private constructor(o: TcpTransportOptions, server: Server) {
    this.id = o.id
    this.#o = o
    this.#server = server
    server.on('connection', (s) => this.#accept(s))
  }

  static async listen(o: TcpTransportOptions): Promise<TcpTransport> {
    const server = createServer({ noDelay: true })
    const t = new TcpTransport(o, server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(o.port, o.host ?? '127.0.0.1', () => resolve())
    })
    return t
  }

  get port(): number {
    const a = this.#server.address()
    return typeof a === 'object' && a !== null ? a.port : 0
  }

  /** Sets (or replaces) the peers' addresses; links to other nodes are dropped. */
  setPeers(peers: readonly PeerAddress[]): void {
    for (const l of this.#links.values()) l.close()
    this.#links.clear()
    for (const p of peers) {
      if (p.id === this.id) continue
      this.#links.set(p.id, new PeerLink({
        host: p.host, port: p.port, maxQueueBytes: this.#o.maxQueueBytes ?? 64 * 1024 * 1024,
        backoffMinMs: this.#o.backoffMinMs ?? 10, backoffMaxMs: this.#o.backoffMaxMs ?? 1000,
      }))
    }
  }

  send(m: Message): void {
    this.#links.get(m.to)?.send(frame(encodeMessage(m)))
  }

  onMessage(handler: (m: Message) => void): void {
    this.#handler = handler
  }

  get dropped(): number {
    let n = 0
    for (const l of this.#links.values()) n += l.dropped
    return n
  }

  #accept(s: Socket): void {
    this.#inbound.add(s)
    const frames = new FrameDecoder()
    s.on('data', (chunk: Buffer) => {
      let messages: Message[]
      try {
        messages = frames.push(chunk).map(decodeMessage)
      } catch {
        this.badFrames++
        s.destroy()
        return
      }
      for (const m of messages) if (m.to === this.id) this.#handler(m)
    })
    s.on('error', () => {})
    s.on('close', () => this.#inbound.delete(s))
  }

  async close(): Promise<void> {
    for (const l of this.#links.values()) l.close()
    this.#links.clear()
    for (const s of this.#inbound) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
