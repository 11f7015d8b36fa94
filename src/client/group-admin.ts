/**
 * Admin calls on consumer groups (what kafka-consumer-groups.sh uses through Kafka's
 * AdminClient): list, describe, committed offsets, offset resets from outside the group,
 * deletion of groups and of offsets. Each group's requests go to its coordinator; a coordinator
 * that is loading or moving is looked up again (see coordinator.ts).
 */
import type { KafkaClient } from './client.ts'
import type { Connection } from './connection.ts'
import { KafkaError } from './errors.ts'
import { decodeAssignment, type TopicPartition } from './assignors.ts'
import { commitOffsets, fetchOffsets, findCoordinator, groupByTopic, sleep, type CommittedOffset } from './coordinator.ts'
import { isTransient } from './group-member.ts'
import { ERROR } from '../protocol/errors.ts'

export interface GroupListing {
  groupId: string
  protocolType: string
  /** Empty when the broker is too old to say (ListGroups < v4). */
  state: string
}

export interface GroupMemberDescription {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  host: string
  /** Decoded from the consumer protocol; empty unless the group is Stable (as Kafka sends it). */
  assignment: TopicPartition[]
}

export interface GroupDescription {
  groupId: string
  /** Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (unknown groups are Dead). */
  state: string
  protocolType: string
  /** The assignor chosen (e.g. range). */
  protocol: string
  coordinator: number
  members: GroupMemberDescription[]
}

export class GroupAdmin {
  readonly client: KafkaClient

  constructor(client: KafkaClient) {
    this.client = client
  }

  /** Runs `fn` on the group's coordinator, looking it up again after transient errors (30 s at most). */
  async #onCoordinator<T>(groupId: string, fn: (conn: Connection, nodeId: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000
    let backoff = 100
    for (;;) {
      try {
        const nodeId = await findCoordinator(this.client, groupId)
        return await fn(await this.client.brokerConnection(nodeId), nodeId)
      } catch (err) {
        if (!isTransient(err) || Date.now() + backoff > deadline) throw err
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 1000)
      }
    }
  }

  /** Every group on every broker, sorted by id. */
  async listGroups(): Promise<GroupListing[]> {
    const md = await this.client.metadata([])
    const out = new Map<string, GroupListing>()
    await Promise.all([...md.brokers.keys()].map(async (nodeId) => {
      const res = await (await this.client.brokerConnection(nodeId)).request(16, { statesFilter: [], typesFilter: [] })
      if (res.errorCode !== 0) throw new KafkaError(res.errorCode, `listing the groups of broker ${nodeId}`)
      for (const g of res.groups) out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState })
    }))
    return [...out.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    return this.#onCoordinator(groupId, async (conn, nodeId) => {
      const res = await conn.request(15, { groups: [groupId], includeAuthorizedOperations: false })
      const g = res.groups[0]
      if (!g) throw new KafkaError(ERROR.UNKNOWN_SERVER_ERROR, `describing group '${groupId}'`)
      if (g.errorCode !== 0) throw new KafkaError(g.errorCode, `describing group '${groupId}'`)
      return {
        groupId, state: g.groupState, protocolType: g.protocolType, protocol: g.protocolData, coordinator: nodeId,
        members: g.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, host: m.clientHost,
          // Only consumer groups carry the consumer protocol's assignment.
          assignment: g.protocolType === 'consumer' || g.protocolType === '' ? safeAssignment(m.memberAssignment) : [],
        })),
      }
    })
  }

  /** Committed offsets of a group: every partition it has (null), or the given ones (-1: none). */
  async committedOffsets(groupId: string, partitions: readonly TopicPartition[] | null = null): Promise<CommittedOffset[]> {
    return this.#onCoordinator(groupId, (conn) => fetchOffsets(conn, groupId, partitions))
  }

  /**
   * Commits offsets from outside the group (generation -1, no member id): what offset resets
   * do. The coordinator accepts it only while the group is Empty (or unknown).
   */
  async alterOffsets(groupId: string, offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    const code = await this.#onCoordinator(groupId, (conn) => commitOffsets(conn, groupId, { generationId: -1, memberId: '', groupInstanceId: null }, offsets))
    if (code !== 0) throw new KafkaError(code, `committing offsets of group '${groupId}'`)
  }

  /** Deletes groups; per group null on success or the error (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ...). */
  async deleteGroups(groupIds: readonly string[]): Promise<Map<string, KafkaError | null>> {
    const out = new Map<string, KafkaError | null>()
    for (const groupId of groupIds) {
      const code = await this.#onCoordinator(groupId, async (conn) => {
        const res = await conn.request(42, { groupsNames: [groupId] })
        const c = res.results.find((r) => r.groupId === groupId)?.errorCode ?? ERROR.UNKNOWN_SERVER_ERROR
        // Thrown (and retried) while the coordinator is loading or moving.
        if (c === ERROR.COORDINATOR_LOAD_IN_PROGRESS || c === ERROR.COORDINATOR_NOT_AVAILABLE || c === ERROR.NOT_COORDINATOR) throw new KafkaError(c, `deleting group '${groupId}'`)
        return c
      })
      out.set(groupId, code === 0 ? null : new KafkaError(code, `group '${groupId}'`))
    }
    return out
  }

  /** OffsetDelete: per partition null or its error (GROUP_SUBSCRIBED_TO_TOPIC, ...); throws the group-level error. */
  async deleteOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<{ topic: string; partition: number; error: KafkaError | null }[]> {
    return this.#onCoordinator(groupId, async (conn) => {
      const res = await conn.request(47, {
        groupId,
        topics: groupByTopic(partitions).map(([name, list]) => ({ name, partitions: list.map((partitionIndex) => ({ partitionIndex })) })),
      })
      if (res.errorCode !== 0) throw new KafkaError(res.errorCode, `deleting offsets of group '${groupId}'`)
      return res.topics.flatMap((t) => t.partitions.map((p) => ({
        topic: t.name, partition: p.partitionIndex,
        error: p.errorCode === 0 ? null : new KafkaError(p.errorCode, `${t.name}-${p.partitionIndex}`),
      })))
    })
  }
}

/** A member assignment that is not the consumer protocol's shows as no partitions rather than failing. */
function safeAssignment(buf: Buffer): TopicPartition[] {
  try {
    return decodeAssignment(buf)
  } catch {
    return []
  }
}
