/**
 * The network thread's handle on the group coordinator actor: the GroupCoordinator's API as
 * asks through the router. A coordinator that cannot be reached (not started, its thread gone,
 * too slow) is COORDINATOR_NOT_AVAILABLE, which sends clients back to FindCoordinator — the
 * same path they take when a coordinator moves to another broker.
 */
import { RouterError } from '../router/envelope.ts'
import type { Router } from '../router/router.ts'
import { restoreBuffers } from '../router/structured.ts'
import { GROUP_COORDINATOR_ACTOR, type CoordinatorCall, type CoordinatorReplies } from './actor-protocol.ts'
import type {
  FetchedOffset, JoinRequest, JoinResult, MemberRef, OffsetCommitRequestData, PartitionResult, SyncRequest, SyncResult,
  DescribedGroupData, ListedGroupData,
} from './coordinator.ts'
import type { CoordinatorError } from './errors.ts'
import { joinError, syncError } from './group.ts'

/** Most calls answer at once or after one write (which the network thread bounds at 30 s). */
const CALL_TIMEOUT_MS = 60_000
/**
 * A SyncGroup parks until the group's leader syncs, which the coordinator bounds by the
 * rebalance timeout (not part of the request); this deadline only catches a stuck actor.
 */
const SYNC_TIMEOUT_MS = 30 * 60_000
const MAX_TIMER_MS = 2 ** 31 - 1

export class CoordinatorClient {
  readonly #router: Router
  /** False while no coordinator actor runs (before __consumer_offsets exists, after stop). */
  readonly #running: () => boolean

  constructor(router: Router, running: () => boolean) {
    this.#router = router
    this.#running = running
  }

  /** The reply, or the CoordinatorError that stands for an unreachable coordinator. */
  async call<K extends CoordinatorCall['op']>(call: Extract<CoordinatorCall, { op: K }>, timeoutMs = CALL_TIMEOUT_MS): Promise<CoordinatorReplies[K] | { unavailable: CoordinatorError }> {
    if (!this.#running()) return { unavailable: 'coordinator_not_available' }
    try {
      const reply = await this.#router.ask<CoordinatorReplies[K]>({ node: this.#router.node, actor: GROUP_COORDINATOR_ACTOR }, call, { timeoutMs: Math.min(timeoutMs, MAX_TIMER_MS) })
      return restoreBuffers(reply)
    } catch (err) {
      if (err instanceof RouterError) return { unavailable: 'coordinator_not_available' }
      throw err
    }
  }

  async joinGroup(req: JoinRequest): Promise<JoinResult> {
    // A join parks for up to the rebalance timeout (plus the initial delay): wait a little longer.
    // The timeout is the client's int32, negative included: the ask's own must stay positive.
    const r = await this.call({ op: 'join', req }, Math.max(0, req.rebalanceTimeoutMs) + CALL_TIMEOUT_MS)
    return failed(r) ? joinError(r.unavailable, req.memberId) : r
  }

  async syncGroup(req: SyncRequest): Promise<SyncResult> {
    const r = await this.call({ op: 'sync', req }, SYNC_TIMEOUT_MS)
    return failed(r) ? syncError(r.unavailable) : r
  }

  async heartbeat(req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): Promise<CoordinatorError | null> {
    const { groupId, generationId, memberId, groupInstanceId } = req
    const r = await this.call({ op: 'heartbeat', req: { groupId, generationId, memberId, groupInstanceId } })
    return failed(r) ? r.unavailable : r
  }

  async leaveGroup(groupId: string, members: readonly MemberRef[]): Promise<CoordinatorReplies['leave']> {
    const r = await this.call({ op: 'leave', groupId, members })
    return failed(r) ? { error: r.unavailable, members: [] } : r
  }

  async commitOffsets(req: OffsetCommitRequestData): Promise<PartitionResult[]> {
    const r = await this.call({ op: 'commit', req })
    return failed(r) ? req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error: r.unavailable })) : r
  }

  async fetchOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[] | null): Promise<{ error: CoordinatorError | null; offsets: FetchedOffset[] }> {
    const r = await this.call({ op: 'fetch', groupId, topics })
    return failed(r) ? { error: r.unavailable, offsets: [] } : r
  }

  async deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<{ error: CoordinatorError | null; partitions: PartitionResult[] }> {
    const r = await this.call({ op: 'deleteOffsets', groupId, partitions })
    return failed(r) ? { error: r.unavailable, partitions: [] } : r
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribedGroupData[]> {
    const r = await this.call({ op: 'describe', groupIds })
    if (!failed(r)) return r
    return groupIds.map((groupId) => ({ groupId, error: r.unavailable, state: 'Dead', protocolType: '', protocolName: '', members: [] }))
  }

  async listGroups(states: readonly string[], types: readonly string[]): Promise<{ error: CoordinatorError | null; groups: ListedGroupData[] }> {
    const r = await this.call({ op: 'list', states, types })
    return failed(r) ? { error: r.unavailable, groups: [] } : r
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; error: CoordinatorError | null }[]> {
    const r = await this.call({ op: 'deleteGroups', groupIds })
    return failed(r) ? groupIds.map((groupId) => ({ groupId, error: r.unavailable })) : r
  }
}

function failed<T>(r: T | { unavailable: CoordinatorError }): r is { unavailable: CoordinatorError } {
  return typeof r === 'object' && r !== null && 'unavailable' in r
}
