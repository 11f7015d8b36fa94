/**
 * The simulated network: per-message drop, duplication and random delay (so
 * messages reorder), plus partitions as a set of cut directed links that is
 * checked at delivery time (a message in flight when a partition forms is lost).
 */
import type { Message, NodeId } from '../../../src/raft/types.ts'
import type { FaultProfile } from './profiles.ts'
import type { Prng } from './prng.ts'

export class Network {
  readonly #rng: Prng
  readonly #profile: FaultProfile
  readonly #cut = new Set<number>()
  /** While false, no message is dropped or duplicated (the liveness phase). */
  faulty = true
  sent = 0
  dropped = 0

  constructor(rng: Prng, profile: FaultProfile) {
    this.#rng = rng
    this.#profile = profile
  }

  /** Delivery delays for one send: [] when dropped, two when duplicated. */
  delays(): number[] {
    const p = this.#profile
    this.sent++
    if (this.faulty && this.#rng.chance(p.drop)) {
      this.dropped++
      return []
    }
    const d = this.#rng.between(p.delayMin, p.delayMax)
    if (this.faulty && this.#rng.chance(p.duplicate)) return [d, this.#rng.between(p.delayMin, p.delayMax)]
    return [d]
  }

  canDeliver(m: Message): boolean {
    return !this.#cut.has(link(m.from, m.to))
  }

  heal(): void {
    this.#cut.clear()
  }

  cut(from: NodeId, to: NodeId): void {
    this.#cut.add(link(from, to))
  }

  /**
   * Splits the nodes into two groups that cannot talk to each other. With a
   * `leader`, half the time it is cut off with at most one follower, which
   * strands uncommitted entries on the minority side (the hard case for §5.4).
   */
  partitionSymmetric(ids: readonly NodeId[], leader: NodeId): string {
    this.heal()
    let side = ids.filter(() => this.#rng.chance(0.5))
    if (leader !== 0 && this.#rng.chance(0.5)) {
      const buddy = this.#rng.chance(0.5) ? this.#rng.pick(ids.filter((x) => x !== leader)) : leader
      side = [...new Set([leader, buddy])]
    }
    for (const a of ids) {
      for (const b of ids) if (side.includes(a) !== side.includes(b)) this.cut(a, b)
    }
    return `partition [${side}] | [${ids.filter((x) => !side.includes(x))}]`
  }

  /** Cuts a few random directed links, so some node hears but is not heard (or the reverse). */
  partitionAsymmetric(ids: readonly NodeId[]): string {
    this.heal()
    const cuts: string[] = []
    const n = this.#rng.between(1, ids.length)
    for (let i = 0; i < n; i++) {
      const a = this.#rng.pick(ids)
      const b = this.#rng.pick(ids)
      if (a === b) continue
      this.cut(a, b)
      cuts.push(`${a}>${b}`)
    }
    return `cut ${cuts.join(' ')}`
  }

  isHealed(): boolean {
    return this.#cut.size === 0
  }
}

function link(from: NodeId, to: NodeId): number {
  return from * 1024 + to
}
