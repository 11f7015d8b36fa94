/**
 * The Raft hard state in `quorum-state`, KRaft's file (QuorumStateData, JSON with `data_version`).
 *
 * Written atomically (temp file, fsync, rename, directory fsync), so a crash leaves the old or the
 * new state, never a mix. Fields are KRaft's: `leaderEpoch` is the current term, `votedId` the
 * vote (-1 for none). `commitIndex` is ours (KRaft does not persist the commit): it is a hint
 * that saves re-applying after a restart, written with every term/vote change and at close, so
 * it may lag behind the true commit — never ahead of the durable log.
 */
import { existsSync, readFileSync } from 'node:fs'
import { writeFileAtomically } from '../../storage/checkpoint-file.ts'
import type { HardState, NodeId } from '../types.ts'

export const QUORUM_STATE_FILE = 'quorum-state'
const DATA_VERSION = 0

export function writeQuorumState(path: string, hs: HardState, voters: readonly NodeId[], durable: boolean): void {
  const json = {
    clusterId: '', leaderId: -1, leaderEpoch: hs.term, votedId: hs.vote === 0 ? -1 : hs.vote, appliedOffset: 0,
    currentVoters: voters.map((voterId) => ({ voterId })), commitIndex: hs.commit, data_version: DATA_VERSION,
  }
  writeFileAtomically(path, JSON.stringify(json), durable)
}

/** A missing file is a fresh node (term 0, no vote). A malformed one throws: losing a vote could elect two leaders. */
export function readQuorumState(path: string): HardState {
  if (!existsSync(path)) return { term: 0, vote: 0, commit: 0 }
  const text = readFileSync(path, 'utf8')
  const j = JSON.parse(text) as Record<string, unknown>
  const term = j['leaderEpoch']
  const voted = j['votedId']
  const commit = j['commitIndex'] ?? 0
  if (j['data_version'] !== DATA_VERSION || !isCount(term) || !Number.isInteger(voted) || (voted as number) < -1 || !isCount(commit)) {
    throw new Error(`${path} is malformed: ${text}`)
  }
  return { term, vote: voted === -1 ? 0 : (voted as number), commit }
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0
}
