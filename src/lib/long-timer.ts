/**
 * Timers for delays of any length.
 *
 * Node fires a setTimeout whose delay exceeds 2^31-1 ms (about 24.8 days) immediately, with
 * only a warning. Retention of 30 days, or Long.MAX ("never"), must not misfire: a long delay
 * is clamped to the maximum and re-armed until the deadline is reached; Infinity never fires.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

export interface LongTimer {
  cancel(): void
}

export function setLongTimeout(fn: () => void, delayMs: number, now: () => number = Date.now): LongTimer {
  if (delayMs === Infinity) return { cancel() {} }
  const deadline = now() + Math.max(0, delayMs)
  let handle: NodeJS.Timeout | null = null
  const arm = (): void => {
    const remaining = deadline - now()
    if (remaining <= 0) {
      handle = null
      fn()
      return
    }
    handle = setTimeout(arm, Math.min(remaining, MAX_TIMER_DELAY_MS))
    handle.unref?.()
  }
  arm()
  return {
    cancel() {
      if (handle) clearTimeout(handle)
      handle = null
    },
  }
}

/** setInterval for any period; Infinity never fires. */
export function setLongInterval(fn: () => void, periodMs: number, now: () => number = Date.now): LongTimer {
  let current: LongTimer | null = null
  let cancelled = false
  const schedule = (): void => {
    current = setLongTimeout(() => {
      if (cancelled) return
      fn()
      schedule()
    }, periodMs, now)
  }
  schedule()
  return {
    cancel() {
      cancelled = true
      current?.cancel()
    },
  }
}
