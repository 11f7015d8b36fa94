/**
 * A link carries envelopes between two routers: a MessagePort between threads of one process
 * (port-link.ts), a TCP connection between nodes (peer-link.ts). Links are FIFO: two envelopes
 * sent over one link arrive in the order sent, or the later one is lost with the earlier one
 * (a dropped connection). That, plus the router's in-order dispatch, is what keeps every
 * sender's messages to an actor in order.
 */
import type { Transferable } from 'node:worker_threads'
import type { Envelope } from './envelope.ts'

export interface LinkEvents {
  /** An envelope arrived. */
  envelope(env: Envelope): void
  /** The far side is gone (worker died, connection lost): asks sent through this link will not be answered. */
  down(): void
}

export interface Link {
  /** For logs and errors: "shard-0", "peer 3 (127.0.0.1:9093)". */
  readonly name: string
  /** Whether this link can carry only byte bodies (links between nodes). */
  readonly bytesOnly: boolean
  /** Queues an envelope; false when it was dropped (link closed or its queue full). Never throws. */
  send(env: Envelope, transfer?: readonly Transferable[]): boolean
  /** The router that owns the link binds its events once, when the link is attached. */
  bind(events: LinkEvents): void
  close(): void
}
