/**
 * The classic rebalance protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and member
 * sessions (the join phase itself — rebalance timeout, initial delay, pending sync — is in
 * join-phase.ts). Follows
 * Kafka's GroupCoordinator: a join phase collects every member (or times out and drops the
 * ones that did not rejoin), the leader computes the assignment, SyncGroup distributes it.
 *
 * Requests that must wait (JoinGroup during a join phase, SyncGroup before the leader's) park a
 * callback on their member; every path that ends a phase answers every parked callback, so no
 * request is left hanging. Invariant: a member with a parked JoinGroup is never expired by its
 * session timer (the rebalance timeout bounds it instead), as in Kafka.
 */
import { NEW_MEMBER_JOIN_TIMEOUT_MS, storedGroup, type CoordinatorContext } from './context.ts'
import { JoinPhase } from './join-phase.ts'
import {
  ClassicGroup, GroupMember, EMPTY_BYTES, joinError, syncError,
  type JoinResult, type Protocol, type SyncResult,
} from './group.ts'
import type { CoordinatorError } from './errors.ts'

export interface JoinRequest {
  readonly groupId: string
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly protocolType: string
  readonly protocols: readonly Protocol[]
  /** JoinGroup v4+: a new member first gets MEMBER_ID_REQUIRED and its id. */
  readonly requireKnownMemberId: boolean
  readonly reason: string | null
  /** JoinGroup v9 (KIP-814): a rejoining static leader may be told to keep the current assignment. */
  readonly supportsSkipAssignment?: boolean
}

export interface SyncRequest {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignments: readonly { memberId: string; assignment: Buffer }[]
}

export interface MemberRef {
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export class Membership {
  readonly #ctx: CoordinatorContext
  readonly #phase: JoinPhase

  constructor(ctx: CoordinatorContext) {
    this.#ctx = ctx
    this.#phase = new JoinPhase(ctx, {
      dropMember: (group, member) => this.#dropMember(group, member),
      scheduleSession: (group, member) => this.#scheduleSession(group, member),
      persist: (group) => this.#persist(group),
    })
  }

  join(req: JoinRequest, group: ClassicGroup): JoinResult | Promise<JoinResult> {
    if (group.is('Dead')) return joinError(req.memberId === '' ? 'coordinator_not_available' : 'unknown_member_id', req.memberId)
    if (!group.supportsProtocols(req.protocolType, req.protocols)) return joinError('inconsistent_group_protocol', req.memberId)
    if (!this.#acceptJoiningMember(group, req.memberId)) {
      const refused = group.members.get(req.memberId)
      if (refused) this.removeMemberAndUpdateGroup(group, refused, `group ${group.groupId} is full`)
      return joinError('group_max_size_reached', '')
    }
    const result = req.memberId === '' ? this.#joinNewMember(req, group) : this.#joinKnownMember(req, group)
    if (group.is('PreparingRebalance')) this.#phase.checkJoinComplete(group)
    return result
  }

  /**
   * group.max.size as Kafka applies it (acceptJoiningMember): while preparing a rebalance, a member
   * already waiting in the join phase stays and others come in while fewer than the limit wait
   * (the group may be over a lowered limit: the last to rejoin are the ones left out); in a settled
   * group, members stay and new ones come in below the limit.
   */
  #acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.#ctx.config.maxGroupSize ?? Infinity
    const member = group.members.get(memberId)
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true
      case 'PreparingRebalance': {
        if (member?.awaitingJoin) return true
        let awaiting = 0
        for (const m of group.members.values()) if (m.awaitingJoin) awaiting++
        return awaiting < max
      }
      case 'CompletingRebalance':
      case 'Stable':
        return member !== undefined || group.size < max
    }
  }

  #joinNewMember(req: JoinRequest, group: ClassicGroup): JoinResult | Promise<JoinResult> {
    const memberId = this.#ctx.newMemberId(req.clientId)
    if (req.groupInstanceId !== null) return this.#joinStaticMember(req, group, memberId)
    if (req.requireKnownMemberId) {
      // KIP-394: the id is handed out first, so a client that gives up mid-join leaves no ghost member.
      group.pendingMembers.set(memberId, this.#ctx.clock.schedule(() => this.#expirePending(group, memberId), req.sessionTimeoutMs))
      return joinError('member_id_required', memberId)
    }
    return this.#addMemberAndRebalance(req, group, memberId)
  }

  #joinKnownMember(req: JoinRequest, group: ClassicGroup): JoinResult | Promise<JoinResult> {
    const pending = group.pendingMembers.get(req.memberId)
    if (pending) {
      pending.cancel()
      group.pendingMembers.delete(req.memberId)
      if (req.groupInstanceId !== null) return joinError('invalid_request', req.memberId)
      return this.#addMemberAndRebalance(req, group, req.memberId)
    }
    const invalid = group.validateMember(req.memberId, req.groupInstanceId)
    if (invalid !== null) return joinError(invalid, req.memberId)
    const member = group.members.get(req.memberId)
    if (!member || group.is('Empty')) return joinError('unknown_member_id', req.memberId)
    switch (group.state) {
      case 'PreparingRebalance':
        return this.#updateMemberAndRebalance(group, member, req)
      case 'CompletingRebalance':
        // A duplicate JoinGroup (the client retried): answer with the generation it already joined.
        if (member.matches(req.protocols)) return this.#currentGeneration(group, member, group.isLeader(member.memberId))
        return this.#updateMemberAndRebalance(group, member, req)
      case 'Stable':
        if (group.isLeader(member.memberId) || !member.matches(req.protocols)) return this.#updateMemberAndRebalance(group, member, req)
        return this.#currentGeneration(group, member, false)
      default:
        return joinError('unknown_member_id', req.memberId)
    }
  }

  /** group.instance.id: a restarted static member takes its old place (and fences the old id). */
  #joinStaticMember(req: JoinRequest, group: ClassicGroup, newMemberId: string): JoinResult | Promise<JoinResult> {
    const oldMemberId = group.staticMembers.get(req.groupInstanceId!)
    if (oldMemberId === undefined || !group.has(oldMemberId)) return this.#addMemberAndRebalance(req, group, newMemberId)
    const old = group.members.get(oldMemberId)!
    old.awaitingJoin?.(joinError('fenced_instance_id', oldMemberId))
    old.awaitingJoin = null
    old.awaitingSync?.(syncError('fenced_instance_id'))
    old.awaitingSync = null
    const previousLeader = group.leaderId
    const member = group.replaceStaticMember(req.groupInstanceId!, oldMemberId, newMemberId)
    this.#ctx.logger.info({ group: group.groupId, instanceId: req.groupInstanceId, oldMemberId, newMemberId }, 'static member replaced')
    if (group.is('Stable')) {
      // Kafka's updateStaticMemberAndRebalance: the member's protocols and timeouts are updated,
      // and only if that changes the group's protocol is there a rebalance. Otherwise the member
      // gets its assignment back through SyncGroup — a Stable group does not take a new
      // assignment, so the old leader id is returned (the restarted leader does not assign),
      // except to a leader that can be told to skip the assignment (v9+, KIP-814).
      member.protocols = req.protocols
      member.sessionTimeoutMs = req.sessionTimeoutMs
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
      member.clientHost = req.clientHost
      if (group.selectProtocol() === group.protocolName) {
        this.#scheduleSession(group, member)
        void this.#persist(group)
        if (group.isLeader(newMemberId) && req.supportsSkipAssignment === true) return { ...this.#currentGeneration(group, member, true), skipAssignment: true }
        return { ...this.#currentGeneration(group, member, false), leaderId: previousLeader ?? '' }
      }
    }
    return this.#updateMemberAndRebalance(group, member, req)
  }

  #addMemberAndRebalance(req: JoinRequest, group: ClassicGroup, memberId: string): Promise<JoinResult> {
    const member = new GroupMember({
      memberId, groupInstanceId: req.groupInstanceId, clientId: req.clientId, clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs, sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType, protocols: req.protocols,
    })
    // Every new member's parked JoinGroup is timed out after NEW_MEMBER_JOIN_TIMEOUT_MS (Kafka's
    // addMemberAndRebalance): a client that gave up and retried must not linger as a defunct member
    // through a long rebalance. Cleared when the join phase completes.
    member.isNew = true
    const answer = new Promise<JoinResult>((resolve) => { member.awaitingJoin = resolve })
    group.add(member)
    group.newMemberAdded = true
    this.#scheduleSession(group, member, member.isNew ? NEW_MEMBER_JOIN_TIMEOUT_MS : undefined)
    this.#phase.maybePrepareRebalance(group, `member ${memberId} joined${req.reason ? ` (${req.reason})` : ''}`)
    return answer
  }

  #updateMemberAndRebalance(group: ClassicGroup, member: GroupMember, req: JoinRequest): Promise<JoinResult> {
    member.protocols = req.protocols
    member.sessionTimeoutMs = req.sessionTimeoutMs
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    member.clientHost = req.clientHost
    // A second JoinGroup from the same member replaces the first (the client gave up on it).
    member.awaitingJoin?.(joinError('unknown_member_id', member.memberId))
    const answer = new Promise<JoinResult>((resolve) => { member.awaitingJoin = resolve })
    this.#phase.maybePrepareRebalance(group, `member ${member.memberId} rejoined${req.reason ? ` (${req.reason})` : ''}`)
    return answer
  }

  #currentGeneration(group: ClassicGroup, member: GroupMember, withMembers: boolean): JoinResult {
    return {
      error: null, generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName,
      leaderId: group.leaderId ?? '', memberId: member.memberId, skipAssignment: false,
      members: withMembers ? group.currentMemberMetadata() : [],
    }
  }

  sync(req: SyncRequest, group: ClassicGroup | undefined): SyncResult | Promise<SyncResult> {
    if (!group) return syncError('unknown_member_id')
    if (group.is('Dead')) return syncError('coordinator_not_available')
    const member = group.members.get(req.memberId)
    const invalid = group.validateMember(req.memberId, req.groupInstanceId)
    if (invalid !== null) return syncError(invalid)
    if (!member || group.is('Empty')) return syncError('unknown_member_id')
    if (req.generationId !== group.generationId) return syncError('illegal_generation')
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) ||
        (req.protocolName !== null && req.protocolName !== group.protocolName)) return syncError('inconsistent_group_protocol')
    if (group.is('PreparingRebalance')) return syncError('rebalance_in_progress')
    group.pendingSync.delete(member.memberId)
    this.#scheduleSession(group, member)
    if (group.is('Stable')) return this.#syncAnswer(group, member.assignment)
    // CompletingRebalance: wait for the leader's assignment.
    member.awaitingSync?.(syncError('rebalance_in_progress'))
    const answer = new Promise<SyncResult>((resolve) => { member.awaitingSync = resolve })
    if (group.isLeader(member.memberId)) this.#applyLeaderAssignment(group, req.assignments)
    return answer
  }

  #syncAnswer(group: ClassicGroup, assignment: Buffer): SyncResult {
    return { error: null, protocolType: group.protocolType, protocolName: group.protocolName, assignment }
  }

  /** Stores the leader's assignment with the group record, then hands each member its part. */
  #applyLeaderAssignment(group: ClassicGroup, assignments: SyncRequest['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]))
    for (const m of group.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY_BYTES
    const generation = group.generationId
    void this.#persist(group).then((error) => {
      if (!group.is('CompletingRebalance') || group.generationId !== generation) return
      if (error) {
        this.#phase.propagateAssignmentError(group, error)
        this.#phase.maybePrepareRebalance(group, `storing the group failed: ${error}`)
        return
      }
      group.transitionTo('Stable', this.#ctx.clock.now())
      this.#ctx.logger.info({ group: group.groupId, generation, members: group.size }, 'group is stable')
      for (const m of group.members.values()) {
        const reply = m.awaitingSync
        m.awaitingSync = null
        reply?.(this.#syncAnswer(group, m.assignment))
      }
    })
  }

  heartbeat(req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }, group: ClassicGroup | undefined): CoordinatorError | null {
    if (!group) return 'unknown_member_id'
    if (group.is('Dead')) return 'coordinator_not_available'
    const invalid = group.validateMember(req.memberId, req.groupInstanceId)
    if (invalid !== null) return invalid
    const member = group.members.get(req.memberId)
    if (!member || group.is('Empty')) return 'unknown_member_id'
    if (req.generationId !== group.generationId) return 'illegal_generation'
    this.#scheduleSession(group, member)
    return group.is('PreparingRebalance') ? 'rebalance_in_progress' : null
  }

  /** LeaveGroup for a batch of members (v3+ batches; v0–2 send one). */
  leave(group: ClassicGroup | undefined, members: readonly MemberRef[]): { error: CoordinatorError | null; members: (MemberRef & { error: CoordinatorError | null })[] } {
    if (!group) return { error: null, members: members.map((m) => ({ ...m, error: 'unknown_member_id' })) }
    if (group.is('Dead')) return { error: 'coordinator_not_available', members: [] }
    const results = members.map((ref) => ({ ...ref, error: this.#leaveOne(group, ref) }))
    return { error: null, members: results }
  }

  #leaveOne(group: ClassicGroup, ref: MemberRef): CoordinatorError | null {
    let memberId = ref.memberId
    if (ref.groupInstanceId !== null) {
      const current = group.staticMembers.get(ref.groupInstanceId)
      if (current === undefined) return 'unknown_member_id'
      if (memberId !== '' && memberId !== current) return 'fenced_instance_id'
      memberId = current
    }
    const pending = group.pendingMembers.get(memberId)
    if (pending) {
      pending.cancel()
      group.pendingMembers.delete(memberId)
      this.#phase.checkJoinComplete(group)
      return null
    }
    const member = group.members.get(memberId)
    if (!member) return 'unknown_member_id'
    this.#ctx.logger.info({ group: group.groupId, member: memberId }, 'member left the group')
    this.removeMemberAndUpdateGroup(group, member, `member ${memberId} left`)
    return null
  }

  /** Removes a member (left, expired, fenced by deletion) and moves the group on. */
  removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember, reason: string): void {
    this.#dropMember(group, member)
    if (group.is('Stable') || group.is('CompletingRebalance')) this.#phase.maybePrepareRebalance(group, reason)
    else if (group.is('PreparingRebalance')) this.#phase.checkJoinComplete(group)
  }

  #dropMember(group: ClassicGroup, member: GroupMember): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = null
    member.awaitingJoin?.(joinError('unknown_member_id', member.memberId))
    member.awaitingJoin = null
    member.awaitingSync?.(syncError('unknown_member_id'))
    member.awaitingSync = null
    group.remove(member.memberId)
  }

  /** (Re)arms a member's session timer; on expiry the member is evicted unless a JoinGroup/SyncGroup is parked. */
  #scheduleSession(group: ClassicGroup, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = this.#ctx.clock.schedule(() => {
      member.sessionTimer = null
      if (group.members.get(member.memberId) !== member) return
      if (!member.isNew && (member.awaitingJoin || member.awaitingSync)) {
        this.#scheduleSession(group, member)
        return
      }
      this.#ctx.logger.info({ group: group.groupId, member: member.memberId, sessionTimeoutMs: timeoutMs }, 'member session expired; evicted')
      this.removeMemberAndUpdateGroup(group, member, `member ${member.memberId} session expired`)
    }, timeoutMs)
  }

  /** Re-arms every member's session after a load (members must heartbeat again to stay). */
  scheduleLoadedMembers(group: ClassicGroup): void {
    for (const m of group.members.values()) this.#scheduleSession(group, m)
  }

  #expirePending(group: ClassicGroup, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return
    this.#phase.checkJoinComplete(group)
    // A group created by a join that never came back must not linger.
    if (group.is('Empty')) this.#ctx.refreshRetention(group)
  }

  /** Cancels every timer of a group and answers its parked requests (group deleted or coordinator stopping). */
  shutDownGroup(group: ClassicGroup, error: CoordinatorError): void {
    group.joinTimer?.cancel()
    group.syncTimer?.cancel()
    group.retentionTimer?.cancel()
    group.joinTimer = group.syncTimer = group.retentionTimer = null
    for (const t of group.pendingMembers.values()) t.cancel()
    group.pendingMembers.clear()
    for (const m of group.members.values()) {
      m.sessionTimer?.cancel()
      m.sessionTimer = null
      m.awaitingJoin?.(joinError(error, m.memberId))
      m.awaitingJoin = null
      m.awaitingSync?.(syncError(error))
      m.awaitingSync = null
    }
  }

  /** Writes the group's GroupMetadata record; errors are logged and returned. */
  #persist(group: ClassicGroup): Promise<CoordinatorError | null> {
    return this.#ctx.log.append(group.groupId, [{ type: 'group', groupId: group.groupId, value: storedGroup(group) }]).then((error) => {
      if (!error) return null
      this.#ctx.logger.warn({ group: group.groupId, error }, 'storing group metadata failed')
      // Kafka's mapping for group writes: a too-large group record is a server-side failure.
      return error === 'coordinator_not_available' || error === 'not_coordinator' ? error : 'unknown_server_error'
    }, (err: unknown) => {
      this.#ctx.logger.error({ group: group.groupId, err }, 'storing group metadata failed')
      return 'unknown_server_error' as const
    })
  }
}
