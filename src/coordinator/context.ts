/**
 * What the coordinator's parts share: the groups, an injected clock (so unit tests drive time
 * by hand), the group log (persistence in __consumer_offsets, or memory in tests) and the
 * group settings. Nothing here touches sockets, threads or files.
 */
import { setLongTimeout, type LongTimer } from '../lib/long-timer.ts'
import type { Logger } from '../lib/logger.ts'
import type { ClassicGroup, CommittedOffset, GroupMember } from './group.ts'
import type { CoordinatorError } from './errors.ts'

export interface CoordinatorClock {
  now(): number
  /** A timer of any length (delays beyond 2^31-1 ms must not misfire). */
  schedule(fn: () => void, delayMs: number): LongTimer
}

export const systemClock: CoordinatorClock = {
  now: () => Date.now(),
  schedule: (fn, delayMs) => setLongTimeout(fn, delayMs),
}

export interface CoordinatorConfig {
  readonly initialRebalanceDelayMs: number
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
  /** offsets.retention.minutes in ms: how long an Empty group keeps its offsets. */
  readonly offsetsRetentionMs: number
  /** offset.metadata.max.bytes (Kafka's default 4096). */
  readonly offsetMetadataMaxBytes: number
  /** Largest protocol metadata one member may send (it is stored in the group's record). */
  readonly maxMemberMetadataBytes: number
  /** group.max.size: most members a group may have (Kafka's default: unlimited). */
  readonly maxGroupSize?: number
}

/** A member that joined during the group's first join phase and then vanished is dropped after this. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60_000

/** The member part of a GroupMetadata record (Kafka's GroupMetadataValue.MemberMetadata). */
export interface StoredMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly rebalanceTimeoutMs: number
  readonly sessionTimeoutMs: number
  readonly subscription: Buffer
  readonly assignment: Buffer
}

export interface StoredGroup {
  readonly protocolType: string
  readonly generationId: number
  readonly protocolName: string | null
  readonly leaderId: string | null
  readonly currentStateTimestamp: number
  readonly members: readonly StoredMember[]
}

/** One record of __consumer_offsets, decoded; a null value is a tombstone. */
export type GroupRecord =
  | { readonly type: 'offset'; readonly groupId: string; readonly topic: string; readonly partition: number; readonly value: CommittedOffset | null }
  | { readonly type: 'group'; readonly groupId: string; readonly value: StoredGroup | null }

/** Persistence of group state: resolves once the records are durable (appended, below the HW). */
export interface GroupLog {
  append(groupId: string, records: readonly GroupRecord[]): Promise<CoordinatorError | null>
}

export interface CoordinatorContext {
  readonly groups: Map<string, ClassicGroup>
  readonly clock: CoordinatorClock
  readonly log: GroupLog
  readonly config: CoordinatorConfig
  readonly logger: Logger
  newMemberId(clientId: string): string
  /** Arms or clears the offset-retention timer of a group after its state or offsets changed. */
  refreshRetention(group: ClassicGroup): void
}

/** The GroupMetadata record of a group as it is now (members with their selected protocol's metadata). */
export function storedGroup(group: ClassicGroup): StoredGroup {
  const protocol = group.protocolName
  return {
    protocolType: group.protocolType ?? '',
    generationId: group.generationId,
    protocolName: protocol,
    leaderId: group.leaderId,
    currentStateTimestamp: group.currentStateTimestamp,
    members: [...group.members.values()].map((m: GroupMember) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: protocol === null ? Buffer.alloc(0) : m.metadataFor(protocol), assignment: m.assignment,
    })),
  }
}
