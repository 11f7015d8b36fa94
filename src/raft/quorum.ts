/**
 * Majority arithmetic over a static voter set. Kept separate so a joint
 * (old ∪ new) configuration can later replace it without touching the roles.
 */
import type { LogIndex, NodeId } from './types.ts'

export type VoteResult = 'won' | 'lost' | 'pending'

export function quorumSize(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1
}

/**
 * The largest index that a majority of voters have acknowledged.
 * `acked(id)` returns a voter's match index (0 if unknown).
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => LogIndex): LogIndex {
  if (voters.length === 0) return 0
  const matches = voters.map(acked).sort((a, b) => b - a)
  return matches[quorumSize(voters) - 1]!
}

/** Tallies granted and rejected votes: won with a majority of grants, lost with a majority of rejections. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0
  let rejected = 0
  for (const v of voters) {
    const g = votes.get(v)
    if (g === true) granted++
    else if (g === false) rejected++
  }
  const q = quorumSize(voters)
  if (granted >= q) return 'won'
  if (rejected >= q) return 'lost'
  return 'pending'
}

/** True if the nodes for which `active` holds form a majority of the voters. */
export function hasQuorum(voters: readonly NodeId[], active: (id: NodeId) => boolean): boolean {
  let n = 0
  for (const v of voters) if (active(v)) n++
  return n >= quorumSize(voters)
}
