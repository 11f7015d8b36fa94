/**
 * The group coordinator as the broker runs it: the pure GroupCoordinator, persisted in
 * __consumer_offsets, with the system clock. This node coordinates every group (single node);
 * the interface the handlers use (`coordinator`, `findCoordinator`) is what a coordinator
 * living in its own actor, reached through the router, will implement.
 *
 * Availability: until __consumer_offsets exists every group request gets
 * COORDINATOR_NOT_AVAILABLE (clients then ask FindCoordinator, which creates it); while it is
 * being loaded, COORDINATOR_LOAD_IN_PROGRESS.
 */
import type { BrokerConfig } from '../config/broker-config.ts'
import type { Logger } from '../lib/logger.ts'
import type { MetadataImage } from '../metadata/image.ts'
import type { ControllerService } from '../broker/controller-service.ts'
import type { ReplicaService } from '../broker/replica-service.ts'
import type { WatermarkWaiters } from '../kafka/watermark-waiters.ts'
import { systemClock, type CoordinatorClock, type CoordinatorConfig, type GroupLog, type GroupRecord } from './context.ts'
import { GroupCoordinator } from './coordinator.ts'
import { OffsetsTopic } from './offsets-topic.ts'
import type { CoordinatorError } from './errors.ts'

export interface GroupCoordinatorServiceDeps {
  readonly config: BrokerConfig
  image(): MetadataImage
  readonly controller: ControllerService
  readonly replicas: ReplicaService
  readonly waiters: WatermarkWaiters
  readonly logger: Logger
  readonly clock?: CoordinatorClock
}

/** The group settings, from the broker's (Kafka-named) configuration. */
export function coordinatorConfig(config: BrokerConfig): CoordinatorConfig {
  const num = (key: string): number => Number(config.raw.get(key))
  return {
    initialRebalanceDelayMs: num('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: num('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: num('group.max.session.timeout.ms'),
    offsetsRetentionMs: num('offsets.retention.minutes') * 60_000,
    offsetMetadataMaxBytes: num('offset.metadata.max.bytes'),
    // Each member's metadata is stored in the group's record, which must fit one batch.
    maxMemberMetadataBytes: Math.floor(config.topicDefaults.maxMessageBytes / 2),
  }
}

export class GroupCoordinatorService {
  readonly coordinator: GroupCoordinator
  readonly #topic: OffsetsTopic
  readonly #logger: Logger
  #loading: Promise<void> | null = null
  /** Coordinator writes still in flight; stop() waits for them before partitions close. */
  readonly #inFlight = new Set<Promise<unknown>>()
  #stopped = false

  constructor(deps: GroupCoordinatorServiceDeps) {
    this.#logger = deps.logger
    this.#topic = new OffsetsTopic({
      image: deps.image, controller: deps.controller, replicas: deps.replicas, waiters: deps.waiters,
      numPartitions: Number(deps.config.raw.get('offsets.topic.num.partitions')),
      replicationFactor: Number(deps.config.raw.get('offsets.topic.replication.factor')),
      segmentBytes: Number(deps.config.raw.get('offsets.topic.segment.bytes')),
      logger: deps.logger,
    })
    const log: GroupLog = {
      append: (groupId: string, records: readonly GroupRecord[]) => {
        if (this.#stopped) return Promise.resolve('coordinator_not_available' as const)
        const p = this.#topic.append(groupId, records)
        this.#inFlight.add(p)
        return p.finally(() => this.#inFlight.delete(p))
      },
    }
    this.coordinator = new GroupCoordinator({ clock: deps.clock ?? systemClock, log, config: coordinatorConfig(deps.config), logger: deps.logger })
    this.coordinator.setAvailability('coordinator_not_available')
  }

  /** Called once the broker hosts its partitions: loads existing group state in the background. */
  start(): void {
    if (this.#topic.topic()) this.#startLoading()
  }

  #startLoading(): Promise<void> {
    this.#loading ??= (async () => {
      this.coordinator.setAvailability('coordinator_load_in_progress')
      const started = Date.now()
      try {
        const records = await this.#topic.load((r) => this.coordinator.replay(r))
        if (this.#stopped) return
        this.coordinator.finishLoading()
        this.coordinator.setAvailability(null)
        this.#logger.info({ records, ms: Date.now() - started }, 'group state loaded from __consumer_offsets')
      } catch (err) {
        this.#logger.error({ err }, 'loading __consumer_offsets failed; group coordinator unavailable')
        this.coordinator.setAvailability('coordinator_not_available')
      }
    })()
    return this.#loading
  }

  /**
   * FindCoordinator for a group: this node, once __consumer_offsets exists (created on first
   * use, as Kafka does). Loading may continue after the answer; requests meanwhile get
   * COORDINATOR_LOAD_IN_PROGRESS and clients retry.
   */
  async findCoordinator(): Promise<CoordinatorError | null> {
    if (this.#stopped) return 'coordinator_not_available'
    const existed = this.#topic.topic() !== undefined
    const created = await this.#topic.ensureCreated()
    if (created) return created
    const loading = this.#startLoading()
    // A topic created just now is empty: its load is instant, so answer once it is done.
    if (!existed) await loading
    return null
  }

  /** Stops timers and answers parked requests; waits for the load and in-flight writes. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.coordinator.stop()
    await this.#loading
    await Promise.allSettled([...this.#inFlight])
  }
}
