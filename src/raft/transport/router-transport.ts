/**
 * Raft messages over the broker's router (src/router/): a node is the actor "raft" on its
 * node, and a message to node N is a tell to {N, "raft"}. Whether N is reached over a peer
 * link (TCP, across processes) or a port link (MessagePort, nodes of one process) is the
 * router's business, so the same node code runs in both.
 *
 * Tells are best effort, which is what Raft asks of a transport (it tolerates loss,
 * duplication and reordering); bodies are the wire codec's bytes, so they cross any link.
 */
import type { Router } from '../../router/router.ts'
import type { Message } from '../types.ts'
import { decodeMessage, encodeMessage } from './codec.ts'
import type { RaftTransport } from './transport.ts'

export const RAFT_ACTOR = 'raft'

export class RouterTransport implements RaftTransport {
  readonly #router: Router
  readonly #actor: string
  #handler: (m: Message) => void = () => {}
  /** Bodies that did not decode (a peer on another version, or a bug): dropped. */
  badMessages = 0

  constructor(router: Router, actor = RAFT_ACTOR) {
    this.#router = router
    this.#actor = actor
    router.register(actor, (body) => {
      let m: Message
      try {
        m = decodeMessage(body as Uint8Array)
      } catch {
        this.badMessages++
        return
      }
      if (m.to === router.node) this.#handler(m)
    })
  }

  send(m: Message): void {
    this.#router.tell({ node: m.to, actor: this.#actor }, encodeMessage(m), undefined, this.#actor)
  }

  onMessage(handler: (m: Message) => void): void {
    this.#handler = handler
  }

  async close(): Promise<void> {
    this.#router.unregister(this.#actor)
  }
}
