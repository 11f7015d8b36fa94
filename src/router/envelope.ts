/**
 * What the router carries: an envelope from one actor address to another.
 *
 * An address is {node, actor}: `node` is the broker's `node.id`, `actor` a name unique on that
 * node ("raft", "group-coordinator", …). Every Router also has an inbox actor named `~<router
 * name>` that receives the replies to the asks made by code that is not itself an actor.
 *
 * Kinds: `tell` (one way, best effort), `ask` (expects exactly one `reply` or `fail` carrying
 * the same id), `reply`, `fail`. `ttlMs` on an ask is the time the asker will still wait when
 * it was sent; a receiver drops asks whose time ran out before they were handled (the asker
 * has already failed them), so a backlog never does work nobody waits for.
 */
export interface ActorAddress {
  readonly node: number
  readonly actor: string
}

export type EnvelopeKind = 'tell' | 'ask' | 'reply' | 'fail'

export interface Envelope {
  readonly kind: EnvelopeKind
  readonly to: ActorAddress
  readonly from: ActorAddress
  /** Pairs a reply or failure with its ask (0 for tells). Unique per asking router. */
  readonly id: number
  /** Asks only: milliseconds the asker still waits (0: no deadline). */
  readonly ttlMs: number
  /** Any structured-cloneable value between threads; bytes (Uint8Array) between nodes. For `fail`, a RouterFailure. */
  readonly body: unknown
}

/** Why an ask failed. The only place these become Kafka error codes is src/kafka/error-map.ts. */
export type RouterErrorCode =
  /** The deadline passed before the reply arrived. */
  | 'timeout'
  /** No route to the address, or the link to it went down with the ask in flight. */
  | 'unreachable'
  /** The address's router has no such actor. */
  | 'no_such_actor'
  /** The actor's handler threw or rejected. */
  | 'handler_failed'
  /** A body that cannot cross the link (a non-byte body sent to another node). */
  | 'not_bytes'
  /** This router (or the receiving one) is shutting down. */
  | 'stopped'

export interface RouterFailure {
  readonly code: RouterErrorCode
  readonly message: string
}

export class RouterError extends Error {
  override name = 'RouterError'
  readonly code: RouterErrorCode
  constructor(code: RouterErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

export function addressKey(a: ActorAddress): string {
  return `${a.node}/${a.actor}`
}

export function isRouterFailure(v: unknown): v is RouterFailure {
  return typeof v === 'object' && v !== null && typeof (v as RouterFailure).code === 'string' && typeof (v as RouterFailure).message === 'string'
}
