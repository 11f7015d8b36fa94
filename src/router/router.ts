/**
 * The router: one way to send a message to any actor, on this thread, on another thread of
 * this process (PortLink) or on another node (PeerLink). Each thread that hosts actors has one
 * Router; the main thread's router is the hub that knows every local thread, a worker's router
 * knows its own actors and a default route to the hub (and, for the Raft worker, peer links of
 * its own, so Raft traffic never waits on the busy network thread).
 *
 * Delivery rules, in order, for an envelope addressed to {node, actor}:
 *   1. another node → that node's route (a peer link), else the asker gets `unreachable`;
 *   2. this router's inbox (`~name`) → the reply or failure of one of our asks;
 *   3. an actor registered here → its handler, called in arrival order;
 *   4. a route for the actor (another thread here) → forwarded;
 *   5. the default route (a worker's way to the hub), unless it came from there;
 *   6. otherwise the asker gets `no_such_actor`.
 * Routes to actors on other threads are also learned from the `from` of arriving envelopes, so
 * replies find their way back through the hub without configuration.
 *
 * Ordering: per (sender, receiver) pair, messages are handed to the receiver in the order sent.
 * Links are FIFO, dispatch is in arrival order, and an ask waiting for a window slot holds back
 * everything the same sender sends to the same actor after it.
 *
 * Bounded mailboxes: at most `maxInFlight` asks from one router to one actor are unanswered at
 * a time; more wait in this router's outbox, and `backlog(to)` lets the code feeding it (a
 * socket) stop reading. So a receiver's queue holds at most maxInFlight × senders asks. An
 * actor whose asks legitimately park for long (a JoinGroup waits out a rebalance) gets a wider
 * window with `setWindow`, its bound then being the callers' own (connections' in-flight caps).
 * Tells are best effort (Raft, heartbeats): they are never queued for a window and a link
 * may drop them.
 */
import type { Transferable } from 'node:worker_threads'
import { assert } from '../lib/assert.ts'
import { addressKey, RouterError, type ActorAddress, type Envelope, type RouterFailure } from './envelope.ts'
import type { Link } from './link.ts'

/** What a handler learns about a message besides its body. */
export interface Delivery {
  readonly from: ActorAddress
  /** Asks only: how long the asker still waits, in ms from now (0: no deadline, or a tell). */
  readonly ttlMs: number
}

/** A reply body with the buffers to transfer (not copy) to the asker's thread. */
export class WithTransfer {
  readonly body: unknown
  readonly transfer: readonly Transferable[]
  constructor(body: unknown, transfer: readonly Transferable[]) {
    this.body = body
    this.transfer = transfer
  }
}

/** Handles one message; for an ask, the returned value (or promise) is the reply. */
export type ActorHandler = (body: unknown, delivery: Delivery) => unknown

export interface AskOptions {
  /** Fails the ask with `timeout` after this long. Required: no ask waits forever. */
  readonly timeoutMs: number
  readonly transfer?: readonly Transferable[]
  /** The asking actor (default: this router's inbox). */
  readonly from?: string
}

export interface RouterOptions {
  /** This node's id (`node.id`). */
  readonly node: number
  /** Unique among the routers of one process: "main", "raft", "coordinator", "shard-0". */
  readonly name: string
  /** Unanswered asks from this router to one actor (default 256). */
  readonly maxInFlight?: number
  /** Called when a handler throws on a tell, or something arrives that nobody can take. */
  readonly onError?: (err: unknown, env: Envelope) => void
}

interface Pending {
  readonly resolve: (v: unknown) => void
  readonly reject: (e: RouterError) => void
  readonly timer: NodeJS.Timeout
  readonly to: string
  /** Sent (holds a window slot), through this link (null: to an actor of this router). */
  sent: boolean
  link: Link | null
}

interface Waiting {
  readonly env: Envelope
  readonly transfer: readonly Transferable[] | undefined
}

export class Router {
  readonly node: number
  readonly name: string
  /** Where replies to this router's asks are addressed. */
  readonly inbox: ActorAddress
  readonly #maxInFlight: number
  /** Per-destination windows that differ from maxInFlight (by address key). */
  readonly #windows = new Map<string, number>()
  readonly #onError: (err: unknown, env: Envelope) => void
  readonly #actors = new Map<string, ActorHandler>()
  readonly #actorRoutes = new Map<string, Link>()
  readonly #nodeRoutes = new Map<number, Link>()
  readonly #links = new Set<Link>()
  #default: Link | null = null
  readonly #pending = new Map<number, Pending>()
  readonly #inFlight = new Map<string, number>()
  /** Per destination: messages held back behind an ask waiting for a window slot (FIFO). */
  readonly #outbox = new Map<string, Waiting[]>()
  #nextId = 1
  #closed = false
  readonly stats = { delivered: 0, dropped: 0, forwarded: 0 }

  constructor(o: RouterOptions) {
    assert(Number.isInteger(o.node) && o.node >= 0, `router node id must be a non-negative integer, got ${o.node}`)
    this.node = o.node
    this.name = o.name
    this.inbox = { node: o.node, actor: `~${o.name}` }
    this.#maxInFlight = o.maxInFlight ?? 256
    this.#onError = o.onError ?? (() => {})
  }

  // ── actors and routes ────────────────────────────────────────────────────────────────

  register(actor: string, handler: ActorHandler): ActorAddress {
    assert(!actor.startsWith('~'), `actor names starting with ~ are router inboxes: ${actor}`)
    assert(!this.#actors.has(actor), `actor ${actor} is already registered on router ${this.name}`)
    this.#actors.set(actor, handler)
    return { node: this.node, actor }
  }

  unregister(actor: string): void {
    this.#actors.delete(actor)
  }

  /** Actors named here live behind `link` (another thread of this node). */
  routeActors(link: Link, actors: readonly string[]): void {
    this.#attach(link)
    for (const a of actors) this.#actorRoutes.set(a, link)
  }

  /** Every actor of `node` is reached through `link` (a peer link). Replaces an older route. */
  routeNode(node: number, link: Link): void {
    assert(node !== this.node, 'a router needs no route to its own node')
    const old = this.#nodeRoutes.get(node)
    if (old !== undefined && old !== link) this.#detach(old)
    this.#attach(link)
    this.#nodeRoutes.set(node, link)
  }

  /** Anything this router cannot place goes through `link` (a worker's link to the hub). */
  routeDefault(link: Link): void {
    this.#attach(link)
    this.#default = link
  }

  /** Forgets every route through `link` and closes it. */
  removeLink(link: Link): void {
    this.#detach(link)
  }

  /** Nodes with a route (for tests and status). */
  get nodes(): number[] {
    return [...this.#nodeRoutes.keys()]
  }

  // ── sending ──────────────────────────────────────────────────────────────────────────

  /** One-way, best effort: false when dropped (no route, link down or full). */
  tell(to: ActorAddress, body: unknown, transfer?: readonly Transferable[], from?: string): boolean {
    if (this.#closed) return false
    const env: Envelope = { kind: 'tell', to, from: from === undefined ? this.inbox : { node: this.node, actor: from }, id: 0, ttlMs: 0, body }
    const queue = this.#outbox.get(addressKey(to))
    if (queue !== undefined) { // an ask ahead of it waits for a slot: keep the order
      queue.push({ env, transfer })
      return true
    }
    return this.#route(env, transfer, null)
  }

  /** Request and reply. Rejects with RouterError (timeout, unreachable, no_such_actor, handler_failed, not_bytes, stopped). */
  ask<T = unknown>(to: ActorAddress, body: unknown, o: AskOptions): Promise<T> {
    if (this.#closed) return Promise.reject(new RouterError('stopped', `router ${this.name} is stopped`))
    assert(o.timeoutMs > 0, 'an ask needs a positive timeout')
    const id = this.#nextId++
    const key = addressKey(to)
    const env: Envelope = { kind: 'ask', to, from: o.from === undefined ? this.inbox : { node: this.node, actor: o.from }, id, ttlMs: o.timeoutMs, body }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, new RouterError('timeout', `no reply from ${key} within ${o.timeoutMs} ms`)), o.timeoutMs)
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, to: key, sent: false, link: null })
      const queue = this.#outbox.get(key)
      if (queue !== undefined || (this.#inFlight.get(key) ?? 0) >= this.#window(key)) {
        if (queue === undefined) this.#outbox.set(key, [{ env, transfer: o.transfer }])
        else queue.push({ env, transfer: o.transfer })
        return
      }
      this.#sendAsk(env, o.transfer)
    })
  }

  /** Sets how many asks from this router to `to` may be unanswered at once (default maxInFlight). */
  setWindow(to: ActorAddress, maxInFlight: number): void {
    assert(maxInFlight >= 1, 'a window holds at least one ask')
    this.#windows.set(addressKey(to), maxInFlight)
  }

  #window(key: string): number {
    return this.#windows.get(key) ?? this.#maxInFlight
  }

  /** Messages waiting in this router's outbox for `to` (a feeder should pause above a few). */
  backlog(to: ActorAddress): number {
    return this.#outbox.get(addressKey(to))?.length ?? 0
  }

  #sendAsk(env: Envelope, transfer: readonly Transferable[] | undefined): void {
    const key = addressKey(env.to)
    const p = this.#pending.get(env.id)
    if (p === undefined) return // timed out while it waited in the outbox
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1)
    p.sent = true
    p.link = env.to.node === this.node && this.#actors.has(env.to.actor) ? null : this.#routeFor(env.to)
    this.#route(env, transfer, null)
  }

  /** Sends what waits for `key` while the window allows. */
  #pump(key: string): void {
    const queue = this.#outbox.get(key)
    if (queue === undefined) return
    while (queue.length > 0) {
      const next = queue[0]!
      if (next.env.kind === 'ask') {
        if (!this.#pending.has(next.env.id)) { queue.shift(); continue } // timed out meanwhile
        if ((this.#inFlight.get(key) ?? 0) >= this.#window(key)) return
        queue.shift()
        this.#sendAsk(next.env, next.transfer)
      } else {
        queue.shift()
        this.#route(next.env, next.transfer, null)
      }
    }
    this.#outbox.delete(key)
  }

  #settle(id: number, outcome: RouterError | { value: unknown }): void {
    const p = this.#pending.get(id)
    if (p === undefined) return // late reply to an ask that already failed
    this.#pending.delete(id)
    clearTimeout(p.timer)
    if (p.sent) { // an ask that never left the outbox holds no slot
      const n = this.#inFlight.get(p.to) ?? 0
      assert(n > 0, `window count for ${p.to} went negative`)
      if (n === 1) this.#inFlight.delete(p.to)
      else this.#inFlight.set(p.to, n - 1)
    }
    if (outcome instanceof RouterError) p.reject(outcome)
    else p.resolve(outcome.value)
    this.#pump(p.to)
  }

  // ── receiving and forwarding ─────────────────────────────────────────────────────────

  /** Entry point for envelopes from links and listeners. */
  receive(env: Envelope, via: Link | null): void {
    if (this.#closed) return
    // Learn where local actors on other threads live, so replies to them need no set-up.
    if (via !== null && env.from.node === this.node && !this.#actors.has(env.from.actor) && !this.#actorRoutes.has(env.from.actor) && env.from.actor !== this.inbox.actor) {
      this.#actorRoutes.set(env.from.actor, via)
    }
    if (env.to.node === this.node && env.to.actor === this.inbox.actor) {
      if (env.kind === 'reply') this.#settle(env.id, { value: env.body })
      else if (env.kind === 'fail') {
        const f = env.body as RouterFailure
        this.#settle(env.id, new RouterError(f.code, f.message))
      }
      return
    }
    if (env.to.node === this.node) {
      const handler = this.#actors.get(env.to.actor)
      if (handler !== undefined) return this.#dispatch(handler, env)
    }
    this.#route(env, undefined, via)
  }

  #dispatch(handler: ActorHandler, env: Envelope): void {
    this.stats.delivered++
    const delivery: Delivery = { from: env.from, ttlMs: env.ttlMs }
    if (env.kind === 'tell') {
      try {
        const r = handler(env.body, delivery)
        if (r instanceof Promise) r.catch((err: unknown) => this.#onError(err, env))
      } catch (err) {
        this.#onError(err, env)
      }
      return
    }
    if (env.kind !== 'ask') return this.#onError(new Error(`a ${env.kind} addressed to actor ${env.to.actor}`), env)
    let result: unknown
    try {
      result = handler(env.body, delivery)
    } catch (err) {
      return this.#fail(env, 'handler_failed', errorText(err))
    }
    if (result instanceof Promise) {
      result.then((v: unknown) => this.#reply(env, v), (err: unknown) => this.#fail(env, 'handler_failed', errorText(err)))
    } else {
      this.#reply(env, result)
    }
  }

  #reply(ask: Envelope, value: unknown): void {
    const [body, transfer] = value instanceof WithTransfer ? [value.body, value.transfer] : [value, undefined]
    this.#route({ kind: 'reply', to: ask.from, from: ask.to, id: ask.id, ttlMs: 0, body }, transfer, null)
  }

  #fail(ask: Envelope, code: RouterFailure['code'], message: string): void {
    if (ask.kind !== 'ask') return
    const body: RouterFailure = { code, message }
    this.#route({ kind: 'fail', to: ask.from, from: ask.to, id: ask.id, ttlMs: 0, body }, undefined, null)
  }

  #routeFor(to: ActorAddress): Link | null {
    if (to.node !== this.node) return this.#nodeRoutes.get(to.node) ?? null
    return this.#actorRoutes.get(to.actor) ?? this.#default
  }

  /** Sends toward `env.to` (never back through `cameFrom`); a lost ask is failed to its asker. */
  #route(env: Envelope, transfer: readonly Transferable[] | undefined, cameFrom: Link | null): boolean {
    // Our own asks and replies to our own actors short-circuit (an actor asking a neighbour).
    if (env.to.node === this.node && cameFrom === null && (this.#actors.has(env.to.actor) || env.to.actor === this.inbox.actor)) {
      queueMicrotask(() => this.receive(env, null))
      return true
    }
    const link = this.#routeFor(env.to)
    if (link === null || link === cameFrom) {
      this.#lost(env, env.to.node === this.node ? 'no_such_actor' : 'unreachable', link === null ? 'no route' : 'routing loop')
      return false
    }
    if (link.bytesOnly && env.kind !== 'fail' && !(env.body instanceof Uint8Array)) {
      this.#lost(env, 'not_bytes', `${env.kind} for ${addressKey(env.to)} must carry bytes to cross ${link.name}`)
      return false
    }
    if (cameFrom !== null) this.stats.forwarded++
    if (link.send(env, transfer)) return true
    this.#lost(env, 'unreachable', `${link.name} dropped it`)
    return false
  }

  /** An envelope that cannot be delivered: asks fail back to the asker, the rest is counted. */
  #lost(env: Envelope, code: RouterFailure['code'], why: string): void {
    this.stats.dropped++
    if (env.kind === 'reply' && code === 'not_bytes') {
      // The asker still waits: tell it why instead of letting it time out.
      const body: RouterFailure = { code, message: `reply from ${addressKey(env.from)}: ${why}` }
      this.#route({ kind: 'fail', to: env.to, from: env.from, id: env.id, ttlMs: 0, body }, undefined, null)
      return
    }
    if (env.kind !== 'ask') return
    const message = `${addressKey(env.to)}: ${why}`
    if (env.from.node === this.node && env.from.actor === this.inbox.actor) this.#settle(env.id, new RouterError(code, message))
    else this.#fail(env, code, message)
  }

  #attach(link: Link): void {
    if (this.#links.has(link)) return
    this.#links.add(link)
    link.bind({ envelope: (env) => this.receive(env, link), down: () => this.#linkDown(link) })
  }

  #detach(link: Link): void {
    for (const [a, l] of this.#actorRoutes) if (l === link) this.#actorRoutes.delete(a)
    for (const [n, l] of this.#nodeRoutes) if (l === link) this.#nodeRoutes.delete(n)
    if (this.#default === link) this.#default = null
    this.#links.delete(link)
    link.close()
    this.#linkDown(link)
  }

  /** Asks that went out through a link that died will never be answered: fail them now. */
  #linkDown(link: Link): void {
    for (const [id, p] of this.#pending) {
      if (p.link === link) this.#settle(id, new RouterError('unreachable', `${link.name} went down with the ask in flight`))
    }
  }

  /** Fails every pending ask with `stopped` and closes every link. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const id of [...this.#pending.keys()]) this.#settle(id, new RouterError('stopped', `router ${this.name} stopped`))
    this.#outbox.clear()
    for (const link of this.#links) link.close()
    this.#links.clear()
    this.#actors.clear()
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
