/**
 * The controller as the broker's handlers see it: plan (pure, src/metadata/controller.ts),
 * propose to the metadata log, wait until this broker's image has applied the result.
 *
 * Proposals are serialized: each plan is made against the image that includes every earlier
 * proposal, so two concurrent CreateTopics of the same name cannot both succeed.
 */
import { randomInt } from 'node:crypto'
import { randomUuid } from '../protocol/primitives/uuid.ts'
import {
  planCreatePartitions, planCreateTopic, planDeleteTopic, planProducerIdBlock,
  type ControllerContext, type ControllerError, type CreateTopicRequest, type Plan,
} from '../metadata/controller.ts'
import type { MetadataImage, TopicImage } from '../metadata/image.ts'
import type { MetadataLog } from '../metadata/metadata-log.ts'
import type { MetadataRecord } from '../metadata/records.ts'
import { topicByName } from '../metadata/image.ts'

export type ControllerResult<T> = T | { readonly error: ControllerError | 'not_controller'; readonly message: string }

export interface ControllerServiceDeps {
  readonly log: MetadataLog
  image(): MetadataImage
  /** Resolves once the local image (and the partitions it hosts) reflect `offset`. */
  waitForOffset(offset: number): Promise<void>
  readonly defaultPartitions: number
  readonly defaultReplicationFactor: number
}

export class ControllerService {
  readonly #deps: ControllerServiceDeps
  #queue: Promise<unknown> = Promise.resolve()
  readonly #ctx: ControllerContext

  constructor(deps: ControllerServiceDeps) {
    this.#deps = deps
    this.#ctx = {
      newTopicId: randomUuid,
      randomInt: (n) => randomInt(n),
      defaultPartitions: deps.defaultPartitions,
      defaultReplicationFactor: deps.defaultReplicationFactor,
    }
  }

  /** Runs plan → propose → wait, one at a time. */
  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn)
    this.#queue = next.catch(() => {})
    return next
  }

  async #commit(records: MetadataRecord[]): Promise<{ offset: number } | { error: 'not_controller'; message: string }> {
    const result = await this.#deps.log.propose(records)
    if ('error' in result) return { error: 'not_controller', message: `This node is not the active controller (leader: ${result.leaderId ?? 'none'})` }
    await this.#deps.waitForOffset(result.offset)
    return { offset: result.offset }
  }

  createTopic(req: CreateTopicRequest, validateOnly: boolean): Promise<ControllerResult<{ topic: TopicImage | null; plan: { records: MetadataRecord[] } }>> {
    return this.#serialize(async () => {
      const plan = planCreateTopic(this.#deps.image(), req, this.#ctx)
      if ('error' in plan) return plan
      if (validateOnly) return { topic: null, plan }
      const committed = await this.#commit(plan.records)
      if ('error' in committed) return committed
      return { topic: topicByName(this.#deps.image(), req.name) ?? null, plan }
    })
  }

  autoCreateTopic(name: string): Promise<ControllerResult<{ topic: TopicImage | null }>> {
    return this.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [] }, false)
  }

  deleteTopic(topicId: string): Promise<ControllerResult<{ name: string }>> {
    return this.#serialize(async () => {
      const topic = this.#deps.image().topicsById.get(topicId)
      const plan = planDeleteTopic(this.#deps.image(), topicId)
      if ('error' in plan) return plan
      const committed = await this.#commit(plan.records)
      if ('error' in committed) return committed
      return { name: topic!.name }
    })
  }

  createPartitions(name: string, count: number, assignments: number[][] | null, validateOnly: boolean): Promise<ControllerResult<{ ok: true }>> {
    return this.#serialize(async () => {
      const plan = planCreatePartitions(this.#deps.image(), name, count, assignments, this.#ctx)
      if ('error' in plan) return plan
      if (validateOnly) return { ok: true as const }
      const committed = await this.#commit(plan.records)
      if ('error' in committed) return committed
      return { ok: true as const }
    })
  }

  /**
   * AlterConfigs / IncrementalAlterConfigs of one resource: `plan` runs against the latest image
   * (after every earlier proposal), and its ConfigRecords are committed unless `validateOnly`.
   */
  alterConfigs(plan: (image: MetadataImage) => Plan, validateOnly: boolean): Promise<ControllerResult<{ ok: true }>> {
    return this.#serialize(async () => {
      const planned = plan(this.#deps.image())
      if ('error' in planned) return planned
      if (validateOnly || planned.records.length === 0) return { ok: true as const }
      const committed = await this.#commit(planned.records)
      if ('error' in committed) return committed
      return { ok: true as const }
    })
  }

  /** Reserves a block of producer ids for `brokerId` through the log, so ids are never reused. */
  allocateProducerIdBlock(brokerId: number, brokerEpoch: number): Promise<ControllerResult<{ firstId: number; count: number }>> {
    return this.#serialize(async () => {
      const plan = planProducerIdBlock(this.#deps.image(), brokerId, brokerEpoch)
      const committed = await this.#commit(plan.records)
      if ('error' in committed) return committed
      const record = plan.records[0]!
      return { firstId: plan.firstId, count: (record as { nextProducerId: number }).nextProducerId - plan.firstId }
    })
  }

  /** Proposes records decided elsewhere (broker registration at start-up). */
  propose(records: MetadataRecord[]): Promise<ControllerResult<{ offset: number }>> {
    return this.#serialize(() => this.#commit(records))
  }
}
