/**
 * sfc32 ("small fast chaotic" PRNG, Chris Doty-Humphrey): 128 bits of state,
 * passes PractRand, and is a few lines of 32-bit integer arithmetic, so every
 * simulator run is reproducible from one seed.
 */
import type { Random } from '../../../src/raft/config.ts'

export class Prng implements Random {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: number) {
    // Spread the seed over the state, then discard the first outputs (they correlate with it).
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = seed >>> 0
    for (let i = 0; i < 15; i++) this.next()
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }

  /** An independent stream derived from this one (so adding draws in one place does not shift another). */
  fork(): Prng {
    return new Prng(this.next())
  }
}
