/**
 * The metadata image: what the committed metadata log says, as immutable values.
 *
 * Images are replaced, never mutated. A batch of records is applied through a MetadataDelta,
 * which copies each touched top-level map once per batch and shares everything it did not
 * touch with the previous image ("structural sharing"): replaying 100,000 records costs
 * O(records + touched entries), not O(records × image size).
 *
 * The reducer is deterministic: everything random (topic ids, placement, producer-id blocks)
 * was decided by the controller before it proposed the records.
 */
import { assert } from '../lib/assert.ts'
import { LEADER_NO_CHANGE, RESOURCE_TYPE, type BrokerEndpoint, type MetadataRecord } from './records.ts'

export interface PartitionImage {
  readonly partition: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  readonly leader: number
  readonly leaderEpoch: number
  readonly partitionEpoch: number
}

export interface TopicImage {
  readonly name: string
  readonly topicId: string
  /** Indexed by partition number; invariant: partitions[i].partition === i. */
  readonly partitions: readonly PartitionImage[]
}

export interface BrokerImage {
  readonly brokerId: number
  readonly incarnationId: string
  readonly brokerEpoch: number
  readonly endPoints: readonly BrokerEndpoint[]
  readonly rack: string | null
  readonly fenced: boolean
}

export interface MetadataImage {
  /** Offset of the last record applied (-1: empty). */
  readonly offset: number
  readonly topicsById: ReadonlyMap<string, TopicImage>
  readonly topicIdsByName: ReadonlyMap<string, string>
  readonly brokers: ReadonlyMap<number, BrokerImage>
  /** Topic configs: topic name → key → value (only keys set explicitly). */
  readonly topicConfigs: ReadonlyMap<string, ReadonlyMap<string, string>>
  /** Next producer id not yet handed out in a block. */
  readonly nextProducerId: number
  readonly features: ReadonlyMap<string, number>
}

export const EMPTY_IMAGE: MetadataImage = {
  offset: -1,
  topicsById: new Map(),
  topicIdsByName: new Map(),
  brokers: new Map(),
  topicConfigs: new Map(),
  nextProducerId: 0,
  features: new Map(),
}

/** Applies records to an image; call apply() per record, then image() once. */
export class MetadataDelta {
  readonly #base: MetadataImage
  #offset: number
  #topicsById: Map<string, TopicImage> | null = null
  #topicIdsByName: Map<string, string> | null = null
  #brokers: Map<number, BrokerImage> | null = null
  #topicConfigs: Map<string, ReadonlyMap<string, string>> | null = null
  #features: Map<string, number> | null = null
  #nextProducerId: number

  constructor(base: MetadataImage) {
    this.#base = base
    this.#offset = base.offset
    this.#nextProducerId = base.nextProducerId
  }

  #topics(): Map<string, TopicImage> {
    return (this.#topicsById ??= new Map(this.#base.topicsById))
  }
  #names(): Map<string, string> {
    return (this.#topicIdsByName ??= new Map(this.#base.topicIdsByName))
  }
  #brokerMap(): Map<number, BrokerImage> {
    return (this.#brokers ??= new Map(this.#base.brokers))
  }
  #configs(): Map<string, ReadonlyMap<string, string>> {
    return (this.#topicConfigs ??= new Map(this.#base.topicConfigs))
  }
  #topic(id: string): TopicImage | undefined {
    return (this.#topicsById ?? this.#base.topicsById).get(id)
  }

  apply(offset: number, record: MetadataRecord): void {
    assert(offset > this.#offset, `metadata offsets must increase: ${offset} after ${this.#offset}`)
    this.#offset = offset
    switch (record.type) {
      case 'Topic': {
        assert(!this.#topic(record.topicId), `topic id ${record.topicId} registered twice`)
        this.#topics().set(record.topicId, { name: record.name, topicId: record.topicId, partitions: [] })
        this.#names().set(record.name, record.topicId)
        return
      }
      case 'Partition': return this.#applyPartition(record)
      case 'PartitionChange': return this.#applyPartitionChange(record)
      case 'RemoveTopic': {
        const topic = this.#topic(record.topicId)
        if (!topic) return
        this.#topics().delete(record.topicId)
        this.#names().delete(topic.name)
        if ((this.#topicConfigs ?? this.#base.topicConfigs).has(topic.name)) this.#configs().delete(topic.name)
        return
      }
      case 'Config': return this.#applyConfig(record)
      case 'RegisterBroker': {
        const { brokerId, incarnationId, brokerEpoch, endPoints, rack, fenced } = record
        this.#brokerMap().set(brokerId, { brokerId, incarnationId, brokerEpoch, endPoints, rack, fenced })
        return
      }
      case 'UnregisterBroker': {
        this.#brokerMap().delete(record.brokerId)
        return
      }
      case 'FenceBroker':
      case 'UnfenceBroker': {
        const b = (this.#brokers ?? this.#base.brokers).get(record.id)
        if (b) this.#brokerMap().set(record.id, { ...b, fenced: record.type === 'FenceBroker' })
        return
      }
      case 'ProducerIds': {
        assert(record.nextProducerId >= this.#nextProducerId, 'producer id blocks must move forward')
        this.#nextProducerId = record.nextProducerId
        return
      }
      case 'FeatureLevel': {
        ;(this.#features ??= new Map(this.#base.features)).set(record.name, record.featureLevel)
        return
      }
      case 'NoOp': return
    }
  }

  #applyPartition(r: Extract<MetadataRecord, { type: 'Partition' }>): void {
    const topic = this.#topic(r.topicId)
    assert(topic, `PartitionRecord for unknown topic ${r.topicId}`)
    assert(r.partitionId <= topic.partitions.length, `partition ${r.partitionId} of ${topic.name} skips a number`)
    const partitions = topic.partitions.slice()
    partitions[r.partitionId] = {
      partition: r.partitionId, replicas: r.replicas, isr: r.isr, leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch,
    }
    this.#topics().set(r.topicId, { ...topic, partitions })
  }

  #applyPartitionChange(r: Extract<MetadataRecord, { type: 'PartitionChange' }>): void {
    const topic = this.#topic(r.topicId)
    const old = topic?.partitions[r.partitionId]
    assert(topic && old, `PartitionChangeRecord for unknown partition ${r.topicId}/${r.partitionId}`)
    const leaderChanged = r.leader !== LEADER_NO_CHANGE && r.leader !== old.leader
    const next: PartitionImage = {
      partition: old.partition,
      replicas: r.replicas ?? old.replicas,
      isr: r.isr ?? old.isr,
      leader: r.leader === LEADER_NO_CHANGE ? old.leader : r.leader,
      // As in KRaft: every change bumps the partition epoch; only a leader change bumps the leader epoch.
      leaderEpoch: leaderChanged ? old.leaderEpoch + 1 : old.leaderEpoch,
      partitionEpoch: old.partitionEpoch + 1,
    }
    const partitions = topic.partitions.slice()
    partitions[r.partitionId] = next
    this.#topics().set(r.topicId, { ...topic, partitions })
  }

  #applyConfig(r: Extract<MetadataRecord, { type: 'Config' }>): void {
    if (r.resourceType !== RESOURCE_TYPE.TOPIC) return
    const current = (this.#topicConfigs ?? this.#base.topicConfigs).get(r.resourceName)
    const next = new Map(current)
    if (r.value === null) next.delete(r.name)
    else next.set(r.name, r.value)
    if (next.size === 0) this.#configs().delete(r.resourceName)
    else this.#configs().set(r.resourceName, next)
  }

  image(): MetadataImage {
    const b = this.#base
    return {
      offset: this.#offset,
      topicsById: this.#topicsById ?? b.topicsById,
      topicIdsByName: this.#topicIdsByName ?? b.topicIdsByName,
      brokers: this.#brokers ?? b.brokers,
      topicConfigs: this.#topicConfigs ?? b.topicConfigs,
      nextProducerId: this.#nextProducerId,
      features: this.#features ?? b.features,
    }
  }
}

export function applyRecords(image: MetadataImage, records: Iterable<{ offset: number; record: MetadataRecord }>): MetadataImage {
  const delta = new MetadataDelta(image)
  for (const { offset, record } of records) delta.apply(offset, record)
  return delta.image()
}

export function topicByName(image: MetadataImage, name: string): TopicImage | undefined {
  const id = image.topicIdsByName.get(name)
  return id === undefined ? undefined : image.topicsById.get(id)
}
