/**
 * Finding a group's coordinator, and the offset requests both the group member and the admin
 * tools send to it (OffsetFetch and OffsetCommit, whose request shapes change across versions).
 *
 * A coordinator that is still loading `__consumer_offsets` answers COORDINATOR_LOAD_IN_PROGRESS
 * (14); one whose topic does not exist yet, COORDINATOR_NOT_AVAILABLE (15); a broker that is not
 * (or no longer) the coordinator, NOT_COORDINATOR (16). All three are transient: callers look
 * the coordinator up again after a short backoff, until their deadline.
 */
import type { KafkaClient } from './client.ts'
import type { Connection } from './connection.ts'
import { KafkaError } from './errors.ts'
import type { TopicPartition } from './assignors.ts'
import { ERROR } from '../protocol/errors.ts'

/** Error codes after which the coordinator must be looked up again. */
export const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ERROR.COORDINATOR_LOAD_IN_PROGRESS, ERROR.COORDINATOR_NOT_AVAILABLE, ERROR.NOT_COORDINATOR,
])

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const KEY_TYPE_GROUP = 0

/** The node id of a group's coordinator; retries transient errors until `timeoutMs`. */
export async function findCoordinator(client: KafkaClient, groupId: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let backoff = 100
  for (;;) {
    const conn = await client.connect()
    const version = conn.versionOf(10)
    const res = await conn.request(10, { key: groupId, keyType: KEY_TYPE_GROUP, coordinatorKeys: [groupId] })
    // v4+ answers per key in `coordinators`; older versions at the top level.
    const c = version >= 4 ? res.coordinators[0] : res
    const code = c?.errorCode ?? ERROR.COORDINATOR_NOT_AVAILABLE
    if (code === 0 && c) return c.nodeId
    if (!COORDINATOR_ERRORS.has(code) || Date.now() + backoff > deadline) {
      throw new KafkaError(code, `finding the coordinator of group '${groupId}'`, c?.errorMessage ?? null)
    }
    await sleep(backoff)
    backoff = Math.min(backoff * 2, 1000)
  }
}

/** A committed offset, or -1 where the group has none. */
export interface CommittedOffset extends TopicPartition {
  offset: number
  metadata: string | null
}

/**
 * OffsetFetch for one group: the given partitions, or (`null`) every partition it has offsets
 * for. Throws the group-level error; a partition-level error fails too (none is expected).
 */
export async function fetchOffsets(conn: Connection, groupId: string, partitions: readonly TopicPartition[] | null, requireStable = false): Promise<CommittedOffset[]> {
  const topics = partitions === null ? null : groupByTopic(partitions).map(([name, partitionIndexes]) => ({ name, partitionIndexes }))
  const version = conn.versionOf(9)
  const res = await conn.request(9, {
    groupId, topics, requireStable,
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics }],
  })
  // v8+ answers per group; older versions at the top level.
  const group = version >= 8 ? res.groups[0] : { errorCode: res.errorCode, topics: res.topics }
  if (!group) throw new KafkaError(ERROR.UNKNOWN_SERVER_ERROR, `offsets of group '${groupId}'`)
  if (group.errorCode !== 0) throw new KafkaError(group.errorCode, `offsets of group '${groupId}'`)
  const out: CommittedOffset[] = []
  for (const t of group.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) throw new KafkaError(p.errorCode, `committed offset of ${t.name}-${p.partitionIndex} in group '${groupId}'`)
      out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata })
    }
  }
  return out
}

export interface CommitIdentity {
  /** -1 with an empty member id: a commit from outside the group (allowed while it is Empty). */
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

/** OffsetCommit; returns the first error code (0 when every partition was committed). */
export async function commitOffsets(conn: Connection, groupId: string, who: CommitIdentity, offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<number> {
  if (offsets.length === 0) return 0
  const byTopic = new Map<string, { partition: number; offset: number }[]>()
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o])
  const res = await conn.request(8, {
    groupId, generationIdOrMemberEpoch: who.generationId, memberId: who.memberId, groupInstanceId: who.groupInstanceId,
    retentionTimeMs: -1,
    topics: [...byTopic].map(([name, list]) => ({
      name,
      partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' })),
    })),
  })
  for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0) return p.errorCode
  return 0
}

export function groupByTopic(partitions: readonly TopicPartition[]): [string, number[]][] {
  const map = new Map<string, number[]>()
  for (const p of partitions) map.set(p.topic, [...(map.get(p.topic) ?? []), p.partition])
  return [...map]
}
