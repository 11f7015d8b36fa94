/**
 * A consumer in a group: a GroupMember for the partitions, a Fetcher for the records, and
 * Kafka's offset bookkeeping between them.
 *
 * - A partition starts at the group's committed offset, or where `offsetReset` says when the
 *   group has none (auto.offset.reset; 'none' fails as in Kafka).
 * - `poll(maxRecords)` returns at most maxRecords (max.poll.records); the rest stay buffered.
 *   Only records returned count as consumed, so what gets committed is what the caller saw.
 * - Offsets are committed every `autoCommitIntervalMs` from poll, before giving partitions up
 *   in a rebalance, and on close (enable.auto.commit); `commit()` commits on demand.
 *
 * Invariant: `#consumed` holds exactly the partitions of the current assignment, each with
 * the next offset to read — the value Kafka commits.
 */
import type { KafkaClient } from './client.ts'
import { Fetcher, type ConsumerRecord, type FetcherOptions } from './fetcher.ts'
import { GroupMember, type GroupMemberOptions } from './group-member.ts'
import type { TopicPartition } from './assignors.ts'
import { ConnectionError, KafkaError, WakeupError } from './errors.ts'
import { ERROR } from '../protocol/errors.ts'

export interface GroupConsumerOptions extends GroupMemberOptions, FetcherOptions {
  /** enable.auto.commit (default true). */
  autoCommit?: boolean
  /** auto.commit.interval.ms (default 5 s). */
  autoCommitIntervalMs?: number
}

/** Commit refusals meaning the group moved to a new generation without us. */
const GENERATION_LOST: ReadonlySet<number> = new Set([ERROR.REBALANCE_IN_PROGRESS, ERROR.ILLEGAL_GENERATION, ERROR.UNKNOWN_MEMBER_ID])

const key = (topic: string, partition: number): string => `${topic}\0${partition}`

export class GroupConsumer {
  readonly client: KafkaClient
  readonly member: GroupMember
  readonly fetcher: Fetcher
  readonly autoCommit: boolean
  readonly autoCommitIntervalMs: number
  #buffer: ConsumerRecord[] = []
  readonly #consumed = new Map<string, { topic: string; partition: number; offset: number }>()
  readonly #committed = new Map<string, number>()
  #nextAutoCommit = 0
  #idleWait: { timer: NodeJS.Timeout; resolve: () => void } | null = null
  #closed = false

  constructor(client: KafkaClient, options: GroupConsumerOptions) {
    this.client = client
    this.member = new GroupMember(client, options)
    this.fetcher = new Fetcher(client, options)
    this.autoCommit = options.autoCommit ?? true
    this.autoCommitIntervalMs = options.autoCommitIntervalMs ?? 5000
  }

  /** The partitions this member currently owns. */
  get assignment(): TopicPartition[] {
    return this.member.assignment
  }

  /**
   * Records from the owned partitions (possibly none, after up to the fetcher's maxWaitMs).
   * Joins the group first when needed. Throws WakeupError after wakeup() or close().
   */
  async poll(maxRecords = Number.POSITIVE_INFINITY): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new WakeupError('the consumer is closed')
    if (this.member.needsRejoin) await this.#rebalance()
    if (this.#buffer.length === 0) {
      if (this.#consumed.size === 0) await this.#idle()
      else this.#buffer = (await this.fetcher.poll()).filter((r) => this.#consumed.has(key(r.topic, r.partition)))
    }
    const out = this.#buffer.length <= maxRecords ? this.#buffer : this.#buffer.slice(0, maxRecords)
    this.#buffer = this.#buffer.length <= maxRecords ? [] : this.#buffer.slice(maxRecords)
    for (const r of out) this.#consumed.get(key(r.topic, r.partition))!.offset = r.offset + 1
    if (this.autoCommit && Date.now() >= this.#nextAutoCommit) await this.#autoCommit()
    return out
  }

  /** A member without partitions waits like a fetch would, but can be woken up. */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWait = null
        resolve()
      }, this.fetcher.options.maxWaitMs)
      this.#idleWait = { timer, resolve }
    })
  }

  /** Eager rebalance: commit what was consumed, give everything up, join, resume from commits. */
  async #rebalance(): Promise<void> {
    if (this.autoCommit && this.member.generationId >= 0) await this.#commitIgnoringRebalance()
    this.fetcher.unassignAll()
    this.#buffer = []
    this.#consumed.clear()
    this.#committed.clear()
    const assignment = await this.member.join()
    const committed = await this.member.committed(assignment)
    const reset = this.fetcher.options.offsetReset
    for (const c of committed) {
      if (c.offset >= 0) {
        this.#committed.set(key(c.topic, c.partition), c.offset)
        this.fetcher.assign([{ topic: c.topic, partition: c.partition, offset: c.offset }])
      } else if (reset === 'none') {
        throw new KafkaError(ERROR.OFFSET_OUT_OF_RANGE, `group '${this.member.groupId}' has no committed offset for ${c.topic}-${c.partition} and auto.offset.reset is none`)
      } else {
        this.fetcher.assign([{ topic: c.topic, partition: c.partition, offset: reset }])
      }
    }
    // Positions found by auto.offset.reset count as consumed, so the group keeps them (as Kafka's auto-commit does).
    await this.fetcher.resolveStarts()
    for (const p of this.fetcher.positions()) this.#consumed.set(key(p.topic, p.partition), { ...p })
    this.#nextAutoCommit = Date.now() + this.autoCommitIntervalMs
  }

  /** Commits the consumed positions that moved since the last commit. */
  async commit(): Promise<void> {
    const changed = [...this.#consumed].filter(([k, p]) => this.#committed.get(k) !== p.offset).map(([, p]) => ({ ...p }))
    if (changed.length === 0) return
    await this.member.commit(changed)
    for (const p of changed) this.#committed.set(key(p.topic, p.partition), p.offset)
  }

  async #autoCommit(): Promise<void> {
    this.#nextAutoCommit = Date.now() + this.autoCommitIntervalMs
    await this.#commitIgnoringRebalance()
  }

  /** A commit the group refuses because it is rebalancing is dropped: the member rejoins next poll. */
  async #commitIgnoringRebalance(): Promise<void> {
    try {
      await this.commit()
    } catch (err) {
      if (!(err instanceof KafkaError && GENERATION_LOST.has(err.code))) throw err
    }
  }

  /** Interrupts a poll that waits for a rebalance or for partitions (it throws WakeupError or returns early). */
  wakeup(): void {
    this.member.wakeup()
    if (this.#idleWait) {
      clearTimeout(this.#idleWait.timer)
      this.#idleWait.resolve()
      this.#idleWait = null
    }
  }

  /**
   * Commits (with auto-commit) and leaves the group so the others take over at once. Call it
   * after the last poll returned; a poll still waiting for a rebalance should be woken first.
   * When the commit finds the coordinator unreachable, leaving is skipped (the session timeout
   * removes the member); `graceful: false` skips both (the broker is known to be gone).
   */
  async close(options: { graceful?: boolean } = {}): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.fetcher.close()
    let reachable = options.graceful !== false
    try {
      if (reachable && this.autoCommit && this.member.generationId >= 0) await this.#commitIgnoringRebalance()
    } catch (err) {
      // The coordinator cannot be reached: a LeaveGroup would only wait as long again.
      if (err instanceof ConnectionError) reachable = false
      throw err
    } finally {
      if (reachable) await this.member.leave()
      this.member.close()
    }
  }
}
