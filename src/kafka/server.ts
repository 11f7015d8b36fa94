/**
 * The broker's listeners: one TCP server per configured listener (PLAINTEXT for now), each
 * connection framed and dispatched by a Connection. Port 0 binds a free port; `boundPort()`
 * reports the real one so it can be advertised.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../lib/logger.ts'
import type { ListenerConfig } from '../config/broker-config.ts'
import { Connection, type ConnectionLimits, type FrameDispatcher } from './connection.ts'
import { RequestMemoryPool } from './memory-pool.ts'

export interface BoundListener {
  readonly name: string
  readonly host: string
  readonly port: number
}

export class KafkaServer {
  readonly #servers: { listener: ListenerConfig; server: Server }[] = []
  readonly #connections = new Set<Connection>()
  readonly #sockets = new Set<Socket>()
  readonly #pool: RequestMemoryPool
  readonly #limits: ConnectionLimits
  readonly #log: Logger
  #dispatcher: FrameDispatcher | null = null

  constructor(o: { queuedMaxRequestBytes: number; limits: ConnectionLimits; log: Logger }) {
    this.#pool = new RequestMemoryPool(o.queuedMaxRequestBytes)
    this.#limits = o.limits
    this.#log = o.log
  }

  /** Binds every listener; connections are accepted only after `serve()`. */
  async bind(listeners: readonly ListenerConfig[]): Promise<BoundListener[]> {
    const bound: BoundListener[] = []
    for (const listener of listeners) {
      // Paused: a Connection re-wraps the accepted socket for user-buffer reads before anything is read.
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(listener, socket))
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(listener, err)))
        server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      server.on('error', (err) => this.#log.error({ err, listener: listener.name }, 'listener error'))
      this.#servers.push({ listener, server })
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : listener.port
      bound.push({ name: listener.name, host: listener.host, port })
    }
    return bound
  }

  serve(dispatcher: FrameDispatcher): void {
    this.#dispatcher = dispatcher
  }

  #accept(listener: ListenerConfig, socket: Socket): void {
    if (!this.#dispatcher) {
      socket.destroy()
      return
    }
    const conn = new Connection(socket, listener.name, this.#dispatcher, this.#pool, this.#limits, this.#log)
    const live = conn.socket // the re-wrapped socket; the accepted one is already destroyed
    if (live.destroyed) return
    this.#sockets.add(live)
    this.#connections.add(conn)
    live.on('close', () => {
      this.#connections.delete(conn)
      this.#sockets.delete(live)
    })
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** Stops accepting, closes every connection, and waits for the servers to close. */
  async close(): Promise<void> {
    const closing = this.#servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())))
    for (const s of this.#sockets) s.destroy()
    await Promise.all(closing)
    this.#servers.length = 0
  }
}

/** A bind failure names the listener and the setting to change, not only the socket error. */
function bindError(listener: ListenerConfig, err: NodeJS.ErrnoException): Error {
  const where = `${listener.host === '' ? '0.0.0.0' : listener.host}:${listener.port}`
  const why = err.code === 'EADDRINUSE' ? 'the address is already in use (another broker running?)'
    : err.code === 'EADDRNOTAVAIL' ? 'no local interface has that address'
    : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
    : err.message
  return new Error(`listener ${listener.name} cannot bind ${where}: ${why}; change it in \`listeners\``, { cause: err })
}
