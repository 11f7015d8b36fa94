/**
 * The join phase of a rebalance: PreparingRebalance until every member has rejoined (or the
 * rebalance timeout, or the initial delay of a starting group, passes), then the next
 * generation and the JoinGroup answers; and the deadline for members to send SyncGroup.
 * Member bookkeeping (session timers, removal) stays in membership.ts and is reached through
 * the hooks.
 */
import type { CoordinatorContext } from './context.ts'
import { ClassicGroup, GroupMember, EMPTY_BYTES, syncError } from './group.ts'
import type { CoordinatorError } from './errors.ts'

export interface JoinPhaseHooks {
  dropMember(group: ClassicGroup, member: GroupMember): void
  scheduleSession(group: ClassicGroup, member: GroupMember): void
  persist(group: ClassicGroup): Promise<CoordinatorError | null>
}

export class JoinPhase {
  readonly #ctx: CoordinatorContext
  readonly #hooks: JoinPhaseHooks

  constructor(ctx: CoordinatorContext, hooks: JoinPhaseHooks) {
    this.#ctx = ctx
    this.#hooks = hooks
  }

  maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group, reason)
  }

  prepareRebalance(group: ClassicGroup, reason: string): void {
    const { clock, config, logger } = this.#ctx
    if (group.is('CompletingRebalance')) this.propagateAssignmentError(group, 'rebalance_in_progress')
    group.syncTimer?.cancel()
    group.syncTimer = null
    group.pendingSync.clear()
    const wasEmpty = group.is('Empty')
    group.transitionTo('PreparingRebalance', clock.now())
    this.#ctx.refreshRetention(group)
    logger.info({ group: group.groupId, generation: group.generationId, reason }, 'preparing to rebalance group')
    group.joinTimer?.cancel()
    if (wasEmpty && config.initialRebalanceDelayMs > 0) {
      // group.initial.rebalance.delay.ms: wait for more members of a starting group, extending the
      // delay while members keep arriving, up to the rebalance timeout.
      group.initialDelayActive = true
      group.newMemberAdded = false
      let remaining = Math.max(group.maxRebalanceTimeoutMs() - config.initialRebalanceDelayMs, 0)
      const fire = (): void => {
        if (group.newMemberAdded && remaining > 0) {
          group.newMemberAdded = false
          const delay = Math.min(config.initialRebalanceDelayMs, remaining)
          remaining -= delay
          group.joinTimer = clock.schedule(fire, delay)
          return
        }
        group.initialDelayActive = false
        this.#completeJoin(group)
      }
      group.joinTimer = clock.schedule(fire, config.initialRebalanceDelayMs)
    } else {
      group.initialDelayActive = false
      group.joinTimer = clock.schedule(() => this.#completeJoin(group), group.maxRebalanceTimeoutMs())
    }
  }

  checkJoinComplete(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && !group.initialDelayActive && group.hasAllMembersJoined()) this.#completeJoin(group)
  }

  /** Ends the join phase: drops dynamic members that did not rejoin, starts the next generation, answers every JoinGroup. */
  #completeJoin(group: ClassicGroup): void {
    const { clock, logger } = this.#ctx
    if (!group.is('PreparingRebalance')) return
    group.joinTimer?.cancel()
    group.joinTimer = null
    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        logger.info({ group: group.groupId, member: m.memberId }, 'member did not rejoin in time; removed')
        this.#hooks.dropMember(group, m)
      }
    }
    if (!this.#electJoinedLeader(group) && group.size > 0) {
      // Only static members that have not rejoined are left: wait another round for them to come
      // back or for their sessions to expire.
      group.joinTimer = clock.schedule(() => this.#completeJoin(group), group.maxRebalanceTimeoutMs())
      return
    }
    group.generationId++
    if (group.size === 0) {
      group.protocolName = null
      group.transitionTo('Empty', clock.now())
      logger.info({ group: group.groupId, generation: group.generationId }, 'group is empty')
      this.#ctx.refreshRetention(group)
      void this.#hooks.persist(group)
      return
    }
    group.protocolName = group.selectProtocol()
    group.transitionTo('CompletingRebalance', clock.now())
    logger.info({ group: group.groupId, generation: group.generationId, members: group.size, protocol: group.protocolName }, 'join phase complete')
    const withMetadata = group.currentMemberMetadata()
    for (const m of group.members.values()) {
      const reply = m.awaitingJoin
      m.awaitingJoin = null
      m.isNew = false
      group.pendingSync.add(m.memberId)
      this.#hooks.scheduleSession(group, m)
      reply?.({
        error: null, generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName,
        leaderId: group.leaderId ?? '', memberId: m.memberId, skipAssignment: false,
        members: group.isLeader(m.memberId) ? withMetadata : [],
      })
    }
    const generation = group.generationId
    group.syncTimer = clock.schedule(() => this.#expirePendingSync(group, generation), group.maxRebalanceTimeoutMs())
  }

  /** The leader must be a member that rejoined; false if nobody rejoined. */
  #electJoinedLeader(group: ClassicGroup): boolean {
    const leader = group.leaderId === null ? undefined : group.members.get(group.leaderId)
    if (leader?.awaitingJoin) return true
    for (const m of group.members.values()) {
      if (m.awaitingJoin) {
        group.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  /** Members that got the JoinGroup answer but never sent SyncGroup are removed after the rebalance timeout. */
  #expirePendingSync(group: ClassicGroup, generation: number): void {
    group.syncTimer = null
    if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable'))) return
    if (group.pendingSync.size === 0) return
    this.#ctx.logger.info({ group: group.groupId, members: [...group.pendingSync] }, 'members did not send SyncGroup in time; removed')
    for (const id of [...group.pendingSync]) {
      const m = group.members.get(id)
      if (m) this.#hooks.dropMember(group, m)
    }
    group.pendingSync.clear()
    this.maybePrepareRebalance(group, 'members did not sync')
  }

  /** Answers every parked SyncGroup with `error` (the generation's assignment will not come). */
  propagateAssignmentError(group: ClassicGroup, error: CoordinatorError): void {
    for (const m of group.members.values()) {
      m.assignment = EMPTY_BYTES
      const reply = m.awaitingSync
      m.awaitingSync = null
      reply?.(syncError(error))
    }
  }
}
