/**
 * Version-range arithmetic for the emitter: turns "is this version in range R?" into the
 * simplest `version >= N` / `version <= N` test, given the versions a function can be
 * called with (its context). A test that is always true in the context disappears; one
 * that is never true removes the code it guards.
 */
import type { VersionRange } from './schema.ts'

export type Cond = true | false | string

export function intersect(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (!a || !b) return null
  const lo = Math.max(a.lo, b.lo)
  const hi = Math.min(a.hi, b.hi)
  return lo <= hi ? { lo, hi } : null
}

export function hull(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (!a) return b
  if (!b) return a
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) }
}

/** The versions of ctx outside r, when that is one range; otherwise ctx itself (a safe over-approximation). */
export function minus(ctx: VersionRange, r: VersionRange | null): VersionRange | null {
  const inside = intersect(ctx, r)
  if (!inside) return ctx
  if (inside.lo === ctx.lo && inside.hi === ctx.hi) return null
  if (inside.lo === ctx.lo) return { lo: inside.hi + 1, hi: ctx.hi }
  if (inside.hi === ctx.hi) return { lo: ctx.lo, hi: inside.lo - 1 }
  return ctx
}

/** `version ∈ r` simplified for callers whose version is always within ctx. */
export function cond(r: VersionRange | null, ctx: VersionRange): Cond {
  const inside = intersect(r, ctx)
  if (!inside) return false
  const parts: string[] = []
  if (inside.lo > ctx.lo) parts.push(`version >= ${inside.lo}`)
  if (inside.hi < ctx.hi) parts.push(`version <= ${inside.hi}`)
  return parts.length === 0 ? true : parts.join(' && ')
}

/**
 * Picks between two alternatives by a version test: `pick(c, a, b)` is a when the version
 * is in r, b otherwise; each alternative is built for its own narrowed context.
 */
export function choose<T>(
  r: VersionRange | null,
  ctx: VersionRange,
  inRange: (ctx: VersionRange) => T,
  outOfRange: (ctx: VersionRange) => T,
  combine: (test: string, a: T, b: T) => T,
): T {
  const c = cond(r, ctx)
  if (c === true) return inRange(ctx)
  if (c === false) return outOfRange(ctx)
  return combine(c, inRange(intersect(r, ctx)!), outOfRange(minus(ctx, r)!))
}
