/**
 * The shard side of the cleaner port: turns compaction jobs into promises answered by the main
 * thread's relay (cleaner-pool.ts). Jobs in flight when the port closes reject, so an actor
 * never waits forever for a pass.
 */
import type { MessagePort } from 'node:worker_threads'
import type { CleanJob, CleanResult } from '../storage/log-cleaner.ts'
import type { FromCleanerRelay, ToCleanerRelay } from './cleaner-protocol.ts'

export class CleanerLink {
  readonly #port: MessagePort
  readonly #pending = new Map<number, { resolve: (r: CleanResult | null) => void; reject: (e: Error) => void }>()
  #nextId = 1
  #closed = false

  constructor(port: MessagePort) {
    this.#port = port
    port.on('message', (msg: FromCleanerRelay) => this.#onMessage(msg))
    port.on('close', () => this.close())
    // The shard's parentPort keeps its thread alive; this port must not.
    port.unref()
  }

  run(job: CleanJob): Promise<CleanResult | null> {
    if (this.#closed) return Promise.reject(new Error('the cleaner port is closed'))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#post({ t: 'run', id, job })
    })
  }

  /** Tells the broker a pass was swapped in (after the new checkpoint was published). */
  notifyCleaned(): void {
    if (!this.#closed) this.#post({ t: 'cleaned' })
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const p of this.#pending.values()) p.reject(new Error('the cleaner port closed'))
    this.#pending.clear()
    this.#port.close()
  }

  #post(msg: ToCleanerRelay): void {
    this.#port.postMessage(msg)
  }

  #onMessage(msg: FromCleanerRelay): void {
    const p = this.#pending.get(msg.id)
    if (p === undefined) return
    this.#pending.delete(msg.id)
    if (msg.t === 'result') p.resolve(msg.result)
    else p.reject(new Error(msg.message))
  }
}
