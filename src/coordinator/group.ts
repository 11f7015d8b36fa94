/**
 * One classic consumer group: its state, generation, members and committed offsets — data and
 * the transitions Kafka allows, nothing else (no timers, no I/O; src/coordinator/membership.ts
 * drives it).
 *
 * States (Kafka's GroupState):
 *   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
 *   CompletingRebalance ──leader's SyncGroup stored──► Stable
 *   Stable / CompletingRebalance ──join, leave, expiry──► PreparingRebalance
 *   PreparingRebalance ──everyone gone──► Empty;  any ──DeleteGroups / retention──► Dead
 * Invariant: the generation only grows, and it grows exactly when a join phase completes.
 */
import { assert } from '../lib/assert.ts'
import type { LongTimer } from '../lib/long-timer.ts'
import { Reader } from '../protocol/primitives/reader.ts'
import { decodeConsumerProtocolSubscription } from '../protocol/messages/consumer-protocol-subscription.ts'
import type { CoordinatorError } from './errors.ts'

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
}

export const EMPTY_BYTES = Buffer.alloc(0)
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

export interface Protocol {
  readonly name: string
  readonly metadata: Buffer
}

export interface JoinResult {
  readonly error: CoordinatorError | null
  readonly generationId: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly leaderId: string
  readonly memberId: string
  readonly skipAssignment: boolean
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]
}

export interface SyncResult {
  readonly error: CoordinatorError | null
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignment: Buffer
}

export function joinError(error: CoordinatorError, memberId = ''): JoinResult {
  return { error, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId, skipAssignment: false, members: [] }
}

export function syncError(error: CoordinatorError): SyncResult {
  return { error, protocolType: null, protocolName: null, assignment: EMPTY_BYTES }
}

export class GroupMember {
  memberId: string
  readonly groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  sessionTimeoutMs: number
  protocolType: string
  protocols: readonly Protocol[]
  assignment: Buffer = EMPTY_BYTES
  /** Set while the member's JoinGroup waits for the join phase to complete. */
  awaitingJoin: ((r: JoinResult) => void) | null = null
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  awaitingSync: ((r: SyncResult) => void) | null = null
  /** Joined during the group's first join phase: expires after NEW_MEMBER_JOIN_TIMEOUT if it never completes. */
  isNew = false
  /** The session timer (heartbeat expiry). */
  sessionTimer: LongTimer | null = null

  constructor(o: {
    memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string
    rebalanceTimeoutMs: number; sessionTimeoutMs: number; protocolType: string; protocols: readonly Protocol[]
  }) {
    this.memberId = o.memberId
    this.groupInstanceId = o.groupInstanceId
    this.clientId = o.clientId
    this.clientHost = o.clientHost
    this.rebalanceTimeoutMs = o.rebalanceTimeoutMs
    this.sessionTimeoutMs = o.sessionTimeoutMs
    this.protocolType = o.protocolType
    this.protocols = o.protocols
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES
  }

  /** Same protocols, in the same order, with the same metadata (a rejoin that changes nothing). */
  matches(protocols: readonly Protocol[]): boolean {
    return protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
  }
}

export interface CommittedOffset {
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string
  readonly commitTimestamp: number
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class ClassicGroup {
  readonly groupId: string
  state: GroupState = 'Empty'
  generationId = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  currentStateTimestamp: number
  readonly members = new Map<string, GroupMember>()
  /** Members told MEMBER_ID_REQUIRED that have not joined with their id yet, with their expiry. */
  readonly pendingMembers = new Map<string, LongTimer>()
  /** group.instance.id → member id, for static members. */
  readonly staticMembers = new Map<string, string>()
  /** Members that got this generation's JoinGroup answer but have not sent SyncGroup. */
  readonly pendingSync = new Set<string>()
  readonly offsets = new Map<string, { topic: string; partition: number; committed: CommittedOffset }>()
  /** A member joined since the initial-rebalance delay last fired. */
  newMemberAdded = false
  /** True while the group.initial.rebalance.delay.ms window is open (no early completion). */
  initialDelayActive = false
  joinTimer: LongTimer | null = null
  syncTimer: LongTimer | null = null
  retentionTimer: LongTimer | null = null

  constructor(groupId: string, now: number) {
    this.groupId = groupId
    this.currentStateTimestamp = now
  }

  is(state: GroupState): boolean {
    return this.state === state
  }

  transitionTo(state: GroupState, now: number): void {
    assert(VALID_PREVIOUS[state].includes(this.state), `group ${this.groupId}: illegal transition ${this.state} → ${state}`)
    this.state = state
    this.currentStateTimestamp = now
  }

  get size(): number {
    return this.members.size
  }

  has(memberId: string): boolean {
    return this.members.has(memberId)
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId
  }

  add(member: GroupMember): void {
    if (this.members.size === 0) this.protocolType = member.protocolType
    assert(this.protocolType === member.protocolType, 'a member joined with another protocol type')
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    if (this.leaderId === null) this.leaderId = member.memberId
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId)
    if (!member) return
    this.members.delete(memberId)
    this.pendingSync.delete(memberId)
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId)
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null
  }

  /** Static membership: a new member id takes over an instance id (the old id is fenced). */
  replaceStaticMember(instanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId)
    assert(member !== undefined, 'the static member being replaced exists')
    this.members.delete(oldMemberId)
    member.memberId = newMemberId
    this.members.set(newMemberId, member)
    this.staticMembers.set(instanceId, newMemberId)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId)
    return member
  }

  /**
   * Who may act as a member (Kafka's validateCurrentMember): with an instance id, that instance
   * must be registered (else UNKNOWN_MEMBER_ID) and mapped to this member id (else
   * FENCED_INSTANCE_ID — a newer incarnation took its place); without one, the member id must be
   * in the group.
   */
  validateMember(memberId: string, instanceId: string | null): 'fenced_instance_id' | 'unknown_member_id' | null {
    if (instanceId !== null) {
      const current = this.staticMembers.get(instanceId)
      if (current === undefined) return 'unknown_member_id'
      return current === memberId ? null : 'fenced_instance_id'
    }
    return this.members.has(memberId) ? null : 'unknown_member_id'
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    let candidates: Set<string> | null = null
    for (const m of this.members.values()) {
      const names = new Set<string>(m.protocols.map((p) => p.name))
      const previous: Set<string> | null = candidates
      candidates = previous === null ? names : new Set<string>([...previous].filter((n: string) => names.has(n)))
    }
    return candidates ?? new Set<string>()
  }

  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0
    if (this.protocolType !== protocolType) return false
    const candidates = this.candidateProtocols()
    return protocols.some((p) => candidates.has(p.name))
  }

  /** Each member votes for its most preferred candidate protocol; the most votes wins (ties: first seen). */
  selectProtocol(): string {
    const candidates = this.candidateProtocols()
    const votes = new Map<string, number>()
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1)
    }
    let best: string | null = null
    for (const [name, n] of votes) if (best === null || n > votes.get(best)!) best = name
    assert(best !== null, 'a non-empty group has a common protocol')
    return best
  }

  /** Every member's metadata for the selected protocol (what the leader's JoinGroup answer carries). */
  currentMemberMetadata(): JoinResult['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(this.protocolName!),
    }))
  }

  hasAllMembersJoined(): boolean {
    let awaiting = 0
    for (const m of this.members.values()) if (m.awaitingJoin) awaiting++
    return awaiting === this.members.size && this.pendingMembers.size === 0
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs)
    return max
  }

  /** Topics the members subscribe to (consumer protocol only); null when unknown. */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return this.members.size === 0 ? new Set() : null
    const topics = new Set<string>()
    for (const m of this.members.values()) {
      const metadata = m.metadataFor(this.protocolName)
      try {
        const r = new Reader(metadata)
        const version = r.int16()
        for (const t of decodeConsumerProtocolSubscription(r, Math.min(version, 3)).topics) topics.add(t)
      } catch {
        return null
      }
    }
    return topics
  }
}
