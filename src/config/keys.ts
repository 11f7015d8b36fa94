/**
 * The broker configuration keys Samsa understands, with Kafka's names and defaults.
 *
 * A key listed in CONFIG_KEYS is validated at start-up (a bad value stops the broker with a
 * message naming the key and what it accepts). KAFKA_KEYS_NOT_IMPLEMENTED are real Kafka keys
 * that Samsa ignores: tutorials' files carry them, so they are accepted with one warning each.
 */
import { cpus } from 'node:os'

export type ConfigType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'password'

export interface KeyDef {
  readonly type: ConfigType
  /** The default as Kafka writes it; null means "no default" (optional or derived). */
  readonly default: string | null
  readonly min?: number
  readonly max?: number
  /** For string keys with a closed set of values. */
  readonly oneOf?: readonly string[]
  readonly doc: string
}

const INT_MAX = 2147483647
const LONG_MAX = '9223372036854775807'

function int(def: string | null, doc: string, min?: number, max = INT_MAX): KeyDef {
  return { type: 'int', default: def, doc, ...(min === undefined ? {} : { min }), max }
}
function long(def: string | null, doc: string, min?: number): KeyDef {
  return { type: 'long', default: def, doc, ...(min === undefined ? {} : { min }) }
}
function str(def: string | null, doc: string, oneOf?: readonly string[]): KeyDef {
  return { type: 'string', default: def, doc, ...(oneOf ? { oneOf } : {}) }
}
/** A comma-separated list; with `oneOf`, every item must be one of them (an empty list is valid, as in Kafka). */
function list(def: string | null, doc: string, oneOf?: readonly string[]): KeyDef {
  return { type: 'list', default: def, doc, ...(oneOf ? { oneOf } : {}) }
}
function double(def: string, doc: string, min: number, max: number): KeyDef {
  return { type: 'double', default: def, doc, min, max }
}
function bool(def: string, doc: string): KeyDef {
  return { type: 'boolean', default: def, doc }
}

/** The default number of shard workers for a server process: all cores but one for the network thread. */
export function defaultShardWorkers(): number {
  return Math.max(1, cpus().length - 1)
}

export const CONFIG_KEYS: Readonly<Record<string, KeyDef>> = {
  // Identity and roles
  'node.id': int('1', 'This node\'s id in the cluster (brokers and controllers share one id space).', 0),
  'broker.id': int(null, 'Legacy alias of node.id.', 0),
  'process.roles': list('broker,controller', 'Roles of this process: broker, controller or both.'),
  'cluster.id': str(null, 'Cluster id written to meta.properties at first start (generated if unset).'),
  'controller.quorum.voters': list('', 'Static Raft voters as id@host:port (a single node is a one-voter quorum).'),
  'controller.quorum.bootstrap.servers': list('', 'Controller endpoints to bootstrap from (KIP-853).'),
  'controller.listener.names': list('CONTROLLER', 'Listeners used by the controller quorum.'),
  'inter.broker.listener.name': str(null, 'Listener used between brokers.'),
  // Network
  'listeners': list('PLAINTEXT://127.0.0.1:9092', 'Listeners as NAME://host:port; port 0 picks a free port.'),
  'advertised.listeners': list(null, 'Addresses advertised to clients (defaults to listeners).'),
  'listener.security.protocol.map': list('PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'Maps listener names to security protocols.'),
  'socket.request.max.bytes': int('104857600', 'Largest request a client may send; bigger frames close the connection.', 1),
  'queued.max.request.bytes': long('-1', 'Bytes of requests the broker buffers before it stops reading sockets (-1: 4 × socket.request.max.bytes).', -1),
  'queued.max.requests': int('500', 'Requests in flight per connection before its socket is paused.', 1),
  'connections.max.idle.ms': long('600000', 'Idle connections are closed after this long (-1: never).', -1),
  // Log
  'log.dirs': list(null, 'Directories holding partition data (defaults to log.dir).'),
  'log.dir': str('./data', 'Directory holding partition data when log.dirs is unset.'),
  'metadata.log.dir': str(null, 'Directory of the __cluster_metadata log (defaults to the first log dir).'),
  'num.partitions': int('1', 'Partitions of auto-created topics and of CreateTopics with -1.', 1),
  'default.replication.factor': int('1', 'Replication factor of auto-created topics and of CreateTopics with -1.', 1, 32767),
  'min.insync.replicas': int('1', 'Replicas that must acknowledge an acks=all write.', 1),
  'auto.create.topics.enable': bool('true', 'Create a topic when a client asks for metadata of a topic that does not exist.'),
  'delete.topic.enable': bool('true', 'Allow DeleteTopics.'),
  'log.segment.bytes': int('1073741824', 'Segment file size before a roll.', 14),
  'log.roll.hours': int('168', 'Segment age before a roll.', 1),
  'log.roll.ms': long(null, 'Segment age before a roll (overrides log.roll.hours).', 1),
  'log.index.interval.bytes': int('4096', 'Bytes between sparse offset-index entries.', 0),
  'log.index.size.max.bytes': int('10485760', 'Largest offset index; a full index rolls the segment.', 4),
  'log.flush.interval.messages': long(LONG_MAX, 'Messages appended before a partition is fsynced.', 1),
  'log.flush.interval.ms': long(null, 'Time before a partition is fsynced (default: log.flush.scheduler.interval.ms).', 0),
  'log.flush.scheduler.interval.ms': long(LONG_MAX, 'How often the flusher checks partitions.', 0),
  'log.flush.offset.checkpoint.interval.ms': int('60000', 'How often the recovery point is checkpointed.', 0),
  'log.flush.start.offset.checkpoint.interval.ms': int('60000', 'How often log start offsets are checkpointed.', 0),
  'log.retention.hours': int('168', 'Retention by time (hours).', -1),
  'log.retention.minutes': int(null, 'Retention by time (minutes; overrides hours).', -1),
  'log.retention.ms': long(null, 'Retention by time (ms; overrides minutes; -1: forever).', -1),
  'log.retention.bytes': long('-1', 'Retention by size per partition (-1: unlimited).', -1),
  'log.retention.check.interval.ms': long('300000', 'How often retention is checked.', 1),
  'log.cleanup.policy': list('delete', 'delete, compact or both.', ['delete', 'compact']),
  'log.cleaner.delete.retention.ms': long('86400000', 'How long tombstones of compacted topics are kept (topic: delete.retention.ms).', 0),
  'log.cleaner.min.compaction.lag.ms': long('0', 'Minimum age of a record before compaction may remove it (topic: min.compaction.lag.ms).', 0),
  'log.cleaner.min.cleanable.ratio': double('0.5', 'Dirty share of a log that starts a compaction pass (topic: min.cleanable.dirty.ratio).', 0, 1),
  'log.message.timestamp.type': str('CreateTime', 'CreateTime or LogAppendTime.', ['CreateTime', 'LogAppendTime']),
  'log.message.timestamp.before.max.ms': long(LONG_MAX, 'How far in the past a record timestamp may be.', 0),
  'log.message.timestamp.after.max.ms': long(LONG_MAX, 'How far in the future a record timestamp may be.', 0),
  'message.max.bytes': int('1048588', 'Largest record batch a topic accepts (topic: max.message.bytes).', 0),
  'compression.type': str('producer', 'Topic compression: producer keeps what the client sent.',
    ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd']),
  'log.cleaner.backoff.ms': long('15000', 'How often each compacted partition is looked at for a cleaning pass (besides every retention check).', 1),
  'log.cleaner.threads': int('1', 'Threads of the log cleaner (a piscina pool shared by the process; the first broker started decides).', 1, 64),
  'log.segment.delete.delay.ms': long('60000', 'Delay before deleted segments and topics leave the disk (the topic key is file.delete.delay.ms).', 0),
  'file.delete.delay.ms': long(null, 'Samsa also accepts the topic key\'s name at broker level; log.segment.delete.delay.ms wins when both are set.', 0),
  'producer.id.expiration.ms': int('86400000', 'Idle time after which a producer id\'s state is dropped.', 1),
  // Groups and transactions (used by the coordinators)
  'offsets.topic.num.partitions': int('50', 'Partitions of __consumer_offsets.', 1),
  'offsets.topic.replication.factor': int('3', 'Replication factor of __consumer_offsets.', 1, 32767),
  'offsets.retention.minutes': int('10080', 'Committed offsets of empty groups are kept this long.', 1),
  'offsets.topic.segment.bytes': int('104857600', 'Segment size of __consumer_offsets.', 1),
  'offset.metadata.max.bytes': int('4096', 'Largest metadata string a committed offset may carry.', 0),
  'group.initial.rebalance.delay.ms': int('3000', 'Delay before the first rebalance of a new group.', 0),
  'group.max.size': int('2147483647', 'Most members a consumer group may have (GROUP_MAX_SIZE_REACHED beyond).', 1),
  'group.min.session.timeout.ms': int('6000', 'Smallest session timeout a member may ask for.', 0),
  'group.max.session.timeout.ms': int('1800000', 'Largest session timeout a member may ask for.', 0),
  'transaction.state.log.replication.factor': int('3', 'Replication factor of __transaction_state.', 1, 32767),
  'transaction.state.log.min.isr': int('2', 'min.insync.replicas of __transaction_state.', 1),
  'transaction.state.log.num.partitions': int('50', 'Partitions of __transaction_state.', 1),
  // Samsa's own
  'samsa.shard.workers': int(null, 'Worker threads hosting partition actors (default: cores - 1; library mode: 1).', 1, 256),
  'samsa.log.format': str('auto', 'Log output: json, pretty, or auto (pretty on a terminal).', ['auto', 'json', 'pretty']),
  'samsa.log.level': str('info', 'Log level.', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  'samsa.metrics.listener': str('', 'Serve Prometheus metrics over HTTP at http://host:port/metrics (port 0: a free port); empty: off.'),
}

/** Real Kafka keys that Samsa accepts and ignores, with one warning each. */
export const KAFKA_KEYS_NOT_IMPLEMENTED: ReadonlySet<string> = new Set([
  'num.network.threads', 'num.io.threads', 'socket.send.buffer.bytes', 'socket.receive.buffer.bytes',
  'num.recovery.threads.per.data.dir', 'num.replica.fetchers', 'background.threads', 'zookeeper.connect',
  'zookeeper.connection.timeout.ms', 'zookeeper.session.timeout.ms', 'log.cleaner.enable',
  'log.preallocate', 'replica.lag.time.max.ms', 'replica.fetch.max.bytes', 'replica.socket.timeout.ms',
  'auto.leader.rebalance.enable', 'leader.imbalance.check.interval.seconds', 'unclean.leader.election.enable',
  'broker.rack', 'share.coordinator.state.topic.replication.factor', 'share.coordinator.state.topic.min.isr',
  'metadata.log.segment.bytes', 'metadata.max.retention.bytes', 'metadata.log.max.record.bytes.between.snapshots',
  'confluent.support.metrics.enable', 'confluent.support.customer.id', 'ssl.keystore.location', 'ssl.keystore.password',
  'ssl.key.password', 'ssl.truststore.location', 'ssl.truststore.password', 'ssl.client.auth',
  'sasl.enabled.mechanisms', 'sasl.mechanism.inter.broker.protocol', 'sasl.mechanism.controller.protocol',
  'authorizer.class.name', 'super.users', 'allow.everyone.if.no.acl.found', 'metric.reporters',
  'quota.window.num', 'quota.window.size.seconds', 'controlled.shutdown.enable', 'log.message.format.version',
  'inter.broker.protocol.version', 'broker.heartbeat.interval.ms', 'broker.session.timeout.ms',
  'controller.quorum.election.timeout.ms', 'controller.quorum.fetch.timeout.ms', 'initial.broker.registration.timeout.ms',
])
