/**
 * A read-index through a follower of a running cluster (worker threads or processes). With the
 * tests' 150 ms election timeouts a leader change on a loaded machine can refuse one read, so it
 * asks a follower of the leader all nodes agree on at the time, again while the answer is a
 * refusal. Returns the last reply (undefined if no leader was ever agreed on); the caller asserts.
 */
import type { ReadReply } from '../../src/raft/host/raft-host.ts'
import { until } from '../helpers/wait.ts'

export async function followerReadIndex<N extends { readIndex(): Promise<ReadReply> }>(
  nodes: Iterable<N>, agreedLeader: () => Promise<N | undefined>, what: string,
): Promise<ReadReply | undefined> {
  let read: ReadReply | undefined
  await until(async () => {
    const leader = await agreedLeader()
    if (leader === undefined) return undefined
    read = await [...nodes].find((n) => n !== leader)!.readIndex()
    return 'index' in read ? true : undefined
  }, what).catch(() => {})
  return read
}
