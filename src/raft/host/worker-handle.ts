/**
 * The main thread's handle on a Raft node running in its own worker thread
 * (actors/raft-worker.ts): start it, give it its peers, propose, read, ask its status, stop it
 * cleanly or kill it (terminate: a crash, as far as its disk and peers can tell).
 *
 * Calls are router asks to the worker's control actor; the worker's events arrive as tells to
 * this side's events actor. The handle uses the router it is given (a broker's hub) or one of
 * its own. A worker that exits fails the calls in flight at once (the port link goes down);
 * they, and later calls, answer { error: 'stopped' }.
 */
import { MessageChannel, Worker } from 'node:worker_threads'
import { PortLink } from '../../router/port-link.ts'
import { Router } from '../../router/router.ts'
import type { ConfChange } from '../membership.ts'
import type { Status } from '../raft-node.ts'
import type { NodeId } from '../types.ts'
import type { PeerAddress } from '../transport/transport.ts'
import { RAFT_CONTROL_ACTOR, RAFT_EVENTS_ACTOR, type AppliedEntry, type ControlCall, type LagStats, type RaftEvent, type RaftWorkerData, type Reply } from './protocol.ts'
import type { Failure, ProposeReply, ReadReply } from './raft-host.ts'
import { resolveTiming, type RaftTiming } from './timing.ts'

const WORKER_URL = new URL('../../../actors/raft-worker.ts', import.meta.url)
/** Calls the node answers itself within 4 election timeouts; this only catches a stuck thread. */
const CALL_TIMEOUT_MS = 120_000
const STOPPED: Failure = { error: 'stopped', leaderId: 0 }

export class RaftWorkerHandle {
  readonly id: NodeId
  /** The node's peer-listener port (0 when it listens on none). */
  port = 0
  /** The tick interval and election/heartbeat ticks the node runs with (defaults: timing.ts). */
  readonly timing: RaftTiming
  readonly #worker: Worker
  readonly #router: Router
  #exited = false
  #appliedListeners: Array<(entries: readonly AppliedEntry[]) => void> = []
  /** The latest leader/role/term the node reported. */
  role: { lead: NodeId; role: string; term: number } = { lead: 0, role: 'follower', term: 0 }
  /** An uncaught error that ended the worker (a bug or a failed disk), if any. */
  failure: Error | null = null

  private constructor(id: NodeId, timing: RaftTiming, worker: Worker, router: Router, ownsRouter: boolean, link: PortLink) {
    this.id = id
    this.timing = timing
    this.#worker = worker
    this.#router = router
    router.register(RAFT_EVENTS_ACTOR, (body) => this.#onEvent(body as RaftEvent))
    router.routeActors(link, [RAFT_CONTROL_ACTOR])
    worker.on('error', (err) => { this.failure = err })
    worker.on('exit', () => {
      this.#exited = true
      router.removeLink(link)
      router.unregister(RAFT_EVENTS_ACTOR)
      if (ownsRouter) router.close()
    })
  }

  /**
   * Starts the worker; resolves once it serves (its peer port listens). `onApplied` is
   * registered before any event can arrive, so it also sees the entries a restarted node
   * re-applies at once. `hub`: the router to attach to (default: a router of the handle's own).
   * `tickMs`, `electionTicks` and `heartbeatTicks` default to the measured values of timing.ts
   * (50 ms, 20, 2).
   */
  static async start(data: Omit<RaftWorkerData, 'hub'>, onApplied?: (entries: readonly AppliedEntry[]) => void, hub?: Router): Promise<RaftWorkerHandle> {
    const { port1, port2 } = new MessageChannel()
    const transferList = [port2, ...(data.links ?? []).map((l) => l.port)]
    const timing = resolveTiming(data)
    const workerData: RaftWorkerData = { ...data, ...timing, hub: port2 }
    const worker = new Worker(WORKER_URL, { workerData, transferList, name: `samsa-raft-${data.id}` })
    const router = hub ?? new Router({ node: data.id, name: `raft-handle-${data.id}` })
    const handle = new RaftWorkerHandle(data.id, timing, worker, router, hub === undefined, new PortLink(`raft worker ${data.id}`, port1))
    if (onApplied !== undefined) handle.onApplied(onApplied)
    const failed = new Promise<never>((_, reject) => worker.once('error', reject))
    failed.catch(() => {}) // a later failure is reported through `failure`, not here
    const hello = await Promise.race([handle.#call({ op: 'hello' }), failed])
    if (hello === null || !('port' in hello)) throw new Error(`raft worker ${data.id} did not start: ${JSON.stringify(hello)}`)
    handle.port = hello.port
    return handle
  }

  onApplied(listener: (entries: readonly AppliedEntry[]) => void): void {
    this.#appliedListeners.push(listener)
  }

  setPeers(peers: readonly PeerAddress[]): void {
    void this.#call({ op: 'peers', peers })
  }

  propose(data: Uint8Array): Promise<ProposeReply> {
    return this.#call({ op: 'propose', data }) as Promise<ProposeReply>
  }

  readIndex(): Promise<ReadReply> {
    return this.#call({ op: 'read' }) as Promise<ReadReply>
  }

  status(): Promise<Status | Failure> {
    return this.#call({ op: 'status' }) as Promise<Status | Failure>
  }

  transferLeader(to: NodeId): Promise<Failure | null> {
    return this.#call({ op: 'transfer', to }) as Promise<Failure | null>
  }

  /**
   * Adds or removes one voter or learner, or promotes a learner (addVoter of a learner: refused
   * with not_caught_up until its log reaches the commit index), at the leader; resolves when the
   * change commits or fails. The safe way to add a server is addLearner first.
   */
  changeMembership(change: ConfChange): Promise<ProposeReply> {
    return this.#call({ op: 'membership', change }) as Promise<ProposeReply>
  }

  /** Starts an election now (e.g. a one-voter quorum at start-up, instead of waiting out a timeout). */
  campaign(): Promise<void> {
    return this.#call({ op: 'campaign' }).then(() => undefined)
  }

  compact(index: number, data: Uint8Array): Promise<void> {
    return this.#call({ op: 'compact', index, data }).then(() => undefined)
  }

  /** Event-loop delay of the worker since the previous call. */
  lag(): Promise<LagStats> {
    return this.#call({ op: 'lag' }) as Promise<LagStats>
  }

  /** Clean stop: the node flushes and closes its log and sockets, then the thread exits. */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise((r) => this.#worker.once('exit', r))
    await this.#call({ op: 'stop' })
    await exited
  }

  /** Kills the thread at once: whatever was not written is lost, sockets die (a crash). */
  async kill(): Promise<void> {
    if (!this.#exited) await this.#worker.terminate()
  }

  async #call(call: ControlCall): Promise<Reply> {
    if (this.#exited) return STOPPED
    try {
      return await this.#router.ask<Reply>({ node: this.id, actor: RAFT_CONTROL_ACTOR }, call, { timeoutMs: CALL_TIMEOUT_MS })
    } catch {
      return STOPPED // the thread is gone (or stuck past the deadline): as a stopped node
    }
  }

  #onEvent(e: RaftEvent): void {
    switch (e.ev) {
      case 'applied': for (const l of this.#appliedListeners) l(e.entries); break
      case 'role': this.role = { lead: e.lead, role: e.role, term: e.term }; break
      case 'restored': break
    }
  }
}
