/**
 * Invariant checks that stay on in production.
 *
 * An assertion failure is a programmer error, never an operating error: bad input
 * from a client or a disk is returned as a value (a Kafka error code), while a
 * broken invariant means our own code is wrong and must stop the actor that found it.
 */
export class AssertionError extends Error {
  override name = 'AssertionError'
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`)
}

/** Asserts that an int64 carried as a JS number is still exact (|n| ≤ 2^53 − 1). */
export function assertSafeInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new AssertionError(`${what} is not a safe integer: ${n}`)
}
