/**
 * Accepts other nodes' peer links (peer-link.ts) and hands every envelope they carry to the
 * router. Inbound connections only ever carry envelopes toward this node; replies go back over
 * this node's own link to the sender.
 *
 * A frame that does not decode (another version, a bug, not a peer at all) drops the
 * connection; an envelope addressed to another node is dropped (a peer never relays).
 */
import { createServer, type Server, type Socket } from 'node:net'
import { FrameDecoder } from './frames.ts'
import type { Router } from './router.ts'
import { decodeEnvelope } from './wire.ts'

export interface PeerListenerOptions {
  readonly host?: string
  /** 0 picks a free port (read `port` afterwards). */
  readonly port: number
}

export class PeerListener {
  readonly #server: Server
  readonly #router: Router
  readonly #inbound = new Set<Socket>()
  /** Connections dropped for a frame that did not decode. */
  badFrames = 0
  /** Envelopes for another node (dropped). */
  misdirected = 0

  private constructor(router: Router, server: Server) {
    this.#router = router
    this.#server = server
    server.on('connection', (s) => this.#accept(s))
  }

  static async listen(router: Router, o: PeerListenerOptions): Promise<PeerListener> {
    const server = createServer({ noDelay: true })
    const l = new PeerListener(router, server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(o.port, o.host ?? '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    return l
  }

  get port(): number {
    const a = this.#server.address()
    return typeof a === 'object' && a !== null ? a.port : 0
  }

  #accept(s: Socket): void {
    this.#inbound.add(s)
    const frames = new FrameDecoder()
    s.on('data', (chunk: Buffer) => {
      let envelopes
      try {
        envelopes = frames.push(chunk).map(decodeEnvelope)
      } catch {
        this.badFrames++
        s.destroy()
        return
      }
      for (const env of envelopes) {
        if (env.to.node !== this.#router.node) this.misdirected++
        else this.#router.receive(env, null)
      }
    })
    s.on('error', () => {})
    s.on('close', () => this.#inbound.delete(s))
  }

  async close(): Promise<void> {
    for (const s of this.#inbound) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
