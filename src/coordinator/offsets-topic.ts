/**
 * __consumer_offsets on the network thread, for the group coordinator actor (which encodes and
 * decodes the records): created through the controller like any topic, written through the
 * PartitionHost's produce path (one batch per coordinator write, so a commit of many
 * partitions is atomic), read back at start-up through its fetch path as raw batches.
 *
 * A write counts only once its batch is appended and below the high watermark: on a single
 * node the HW follows the append, with replication it will wait for the ISR.
 */
import type { Logger } from '../lib/logger.ts'
import type { MetadataImage, TopicImage } from '../metadata/image.ts'
import { topicByName } from '../metadata/image.ts'
import type { ControllerService } from '../broker/controller-service.ts'
import { partitionKey, type ReplicaService } from '../broker/replica-service.ts'
import type { WatermarkWaiters } from '../kafka/watermark-waiters.ts'
import type { HostError } from '../broker/partition-host.ts'
import type { CoordinatorError } from './errors.ts'
import { partitionForGroup } from './records.ts'

export const OFFSETS_TOPIC = '__consumer_offsets'
const WRITE_TIMEOUT_MS = 30_000
const LOAD_FETCH_BYTES = 1 << 20

export interface OffsetsTopicDeps {
  image(): MetadataImage
  readonly controller: ControllerService
  readonly replicas: ReplicaService
  readonly waiters: WatermarkWaiters
  readonly numPartitions: number
  readonly replicationFactor: number
  readonly segmentBytes: number
  readonly logger: Logger
}

export class OffsetsTopic {
  readonly #deps: OffsetsTopicDeps
  #creating: Promise<CoordinatorError | null> | null = null

  constructor(deps: OffsetsTopicDeps) {
    this.#deps = deps
  }

  topic(): TopicImage | undefined {
    return topicByName(this.#deps.image(), OFFSETS_TOPIC)
  }

  /** Creates the topic if it does not exist yet (concurrent callers share one creation). */
  ensureCreated(): Promise<CoordinatorError | null> {
    if (this.topic()) return Promise.resolve(null)
    this.#creating ??= this.#create().finally(() => { this.#creating = null })
    return this.#creating
  }

  async #create(): Promise<CoordinatorError | null> {
    const { controller, numPartitions, replicationFactor, segmentBytes, logger } = this.#deps
    const result = await controller.createTopic({
      name: OFFSETS_TOPIC, numPartitions, replicationFactor, assignments: [],
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.bytes', value: String(segmentBytes) },
        { name: 'compression.type', value: 'producer' },
      ],
    }, false)
    if ('error' in result && result.error !== 'topic_already_exists') {
      logger.error({ error: result.error, reason: result.message }, `creating ${OFFSETS_TOPIC} failed (check offsets.topic.replication.factor)`)
      return 'coordinator_not_available'
    }
    logger.info({ partitions: numPartitions }, `created ${OFFSETS_TOPIC}`)
    return null
  }

  /** Appends one encoded batch to the group's partition; null once it is below the high watermark. */
  async append(groupId: string, batch: Buffer): Promise<CoordinatorError | null> {
    const topic = this.topic()
    if (!topic) return 'coordinator_not_available'
    const partition = partitionForGroup(groupId, topic.partitions.length)
    const hosted = this.#deps.replicas.lookup(topic.topicId, partition)
    if (!hosted) return 'not_coordinator'
    const pool = this.#deps.replicas.pool
    const [result] = await pool.produceAcrossShards([{ handle: hosted.handle, records: batch }], WRITE_TIMEOUT_MS)
    if (!result) return 'unknown_server_error'
    if ('error' in result) return appendError(result.error)
    // Acknowledge only below the high watermark (what a restart or a new leader is sure to keep).
    const key = partitionKey(topic.topicId, partition)
    const deadline = Date.now() + WRITE_TIMEOUT_MS
    while (this.#deps.replicas.watermarks(hosted).highWatermark <= result.ok.lastOffset) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) return 'coordinator_not_available'
      await this.#deps.waiters.wait([key], remaining)
    }
    return null
  }

  /** The partitions hosted here, each with the range a load reads (log start to high watermark). */
  partitions(): { partition: number; logStartOffset: number; highWatermark: number }[] {
    const topic = this.topic()
    if (!topic) return []
    const out = []
    for (const p of topic.partitions) {
      const hosted = this.#deps.replicas.lookup(topic.topicId, p.partition)
      if (!hosted) continue
      const w = this.#deps.replicas.watermarks(hosted)
      out.push({ partition: p.partition, logStartOffset: w.logStartOffset, highWatermark: w.highWatermark })
    }
    return out
  }

  /** Raw batches of one partition from `offset`: at least one whole batch, about LOAD_FETCH_BYTES. */
  async read(partition: number, offset: number): Promise<Buffer> {
    const topic = this.topic()
    const hosted = topic && this.#deps.replicas.lookup(topic.topicId, partition)
    if (!hosted) throw new Error(`${OFFSETS_TOPIC}-${partition} is not hosted here`)
    const [r] = await this.#deps.replicas.pool.fetch(hosted.handle.shard, [{
      handle: hosted.handle, fetchOffset: offset, maxBytes: LOAD_FETCH_BYTES, isolation: 'read_uncommitted', currentLeaderEpoch: -1, minOneBatch: true,
    }], WRITE_TIMEOUT_MS)
    if (!r || 'error' in r) throw new Error(`reading ${OFFSETS_TOPIC}-${partition} at ${offset} failed: ${r && 'error' in r ? r.error : 'no result'}`)
    return r.ok.records
  }
}

/** Kafka's mapping of append failures of coordinator writes. */
function appendError(error: HostError): CoordinatorError {
  switch (error) {
    case 'message_too_large':
    case 'record_list_too_large':
      return 'invalid_commit_offset_size'
    case 'not_leader_or_follower':
    case 'kafka_storage_error':
    case 'shard_unavailable':
      return 'not_coordinator'
    case 'request_timed_out':
      return 'coordinator_not_available'
    default:
      return 'unknown_server_error'
  }
}
