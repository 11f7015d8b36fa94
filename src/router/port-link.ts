/**
 * A link between two threads of one process over a dedicated MessagePort (one end each).
 * Bodies are structured-cloned; buffers named in the transfer list move without a copy.
 *
 * A MessagePort emits 'close' when either end is closed, which includes the other thread
 * exiting or being terminated: that is the link going down.
 */
import type { MessagePort, Transferable } from 'node:worker_threads'
import type { Envelope } from './envelope.ts'
import type { Link, LinkEvents } from './link.ts'

export class PortLink implements Link {
  readonly name: string
  readonly bytesOnly = false
  readonly #port: MessagePort
  #events: LinkEvents | null = null
  #closed = false

  constructor(name: string, port: MessagePort) {
    this.name = name
    this.#port = port
    port.on('message', (env: Envelope) => this.#events?.envelope(env))
    port.on('close', () => {
      if (this.#closed) return
      this.#closed = true
      this.#events?.down()
    })
  }

  bind(events: LinkEvents): void {
    this.#events = events
  }

  send(env: Envelope, transfer?: readonly Transferable[]): boolean {
    if (this.#closed) return false
    this.#port.postMessage(env, transfer)
    return true
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#port.close()
  }
}
