/**
 * The "consumer" embedded protocol of classic groups: how members describe their subscription
 * in JoinGroup metadata and how the leader hands out partitions in SyncGroup, plus Kafka's two
 * classic eager assignors, `range` (RangeAssignor) and `roundrobin` (RoundRobinAssignor).
 *
 * On the wire both structures are an int16 version followed by the versioned struct. A newer
 * version than ours only appends fields, so it is read as our highest version and the rest is
 * ignored (as Kafka's ConsumerProtocol does); an empty assignment buffer means no partitions.
 */
import { Reader } from '../protocol/primitives/reader.ts'
import { Writer } from '../protocol/primitives/writer.ts'
import {
  CONSUMER_PROTOCOL_SUBSCRIPTION, decodeConsumerProtocolSubscription, encodeConsumerProtocolSubscription,
  type ConsumerProtocolSubscription,
} from '../protocol/messages/consumer-protocol-subscription.ts'
import {
  CONSUMER_PROTOCOL_ASSIGNMENT, decodeConsumerProtocolAssignment, encodeConsumerProtocolAssignment,
} from '../protocol/messages/consumer-protocol-assignment.ts'

export interface TopicPartition {
  topic: string
  partition: number
}

/** A member's subscription as the leader sees it (from the JoinGroup response). */
export interface MemberSubscription {
  memberId: string
  groupInstanceId: string | null
  topics: string[]
}

/** An assignor: name as offered in JoinGroup, and the leader's computation. */
export interface Assignor {
  name: string
  /** `partitionCounts` holds the subscribed topics that exist; result: member id → partitions. */
  assign(members: readonly MemberSubscription[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartition[]>
}

const SUBSCRIPTION_VERSION = CONSUMER_PROTOCOL_SUBSCRIPTION.maxVersion
const ASSIGNMENT_VERSION = CONSUMER_PROTOCOL_ASSIGNMENT.maxVersion

/** Groups partitions by topic, both sorted, as the protocol's TopicPartition arrays. */
function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>()
  for (const p of partitions) map.set(p.topic, [...(map.get(p.topic) ?? []), p.partition])
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) }))
}

export function encodeSubscription(topics: readonly string[], owned: readonly TopicPartition[], generationId: number): Buffer {
  const w = new Writer()
  w.int16(SUBSCRIPTION_VERSION)
  encodeConsumerProtocolSubscription(w, SUBSCRIPTION_VERSION, { topics: [...topics], userData: null, ownedPartitions: byTopic(owned), generationId, rackId: null })
  return w.toBuffer()
}

export function decodeSubscription(buf: Buffer): ConsumerProtocolSubscription {
  const r = new Reader(buf)
  const version = r.int16()
  return decodeConsumerProtocolSubscription(r, Math.min(Math.max(version, 0), SUBSCRIPTION_VERSION))
}

export function encodeAssignment(partitions: readonly TopicPartition[]): Buffer {
  const w = new Writer()
  w.int16(ASSIGNMENT_VERSION)
  encodeConsumerProtocolAssignment(w, ASSIGNMENT_VERSION, { assignedPartitions: byTopic(partitions), userData: null })
  return w.toBuffer()
}

export function decodeAssignment(buf: Buffer): TopicPartition[] {
  if (buf.length === 0) return []
  const r = new Reader(buf)
  const version = r.int16()
  const a = decodeConsumerProtocolAssignment(r, Math.min(Math.max(version, 0), ASSIGNMENT_VERSION))
  return a.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))
}

/** Kafka orders members by group.instance.id when static, then by member id. */
function memberOrder(a: MemberSubscription, b: MemberSubscription): number {
  const ka = a.groupInstanceId ?? `\uffff${a.memberId}`
  const kb = b.groupInstanceId ?? `\uffff${b.memberId}`
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

function emptyResult(members: readonly MemberSubscription[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]))
}

/**
 * RangeAssignor: per topic, the subscribers in order each take a contiguous range; the first
 * `partitions % subscribers` of them take one more.
 */
export const rangeAssignor: Assignor = {
  name: 'range',
  assign(members, partitionCounts) {
    const out = emptyResult(members)
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort()
    for (const topic of topics) {
      const n = partitionCounts.get(topic)
      if (n === undefined) continue
      const subscribers = members.filter((m) => m.topics.includes(topic)).sort(memberOrder)
      const per = Math.floor(n / subscribers.length)
      const extra = n % subscribers.length
      subscribers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra)
        const length = per + (i < extra ? 1 : 0)
        for (let p = start; p < start + length; p++) out.get(m.memberId)!.push({ topic, partition: p })
      })
    }
    return out
  },
}

/**
 * RoundRobinAssignor: every partition of every subscribed topic (topics sorted, partitions
 * ascending) goes to the next member in a circular order that subscribes to its topic.
 */
export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  assign(members, partitionCounts) {
    const out = emptyResult(members)
    const ordered = [...members].sort(memberOrder)
    if (ordered.length === 0) return out
    const topics = [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionCounts.has(t)).sort()
    let next = 0
    for (const topic of topics) {
      for (let p = 0; p < partitionCounts.get(topic)!; p++) {
        // Some member subscribes to the topic (it is in the union), so this loop ends.
        while (!ordered[next % ordered.length]!.topics.includes(topic)) next++
        out.get(ordered[next % ordered.length]!.memberId)!.push({ topic, partition: p })
        next++
      }
    }
    return out
  },
}

export const ASSIGNORS: readonly Assignor[] = [rangeAssignor, roundRobinAssignor]

/** An assignor by Kafka's protocol name or Java class name (partition.assignment.strategy). */
export function assignorByName(name: string): Assignor | undefined {
  const n = name.trim()
  const simple = n.replace(/^org\.apache\.kafka\.clients\.consumer\./, '')
  if (n === 'range' || simple === 'RangeAssignor') return rangeAssignor
  if (n === 'roundrobin' || simple === 'RoundRobinAssignor') return roundRobinAssignor
  return undefined
}
