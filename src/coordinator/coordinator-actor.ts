/**
 * The group coordinator as an actor (runs on a coordinator worker, actors/coordinator-worker.ts):
 * the pure GroupCoordinator with the system clock, persisted through GroupLogClient, serving
 * CoordinatorCalls that arrive through the router. Session and rebalance timers run on this
 * thread, so a busy network thread cannot delay them into false evictions.
 *
 * Availability: until `load` is called (the network thread calls it once __consumer_offsets
 * exists) every group request gets COORDINATOR_NOT_AVAILABLE; while loading,
 * COORDINATOR_LOAD_IN_PROGRESS; a failed load leaves it not available.
 */
import { unreachable } from '../lib/assert.ts'
import type { Logger } from '../lib/logger.ts'
import type { Router } from '../router/router.ts'
import { restoreBuffers } from '../router/structured.ts'
import { GROUP_COORDINATOR_ACTOR, type CoordinatorCall, type CoordinatorReplies } from './actor-protocol.ts'
import { systemClock, type CoordinatorClock, type CoordinatorConfig, type GroupLog, type GroupRecord } from './context.ts'
import { GroupCoordinator } from './coordinator.ts'
import { GroupLogClient } from './group-log-client.ts'

export interface CoordinatorActorOptions {
  readonly router: Router
  readonly config: CoordinatorConfig
  readonly logger: Logger
  readonly clock?: CoordinatorClock
}

export class CoordinatorActor {
  readonly #coordinator: GroupCoordinator
  readonly #log: GroupLogClient
  readonly #logger: Logger
  #loading: Promise<null> | null = null
  /** Writes still in flight; `stop` waits for them. */
  readonly #inFlight = new Set<Promise<unknown>>()
  #stopped = false

  constructor(o: CoordinatorActorOptions) {
    this.#logger = o.logger
    this.#log = new GroupLogClient(o.router, o.logger)
    const log: GroupLog = {
      append: (groupId: string, records: readonly GroupRecord[]) => {
        if (this.#stopped) return Promise.resolve('coordinator_not_available' as const)
        const p = this.#log.append(groupId, records)
        this.#inFlight.add(p)
        return p.finally(() => this.#inFlight.delete(p))
      },
    }
    this.#coordinator = new GroupCoordinator({ clock: o.clock ?? systemClock, log, config: o.config, logger: o.logger })
    this.#coordinator.setAvailability('coordinator_not_available')
    o.router.register(GROUP_COORDINATOR_ACTOR, (body) => this.handle(restoreBuffers(body as CoordinatorCall)))
  }

  /** One call; the reply is the coordinator's value (errors are values, never exceptions). */
  handle(call: CoordinatorCall): CoordinatorReplies[CoordinatorCall['op']] | Promise<CoordinatorReplies[CoordinatorCall['op']]> {
    const c = this.#coordinator
    switch (call.op) {
      case 'join': return c.joinGroup(call.req)
      case 'sync': return c.syncGroup(call.req)
      case 'heartbeat': return c.heartbeat(call.req)
      case 'leave': return c.leaveGroup(call.groupId, call.members)
      case 'commit': return c.commitOffsets(call.req)
      case 'fetch': return c.fetchOffsets(call.groupId, call.topics)
      case 'deleteOffsets': return c.deleteOffsets(call.groupId, call.partitions)
      case 'describe': return c.describeGroups(call.groupIds)
      case 'list': return c.listGroups(call.states, call.types)
      case 'deleteGroups': return c.deleteGroups(call.groupIds)
      case 'load': return this.#load()
      case 'stop': return this.#stop()
      default: return unreachable(call, 'coordinator call')
    }
  }

  #load(): Promise<null> {
    if (this.#stopped) return Promise.resolve(null)
    this.#loading ??= (async () => {
      this.#coordinator.setAvailability('coordinator_load_in_progress')
      const started = Date.now()
      try {
        const records = await this.#log.load((r) => this.#coordinator.replay(r))
        if (this.#stopped) return null
        this.#coordinator.finishLoading()
        this.#coordinator.setAvailability(null)
        this.#logger.info({ records, ms: Date.now() - started }, 'group state loaded from __consumer_offsets')
      } catch (err) {
        this.#logger.error({ err }, 'loading __consumer_offsets failed; group coordinator unavailable')
        this.#coordinator.setAvailability('coordinator_not_available')
      }
      return null
    })()
    return this.#loading
  }

  async #stop(): Promise<null> {
    this.#stopped = true
    this.#coordinator.stop()
    await this.#loading
    await Promise.allSettled([...this.#inFlight])
    return null
  }
}
