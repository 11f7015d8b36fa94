/**
 * A Samsa broker: configuration, storage, metadata, partition actors and listeners, started
 * and stopped in order. Used by `samsa server-start` and, in-process, by `Broker.start()`.
 *
 * Start order: log dir (meta.properties) → shard workers → metadata log replay (image, hosted
 * partitions) → listeners bound (real ports known) → broker registration committed →
 * requests served. Stop reverses it and leaves nothing running.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { loadBrokerConfig, type BrokerConfig } from '../config/broker-config.ts'
import { createLogger, silentLogger, type Logger } from '../lib/logger.ts'
import { randomUuid } from '../protocol/primitives/uuid.ts'
import { applyRecords, EMPTY_IMAGE, MetadataDelta, type MetadataImage } from '../metadata/image.ts'
import { SingleVoterLog } from '../metadata/single-voter-log.ts'
import type { MetadataLog, CommittedBatch } from '../metadata/metadata-log.ts'
import type { PartitionHost } from './partition-host.ts'
import { ShardPool } from '../runtime/shard-pool.ts'
import { LogDir } from '../storage/log-dir.ts'
import { KafkaServer, type BoundListener } from '../kafka/server.ts'
import { Dispatcher } from '../kafka/dispatch.ts'
import { BrokerMetrics } from '../metrics/broker-metrics.ts'
import { MetricsEndpoint } from '../metrics/metrics-endpoint.ts'
import { handlerTable } from '../kafka/handlers/index.ts'
import { WatermarkWaiters } from '../kafka/watermark-waiters.ts'
import type { BrokerServices } from '../kafka/request-context.ts'
import { ControllerService } from './controller-service.ts'
import { ReplicaService, partitionKey } from './replica-service.ts'
import { ProducerIdService } from './producer-ids.ts'
import { CheckpointWriter } from './checkpoints.ts'
import { DeletedPartitionReaper } from './deleted-partitions.ts'
import { GroupCoordinatorService } from '../coordinator/service.ts'
import { LOG_ACTOR, replayLine, type ForwardedLine } from '../lib/forwarded-logger.ts'
import { Router } from '../router/router.ts'

export interface BrokerOptions {
  /** Kafka broker properties (`node.id`, `log.dirs`, `num.partitions`, ...). */
  readonly config?: Readonly<Record<string, string | number | boolean>>
  /** A pino logger, or false for none (the default in library mode). */
  readonly logger?: Logger | false
  /** Server mode: a dedicated pool of shard workers instead of the shared library-mode pool. */
  readonly server?: boolean
}

const PLAINTEXT = 0 // SecurityProtocol id in RegisterBrokerRecord endpoints
/** Configuration warnings already emitted as process warnings (library mode). */
const warnedConfig = new Set<string>()

export class Broker {
  readonly config: BrokerConfig
  readonly log: Logger
  readonly #ownsDataDir: string | null
  #logDir: LogDir | null = null
  #pool: (PartitionHost & { release(): Promise<void> }) | null = null
  #metadata: MetadataLog | null = null
  #replicas: ReplicaService | null = null
  #server: KafkaServer | null = null
  #checkpoints: CheckpointWriter | null = null
  /** Listeners on a pool that may outlive this broker (library mode shares it). */
  readonly #unsubscribe: (() => void)[] = []
  #reaper: DeletedPartitionReaper | null = null
  #image: MetadataImage = EMPTY_IMAGE
  /** Set while the metadata log replays at start-up. */
  #replay: MetadataDelta | null = null
  #applied: Promise<void> = Promise.resolve()
  #appliedOffset = -1
  #offsetWaiters: { offset: number; resolve: () => void }[] = []
  #bound: BoundListener[] = []
  #metricsEndpoint: MetricsEndpoint | null = null
  #clusterId = ''
  #brokerEpoch = -1
  #stopping: Promise<void> | null = null
  /** This broker's hub: actors on worker threads (the group coordinator) are reached through it. */
  readonly #router: Router

  private constructor(config: BrokerConfig, log: Logger, ownsDataDir: string | null) {
    this.config = config
    this.log = log
    this.#ownsDataDir = ownsDataDir
    this.#router = this.#newRouter()
  }

  /** Starts a broker; in library mode (the default) on 127.0.0.1 port 0 with a fresh temporary data folder. */
  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const props = new Map<string, string>(Object.entries(options.config ?? {}).map(([k, v]) => [k, String(v)]))
    let ownsDataDir: string | null = null
    const tempDataDir = !options.server && !props.has('log.dirs') && !props.has('log.dir')
    if (!options.server) {
      if (!props.has('listeners')) props.set('listeners', 'PLAINTEXT://127.0.0.1:0')
      // A placeholder until the configuration is known to be valid: a bad value leaves no folder behind.
      if (tempDataDir) props.set('log.dirs', join(tmpdir(), 'samsa-'))
      if (!props.has('group.initial.rebalance.delay.ms')) props.set('group.initial.rebalance.delay.ms', '0')
      for (const k of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr']) {
        if (!props.has(k)) props.set(k, '1')
      }
    }
    let { config, warnings } = loadBrokerConfig(props, options.server ? {} : { defaultShardWorkers: 1 })
    if (tempDataDir) {
      ownsDataDir = mkdtempSync(join(tmpdir(), 'samsa-'))
      props.set('log.dirs', ownsDataDir)
      ;({ config, warnings } = loadBrokerConfig(props, { defaultShardWorkers: 1 }))
    }
    const log = options.logger === false || (options.logger === undefined && !options.server)
      ? silentLogger()
      : options.logger ?? createLogger({ format: config.logFormat, level: config.logLevel })
    for (const w of warnings) log.warn(w)
    // Library mode logs nothing by default: a misspelt or unsupported key must not pass unnoticed.
    if (options.logger === undefined && !options.server) {
      for (const w of warnings) {
        if (warnedConfig.has(w)) continue // once per process, not once per broker of a test suite
        warnedConfig.add(w)
        process.emitWarning(`Broker.start config: ${w}`, { type: 'SamsaConfigWarning', code: 'SAMSA_CONFIG' })
      }
    }
    const broker = new Broker(config, log, ownsDataDir)
    try {
      await broker.#start(!options.server)
    } catch (err) {
      await broker.stop().catch(() => {})
      throw err
    }
    return broker
  }

  get nodeId(): number {
    return this.config.nodeId
  }

  get clusterId(): string {
    return this.#clusterId
  }

  /** `host:port` of the first listener, for clients' bootstrap servers. */
  get bootstrap(): string {
    const first = this.#bound[0]
    if (!first) throw new Error('broker is not listening')
    const adv = this.config.advertisedListeners.get(first.name)
    return `${adv?.host ?? first.host}:${adv && adv.port !== 0 ? adv.port : first.port}`
  }

  get port(): number {
    return this.#bound[0]?.port ?? -1
  }

  get image(): MetadataImage {
    return this.#image
  }

  async #start(library: boolean): Promise<void> {
    const started = Date.now()
    const logDirPath = this.config.logDirs[0]!
    this.#logDir = LogDir.open(logDirPath, {
      nodeId: this.nodeId, logger: this.log, ...(this.config.clusterId ? { clusterId: this.config.clusterId } : {}),
    })
    this.#clusterId = this.#logDir.clusterId
    // Library mode shares one lazily started pool of 1–2 workers among all brokers in the process.
    const cleanerThreads = this.config.cleanerThreads
    this.#pool = library
      ? await ShardPool.acquireShared({ logger: this.log, cleanerThreads })
      : await ShardPool.start({ workers: this.config.shardWorkers, logger: this.log, cleanerThreads })
    const owner = `${this.nodeId}:${randomUUID()}`
    // Deleted topics' directories: those a previous run left, and each one a deletion leaves from now on.
    const reaper = this.#reaper = new DeletedPartitionReaper({ delayMs: this.config.fileDeleteDelayMs, log: this.log })
    for (const dir of this.#logDir.listDeletedPartitionDirs()) reaper.schedule(dir)
    this.#replicas = new ReplicaService({
      pool: this.#pool, owner, logDir: logDirPath, config: this.config, log: this.log,
      checkpoints: this.#logDir.startupCheckpoints(),
      onDirDeleted: (dir) => {
        reaper.schedule(dir)
        this.#checkpoints?.writeCleanerCheckpoint() // a deleted partition's entry goes at once, as in Kafka
      },
      onLogStartAdvanced: () => this.#checkpoints?.writeNow(),
    })
    this.#unsubscribe.push(this.#pool.onWatermarksMoved((handles) => {
      for (const h of handles) this.#notifyMoved(h)
    }))
    this.#unsubscribe.push(this.#pool.onCleaned(() => this.#checkpoints?.writeCleanerCheckpoint()))
    this.#metadata = new SingleVoterLog({ metadataLogDir: logDirPath, nodeId: this.nodeId, log: this.log })
    this.#metadata.onCommit((batch) => this.#onCommitted(batch))
    // Replay applies the whole committed log as one delta: each map is copied once, not once per batch.
    this.#replay = new MetadataDelta(this.#image)
    await this.#metadata.start()
    this.#image = this.#replay.image()
    this.#replay = null
    this.#publish(this.#image)
    await this.#applied
    this.#server = new KafkaServer({
      queuedMaxRequestBytes: this.config.queuedMaxRequestBytes,
      limits: { maxFrameBytes: this.config.socketRequestMaxBytes, maxInFlight: Math.min(this.config.queuedMaxRequests, 100), idleTimeoutMs: this.config.connectionsMaxIdleMs },
      log: this.log,
    })
    this.#bound = await this.#server.bind(this.config.listeners)
    const services = this.#services()
    await this.#register(services.controller)
    // Partitions are hosted (the image is applied): load group state from __consumer_offsets.
    this.#groups!.start()
    this.#server.serve(new Dispatcher(services, this.log))
    const metricsAt = this.config.metricsListener
    if (services.metrics !== null && metricsAt !== null) {
      this.#metricsEndpoint = await MetricsEndpoint.start(services.metrics.registry, metricsAt.host, metricsAt.port, this.log)
    }
    this.#checkpoints = new CheckpointWriter(this.#logDir, this.#replicas, this.config.offsetCheckpointIntervalMs, this.log)
    this.log.info({ nodeId: this.nodeId, clusterId: this.#clusterId, listeners: this.#bound, metrics: this.metricsUrl, logDir: logDirPath, ms: Date.now() - started }, 'Samsa broker started')
  }

  readonly #waiters = new WatermarkWaiters()
  #controller: ControllerService | null = null
  #producerIds: ProducerIdService | null = null
  #groups: GroupCoordinatorService | null = null

  #services(): BrokerServices {
    this.#controller = new ControllerService({
      log: this.#metadata!, image: () => this.#image, waitForOffset: (o) => this.#waitForOffset(o),
      defaultPartitions: this.config.numPartitions, defaultReplicationFactor: this.config.defaultReplicationFactor,
    })
    this.#producerIds = new ProducerIdService(this.#controller, this.nodeId, () => this.#brokerEpoch)
    const handlers = handlerTable()
    this.#groups = new GroupCoordinatorService({
      config: this.config, image: () => this.#image, controller: this.#controller, replicas: this.#replicas!, waiters: this.#waiters,
      router: this.#router, logger: this.log,
    })
    return {
      nodeId: this.nodeId, clusterId: this.#clusterId, config: this.config,
      image: () => this.#image, controller: this.#controller, replicas: this.#replicas!, waiters: this.#waiters,
      producerIds: this.#producerIds, groups: this.#groups, handlers, throttleTimeMs: () => 0,
      metrics: this.config.metricsListener === null ? null : this.#newMetrics(this.#replicas!, this.#groups),
    }
  }

  /** The metrics' scrape-time sources: hosted partitions' watermarks, the image, connections, committed offsets. */
  #newMetrics(replicas: ReplicaService, groups: GroupCoordinatorService): BrokerMetrics {
    return new BrokerMetrics(this.nodeId, {
      *partitions() {
        for (const p of replicas.hosted()) {
          const w = replicas.watermarks(p)
          yield { topic: p.topic, partition: p.partition, logStartOffset: w.logStartOffset, highWatermark: w.highWatermark, logEndOffset: w.logEndOffset }
        }
      },
      underReplicatedPartitions: () => {
        let n = 0
        for (const t of this.#image.topicsById.values()) for (const p of t.partitions) if (p.isr.length < p.replicas.length) n++
        return n
      },
      connections: () => this.#server?.connectionCount ?? 0,
      committedOffsets: async () => {
        const listed = await groups.coordinator.listGroups([], [])
        if (listed.error !== null) return null
        const out: { group: string; topic: string; partition: number; offset: number }[] = []
        for (const g of listed.groups) {
          const fetched = await groups.coordinator.fetchOffsets(g.groupId, null)
          for (const o of fetched.offsets) if (o.error === null) out.push({ group: g.groupId, topic: o.topic, partition: o.partition, offset: o.offset })
        }
        return out
      },
    })
  }

  /** `http://host:port/metrics` when `samsa.metrics.listener` is set (the real port when it was 0); null otherwise. */
  get metricsUrl(): string | null {
    return this.#metricsEndpoint?.url ?? null
  }

  #newRouter(): Router {
    const router = new Router({ node: this.nodeId, name: 'main', onError: (err, env) => this.log.error({ err, to: env.to, from: env.from }, 'actor message failed') })
    const threads = new Map<string, Logger>()
    router.register(LOG_ACTOR, (line, { from }) => {
      let child = threads.get(from.actor)
      if (!child) threads.set(from.actor, (child = this.log.child({ thread: from.actor })))
      replayLine(child, line as ForwardedLine)
    })
    return router
  }

  /** Registers this broker (a new incarnation each start) with its real, advertised endpoints. */
  async #register(controller: ControllerService): Promise<void> {
    const endPoints = this.#bound.map((b) => {
      const adv = this.config.advertisedListeners.get(b.name)
      return { name: b.name, host: adv?.host ?? b.host, port: adv && adv.port !== 0 ? adv.port : b.port, securityProtocol: PLAINTEXT }
    })
    const brokerEpoch = this.#image.offset + 1
    const result = await controller.propose([
      { type: 'RegisterBroker', brokerId: this.nodeId, incarnationId: randomUuid(), brokerEpoch, endPoints, rack: null, fenced: false },
    ])
    if ('error' in result) throw new Error(`broker registration failed: ${result.message}`)
    this.#brokerEpoch = brokerEpoch
  }

  #onCommitted(batch: CommittedBatch): void {
    if (this.#replay) {
      batch.records.forEach((record, i) => this.#replay!.apply(batch.baseOffset + i, record))
      return
    }
    this.#image = applyRecords(this.#image, batch.records.map((record, i) => ({ offset: batch.baseOffset + i, record })))
    this.#publish(this.#image)
  }

  /** Brings hosted partitions in line with `image`, then releases handlers waiting for its offset. */
  #publish(image: MetadataImage): void {
    this.#applied = this.#applied.then(() => this.#replicas!.reconcile(image)).then(() => {
      this.#appliedOffset = image.offset
      this.#offsetWaiters = this.#offsetWaiters.filter((w) => {
        if (w.offset > image.offset) return true
        w.resolve()
        return false
      })
    })
  }

  /** Wakes long-polling fetches of the partition behind `handle`. */
  #notifyMoved(handle: { key: string }): void {
    const p = this.#replicas!.byHandleKey(handle.key)
    if (p) this.#waiters.notify(partitionKey(p.topicId, p.partition))
  }

  #waitForOffset(offset: number): Promise<void> {
    if (this.#appliedOffset >= offset) return Promise.resolve()
    return new Promise((resolve) => this.#offsetWaiters.push({ offset, resolve }))
  }

  /** Tests only: group state loads started from now on wait until the returned function is called. */
  holdGroupLoadForTest(): () => void {
    return this.#groups?.holdLoadForTest() ?? (() => {})
  }

  /** Tests only: kills the group coordinator's worker thread (a crash); false when none runs. */
  killGroupCoordinatorForTest(): Promise<boolean> {
    return this.#groups?.killWorkerForTest() ?? Promise.resolve(false)
  }

  /**
   * Stops listeners, closes partitions cleanly, ends worker threads; removes the data folder
   * Broker.start created. Calling it again (also while a stop is under way) returns the same
   * promise, so every caller waits until the broker is really stopped.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    await this.#metricsEndpoint?.close()
    await this.#server?.close()
    this.#checkpoints?.stop()
    // Group writes go through the partitions: finish them before partitions close.
    await this.#groups?.stop()
    this.#router.close()
    await this.#applied.catch(() => {})
    await this.#replicas?.close().catch((err: unknown) => this.log.error({ err }, 'closing partitions failed'))
    this.#checkpoints?.writeNow()
    for (const off of this.#unsubscribe.splice(0)) off()
    await this.#reaper?.stop()
    await this.#metadata?.close()
    await this.#pool?.release()
    // Only when every partition closed cleanly: one that failed must be recovered at the next start.
    this.#logDir?.close({ clean: this.#replicas?.closedCleanly ?? false, brokerEpoch: this.#brokerEpoch })
    // Retries: a compaction task of this broker may still be finishing on the shared cleaner pool.
    if (this.#ownsDataDir) rmSync(this.#ownsDataDir, { recursive: true, force: true, maxRetries: 3 })
    this.log.info({ nodeId: this.nodeId }, 'Samsa broker stopped')
  }
}
