/**
 * In-process transport for tests: endpoints of one MemoryNetwork deliver to each other
 * asynchronously (setImmediate), through the wire codec so that what arrives is exactly what
 * a socket would carry. Links can be cut to make partitions.
 */
import type { Message, NodeId } from '../types.ts'
import { decodeMessage, encodeMessage } from './codec.ts'
import type { RaftTransport } from './transport.ts'

export class MemoryNetwork {
  readonly #handlers = new Map<NodeId, (m: Message) => void>()
  readonly #cut = new Set<string>()
  delivered = 0
  dropped = 0

  endpoint(id: NodeId): RaftTransport {
    return {
      send: (m) => this.#send(m),
      onMessage: (h) => void this.#handlers.set(id, h),
      close: async () => void this.#handlers.delete(id),
    }
  }

  /** Cuts (or heals) both directions between a and b. */
  cut(a: NodeId, b: NodeId, on = true): void {
    for (const key of [`${a}>${b}`, `${b}>${a}`]) on ? this.#cut.add(key) : this.#cut.delete(key)
  }

  #send(m: Message): void {
    const wire = encodeMessage(m)
    setImmediate(() => {
      const h = this.#handlers.get(m.to)
      if (h === undefined || this.#cut.has(`${m.from}>${m.to}`)) {
        this.dropped++
        return
      }
      this.delivered++
      h(decodeMessage(wire))
    })
  }
}
