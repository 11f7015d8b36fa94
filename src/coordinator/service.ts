/**
 * The group coordinator as the broker runs it (network thread side): the coordinator itself is
 * an actor on its own worker thread (actors/coordinator-worker.ts, coordinator-actor.ts),
 * reached through the broker's router; this service starts that worker, serves its reads and
 * writes of __consumer_offsets (the group-log actor on the main router), creates the topic on
 * first FindCoordinator, and exposes `coordinator` (a CoordinatorClient) to the handlers.
 *
 * The worker starts when it is first needed — at start-up if __consumer_offsets exists, else
 * at the first FindCoordinator — so a broker nobody uses groups with costs no thread. If it
 * dies, group requests get COORDINATOR_NOT_AVAILABLE, clients ask FindCoordinator again, and
 * that starts a new worker that reloads the group state from the log.
 *
 * Availability: before __consumer_offsets exists, COORDINATOR_NOT_AVAILABLE; while it loads,
 * COORDINATOR_LOAD_IN_PROGRESS (answered by the actor).
 */
import { MessageChannel, Worker } from 'node:worker_threads'
import type { BrokerConfig } from '../config/broker-config.ts'
import type { Logger } from '../lib/logger.ts'
import type { MetadataImage } from '../metadata/image.ts'
import type { ControllerService } from '../broker/controller-service.ts'
import type { ReplicaService } from '../broker/replica-service.ts'
import type { WatermarkWaiters } from '../kafka/watermark-waiters.ts'
import { PortLink } from '../router/port-link.ts'
import type { Router } from '../router/router.ts'
import { restoreBuffers } from '../router/structured.ts'
import { GROUP_COORDINATOR_ACTOR, GROUP_LOG_ACTOR, type CoordinatorWorkerData, type GroupLogCall } from './actor-protocol.ts'
import type { CoordinatorConfig } from './context.ts'
import { CoordinatorClient } from './coordinator-client.ts'
import type { CoordinatorError } from './errors.ts'
import { OffsetsTopic } from './offsets-topic.ts'

const WORKER_URL = new URL('../../actors/coordinator-worker.ts', import.meta.url)
/** A clean stop answers parked requests and waits for in-flight writes (each bounded at 30 s). */
const STOP_TIMEOUT_MS = 40_000
/** How long FindCoordinator waits for a loading coordinator before answering anyway. */
const FIND_WAIT_MS = 5_000

export interface GroupCoordinatorServiceDeps {
  readonly config: BrokerConfig
  image(): MetadataImage
  readonly controller: ControllerService
  readonly replicas: ReplicaService
  readonly waiters: WatermarkWaiters
  readonly router: Router
  readonly logger: Logger
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
    maxGroupSize: num('group.max.size'),
  }
}

interface RunningWorker {
  readonly worker: Worker
  readonly link: PortLink
  /** The actor's load of group state (started once per worker). */
  loading: Promise<unknown> | null
}

export class GroupCoordinatorService {
  readonly coordinator: CoordinatorClient
  readonly #deps: GroupCoordinatorServiceDeps
  readonly #topic: OffsetsTopic
  #running: RunningWorker | null = null
  #stopped = false
  /** Tests only: while set, loads wait here (holdLoadForTest). */
  #loadGate: Promise<void> | null = null

  constructor(deps: GroupCoordinatorServiceDeps) {
    this.#deps = deps
    this.#topic = new OffsetsTopic({
      image: deps.image, controller: deps.controller, replicas: deps.replicas, waiters: deps.waiters,
      numPartitions: Number(deps.config.raw.get('offsets.topic.num.partitions')),
      replicationFactor: Number(deps.config.raw.get('offsets.topic.replication.factor')),
      segmentBytes: Number(deps.config.raw.get('offsets.topic.segment.bytes')),
      logger: deps.logger,
    })
    this.coordinator = new CoordinatorClient(deps.router, () => this.#running !== null && !this.#stopped)
    // JoinGroup and SyncGroup park until a rebalance completes: a window of 256 would let 256
    // parked members stall every group. Connections' in-flight caps bound these asks instead.
    deps.router.setWindow({ node: deps.router.node, actor: GROUP_COORDINATOR_ACTOR }, Number.MAX_SAFE_INTEGER)
    deps.router.register(GROUP_LOG_ACTOR, (body) => this.#serveLog(restoreBuffers(body as GroupLogCall)))
  }

  /** The group-log actor: the coordinator's reads and writes of __consumer_offsets. */
  async #serveLog(call: GroupLogCall): Promise<unknown> {
    switch (call.op) {
      case 'append': return this.#topic.append(call.groupId, call.batch as Buffer)
      case 'partitions':
        await this.#loadGate
        return this.#topic.partitions()
      // Copied into the reply (structured clone): the fetched buffer's memory is the shard's to recycle.
      case 'read': return this.#topic.read(call.partition, call.offset)
    }
  }

  /** Called once the broker hosts its partitions: loads existing group state in the background. */
  start(): void {
    if (this.#topic.topic()) void this.#load()
  }

  /** Starts the worker if none runs, then its load (once per worker); resolves when loaded. */
  #load(): Promise<unknown> {
    const running = this.#running ?? this.#startWorker()
    running.loading ??= this.coordinator.call({ op: 'load' })
    return running.loading
  }

  #startWorker(): RunningWorker {
    const { port1, port2 } = new MessageChannel()
    const data: CoordinatorWorkerData = {
      nodeId: this.#deps.router.node, hub: port2, config: coordinatorConfig(this.#deps.config), logLevel: this.#deps.logger.level,
    }
    const worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2], name: `samsa-group-coordinator-${data.nodeId}` })
    const link = new PortLink('group coordinator worker', port1)
    this.#deps.router.routeActors(link, [GROUP_COORDINATOR_ACTOR])
    const running: RunningWorker = { worker, link, loading: null }
    this.#running = running
    worker.on('error', (err) => this.#deps.logger.error({ err }, 'group coordinator worker failed'))
    worker.on('exit', (code) => {
      if (this.#running !== running) return
      // Not a stop: a crash. Requests get COORDINATOR_NOT_AVAILABLE until FindCoordinator starts a new worker.
      this.#running = null
      this.#deps.router.removeLink(link)
      if (!this.#stopped) this.#deps.logger.error({ code }, 'group coordinator worker exited; a new one starts at the next FindCoordinator')
    })
    return running
  }

  /**
   * FindCoordinator for a group: this node, once __consumer_offsets exists (created on first
   * use, as Kafka does) and a coordinator actor runs. A load longer than FIND_WAIT_MS
   * continues after the answer; requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS.
   */
  async findCoordinator(): Promise<CoordinatorError | null> {
    if (this.#stopped) return 'coordinator_not_available'
    const created = await this.#topic.ensureCreated()
    if (created) return created
    // Answer once the load is done (it usually is: it starts with the broker), so a client is
    // sent to a coordinator that serves; some clients (kafkajs admin) do not retry
    // COORDINATOR_LOAD_IN_PROGRESS. A long load is not waited for past FIND_WAIT_MS.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#load(), new Promise((resolve) => { timer = setTimeout(resolve, FIND_WAIT_MS) })])
    clearTimeout(timer)
    return null
  }

  /** Tests only: loads started from now on wait until the returned function is called. */
  holdLoadForTest(): () => void {
    let release = (): void => {}
    this.#loadGate = new Promise<void>((resolve) => { release = resolve })
    return () => {
      this.#loadGate = null
      release()
    }
  }

  /** Tests only: kills the coordinator's thread, as a crash would. False when none runs. */
  async killWorkerForTest(): Promise<boolean> {
    const running = this.#running
    if (!running) return false
    await running.worker.terminate()
    return true
  }

  /** Answers parked requests, cancels timers and waits for in-flight writes; then ends the worker. */
  async stop(): Promise<void> {
    const running = this.#running
    if (running) {
      await this.coordinator.call({ op: 'stop' }, STOP_TIMEOUT_MS)
      this.#stopped = true
      this.#running = null
      this.#deps.router.removeLink(running.link)
      await running.worker.terminate()
    }
    this.#stopped = true
    this.#deps.router.unregister(GROUP_LOG_ACTOR)
  }
}
