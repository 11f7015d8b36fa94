/**
 * Membership of a classic consumer group (Kafka's eager protocol, as the Java consumer's
 * ConsumerCoordinator with RangeAssignor/RoundRobinAssignor):
 *
 *   FindCoordinator → JoinGroup (again with the assigned id after MEMBER_ID_REQUIRED) →
 *   the leader computes the assignment → SyncGroup → Heartbeat every heartbeatIntervalMs.
 *
 * A heartbeat answered REBALANCE_IN_PROGRESS (or ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID) only
 * sets `needsRejoin`; the owner (GroupConsumer) commits what it consumed, drops its partitions
 * and calls `join()` again from its poll loop, so partitions change hands only between polls.
 *
 * Invariants: heartbeats run only between a completed SyncGroup and the next JoinGroup (also
 * while a requested rebalance waits for the owner to rejoin); the member
 * talks to its coordinator over a dedicated connection (a parked JoinGroup would otherwise hold
 * up whatever is pipelined behind it); `generationId` is -1 whenever the member holds no valid
 * generation (nothing it commits would be accepted).
 */
import type { KafkaClient } from './client.ts'
import type { Connection } from './connection.ts'
import { ClientError, ConnectionError, KafkaError, TimeoutError, WakeupError } from './errors.ts'
import {
  ASSIGNORS, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type Assignor, type TopicPartition,
} from './assignors.ts'
import {
  COORDINATOR_ERRORS, commitOffsets, fetchOffsets, findCoordinator, sleep, type CommittedOffset,
} from './coordinator.ts'
import { ERROR } from '../protocol/errors.ts'

export interface GroupMemberOptions {
  groupId: string
  topics: readonly string[]
  /** Kafka's session.timeout.ms (default 45 s, the Java consumer's). */
  sessionTimeoutMs?: number
  /** Kafka's max.poll.interval.ms, sent as the rebalance timeout (default 300 s). */
  rebalanceTimeoutMs?: number
  /** Default: 3 s, or a third of the session timeout when that is shorter. */
  heartbeatIntervalMs?: number
  /** Static membership (group.instance.id). */
  groupInstanceId?: string | null
  /** In order of preference (default: range, roundrobin — the Java consumer's first two). */
  assignors?: readonly Assignor[]
}

const PROTOCOL_TYPE = 'consumer'

export class GroupMember {
  readonly client: KafkaClient
  readonly groupId: string
  readonly topics: readonly string[]
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly groupInstanceId: string | null
  readonly assignors: readonly Assignor[]
  #connection: Promise<Connection> | null = null
  #memberId = ''
  #generationId = -1
  #protocolName: string | null = null
  #assignment: TopicPartition[] = []
  #rejoin = true
  #joining = false
  #woken = false
  #closed = false
  #heartbeatTimer: NodeJS.Timeout | null = null
  /** A failure the heartbeat found that ends membership (FENCED_INSTANCE_ID); thrown by the next join. */
  #fatal: Error | null = null

  constructor(client: KafkaClient, options: GroupMemberOptions) {
    this.client = client
    this.groupId = options.groupId
    this.topics = [...options.topics]
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 300_000
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.min(3000, Math.floor(this.sessionTimeoutMs / 3))
    this.groupInstanceId = options.groupInstanceId ?? null
    this.assignors = options.assignors ?? ASSIGNORS
    if (this.assignors.length === 0) throw new ClientError('a group member needs at least one assignor')
  }

  get memberId(): string {
    return this.#memberId
  }

  get generationId(): number {
    return this.#generationId
  }

  get protocolName(): string | null {
    return this.#protocolName
  }

  /** The partitions of the current generation. */
  get assignment(): TopicPartition[] {
    return [...this.#assignment]
  }

  /** True before the first join and after the coordinator asked for a rebalance. */
  get needsRejoin(): boolean {
    if (this.#fatal) throw this.#fatal
    return this.#rejoin
  }

  async #coordinator(): Promise<Connection> {
    if (this.#connection) {
      const conn = await this.#connection.catch(() => null)
      if (conn && !conn.closed) return conn
    }
    const opening = findCoordinator(this.client, this.groupId).then((nodeId) => this.client.dedicatedConnection(nodeId))
    this.#connection = opening
    opening.catch(() => {
      if (this.#connection === opening) this.#connection = null
    })
    return opening
  }

  #dropCoordinator(): void {
    const c = this.#connection
    this.#connection = null
    c?.then((conn) => conn.close(), () => {})
  }

  #checkOpen(): void {
    if (this.#closed || this.#woken) {
      this.#woken = false
      throw new WakeupError(`joining group '${this.groupId}' was interrupted`)
    }
    if (this.#fatal) throw this.#fatal
  }

  /**
   * Joins (or rejoins) the group and returns this member's partitions. Retries transient
   * coordinator errors and restarted rebalances until it succeeds or is woken up.
   */
  async join(): Promise<TopicPartition[]> {
    this.#stopHeartbeats()
    this.#generationId = -1
    this.#assignment = []
    this.#joining = true
    let backoff = 100
    try {
      for (;;) {
        this.#checkOpen()
        try {
          const conn = await this.#coordinator()
          const assignment = await this.#joinAndSync(conn)
          if (assignment === null) continue
          this.#assignment = assignment
          this.#rejoin = false
          this.#scheduleHeartbeat()
          return this.assignment
        } catch (err) {
          if (this.#closed || this.#woken) continue // #checkOpen throws the WakeupError
          if (!isTransient(err)) throw err
          this.#dropCoordinator()
          await sleep(backoff)
          backoff = Math.min(backoff * 2, 1000)
        }
      }
    } finally {
      this.#joining = false
    }
  }

  /** One JoinGroup + SyncGroup round; null when the round must be repeated at once. */
  async #joinAndSync(conn: Connection): Promise<TopicPartition[] | null> {
    // A JoinGroup waits on the broker for the whole join phase, up to the rebalance timeout.
    const timeoutMs = this.rebalanceTimeoutMs + 5000
    const res = await conn.request(11, {
      groupId: this.groupId, sessionTimeoutMs: this.sessionTimeoutMs, rebalanceTimeoutMs: this.rebalanceTimeoutMs,
      memberId: this.#memberId, groupInstanceId: this.groupInstanceId, protocolType: PROTOCOL_TYPE,
      protocols: this.assignors.map((a) => ({ name: a.name, metadata: encodeSubscription(this.topics, this.#assignment, this.#generationId) })),
      reason: null,
    }, { timeoutMs })
    if (res.errorCode === ERROR.MEMBER_ID_REQUIRED) {
      // KIP-394: the coordinator names us first, so a retry after a lost response is not a new member.
      this.#memberId = res.memberId
      return null
    }
    if (!this.#retryableJoinError(res.errorCode)) throw new KafkaError(res.errorCode, `joining group '${this.groupId}'`)
    if (res.errorCode !== 0) return null
    this.#memberId = res.memberId
    const generationId = res.generationId
    const assignments = res.leader === res.memberId && !res.skipAssignment ? await this.#assign(res.protocolName, res.members) : []
    const sync = await conn.request(14, {
      groupId: this.groupId, generationId, memberId: this.#memberId, groupInstanceId: this.groupInstanceId,
      protocolType: PROTOCOL_TYPE, protocolName: res.protocolName, assignments,
    }, { timeoutMs })
    if (!this.#retryableJoinError(sync.errorCode)) throw new KafkaError(sync.errorCode, `syncing group '${this.groupId}'`)
    if (sync.errorCode !== 0) return null
    this.#generationId = generationId
    this.#protocolName = res.protocolName
    return decodeAssignment(sync.assignment)
  }

  /**
   * Errors after which the join round is simply repeated (true), or that end the attempt
   * (false). Coordinator errors are thrown as transient so the coordinator is looked up again.
   */
  #retryableJoinError(code: number): boolean {
    if (code === 0 || code === ERROR.REBALANCE_IN_PROGRESS || code === ERROR.ILLEGAL_GENERATION) return true
    if (code === ERROR.UNKNOWN_MEMBER_ID) {
      this.#memberId = ''
      return true
    }
    if (COORDINATOR_ERRORS.has(code)) throw new KafkaError(code, `joining group '${this.groupId}'`)
    return false
  }

  /** The leader's part: every member's subscription → partitions, by the chosen assignor. */
  async #assign(protocolName: string | null, members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.assignors.find((a) => a.name === protocolName)
    if (!assignor) throw new ClientError(`group '${this.groupId}' chose the assignor '${protocolName}', which this member did not offer`)
    const subscriptions = members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: decodeSubscription(m.metadata).topics }))
    const topics = [...new Set(subscriptions.flatMap((s) => s.topics))]
    const md = await this.client.metadata(topics)
    const counts = new Map<string, number>()
    for (const t of md.topics.values()) if (t.errorCode === 0 && topics.includes(t.name)) counts.set(t.name, t.partitions.length)
    const result = assignor.assign(subscriptions, counts)
    return subscriptions.map((s) => ({ memberId: s.memberId, assignment: encodeAssignment(result.get(s.memberId) ?? []) }))
  }

  #scheduleHeartbeat(): void {
    this.#stopHeartbeats()
    if (this.#closed) return
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = null
      // Heartbeats go on while a rebalance waits for our JoinGroup: they keep the session alive.
      this.#heartbeat().then(() => {
        if (!this.#joining && this.#fatal === null && this.#generationId >= 0) this.#scheduleHeartbeat()
      }, (err: unknown) => {
        this.#fatal = err instanceof Error ? err : new ClientError(String(err))
      })
    }, this.heartbeatIntervalMs)
    this.#heartbeatTimer.unref()
  }

  #stopHeartbeats(): void {
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer)
    this.#heartbeatTimer = null
  }

  async #heartbeat(): Promise<void> {
    const generationId = this.#generationId
    let code: number
    try {
      const conn = await this.#coordinator()
      code = (await conn.request(12, { groupId: this.groupId, generationId, memberId: this.#memberId, groupInstanceId: this.groupInstanceId })).errorCode
    } catch (err) {
      if (!isTransient(err)) throw err
      this.#dropCoordinator() // the next heartbeat looks it up again
      return
    }
    // A join started meanwhile owns the state now.
    if (this.#joining || generationId !== this.#generationId) return
    if (code === ERROR.REBALANCE_IN_PROGRESS) this.#rejoin = true
    else if (code === ERROR.ILLEGAL_GENERATION || code === ERROR.UNKNOWN_MEMBER_ID) {
      // Fenced: nothing this generation commits would be accepted any more.
      if (code === ERROR.UNKNOWN_MEMBER_ID) this.#memberId = ''
      this.#generationId = -1
      this.#rejoin = true
    } else if (COORDINATOR_ERRORS.has(code)) this.#dropCoordinator()
    else if (code === ERROR.FENCED_INSTANCE_ID) this.#fatal = new KafkaError(code, `group '${this.groupId}': another member uses group.instance.id '${this.groupInstanceId}'`)
    else if (code !== 0) this.#fatal = new KafkaError(code, `heartbeat in group '${this.groupId}'`)
  }

  /**
   * Commits offsets for the current generation. A commit the group refuses because it moved on
   * (rebalance, fencing by generation or member id) marks the member for rejoining and throws.
   */
  async commit(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (offsets.length === 0) return
    if (this.#generationId < 0) throw new KafkaError(ERROR.ILLEGAL_GENERATION, `committing offsets of group '${this.groupId}' (no current generation)`)
    let backoff = 100
    const deadline = Date.now() + 30_000
    for (;;) {
      let code: number
      try {
        const conn = await this.#coordinator()
        code = await commitOffsets(conn, this.groupId, { generationId: this.#generationId, memberId: this.#memberId, groupInstanceId: this.groupInstanceId }, offsets)
      } catch (err) {
        if (!isTransient(err) || Date.now() > deadline || this.#closed) throw err
        code = ERROR.COORDINATOR_NOT_AVAILABLE
      }
      if (code === 0) return
      if (code === ERROR.REBALANCE_IN_PROGRESS || code === ERROR.ILLEGAL_GENERATION || code === ERROR.UNKNOWN_MEMBER_ID) this.#rejoin = true
      if (!COORDINATOR_ERRORS.has(code) || Date.now() > deadline) throw new KafkaError(code, `committing offsets of group '${this.groupId}'`)
      this.#dropCoordinator()
      await sleep(backoff)
      backoff = Math.min(backoff * 2, 1000)
    }
  }

  /** The group's committed offsets for some partitions (-1 where none), retrying a loading coordinator. */
  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    if (partitions.length === 0) return []
    let backoff = 100
    const deadline = Date.now() + 30_000
    for (;;) {
      this.#checkOpen()
      try {
        return await fetchOffsets(await this.#coordinator(), this.groupId, partitions, true)
      } catch (err) {
        if (!isTransient(err) || Date.now() > deadline) throw err
        this.#dropCoordinator()
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 1000)
      }
    }
  }

  /** Interrupts a join in progress (it throws WakeupError); the member can join again later. */
  wakeup(): void {
    if (!this.#joining) return
    this.#woken = true
    this.#dropCoordinator() // rejects the parked JoinGroup/SyncGroup
  }

  /**
   * Leaves the group (LeaveGroup) so the others rebalance at once instead of after the session
   * timeout. Static members stay (as in Kafka): their instance id keeps their place.
   */
  async leave(reason = 'the consumer is being closed'): Promise<void> {
    this.#stopHeartbeats()
    const memberId = this.#memberId
    this.#memberId = ''
    this.#generationId = -1
    this.#assignment = []
    this.#rejoin = true
    if (memberId === '' || this.groupInstanceId !== null) return
    try {
      const conn = await this.#coordinator()
      await conn.request(13, { groupId: this.groupId, memberId, members: [{ memberId, groupInstanceId: null, reason }] }, { timeoutMs: 5000 })
    } catch (err) {
      // Best effort: if the coordinator is unreachable, the session timeout removes us.
      if (!isTransient(err) && !(err instanceof KafkaError)) throw err
    }
  }

  close(): void {
    this.#closed = true
    this.#stopHeartbeats()
    this.#dropCoordinator()
  }
}

/** Failures after which looking up the coordinator again and retrying is the right move. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true
  return err instanceof KafkaError && COORDINATOR_ERRORS.has(err.code)
}
