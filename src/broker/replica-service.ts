/**
 * The partitions this broker hosts, kept in step with the metadata image.
 *
 * For every partition whose replica set names this node, a partition actor exists on a shard
 * worker; when a topic leaves the image its actors are closed and their directories renamed for
 * deletion. Reconciliation runs one image at a time, in image order. Handlers look partitions
 * up here and reach them through the shard pool, one message per (request, shard).
 */
import { topicCompressionOf } from '../storage/recompress.ts'
import type { Logger } from '../lib/logger.ts'
import type { MetadataImage } from '../metadata/image.ts'
import { effectiveTopicConfig } from '../metadata/topic-config.ts'
import type { BrokerConfig } from '../config/broker-config.ts'
import type { LogConfig } from '../storage/partition-log.ts'
import type { StartupCheckpoints } from '../storage/log-dir.ts'
import type { DeleteRecordsItemResult, PartitionHandle, PartitionHost, Watermarks } from './partition-host.ts'
import { join } from 'node:path'

export interface HostedPartition {
  readonly topic: string
  readonly topicId: string
  readonly partition: number
  readonly handle: PartitionHandle
  leaderEpoch: number
}


export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`
}

export class ReplicaService {
  readonly #pool: PartitionHost
  readonly #owner: string
  readonly #logDir: string
  readonly #config: BrokerConfig
  readonly #log: Logger
  readonly #checkpoints: StartupCheckpoints
  readonly #hosted = new Map<string, HostedPartition>()
  /** Handle key (unique per actor) → hosted partition, for watermark events. */
  readonly #byHandle = new Map<string, HostedPartition>()
  /** Per hosted partition: the topic-overrides map its LogConfig was last built from. */
  readonly #overridesSeen = new Map<string, ReadonlyMap<string, string> | undefined>()
  /** Set once the start-up image was reconciled: later partitions ignore the start-up checkpoints. */
  #startupReconciled = false
  /** After close(): each partition's last watermarks, for the final checkpoint files. */
  #closedWatermarks: Map<string, Watermarks> | null = null
  #reconciling: Promise<void> = Promise.resolve()
  #closedCleanly = false
  /** Told the key of each partition this broker stops hosting (its topic was deleted, or it moved away). */
  readonly #removedListeners = new Set<(key: string) => void>()

  /** Told each `<topic>-<n>.<id>-delete` directory a topic deletion left (removed after file.delete.delay.ms). */
  readonly #onDirDeleted: ((dir: string) => void) | undefined
  readonly #onLogStartAdvanced: (() => void) | undefined
  #logStartWrite: Promise<void> | null = null

  constructor(o: {
    pool: PartitionHost; owner: string; logDir: string; config: BrokerConfig; log: Logger; checkpoints: StartupCheckpoints
    onDirDeleted?: (dir: string) => void
    /** After DeleteRecords moved a log start offset: write log-start-offset-checkpoint now, not at the next interval. */
    onLogStartAdvanced?: () => void
  }) {
    this.#pool = o.pool
    this.#owner = o.owner
    this.#logDir = o.logDir
    this.#config = o.config
    this.#log = o.log
    this.#checkpoints = o.checkpoints
    this.#onDirDeleted = o.onDirDeleted
    this.#onLogStartAdvanced = o.onLogStartAdvanced
  }

  /** DeleteRecords of one hosted partition; a successful one is checkpointed before this resolves. */
  async deleteRecords(p: HostedPartition, offset: number): Promise<DeleteRecordsItemResult> {
    const r = await this.#pool.deleteRecords(p.handle, offset)
    if ('ok' in r) await this.#checkpointLogStart()
    return r
  }

  /** One checkpoint write for every DeleteRecords answer that arrived in the same turn (a request names many partitions). */
  #checkpointLogStart(): Promise<void> {
    this.#logStartWrite ??= new Promise<void>((resolve) => setImmediate(() => {
      this.#logStartWrite = null
      try {
        this.#onLogStartAdvanced?.()
      } finally {
        resolve()
      }
    }))
    return this.#logStartWrite
  }

  get pool(): PartitionHost {
    return this.#pool
  }

  /** The hosted partition behind an actor handle (watermark events name handles). */
  byHandleKey(key: string): HostedPartition | undefined {
    return this.#byHandle.get(key)
  }

  lookup(topicId: string, partition: number): HostedPartition | undefined {
    return this.#hosted.get(partitionKey(topicId, partition))
  }

  watermarks(p: HostedPartition): Watermarks {
    return this.#closedWatermarks?.get(partitionKey(p.topicId, p.partition)) ?? this.#pool.watermarks(p.handle)
  }

  /**
   * Calls `listener` with the partitionKey of each partition as it stops being hosted (before its
   * actor is closed); returns the unsubscribe function. Long-polling fetches use it to answer at
   * once when a partition they wait on goes away, as Kafka completes delayed fetches then.
   */
  onRemoved(listener: (key: string) => void): () => void {
    this.#removedListeners.add(listener)
    return () => { this.#removedListeners.delete(listener) }
  }

  hosted(): IterableIterator<HostedPartition> {
    return this.#hosted.values()
  }

  /** Brings hosted partitions in line with `image`; resolves when done (serialized). */
  reconcile(image: MetadataImage): Promise<void> {
    const run = this.#reconciling.then(() => this.#reconcile(image))
    this.#reconciling = run.catch((err: unknown) => this.#log.error({ err }, 'partition reconciliation failed'))
    return this.#reconciling
  }

  /** min.insync.replicas of a topic: its override, else the broker default. */
  minInsyncReplicas(image: MetadataImage, topic: string): number {
    return effectiveTopicConfig(this.#config.topicDefaults, image.topicConfigs.get(topic)).minInsyncReplicas
  }

  logConfigFor(image: MetadataImage, topic: string): LogConfig {
    const c = effectiveTopicConfig(this.#config.topicDefaults, image.topicConfigs.get(topic))
    return {
      segmentBytes: c.segmentBytes, segmentMs: c.segmentMs, indexIntervalBytes: c.indexIntervalBytes,
      segmentIndexBytes: c.segmentIndexBytes, flushIntervalMessages: c.flushIntervalMessages, flushIntervalMs: c.flushIntervalMs,
      maxMessageBytes: c.maxMessageBytes, messageTimestampType: c.messageTimestampType,
      messageTimestampBeforeMaxMs: c.messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs: c.messageTimestampAfterMaxMs,
      producerIdExpirationMs: c.producerIdExpirationMs,
      retentionMs: c.retentionMs, retentionBytes: c.retentionBytes,
      cleanupPolicy: cleanupPolicyOf(c.cleanupPolicy),
      fileDeleteDelayMs: c.fileDeleteDelayMs, retentionCheckIntervalMs: this.#config.retentionCheckIntervalMs, cleanerBackoffMs: this.#config.cleanerBackoffMs,
      deleteRetentionMs: c.deleteRetentionMs, minCompactionLagMs: c.minCompactionLagMs, minCleanableDirtyRatio: c.minCleanableDirtyRatio,
      compressionType: topicCompressionOf(c.compressionType),
    }
  }

  async #reconcile(image: MetadataImage): Promise<void> {
    const nodeId = this.#config.nodeId
    const wanted = new Set<string>()
    const creations: Promise<void>[] = []
    for (const topic of image.topicsById.values()) {
      for (const p of topic.partitions) {
        if (!p.replicas.includes(nodeId)) continue
        const key = partitionKey(topic.topicId, p.partition)
        wanted.add(key)
        const existing = this.#hosted.get(key)
        if (!existing) {
          creations.push(this.#create(image, topic.name, topic.topicId, p.partition, p.leaderEpoch, key))
          continue
        }
        // A topic's overrides map is replaced (never mutated) by each ConfigRecord, so identity tells a change.
        const overrides = image.topicConfigs.get(topic.name)
        const configChanged = this.#overridesSeen.get(key) !== overrides
        if (existing.leaderEpoch !== p.leaderEpoch || configChanged) {
          existing.leaderEpoch = p.leaderEpoch
          this.#overridesSeen.set(key, overrides)
          creations.push(this.#pool.updatePartition(existing.handle, {
            leaderEpoch: p.leaderEpoch, ...(configChanged ? { config: this.logConfigFor(image, topic.name) } : {}),
          }))
        }
      }
    }
    const removals: Promise<void>[] = []
    for (const [key, hosted] of this.#hosted) {
      if (wanted.has(key)) continue
      this.#hosted.delete(key)
      this.#overridesSeen.delete(key)
      for (const listener of [...this.#removedListeners]) listener(key)
      removals.push(this.#pool.deletePartition(hosted.handle).then((dir) => {
        this.#log.info({ topic: hosted.topic, partition: hosted.partition, dir }, 'partition deleted; directory renamed for removal')
        if (dir !== '') this.#onDirDeleted?.(dir)
      }))
    }
    this.#startupReconciled = true
    await Promise.all([...creations, ...removals])
  }

  async #create(image: MetadataImage, topic: string, topicId: string, partition: number, leaderEpoch: number, key: string): Promise<void> {
    // The start-up checkpoints describe the partitions of the start-up image only: a topic created
    // later — even under the name of a deleted one whose entries are still in a file — starts empty, at 0.
    const dirName = `${topic}-${partition}`
    const fromStartup = !this.#startupReconciled
    const logStartOffset = fromStartup ? this.#checkpoints.logStartOffset(topic, partition) : undefined
    const cleanerCheckpoint = fromStartup ? this.#checkpoints.cleanerCheckpoint(topic, partition) : undefined
    this.#overridesSeen.set(key, image.topicConfigs.get(topic))
    const handle = await this.#pool.createPartition({
      owner: this.#owner,
      dir: join(this.#logDir, dirName),
      topic, partition, topicId, leaderEpoch,
      config: this.logConfigFor(image, topic),
      recoveryPoint: fromStartup ? this.#checkpoints.recoveryPoint(topic, partition) : 0,
      cleanShutdown: this.#checkpoints.cleanShutdown,
      ...(logStartOffset === undefined ? {} : { logStartOffset }),
      ...(cleanerCheckpoint === undefined ? {} : { cleanerCheckpoint }),
    })
    const hosted = { topic, topicId, partition, handle, leaderEpoch }
    this.#hosted.set(key, hosted)
    this.#byHandle.set(handle.key, hosted)
  }

  /** After close(): whether every partition closed cleanly (else the log dir must not be marked clean). */
  get closedCleanly(): boolean {
    return this.#closedCleanly
  }

  /** Clean shutdown of every hosted partition (flush, producer snapshots). */
  async close(): Promise<void> {
    await this.#reconciling
    // The final checkpoints are written after this: keep what they need (log start offsets, HWs,
    // and the recovery points after the closing flush, so a later unclean start scans nothing
    // already flushed). A partition that did not close cleanly keeps its last published values.
    const final = new Map<string, Watermarks>()
    for (const [key, p] of this.#hosted) final.set(key, this.#pool.watermarks(p.handle))
    const closed = await this.#pool.closeOwner(this.#owner)
    for (const [key, p] of this.#hosted) {
      const w = closed.watermarks.get(p.handle.key)
      if (w !== undefined) final.set(key, w)
    }
    this.#closedCleanly = closed.clean
    this.#closedWatermarks = final
    this.#byHandle.clear()
  }
}

/** `cleanup.policy` as a list of `delete` / `compact` (validated when it was set). */
export function cleanupPolicyOf(value: string): { delete: boolean; compact: boolean } {
  const items = value.split(',').map((s) => s.trim())
  return { delete: items.includes('delete'), compact: items.includes('compact') }
}
