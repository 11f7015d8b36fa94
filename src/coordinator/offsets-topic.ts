/**
 * __consumer_offsets as the group coordinator's log: created through the controller like any
 * topic, written through the PartitionHost's produce path (one batch per coordinator write, so
 * a commit of many partitions is atomic), read back at start-up through its fetch path.
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
import { buildRecordBatch } from '../storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../storage/record-batch-reader.ts'
import type { GroupLog, GroupRecord } from './context.ts'
import type { CoordinatorError } from './errors.ts'
import { decodeGroupRecord, encodeGroupRecord, partitionForGroup } from './records.ts'

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

export class OffsetsTopic implements GroupLog {
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

  async append(groupId: string, records: readonly GroupRecord[]): Promise<CoordinatorError | null> {
    const topic = this.topic()
    if (!topic) return 'coordinator_not_available'
    const partition = partitionForGroup(groupId, topic.partitions.length)
    const hosted = this.#deps.replicas.lookup(topic.topicId, partition)
    if (!hosted) return 'not_coordinator'
    const batch = buildRecordBatch({ records: records.map(encodeGroupRecord) })
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

  /** Reads every partition from its log start to its high watermark, in offset order, into `apply`. */
  async load(apply: (record: GroupRecord) => void): Promise<number> {
    const topic = this.topic()
    if (!topic) return 0
    let count = 0
    for (const p of topic.partitions) {
      const hosted = this.#deps.replicas.lookup(topic.topicId, p.partition)
      if (!hosted) continue
      const pool = this.#deps.replicas.pool
      const end = this.#deps.replicas.watermarks(hosted).highWatermark
      let offset = this.#deps.replicas.watermarks(hosted).logStartOffset
      while (offset < end) {
        const [r] = await pool.fetch(hosted.handle.shard, [{
          handle: hosted.handle, fetchOffset: offset, maxBytes: LOAD_FETCH_BYTES, isolation: 'read_uncommitted', currentLeaderEpoch: -1, minOneBatch: true,
        }], WRITE_TIMEOUT_MS)
        if (!r || 'error' in r) throw new Error(`loading ${OFFSETS_TOPIC}-${p.partition} at ${offset} failed: ${r && 'error' in r ? r.error : 'no result'}`)
        const batches = decodeRecordBatches(r.ok.records)
        if (batches.length === 0) break
        for (const batch of batches) {
          if (batch.lastOffset < offset) continue
          if (!batch.isControl) {
            if (batch.compression !== 'none') this.#deps.logger.warn({ partition: p.partition, offset: batch.baseOffset }, 'compressed group records skipped')
            for (const rec of batch.records) {
              if (rec.offset < offset || rec.key === null) continue
              const decoded = decodeGroupRecord(rec.key, rec.value)
              if (decoded) {
                apply(decoded)
                count++
              }
            }
          }
          offset = batch.lastOffset + 1
        }
      }
    }
    return count
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
