/**
 * MetadataRecord ⇄ Kafka's metadata record values (frame version 1, api key, version, body),
 * using the generated codecs. Samsa writes the newest version of each record it knows; it
 * reads every version and ignores record types it does not use (they replay as NoOp).
 */
import { decodeMetadataRecordValue, encodeMetadataRecordValue, METADATA_RECORDS } from '../protocol/metadata-records/index.ts'
import type { MetadataRecord } from './records.ts'

type Generated<K extends keyof typeof METADATA_RECORDS> = ReturnType<(typeof METADATA_RECORDS)[K]['default']>

function build<K extends keyof typeof METADATA_RECORDS>(key: K, fields: Partial<Generated<K>>): Buffer {
  const codec = METADATA_RECORDS[key]
  const record = { ...codec.default(), ...fields }
  return encodeMetadataRecordValue(Number(key), codec.maxVersion, record)
}

export function encodeMetadataRecord(r: MetadataRecord): Buffer {
  switch (r.type) {
    case 'RegisterBroker':
      return build(0, { brokerId: r.brokerId, incarnationId: r.incarnationId, brokerEpoch: r.brokerEpoch, endPoints: r.endPoints, rack: r.rack, fenced: r.fenced })
    case 'UnregisterBroker': return build(1, { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch })
    case 'Topic': return build(2, { name: r.name, topicId: r.topicId })
    case 'Partition':
      return build(3, { partitionId: r.partitionId, topicId: r.topicId, replicas: r.replicas, isr: r.isr, leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch })
    case 'Config': return build(4, { resourceType: r.resourceType, resourceName: r.resourceName, name: r.name, value: r.value })
    case 'PartitionChange':
      return build(5, { partitionId: r.partitionId, topicId: r.topicId, isr: r.isr, leader: r.leader, replicas: r.replicas })
    case 'FenceBroker': return build(7, { id: r.id, epoch: r.epoch })
    case 'UnfenceBroker': return build(8, { id: r.id, epoch: r.epoch })
    case 'RemoveTopic': return build(9, { topicId: r.topicId })
    case 'FeatureLevel': return build(12, { name: r.name, featureLevel: r.featureLevel })
    case 'ProducerIds': return build(15, { brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, nextProducerId: r.nextProducerId })
    case 'NoOp': return build(20, {})
  }
}

/** Decodes a record value; types Samsa does not use become NoOp. Throws DecodeError on garbage. */
export function decodeMetadataRecord(value: Buffer): MetadataRecord {
  const { apiKey, record } = decodeMetadataRecordValue(value)
  const r = record as Record<string, never>
  switch (apiKey) {
    case 0: return { type: 'RegisterBroker', brokerId: r.brokerId, incarnationId: r.incarnationId, brokerEpoch: r.brokerEpoch, endPoints: r.endPoints, rack: r.rack, fenced: r.fenced }
    case 1: return { type: 'UnregisterBroker', brokerId: r.brokerId, brokerEpoch: r.brokerEpoch }
    case 2: return { type: 'Topic', name: r.name, topicId: r.topicId }
    case 3: return { type: 'Partition', partitionId: r.partitionId, topicId: r.topicId, replicas: r.replicas, isr: r.isr, leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch }
    case 4: return { type: 'Config', resourceType: r.resourceType, resourceName: r.resourceName, name: r.name, value: r.value }
    case 5: return { type: 'PartitionChange', partitionId: r.partitionId, topicId: r.topicId, isr: r.isr, leader: r.leader, replicas: r.replicas }
    case 7: return { type: 'FenceBroker', id: r.id, epoch: r.epoch }
    case 8: return { type: 'UnfenceBroker', id: r.id, epoch: r.epoch }
    case 9: return { type: 'RemoveTopic', topicId: r.topicId }
    case 12: return { type: 'FeatureLevel', name: r.name, featureLevel: r.featureLevel }
    case 15: return { type: 'ProducerIds', brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, nextProducerId: r.nextProducerId }
    default: return { type: 'NoOp' }
  }
}
