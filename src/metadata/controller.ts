/**
 * The controller's decisions, as pure functions from (image, request, randomness) to records.
 *
 * This is where everything non-deterministic happens — topic ids, replica placement,
 * producer-id blocks — so that the records proposed to the metadata log, and the image
 * reducer replaying them, are deterministic. Failures are values: a ControllerError and a
 * message for the client.
 */
import { topicByName, type MetadataImage } from './image.ts'
import { RESOURCE_TYPE, type MetadataRecord } from './records.ts'
import { collisionKey, validateTopicName } from './topic-names.ts'
import { TOPIC_CONFIG_KEYS, normalizeTopicConfigValue, validateTopicConfig } from './topic-config.ts'

export type ControllerError =
  | 'topic_already_exists' | 'invalid_topic_exception' | 'invalid_partitions' | 'invalid_replication_factor'
  | 'invalid_replica_assignment' | 'invalid_config' | 'unknown_topic_or_partition' | 'topic_deletion_disabled'
  | 'policy_violation' | 'invalid_request'

export type Plan = { readonly records: MetadataRecord[] } | { readonly error: ControllerError; readonly message: string }

export interface ControllerContext {
  /** A fresh random topic id (never zero, never the reserved metadata id). */
  newTopicId(): string
  /** Random integer in [0, n). */
  randomInt(n: number): number
  defaultPartitions: number
  defaultReplicationFactor: number
}

/** Brokers that can host new replicas: registered and not fenced, sorted by id. */
export function liveBrokerIds(image: MetadataImage): number[] {
  return [...image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId).sort((a, b) => a - b)
}

export interface CreateTopicRequest {
  name: string
  numPartitions: number // -1: broker default
  replicationFactor: number // -1: broker default
  assignments: { partitionIndex: number; brokerIds: number[] }[]
  configs: { name: string; value: string | null }[]
}

export function planCreateTopic(image: MetadataImage, req: CreateTopicRequest, ctx: ControllerContext): Plan {
  const nameError = validateTopicName(req.name)
  if (nameError) return { error: 'invalid_topic_exception', message: nameError }
  if (topicByName(image, req.name)) return { error: 'topic_already_exists', message: `Topic '${req.name}' already exists.` }
  const key = collisionKey(req.name)
  for (const existing of image.topicIdsByName.keys()) {
    if (collisionKey(existing) === key) {
      return { error: 'invalid_topic_exception', message: `Topic '${req.name}' collides with existing topic: ${existing}` }
    }
  }
  // Kafka (ReplicationControlManager.computeConfigChanges): a null value cannot create a topic.
  const nullConfigs = req.configs.filter((c) => c.value === null).map((c) => c.name)
  if (nullConfigs.length > 0) return { error: 'invalid_config', message: `Null value not supported for topic configs: ${nullConfigs.join(',')}` }
  const configs = req.configs.map((c) => ({ name: c.name, value: normalizeTopicConfigValue(c.name, c.value!) }))
  const configError = validateTopicConfig(configs)
  if (configError) return { error: 'invalid_config', message: configError }
  const live = liveBrokerIds(image)
  const assignment = req.assignments.length > 0
    ? checkAssignment(req, live)
    : placeReplicas(req, live, ctx)
  if ('error' in assignment) return assignment
  const topicId = ctx.newTopicId()
  const records: MetadataRecord[] = [{ type: 'Topic', name: req.name, topicId }]
  for (const c of configs) records.push({ type: 'Config', resourceType: RESOURCE_TYPE.TOPIC, resourceName: req.name, name: c.name, value: c.value })
  assignment.replicas.forEach((replicas, partitionId) => {
    records.push(partitionRecord(topicId, partitionId, replicas, image))
  })
  return { records }
}

function partitionRecord(topicId: string, partitionId: number, replicas: number[], image: MetadataImage): MetadataRecord {
  // The leader is the first replica that is alive (Kafka's preferred leader); the ISR starts as all live replicas.
  const alive = replicas.filter((id) => image.brokers.get(id)?.fenced === false)
  return { type: 'Partition', partitionId, topicId, replicas, isr: alive, leader: alive[0] ?? -1, leaderEpoch: 0, partitionEpoch: 0 }
}

type Assignment = { replicas: number[][] } | { error: ControllerError; message: string }

/**
 * Kafka's controller refuses to create more partitions than this in one request (its
 * MAX_PARTITIONS_PER_BATCH), with POLICY_VIOLATION; without the cap a count of 2³¹−1 would try
 * to build that many records in memory.
 */
export const MAX_PARTITIONS_PER_REQUEST = 10_000

function placeReplicas(req: CreateTopicRequest, live: number[], ctx: ControllerContext, firstPartition = 0): Assignment {
  const partitions = req.numPartitions === -1 ? ctx.defaultPartitions : req.numPartitions
  const rf = req.replicationFactor === -1 ? ctx.defaultReplicationFactor : req.replicationFactor
  if (partitions <= 0) return { error: 'invalid_partitions', message: 'Number of partitions must be larger than 0.' }
  if (partitions > MAX_PARTITIONS_PER_REQUEST) return { error: 'policy_violation', message: 'Excessively large number of partitions per request.' }
  if (rf <= 0) return { error: 'invalid_replication_factor', message: 'Replication factor must be larger than 0.' }
  if (rf > live.length) {
    return { error: 'invalid_replication_factor', message: `Replication factor: ${rf} larger than available brokers: ${live.length}.` }
  }
  // Round-robin from a random start, each partition's followers shifted by one more, as Kafka spreads leaders and followers.
  const start = ctx.randomInt(live.length)
  const replicas: number[][] = []
  for (let p = firstPartition; p < firstPartition + partitions; p++) {
    const set: number[] = []
    for (let r = 0; r < rf; r++) set.push(live[(start + p + r) % live.length]!)
    replicas.push(set)
  }
  return { replicas }
}

function checkAssignment(req: CreateTopicRequest, live: number[]): Assignment {
  if (req.numPartitions !== -1 || req.replicationFactor !== -1) {
    return { error: 'invalid_request', message: 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.' }
  }
  const sorted = [...req.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex)
  const replicas: number[][] = []
  for (const [i, a] of sorted.entries()) {
    if (a.partitionIndex !== i) return { error: 'invalid_replica_assignment', message: 'Partitions should be a consecutive 0-based integer sequence' }
    if (a.brokerIds.length === 0) return { error: 'invalid_replica_assignment', message: `Partition ${i} has no replicas` }
    if (new Set(a.brokerIds).size !== a.brokerIds.length) return { error: 'invalid_replica_assignment', message: `Duplicate brokers in the assignment of partition ${i}` }
    const unknown = a.brokerIds.find((id) => !live.includes(id))
    if (unknown !== undefined) return { error: 'invalid_replica_assignment', message: `Broker ${unknown} in the assignment of partition ${i} is not alive` }
    replicas.push(a.brokerIds)
  }
  return { replicas }
}

export function planDeleteTopic(image: MetadataImage, topicId: string): Plan {
  if (!image.topicsById.has(topicId)) return { error: 'unknown_topic_or_partition', message: 'This server does not host this topic.' }
  return { records: [{ type: 'RemoveTopic', topicId }] }
}

export function planCreatePartitions(image: MetadataImage, name: string, count: number,
  assignments: number[][] | null, ctx: ControllerContext): Plan {
  const topic = topicByName(image, name)
  if (!topic) return { error: 'unknown_topic_or_partition', message: `The topic '${name}' does not exist.` }
  const current = topic.partitions.length
  if (count < current) return { error: 'invalid_partitions', message: `Topic currently has ${current} partitions, which is higher than the requested ${count}.` }
  if (count === current) return { error: 'invalid_partitions', message: `Topic already has ${current} partitions.` }
  const rf = topic.partitions[0]?.replicas.length ?? 1
  const live = liveBrokerIds(image)
  let replicas: number[][]
  if (assignments) {
    if (assignments.length !== count - current) {
      return { error: 'invalid_replica_assignment', message: `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.` }
    }
    const bad = assignments.find((a) => a.length !== rf || a.some((id) => !live.includes(id)) || new Set(a).size !== a.length)
    if (bad) return { error: 'invalid_replica_assignment', message: `Invalid replica assignment ${JSON.stringify(bad)}` }
    replicas = assignments
  } else {
    const placed = placeReplicas({ name, numPartitions: count - current, replicationFactor: rf, assignments: [], configs: [] }, live, ctx, current)
    if ('error' in placed) return placed
    replicas = placed.replicas
  }
  return { records: replicas.map((r, i) => partitionRecord(topic.topicId, current + i, r, image)) }
}

/** Producer ids are handed out to brokers in blocks, recorded in the log so no id is ever reused. */
export const PRODUCER_ID_BLOCK_SIZE = 1000

export function planProducerIdBlock(image: MetadataImage, brokerId: number, brokerEpoch: number): { records: MetadataRecord[]; firstId: number } {
  const firstId = image.nextProducerId
  return { firstId, records: [{ type: 'ProducerIds', brokerId, brokerEpoch, nextProducerId: firstId + PRODUCER_ID_BLOCK_SIZE }] }
}

/** IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType ids). */
export const CONFIG_OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const

export interface ConfigOp {
  name: string
  op: number
  value: string | null
}

/** Topic config keys whose values are lists (APPEND/SUBTRACT apply to these only). */
function isListKey(name: string): boolean {
  return TOPIC_CONFIG_KEYS[name]?.kind === 'list'
}

function duplicateKey(names: readonly string[]): boolean {
  return new Set(names).size !== names.length
}

/**
 * AlterConfigs (legacy): the request's entries become the topic's whole override set — keys
 * not named are removed, as in Kafka. A null value leaves the key unset.
 */
export function planReplaceTopicConfigs(image: MetadataImage, topic: string, entries: readonly { name: string; value: string | null }[]): Plan {
  if (!topicByName(image, topic)) return { error: 'unknown_topic_or_partition', message: `The topic '${topic}' does not exist.` }
  if (duplicateKey(entries.map((e) => e.name))) return { error: 'invalid_request', message: 'Error due to duplicate config keys' }
  // As Kafka (KAFKA-9695): a null value is refused, not read as "remove the key".
  const nulled = entries.find((e) => e.value === null)
  if (nulled !== undefined) return { error: 'invalid_request', message: `Null value not supported for : ${nulled.name}` }
  const next = new Map<string, string>()
  for (const e of entries) next.set(e.name, e.value!)
  return configRecords(image, topic, next)
}

/** IncrementalAlterConfigs: SET / DELETE single keys, APPEND / SUBTRACT list items (from the effective value). */
export function planIncrementalTopicConfigs(image: MetadataImage, topic: string, ops: readonly ConfigOp[], defaults: ReadonlyMap<string, string>): Plan {
  if (!topicByName(image, topic)) return { error: 'unknown_topic_or_partition', message: `The topic '${topic}' does not exist.` }
  if (duplicateKey(ops.map((o) => o.name))) return { error: 'invalid_request', message: 'Error due to duplicate config keys' }
  const next = new Map(image.topicConfigs.get(topic))
  for (const { name, op, value } of ops) {
    if (op === CONFIG_OP.DELETE) {
      next.delete(name)
      continue
    }
    if (op !== CONFIG_OP.SET && op !== CONFIG_OP.APPEND && op !== CONFIG_OP.SUBTRACT) {
      return { error: 'invalid_request', message: `Unknown config operation ${op} for ${name}` }
    }
    if (value === null) return { error: 'invalid_request', message: `Null value not supported for : ${name}` }
    if (op === CONFIG_OP.SET) {
      next.set(name, value)
      continue
    }
    if (!TOPIC_CONFIG_KEYS[name]) return { error: 'invalid_config', message: `Unknown topic config name: ${name}` }
    const verb = op === CONFIG_OP.APPEND ? 'APPEND' : 'SUBTRACT'
    if (!isListKey(name)) return { error: 'invalid_config', message: `Can't ${verb} to key ${name} because its type is not LIST.` }
    const current = splitList(next.get(name) ?? defaults.get(name) ?? '')
    const items = splitList(value)
    const result = op === CONFIG_OP.APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i))
    next.set(name, result.join(','))
  }
  return configRecords(image, topic, next)
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/** Validates `next` and returns the ConfigRecords that turn the topic's current overrides into it (none if equal). */
function configRecords(image: MetadataImage, topic: string, requested: ReadonlyMap<string, string>): Plan {
  const next = new Map([...requested].map(([name, value]) => [name, normalizeTopicConfigValue(name, value)]))
  const problem = validateTopicConfig([...next].map(([name, value]) => ({ name, value })))
  if (problem) return { error: 'invalid_config', message: problem }
  const current = image.topicConfigs.get(topic) ?? new Map<string, string>()
  const records: MetadataRecord[] = []
  const record = (name: string, value: string | null): MetadataRecord => ({ type: 'Config', resourceType: RESOURCE_TYPE.TOPIC, resourceName: topic, name, value })
  for (const name of current.keys()) if (!next.has(name)) records.push(record(name, null))
  for (const [name, value] of next) if (current.get(name) !== value) records.push(record(name, value))
  return { records }
}
