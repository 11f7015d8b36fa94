/**
 * Committed offsets: OffsetCommit validation (generation and member fencing, the admin form
 * with generation -1), OffsetFetch, OffsetDelete, and retention of offsets of Empty groups.
 *
 * A commit changes the in-memory offsets only after its records are durable, so OffsetFetch
 * never returns an offset that a restart could lose.
 */
import type { CoordinatorContext } from './context.ts'
import { CONSUMER_PROTOCOL_TYPE, ClassicGroup, offsetKey, type CommittedOffset } from './group.ts'
import type { CoordinatorError } from './errors.ts'

/** Kafka's offsets.retention.check.interval.ms default: how long an Empty group without offsets lingers. */
export const EMPTY_GROUP_CLEANUP_MS = 600_000

export interface OffsetCommitRequestData {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly offsets: readonly { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }[]
}

export interface PartitionResult {
  readonly topic: string
  readonly partition: number
  readonly error: CoordinatorError | null
}

export interface FetchedOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly error: CoordinatorError | null
}

/** Who may commit: members of the current generation, or anyone (generation -1) while the group is Empty. */
export function validateCommit(req: OffsetCommitRequestData, group: ClassicGroup): CoordinatorError | null {
  if (group.is('Dead')) return 'coordinator_not_available'
  // A group that only stores offsets (or is Empty between uses): generation -1 commits are taken
  // whatever member or instance id comes with them (Kafka since KAFKA-14201; librdkafka with
  // group.instance.id and assign() sends one).
  if (req.generationId < 0 && group.is('Empty')) return null
  if (req.generationId >= 0 || req.memberId !== '' || req.groupInstanceId !== null) {
    const invalid = group.validateMember(req.memberId, req.groupInstanceId)
    if (invalid !== null) return invalid
    if (req.generationId !== group.generationId) return 'illegal_generation'
  } else if (!group.is('Empty')) {
    // Without a member id and generation only an Empty group takes commits (admin tools).
    return 'unknown_member_id'
  }
  // The member has this generation's JoinGroup answer but not its assignment yet.
  if (group.is('CompletingRebalance')) return 'rebalance_in_progress'
  return null
}

export class OffsetManager {
  readonly #ctx: CoordinatorContext

  constructor(ctx: CoordinatorContext) {
    this.#ctx = ctx
  }

  /** Stores the offsets; resolves per partition. `group` was validated by the caller. */
  async commit(group: ClassicGroup, req: OffsetCommitRequestData): Promise<PartitionResult[]> {
    const now = this.#ctx.clock.now()
    const results: PartitionResult[] = []
    const accepted: { topic: string; partition: number; committed: CommittedOffset }[] = []
    for (const o of req.offsets) {
      const metadata = o.metadata ?? ''
      // Kafka compares String.length(): UTF-16 code units, not bytes.
      if (metadata.length > this.#ctx.config.offsetMetadataMaxBytes) {
        results.push({ topic: o.topic, partition: o.partition, error: 'offset_metadata_too_large' })
        continue
      }
      accepted.push({ topic: o.topic, partition: o.partition, committed: { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now } })
    }
    if (accepted.length === 0) return results
    const error = await this.#ctx.log.append(group.groupId, accepted.map((a) => ({
      type: 'offset' as const, groupId: group.groupId, topic: a.topic, partition: a.partition, value: a.committed,
    })))
    if (!error && !group.is('Dead')) {
      for (const a of accepted) group.offsets.set(offsetKey(a.topic, a.partition), a)
      this.#ctx.refreshRetention(group)
    }
    for (const a of accepted) results.push({ topic: a.topic, partition: a.partition, error: error ? commitStoreError(error) : null })
    return results
  }

  /** Committed offsets of the requested partitions (-1 where none), or of every partition when `topics` is null. */
  fetch(group: ClassicGroup | undefined, topics: readonly { name: string; partitions: readonly number[] }[] | null): FetchedOffset[] {
    if (topics === null) {
      if (!group) return []
      return [...group.offsets.values()].map((o) => ({
        topic: o.topic, partition: o.partition, offset: o.committed.offset, leaderEpoch: o.committed.leaderEpoch, metadata: o.committed.metadata, error: null,
      }))
    }
    const out: FetchedOffset[] = []
    for (const t of topics) {
      for (const p of t.partitions) {
        const c = group?.offsets.get(offsetKey(t.name, p))?.committed
        out.push(c
          ? { topic: t.name, partition: p, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, error: null }
          : { topic: t.name, partition: p, offset: -1, leaderEpoch: -1, metadata: '', error: null })
      }
    }
    return out
  }

  /** OffsetDelete: only partitions of topics the group does not subscribe to (Kafka's rule). */
  async deleteOffsets(group: ClassicGroup, partitions: readonly { topic: string; partition: number }[]): Promise<{ error: CoordinatorError | null; partitions: PartitionResult[] }> {
    if (group.is('Dead')) return { error: 'group_id_not_found', partitions: [] }
    // Kafka's handleDeleteOffsets: only consumer groups (or Empty ones) have offsets deleted; for a
    // consumer group whose subscription is not known (no protocol chosen yet, unreadable
    // metadata) every topic counts as subscribed.
    if (!group.is('Empty') && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { error: 'non_empty_group', partitions: [] }
    const subscribed = group.is('Empty') ? new Set<string>() : group.subscribedTopics()
    const results: PartitionResult[] = []
    const deleted: { topic: string; partition: number }[] = []
    for (const p of partitions) {
      if (subscribed === null || subscribed.has(p.topic)) {
        results.push({ ...p, error: 'group_subscribed_to_topic' })
        continue
      }
      if (group.offsets.has(offsetKey(p.topic, p.partition))) deleted.push(p)
      results.push({ ...p, error: null })
    }
    if (deleted.length === 0) return { error: null, partitions: results }
    const error = await this.#ctx.log.append(group.groupId, deleted.map((p) => ({ type: 'offset' as const, groupId: group.groupId, ...p, value: null })))
    if (error) return { error: commitStoreError(error), partitions: [] }
    for (const p of deleted) group.offsets.delete(offsetKey(p.topic, p.partition))
    this.#ctx.refreshRetention(group)
    return { error: null, partitions: results }
  }

  /**
   * offsets.retention.minutes: an Empty group's offsets expire together once the group has been
   * Empty, and without commits, for the retention period. The timer is a long timer, so 7 days
   * or more arm correctly. Groups with members keep their offsets.
   */
  refreshRetention(group: ClassicGroup, onExpired: (group: ClassicGroup) => void): void {
    group.retentionTimer?.cancel()
    group.retentionTimer = null
    if (!group.is('Empty')) return
    let last = group.currentStateTimestamp
    for (const o of group.offsets.values()) last = Math.max(last, o.committed.commitTimestamp)
    // An Empty group without offsets is forgotten at the next cleanup, as in Kafka.
    const keepFor = group.offsets.size === 0 ? EMPTY_GROUP_CLEANUP_MS : this.#ctx.config.offsetsRetentionMs
    const delay = last + keepFor - this.#ctx.clock.now()
    group.retentionTimer = this.#ctx.clock.schedule(() => {
      group.retentionTimer = null
      if (group.is('Empty')) onExpired(group)
    }, Math.max(0, delay))
  }
}

/** How a failed append of offsets reads to the client (Kafka's GroupMetadataManager mapping). */
function commitStoreError(error: CoordinatorError): CoordinatorError {
  if (error === 'invalid_commit_offset_size' || error === 'not_coordinator' || error === 'coordinator_not_available' || error === 'coordinator_load_in_progress') return error
  return 'unknown_server_error'
}
