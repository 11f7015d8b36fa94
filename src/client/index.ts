/**
 * Samsa's own small Kafka client, built on the generated protocol codecs: used by the
 * command-line tools, and by benchmarks and tests that need exact control over requests.
 *
 * - `Connection`: one socket, pipelined requests, ApiVersions negotiation.
 * - `KafkaClient`: bootstrap, metadata, leader routing, a connection per broker.
 * - `Admin`: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, ListOffsets.
 * - `ConfigAdmin`: DescribeConfigs with synonyms, IncrementalAlterConfigs (topic and broker resources).
 * - `Producer`: batching producer (murmur2 partitioner, any codec).
 * - `Fetcher`: consumer by assignment (no group), long-polling Fetch per leader.
 * - `GroupMember`, `GroupConsumer`: classic consumer group membership (range/roundrobin
 *   assignors, heartbeats, eager rebalances) and a consumer that commits what it returned.
 * - `GroupAdmin`: list, describe and delete groups; committed offsets; offset resets.
 */
export { Connection, parseHostPort, type ConnectionOptions, type ApiKey, type RequestOf, type ResponseOf } from './connection.ts'
export { KafkaClient, parseBootstrap, type ClientOptions, type ClusterMetadata, type TopicInfo, type PartitionInfo, type BrokerInfo } from './client.ts'
export { Admin, CONFIG_SOURCE, EARLIEST, LATEST, type NewTopic, type TopicResult, type ConfigEntry, type PartitionOffset } from './admin.ts'
export { ConfigAdmin, CONFIG_OPERATION, RESOURCE_TYPE, configSourceName, type ConfigResource, type ConfigOp, type ConfigSynonym, type DescribedConfig, type DescribedResource, type AlterResult } from './config-admin.ts'
export { Producer, murmur2, partitionForKey, type ProducerOptions, type ProducerRecord, type RecordMetadata } from './producer.ts'
export { Fetcher, decodePartitionData, type Assignment, type FetcherOptions, type ConsumerRecord, type RawPartitionData, type StartOffset } from './fetcher.ts'
export { buildBatch, decodeBatch, decodeBatches, type BuildOptions } from './records.ts'
export { CODECS, compress, decompress, parseCodec, type CompressionType } from './compression.ts'
export { GroupMember, type GroupMemberOptions } from './group-member.ts'
export { GroupConsumer, type GroupConsumerOptions } from './consumer.ts'
export { GroupAdmin, type GroupDescription, type GroupListing, type GroupMemberDescription } from './group-admin.ts'
export { ASSIGNORS, rangeAssignor, roundRobinAssignor, assignorByName, type Assignor, type MemberSubscription, type TopicPartition } from './assignors.ts'
export { ClientError, ConnectionError, KafkaError, TimeoutError, UnsupportedVersionError, WakeupError } from './errors.ts'
