/**
 * Completes topic deletion: a deleted partition's directory, renamed `<topic>-<n>.<id>-delete`
 * when the topic left the metadata, is removed `file.delete.delay.ms` later (Kafka's
 * LogManager "delete logs" task). At start-up every such directory a previous run left behind
 * is scheduled again, so a restart in between never leaves one on disk for good.
 *
 * Runs on the main thread; removal is asynchronous (fs.promises.rm) so a large directory never
 * blocks request handling. Timers of any length are safe (src/lib/long-timer.ts).
 */
import { rm } from 'node:fs/promises'
import { setLongTimeout, type LongTimer } from '../lib/long-timer.ts'

export interface ReaperLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export class DeletedPartitionReaper {
  readonly #delayMs: number
  readonly #log: ReaperLogger
  readonly #timers = new Map<string, LongTimer>()
  readonly #removing = new Set<Promise<void>>()
  #stopped = false

  constructor(o: { delayMs: number; log: ReaperLogger }) {
    this.#delayMs = o.delayMs
    this.#log = o.log
  }

  /** Directories waiting for their delay. */
  get pending(): number {
    return this.#timers.size
  }

  /** Removes `dir` (a `-delete` directory) after the delay. */
  schedule(dir: string): void {
    if (this.#stopped || this.#timers.has(dir)) return
    this.#timers.set(dir, setLongTimeout(() => {
      this.#timers.delete(dir)
      const removal = rm(dir, { recursive: true, force: true }).then(
        () => this.#log.info({ dir }, 'deleted partition directory removed'),
        (err: unknown) => this.#log.error({ dir, err }, 'removing a deleted partition directory failed; retried at the next start'),
      )
      this.#removing.add(removal)
      void removal.finally(() => this.#removing.delete(removal))
    }, this.#delayMs))
  }

  /** Cancels what is still waiting (it is found again at the next start) and waits for removals under way. */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const timer of this.#timers.values()) timer.cancel()
    this.#timers.clear()
    await Promise.all(this.#removing)
  }
}
