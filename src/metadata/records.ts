/**
 * The metadata records Samsa's image understands: Kafka's own record types (schemas in
 * kafka-spec/metadata), as a tagged union. The wire form of each is the generated codec's
 * (`src/protocol/metadata-records/`); see record-codec.ts.
 */
export interface BrokerEndpoint { name: string; host: string; port: number; securityProtocol: number }

export type MetadataRecord =
  | { type: 'RegisterBroker'; brokerId: number; incarnationId: string; brokerEpoch: number; endPoints: BrokerEndpoint[]; rack: string | null; fenced: boolean }
  | { type: 'UnregisterBroker'; brokerId: number; brokerEpoch: number }
  | { type: 'FenceBroker'; id: number; epoch: number }
  | { type: 'UnfenceBroker'; id: number; epoch: number }
  | { type: 'Topic'; name: string; topicId: string }
  | { type: 'Partition'; partitionId: number; topicId: string; replicas: number[]; isr: number[]; leader: number; leaderEpoch: number; partitionEpoch: number }
  | { type: 'PartitionChange'; partitionId: number; topicId: string; isr: number[] | null; leader: number /* -2: no change */; replicas: number[] | null }
  | { type: 'RemoveTopic'; topicId: string }
  | { type: 'Config'; resourceType: number; resourceName: string; name: string; value: string | null }
  | { type: 'ProducerIds'; brokerId: number; brokerEpoch: number; nextProducerId: number }
  | { type: 'FeatureLevel'; name: string; featureLevel: number }
  | { type: 'NoOp' }

/** Kafka's ConfigResource types (DescribeConfigs, ConfigRecord). */
export const RESOURCE_TYPE = { TOPIC: 2, BROKER: 4 } as const

/** PartitionChangeRecord's "leader unchanged" marker. */
export const LEADER_NO_CHANGE = -2
