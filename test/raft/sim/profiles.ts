/**
 * Fault profiles: which faults a run injects and how hard. A run's profile is
 * derived from its seed alone, printed with any failure, and replayed with it.
 */
import type { Prng } from './prng.ts'

export type PartitionMode = 'none' | 'symmetric' | 'asymmetric' | 'flapping'

export interface FaultProfile {
  readonly name: string
  readonly nodes: number
  /** Probability that a message is dropped. */
  readonly drop: number
  /** Probability that a message is delivered twice. */
  readonly duplicate: number
  /** Delivery delay range in simulated ms; a wide range reorders messages. */
  readonly delayMin: number
  readonly delayMax: number
  readonly partitions: PartitionMode
  /** Mean simulated ms between crashes (0 = no crashes). */
  readonly crashEvery: number
  /** Probability that a crash tears the write in progress (a torn log tail). */
  readonly torn: number
  /** Compact the log into a snapshot after this many applied entries (0 = never). */
  readonly compactEvery: number
  /** Max simulated ms a Ready's write takes; 0 = the synchronous Ready loop. */
  readonly diskLatency: number
  readonly maxInflightMessages: number
  readonly maxBytesPerMessage: number
  /** Nodes beyond the `nodes` bootstrap voters, running as non-members that changes can add. */
  readonly spareNodes: number
  /** Mean simulated ms between attempts to add or remove a random voter (0 = never). */
  readonly membershipEvery: number
}

const names = ['calm', 'lossy', 'partition', 'asymmetric', 'flapping', 'crash', 'chaos', 'membership'] as const
export type ProfileName = (typeof names)[number]
export const profileNames: readonly ProfileName[] = names

/** Builds the profile `name` with parameters drawn from `rng`. */
export function makeProfile(name: ProfileName, rng: Prng): FaultProfile {
  const base = {
    name,
    nodes: rng.pick([3, 3, 5]),
    drop: 0,
    duplicate: 0,
    delayMin: 1,
    delayMax: rng.between(2, 10),
    partitions: 'none' as PartitionMode,
    crashEvery: 0,
    torn: 0,
    compactEvery: rng.pick([0, 8, 30, 100]),
    diskLatency: rng.pick([0, 0, 3, 15]),
    maxInflightMessages: rng.pick([1, 4, 64]),
    maxBytesPerMessage: rng.pick([1, 200, 1 << 20]),
    spareNodes: 0,
    membershipEvery: 0,
  }
  const lossy = { drop: rng.pick([0.05, 0.2, 0.4]), duplicate: rng.pick([0, 0.05, 0.2]), delayMax: rng.between(10, 60) }
  switch (name) {
    case 'calm':
      return base
    case 'lossy':
      return { ...base, ...lossy }
    case 'partition':
      return { ...base, partitions: 'symmetric', drop: 0.02 }
    case 'asymmetric':
      return { ...base, partitions: 'asymmetric', drop: 0.02 }
    case 'flapping':
      return { ...base, partitions: 'flapping' }
    case 'crash':
      return { ...base, crashEvery: rng.between(150, 600), torn: rng.pick([0, 0.5, 1]) }
    case 'chaos':
      return {
        ...base, ...lossy, partitions: rng.pick(['symmetric', 'asymmetric', 'flapping'] as const),
        crashEvery: rng.between(200, 800), torn: 0.5,
      }
    case 'membership':
      // Voters come and go (one at a time) while the usual faults strike, so config entries
      // get truncated, compacted into snapshots, torn off tails and inherited by new leaders.
      return {
        ...base, spareNodes: rng.between(1, 2), membershipEvery: rng.between(30, 200),
        drop: rng.pick([0, 0.05, 0.2]), duplicate: rng.pick([0, 0.05]), delayMax: rng.between(5, 40),
        partitions: rng.pick(['none', 'symmetric', 'asymmetric', 'flapping'] as const),
        crashEvery: rng.pick([0, rng.between(200, 800)]), torn: 0.5,
      }
  }
}

export function describeProfile(p: FaultProfile): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ')
}
