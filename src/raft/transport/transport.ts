/**
 * How a Raft host exchanges messages with its peers. Delivery is best effort: messages may be
 * lost, duplicated or reordered (the core tolerates all three), so `send` never blocks and never
 * fails — a full queue or a dead link drops the message.
 */
import type { Message, NodeId } from '../types.ts'

export interface RaftTransport {
  /** Queues `m` for node `m.to`. */
  send(m: Message): void
  /** The handler receives every message addressed to this node. One handler; set before traffic starts. */
  onMessage(handler: (m: Message) => void): void
  close(): Promise<void>
}

export interface PeerAddress {
  readonly id: NodeId
  readonly host: string
  readonly port: number
}
