/**
 * The main thread's handle on a Raft node running in its own worker thread
 * (actors/raft-worker.ts): start it, give it its peers, propose, read, ask its status, stop it
 * cleanly or kill it (terminate: a crash, as far as its disk and peers can tell).
 */
import { Worker } from 'node:worker_threads'
import type { ConfChange } from '../membership.ts'
import type { Status } from '../raft-node.ts'
import type { NodeId } from '../types.ts'
import type { PeerAddress } from '../transport/transport.ts'
import type { AppliedEntry, FromWorker, LagStats, RaftWorkerData, Reply, ToWorker } from './protocol.ts'
import type { Failure, ProposeReply, ReadReply } from './raft-host.ts'

const WORKER_URL = new URL('../../../actors/raft-worker.ts', import.meta.url)

export class RaftWorkerHandle {
  readonly id: NodeId
  readonly port: number
  readonly #worker: Worker
  readonly #pending = new Map<number, (v: Reply) => void>()
  #req = 0
  #exited = false
  #appliedListeners: Array<(entries: readonly AppliedEntry[]) => void> = []
  /** The latest leader/role/term the node reported. */
  role: { lead: NodeId; role: string; term: number } = { lead: 0, role: 'follower', term: 0 }
  /** An uncaught error that ended the worker (a bug or a failed disk), if any. */
  failure: Error | null = null

  private constructor(id: NodeId, worker: Worker, port: number) {
    this.id = id
    this.#worker = worker
    this.port = port
    worker.on('message', (m: FromWorker) => this.#onMessage(m))
    worker.on('error', (err) => { this.failure = err })
    worker.on('exit', () => {
      this.#exited = true
      for (const resolve of this.#pending.values()) resolve({ error: 'stopped', leaderId: 0 })
      this.#pending.clear()
    })
  }

  /**
   * Starts the worker; resolves once its peer port listens. `onApplied` is registered before
   * any event can arrive, so it also sees the entries a restarted node re-applies at once.
   */
  static start(data: RaftWorkerData, onApplied?: (entries: readonly AppliedEntry[]) => void): Promise<RaftWorkerHandle> {
    const transferList = (data.links ?? []).map((l) => l.port)
    const worker = new Worker(WORKER_URL, { workerData: data, transferList, name: `samsa-raft-${data.id}` })
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      worker.once('error', onError)
      worker.once('message', (m: FromWorker) => {
        worker.off('error', onError)
        if (m.ev !== 'listening') return reject(new Error(`raft worker ${data.id} said ${m.ev} before listening`))
        const handle = new RaftWorkerHandle(data.id, worker, m.port)
        if (onApplied !== undefined) handle.onApplied(onApplied)
        resolve(handle)
      })
    })
  }

  onApplied(listener: (entries: readonly AppliedEntry[]) => void): void {
    this.#appliedListeners.push(listener)
  }

  setPeers(peers: readonly PeerAddress[]): void {
    this.#post({ op: 'peers', peers })
  }

  propose(data: Uint8Array): Promise<ProposeReply> {
    return this.#call((req) => ({ op: 'propose', req, data })) as Promise<ProposeReply>
  }

  readIndex(): Promise<ReadReply> {
    return this.#call((req) => ({ op: 'read', req })) as Promise<ReadReply>
  }

  status(): Promise<Status | Failure> {
    return this.#call((req) => ({ op: 'status', req })) as Promise<Status | Failure>
  }

  transferLeader(to: NodeId): Promise<Failure | null> {
    return this.#call((req) => ({ op: 'transfer', req, to })) as Promise<Failure | null>
  }

  /** Adds or removes one voter (at the leader); resolves when the change commits or fails. */
  changeMembership(change: ConfChange): Promise<ProposeReply> {
    return this.#call((req) => ({ op: 'membership', req, change })) as Promise<ProposeReply>
  }

  /** Starts an election now (e.g. a one-voter quorum at start-up, instead of waiting out a timeout). */
  campaign(): Promise<void> {
    return this.#call((req) => ({ op: 'campaign', req })).then(() => undefined)
  }

  compact(index: number, data: Uint8Array): Promise<void> {
    return this.#call((req) => ({ op: 'compact', req, index, data })).then(() => undefined)
  }

  /** Event-loop delay of the worker since the previous call. */
  lag(): Promise<LagStats> {
    return this.#call((req) => ({ op: 'lag', req })) as Promise<LagStats>
  }

  /** Clean stop: the node flushes and closes its log and sockets, then the thread exits. */
  async stop(): Promise<void> {
    if (this.#exited) return
    const exited = new Promise((r) => this.#worker.once('exit', r))
    await this.#call((req) => ({ op: 'stop', req }))
    await exited
  }

  /** Kills the thread at once: whatever was not written is lost, sockets die (a crash). */
  async kill(): Promise<void> {
    if (!this.#exited) await this.#worker.terminate()
  }

  #call(make: (req: number) => ToWorker): Promise<Reply> {
    if (this.#exited) return Promise.resolve({ error: 'stopped', leaderId: 0 })
    const req = ++this.#req
    return new Promise((resolve) => {
      this.#pending.set(req, resolve)
      this.#post(make(req))
    })
  }

  #post(m: ToWorker): void {
    if (!this.#exited) this.#worker.postMessage(m)
  }

  #onMessage(m: FromWorker): void {
    switch (m.ev) {
      case 'reply': {
        const resolve = this.#pending.get(m.req)
        this.#pending.delete(m.req)
        resolve?.(m.value)
        break
      }
      case 'applied': for (const l of this.#appliedListeners) l(m.entries); break
      case 'role': this.role = { lead: m.lead, role: m.role, term: m.term }; break
      case 'restored': case 'listening': break
    }
  }
}
