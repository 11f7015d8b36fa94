/**
 * The process's log-cleaner pool: one piscina pool (actors/cleaner-worker.ts) shared by every
 * broker and shard in the process, created at the first compaction job, with
 * `log.cleaner.threads` threads (1 by default; the first acquirer's value wins). Acquired by each
 * shard pool and destroyed when the last one releases it (library mode runs several brokers in
 * one process), so a stopped broker leaves no thread behind.
 *
 * The main thread only relays: a shard posts a job on its cleaner port, the relay runs it on
 * piscina and posts the result back. The CPU work (key scan, offset map, `.cleaned` files) runs
 * on the pool's thread, never on a shard thread serving produce/fetch, nor on this one.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { assert } from '../lib/assert.ts'
import type { CleanJob, CleanResult } from '../storage/log-cleaner.ts'
import type { FromCleanerRelay, ToCleanerRelay } from './cleaner-protocol.ts'

const WORKER_URL = new URL('../../actors/cleaner-worker.ts', import.meta.url).href
/** An idle cleaner thread exits after this long (a new job starts one again). */
const IDLE_TIMEOUT_MS = 60_000

let shared: { pool: CleanerPool; refs: number } | null = null

export class CleanerPool {
  readonly threads: number
  #piscina: Piscina | null = null
  readonly #ports = new Set<MessagePort>()
  #destroyed = false

  private constructor(threads: number) {
    assert(Number.isInteger(threads) && threads >= 1, `log.cleaner.threads must be a positive integer, got ${threads}`)
    this.threads = threads
  }

  /** The process's pool (created on first acquire); match each call with release(). */
  static acquire(threads = 1): CleanerPool {
    shared ??= { pool: new CleanerPool(threads), refs: 0 }
    shared.refs++
    return shared.pool
  }

  /** The process's pool while any shard pool holds it (tests check that jobs really ran there). */
  static current(): CleanerPool | null {
    return shared?.pool ?? null
  }

  /** Gives back an acquire(); the last release destroys the piscina pool and closes every relay port. */
  async release(): Promise<void> {
    if (shared === null || shared.pool !== this) return
    if (--shared.refs > 0) return
    shared = null
    await this.#destroy()
  }

  /** Whether piscina threads were ever started (tests: jobs really ran on the pool). */
  get started(): boolean {
    return this.#piscina !== null
  }

  run(job: CleanJob): Promise<CleanResult | null> {
    if (this.#destroyed) return Promise.reject(new Error('the cleaner pool is stopped'))
    this.#piscina ??= new Piscina({ filename: WORKER_URL, minThreads: 0, maxThreads: this.threads, idleTimeout: IDLE_TIMEOUT_MS })
    return this.#piscina.run(job) as Promise<CleanResult | null>
  }

  /**
   * A cleaner port for one shard: `shardPort` goes to the shard (transfer it), the relay keeps
   * the other end; `close` ends it (the worker stopped or was replaced). `onCleaned` runs when
   * that shard swapped a pass in.
   */
  connect(onCleaned: () => void): { shardPort: MessagePort; close: () => void } {
    assert(!this.#destroyed, 'connecting to a stopped cleaner pool')
    const { port1, port2 } = new MessageChannel()
    this.#ports.add(port1)
    port1.on('message', (msg: ToCleanerRelay) => {
      if (msg.t === 'cleaned') {
        onCleaned()
        return
      }
      const reply = (m: FromCleanerRelay): void => {
        if (this.#ports.has(port1)) port1.postMessage(m)
      }
      this.run(msg.job).then(
        (result) => reply({ t: 'result', id: msg.id, result }),
        (err: unknown) => reply({ t: 'failed', id: msg.id, message: err instanceof Error ? err.message : String(err) }),
      )
    })
    port1.on('close', () => this.#ports.delete(port1))
    // Shard workers keep the process alive while they run; an idle relay must not.
    port1.unref()
    return {
      shardPort: port2,
      close: () => {
        if (this.#ports.delete(port1)) port1.close()
      },
    }
  }

  async #destroy(): Promise<void> {
    this.#destroyed = true
    for (const port of this.#ports) port.close()
    this.#ports.clear()
    const piscina = this.#piscina
    this.#piscina = null
    if (piscina !== null) await piscina.destroy()
  }
}
