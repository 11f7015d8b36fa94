/**
 * Long-polling Fetch requests wait here until a partition they read moves its high watermark
 * (or log start offset), or until their max_wait_ms runs out. Wake-ups are events pushed by the
 * shard workers — there is no polling timer.
 */
export class WatermarkWaiters {
  readonly #byKey = new Map<string, Set<() => void>>()

  /** Resolves true when any of `keys` moved, false when `timeoutMs` passed first. */
  wait(keys: readonly string[], timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null
      const done = (moved: boolean): void => {
        if (timer) clearTimeout(timer)
        for (const key of keys) {
          const set = this.#byKey.get(key)
          set?.delete(wake)
          if (set?.size === 0) this.#byKey.delete(key)
        }
        resolve(moved)
      }
      const wake = (): void => done(true)
      for (const key of keys) {
        let set = this.#byKey.get(key)
        if (!set) this.#byKey.set(key, (set = new Set()))
        set.add(wake)
      }
      // max_wait_ms is an int32, so a plain timer is safe.
      timer = setTimeout(() => done(false), Math.max(0, Math.min(timeoutMs, 2 ** 31 - 1)))
    })
  }

  notify(key: string): void {
    const set = this.#byKey.get(key)
    if (!set) return
    for (const wake of [...set]) wake()
  }

  get size(): number {
    return this.#byKey.size
  }
}
