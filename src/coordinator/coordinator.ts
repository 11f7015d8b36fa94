/**
 * The group coordinator (classic protocol): every group API as a method returning values —
 * results and CoordinatorError names, never exceptions, never sockets. Membership
 * (membership.ts) and offsets (offsets.ts) do the work; this module owns the groups, the
 * loading state, and the operations across groups (describe, list, delete, replay of the log).
 *
 * Time comes from the injected clock and persistence from the injected GroupLog, so the whole
 * state machine runs in unit tests with a manual clock and an in-memory log.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from '../lib/logger.ts'
import { storedGroup, type CoordinatorClock, type CoordinatorConfig, type CoordinatorContext, type GroupLog, type GroupRecord } from './context.ts'
import { ClassicGroup, GroupMember, joinError, offsetKey, syncError, type GroupState, type JoinResult, type SyncResult } from './group.ts'
import { Membership, type JoinRequest, type MemberRef, type SyncRequest } from './membership.ts'
import { OffsetManager, validateCommit, type FetchedOffset, type OffsetCommitRequestData, type PartitionResult } from './offsets.ts'
import type { CoordinatorError } from './errors.ts'

export type { JoinRequest, SyncRequest, MemberRef, OffsetCommitRequestData, PartitionResult, FetchedOffset, JoinResult, SyncResult }

export interface DescribedGroupData {
  readonly groupId: string
  readonly error: CoordinatorError | null
  readonly state: GroupState
  readonly protocolType: string
  readonly protocolName: string
  readonly members: readonly {
    memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer
  }[]
}

export interface ListedGroupData {
  readonly groupId: string
  readonly protocolType: string
  readonly state: GroupState
}

export interface GroupCoordinatorOptions {
  readonly clock: CoordinatorClock
  readonly log: GroupLog
  readonly config: CoordinatorConfig
  readonly logger: Logger
  readonly newMemberId?: (clientId: string) => string
}

export class GroupCoordinator {
  readonly #groups = new Map<string, ClassicGroup>()
  readonly #ctx: CoordinatorContext
  readonly #membership: Membership
  readonly #offsets: OffsetManager
  /** Whether requests can be served: not before __consumer_offsets is loaded. */
  #availability: CoordinatorError | null = null

  constructor(o: GroupCoordinatorOptions) {
    this.#ctx = {
      groups: this.#groups, clock: o.clock, log: o.log, config: o.config, logger: o.logger,
      newMemberId: o.newMemberId ?? ((clientId) => `${clientId}-${randomUUID()}`),
      refreshRetention: (group) => this.#offsets.refreshRetention(group, (g) => void this.#expireGroup(g)),
    }
    this.#membership = new Membership(this.#ctx)
    this.#offsets = new OffsetManager(this.#ctx)
  }

  /** null when serving; otherwise the error every group request gets (load in progress, not available). */
  get availability(): CoordinatorError | null {
    return this.#availability
  }

  setAvailability(error: CoordinatorError | null): void {
    this.#availability = error
  }

  group(groupId: string): ClassicGroup | undefined {
    return this.#groups.get(groupId)
  }

  joinGroup(req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (req.groupId === '') return joinError('invalid_group_id', req.memberId)
    if (this.#availability) return joinError(this.#availability, req.memberId)
    const { minSessionTimeoutMs, maxSessionTimeoutMs, maxMemberMetadataBytes } = this.#ctx.config
    if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) return joinError('invalid_session_timeout', req.memberId)
    let metadataBytes = 0
    for (const p of req.protocols) metadataBytes += p.metadata.length + Buffer.byteLength(p.name)
    if (metadataBytes > maxMemberMetadataBytes) {
      this.#ctx.logger.warn({ group: req.groupId, bytes: metadataBytes, max: maxMemberMetadataBytes }, 'JoinGroup protocol metadata too large; rejected')
      return joinError('invalid_request', req.memberId)
    }
    let group = this.#groups.get(req.groupId)
    if (!group) {
      if (req.memberId !== '') return joinError('unknown_member_id', req.memberId)
      group = new ClassicGroup(req.groupId, this.#ctx.clock.now())
      this.#groups.set(req.groupId, group)
    }
    const result = this.#membership.join(req, group)
    // A join that failed at once must not leave a new, empty group behind.
    if (!(result instanceof Promise) && result.error && result.error !== 'member_id_required') this.#dropIfUnused(group)
    return result
  }

  syncGroup(req: SyncRequest): SyncResult | Promise<SyncResult> {
    if (req.groupId === '') return syncError('invalid_group_id')
    if (this.#availability) return syncError(this.#availability)
    return this.#membership.sync(req, this.#groups.get(req.groupId))
  }

  heartbeat(req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): CoordinatorError | null {
    if (req.groupId === '') return 'invalid_group_id'
    // While loading, Kafka answers heartbeats blindly with NONE: the member's state is not known
    // yet, and an error would make it rejoin for nothing.
    if (this.#availability === 'coordinator_load_in_progress') return null
    if (this.#availability) return this.#availability
    return this.#membership.heartbeat(req, this.#groups.get(req.groupId))
  }

  leaveGroup(groupId: string, members: readonly MemberRef[]): { error: CoordinatorError | null; members: (MemberRef & { error: CoordinatorError | null })[] } {
    if (groupId === '') return { error: 'invalid_group_id', members: [] }
    if (this.#availability) return { error: this.#availability, members: [] }
    return this.#membership.leave(this.#groups.get(groupId), members)
  }

  async commitOffsets(req: OffsetCommitRequestData): Promise<PartitionResult[]> {
    const all = (error: CoordinatorError): PartitionResult[] => req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error }))
    if (this.#availability) return all(this.#availability)
    let group = this.#groups.get(req.groupId)
    if (!group) {
      // Not managed by this coordinator (kcat, admin tools): a generation-less commit creates an Empty group.
      if (req.generationId >= 0) return all('illegal_generation')
      group = new ClassicGroup(req.groupId, this.#ctx.clock.now())
      this.#groups.set(req.groupId, group)
    }
    const error = validateCommit(req, group)
    if (error) return all(error)
    const member = group.members.get(req.memberId)
    if (member) this.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId })
    const results = await this.#offsets.commit(group, req)
    if (group.is('Empty') && group.offsets.size === 0 && group.protocolType === null) this.#dropIfUnused(group)
    return results
  }

  fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): { error: CoordinatorError | null; offsets: FetchedOffset[] } {
    if (this.#availability) return { error: this.#availability, offsets: [] }
    return { error: null, offsets: this.#offsets.fetch(this.#groups.get(groupId), topics) }
  }

  async deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<{ error: CoordinatorError | null; partitions: PartitionResult[] }> {
    if (groupId === '') return { error: 'invalid_group_id', partitions: [] }
    if (this.#availability) return { error: this.#availability, partitions: [] }
    const group = this.#groups.get(groupId)
    if (!group) return { error: 'group_id_not_found', partitions: [] }
    return this.#offsets.deleteOffsets(group, partitions)
  }

  describeGroups(groupIds: readonly string[]): DescribedGroupData[] {
    return groupIds.map((groupId): DescribedGroupData => {
      const base = { groupId, state: 'Dead' as GroupState, protocolType: '', protocolName: '', members: [] }
      if (this.#availability) return { ...base, error: this.#availability }
      const group = this.#groups.get(groupId)
      if (!group) return { ...base, error: null }
      // As Kafka: member metadata and assignments only while Stable (they are settled then).
      const stable = group.is('Stable')
      return {
        groupId, error: null, state: group.state, protocolType: group.protocolType ?? '',
        protocolName: stable ? group.protocolName ?? '' : '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
          metadata: stable ? m.metadataFor(group.protocolName!) : Buffer.alloc(0), assignment: stable ? m.assignment : Buffer.alloc(0),
        })),
      }
    })
  }

  listGroups(states: readonly string[], types: readonly string[]): { error: CoordinatorError | null; groups: ListedGroupData[] } {
    if (this.#availability) return { error: this.#availability, groups: [] }
    const stateFilter = new Set(states.map((s) => s.toLowerCase()))
    const typeFilter = new Set(types.map((s) => s.toLowerCase()))
    const groups: ListedGroupData[] = []
    for (const g of this.#groups.values()) {
      if (g.is('Dead')) continue
      if (stateFilter.size > 0 && !stateFilter.has(g.state.toLowerCase())) continue
      if (typeFilter.size > 0 && !typeFilter.has('classic')) continue
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state })
    }
    return { error: null, groups }
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; error: CoordinatorError | null }[]> {
    return Promise.all(groupIds.map(async (groupId) => {
      if (this.#availability) return { groupId, error: this.#availability }
      const group = this.#groups.get(groupId)
      if (!group || group.is('Dead')) return { groupId, error: 'group_id_not_found' as const }
      if (!group.is('Empty')) return { groupId, error: 'non_empty_group' as const }
      return { groupId, error: await this.#removeGroup(group, 'deleted') }
    }))
  }

  /** Writes tombstones for the group and its offsets, then forgets it (state Dead). */
  async #removeGroup(group: ClassicGroup, why: string): Promise<CoordinatorError | null> {
    group.transitionTo('Dead', this.#ctx.clock.now())
    this.#membership.shutDownGroup(group, 'coordinator_not_available')
    this.#groups.delete(group.groupId)
    const records: GroupRecord[] = [...group.offsets.values()].map((o) => ({ type: 'offset', groupId: group.groupId, topic: o.topic, partition: o.partition, value: null }))
    records.push({ type: 'group', groupId: group.groupId, value: null })
    const error = await this.#ctx.log.append(group.groupId, records)
    this.#ctx.logger.info({ group: group.groupId, offsets: group.offsets.size, error }, `group ${why}`)
    return error ? 'unknown_server_error' : null
  }

  async #expireGroup(group: ClassicGroup): Promise<void> {
    if (this.#groups.get(group.groupId) !== group || !group.is('Empty')) return
    await this.#removeGroup(group, `expired after offsets.retention.minutes`)
  }

  #dropIfUnused(group: ClassicGroup): void {
    if (group.is('Empty') && group.size === 0 && group.offsets.size === 0 && group.pendingMembers.size === 0 && group.generationId === 0) {
      this.#groups.delete(group.groupId)
    }
  }

  /** Applies one record of __consumer_offsets while loading (in log order; later records win). */
  replay(record: GroupRecord): void {
    const now = this.#ctx.clock.now()
    let group = this.#groups.get(record.groupId)
    if (record.type === 'offset') {
      if (record.value === null) {
        group?.offsets.delete(offsetKey(record.topic, record.partition))
        return
      }
      // A group known only by its offsets (generation -1 commits): its retention counts from its
      // commits, so its state timestamp must not be the load time (each restart would extend it).
      if (!group) this.#groups.set(record.groupId, (group = new ClassicGroup(record.groupId, record.value.commitTimestamp >= 0 ? Math.min(now, record.value.commitTimestamp) : now)))
      group.offsets.set(offsetKey(record.topic, record.partition), { topic: record.topic, partition: record.partition, committed: record.value })
      return
    }
    const offsets = group?.offsets
    group = new ClassicGroup(record.groupId, now)
    for (const [k, v] of offsets ?? []) group.offsets.set(k, v)
    this.#groups.set(record.groupId, group)
    const v = record.value
    if (v === null) return
    group.protocolType = v.protocolType === '' ? null : v.protocolType
    group.generationId = v.generationId
    group.protocolName = v.protocolName
    group.currentStateTimestamp = v.currentStateTimestamp >= 0 ? v.currentStateTimestamp : now
    for (const m of v.members) {
      const member = new GroupMember({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs, protocolType: v.protocolType,
        protocols: v.protocolName === null ? [] : [{ name: v.protocolName, metadata: m.subscription }],
      })
      member.assignment = m.assignment
      group.add(member)
    }
    group.leaderId = v.leaderId !== null && group.has(v.leaderId) ? v.leaderId : group.leaderId
    // A group stored with members was Stable (its assignment is in the record); members that do
    // not come back are evicted by their session timers, armed in finishLoading().
    group.state = v.members.length > 0 ? 'Stable' : 'Empty'
  }

  /** After replay: drop groups left with nothing, arm session and retention timers. */
  finishLoading(): void {
    for (const group of [...this.#groups.values()]) {
      if (group.size === 0 && group.offsets.size === 0 && group.protocolType === null) {
        this.#groups.delete(group.groupId)
        continue
      }
      this.#membership.scheduleLoadedMembers(group)
      this.#ctx.refreshRetention(group)
    }
    this.#ctx.logger.info({ groups: this.#groups.size }, 'group coordinator loaded')
  }

  /** Cancels every timer and answers parked requests; the coordinator serves nothing afterwards. */
  stop(): void {
    this.#availability = 'coordinator_not_available'
    for (const group of this.#groups.values()) this.#membership.shutDownGroup(group, 'coordinator_not_available')
  }

  /** The group's record as it would be stored now (tests and tools). */
  snapshot(groupId: string): ReturnType<typeof storedGroup> | null {
    const g = this.#groups.get(groupId)
    return g ? storedGroup(g) : null
  }
}
