/**
 * Metadata (key 3), versions 0–12: brokers, controller, topics with topic ids, partitions with
 * leaders and leader epochs. Auto-creates requested topics when `auto.create.topics.enable`
 * and the request allow it (waiting for the creation, so the client gets a usable answer).
 */
import { decodeMetadataRequest, type MetadataRequest } from '../../protocol/messages/metadata-request.ts'
import {
  encodeMetadataResponse, type MetadataResponse, type MetadataResponseTopic, type MetadataResponseBroker,
} from '../../protocol/messages/metadata-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { topicByName, type MetadataImage, type TopicImage } from '../../metadata/image.ts'
import { isInternalTopic, validateTopicName } from '../../metadata/topic-names.ts'
import { ZERO_UUID } from '../../protocol/primitives/uuid.ts'
import type { RequestContext } from '../request-context.ts'
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.ts'

const UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648

/** AclOperation codes as a bit field (Kafka's Utils.to32BitField). */
function operationBits(...codes: number[]): number {
  return codes.reduce((bits, code) => bits | (1 << code), 0)
}

/**
 * Authorized operations without an authorizer: every operation Kafka supports on the resource
 * type (AuthHelper.authorizedOperations, AclEntry.supportedOperations). Codes: READ 3, WRITE 4,
 * CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
 * ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
 */
export const TOPIC_OPERATIONS = operationBits(3, 4, 5, 6, 7, 8, 10, 11)
export const CLUSTER_OPERATIONS = operationBits(5, 7, 8, 9, 10, 11, 12)
export const GROUP_OPERATIONS = operationBits(3, 6, 8)

export function brokersFor(image: MetadataImage, listenerName: string): MetadataResponseBroker[] {
  const out: MetadataResponseBroker[] = []
  for (const b of image.brokers.values()) {
    if (b.fenced) continue
    const ep = b.endPoints.find((e) => e.name === listenerName) ?? b.endPoints[0]
    if (ep) out.push({ nodeId: b.brokerId, host: ep.host, port: ep.port, rack: b.rack })
  }
  return out.sort((a, b) => a.nodeId - b.nodeId)
}

function topicResponse(image: MetadataImage, t: TopicImage): MetadataResponseTopic {
  return {
    errorCode: ErrorCode.NONE, name: t.name, topicId: t.topicId, isInternal: isInternalTopic(t.name),
    partitions: t.partitions.map((p) => ({
      errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p.partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas], isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((id) => image.brokers.get(id)?.fenced !== false),
    })),
    topicAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS,
  }
}

function errorTopic(name: string | null, topicId: string, code: number): MetadataResponseTopic {
  return { errorCode: code, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS }
}

async function resolveTopics(ctx: RequestContext, req: MetadataRequest): Promise<MetadataResponseTopic[]> {
  let image = ctx.broker.image()
  // v0: an empty list means all topics; v1+: null means all topics.
  const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0)
  if (all) return [...image.topicsById.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => topicResponse(image, t))
  const autoCreate = ctx.broker.config.autoCreateTopicsEnable && (ctx.apiVersion < 4 || req.allowAutoTopicCreation)
  // A topic asked for twice is answered once, as Kafka does (it collects the request's topics in a set).
  const requested = [...new Map(req.topics!.map((t) => [t.name ?? `id:${t.topicId}`, t])).values()]
  const missing = requested.filter((t) => t.name !== null && !topicByName(image, t.name) && validateTopicName(t.name) === null)
  const created = new Map<string, string>()
  if (autoCreate && missing.length > 0) {
    for (const t of missing) {
      if (t.name === OFFSETS_TOPIC) {
        // As Kafka's AutoTopicCreationManager: the offsets topic gets its own settings
        // (offsets.topic.*, compacted), so the group coordinator creates it.
        const error = await ctx.broker.groups.findCoordinator()
        if (error) created.set(t.name, error)
        continue
      }
      const result = await ctx.broker.controller.autoCreateTopic(t.name!)
      if ('error' in result) created.set(t.name!, result.error)
      else ctx.log.info({ topic: t.name, client: ctx.clientId }, 'auto-created topic')
    }
    image = ctx.broker.image()
  }
  return requested.map((t) => {
    if (t.name === null) {
      const topic = image.topicsById.get(t.topicId)
      return topic ? topicResponse(image, topic) : errorTopic(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID)
    }
    if (validateTopicName(t.name) !== null) return errorTopic(t.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION)
    const topic = topicByName(image, t.name)
    if (topic) return topicResponse(image, topic)
    const failure = created.get(t.name)
    if (failure === 'invalid_replication_factor') return errorTopic(t.name, ZERO_UUID, ErrorCode.INVALID_REPLICATION_FACTOR)
    return errorTopic(t.name, ZERO_UUID, failure ? errorCode(failure as never) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })
}

export default defineHandler<MetadataRequest, MetadataResponse>({
  apiKey: 3, name: 'Metadata', minVersion: 0, maxVersion: 12,
  decode: decodeMetadataRequest,
  encode: encodeMetadataResponse,
  async handle(ctx, req) {
    const topics = await resolveTopics(ctx, req)
    if (req.includeTopicAuthorizedOperations) for (const t of topics) t.topicAuthorizedOperations = TOPIC_OPERATIONS
    const image = ctx.broker.image()
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx),
      brokers: brokersFor(image, ctx.conn.listenerName),
      clusterId: ctx.broker.clusterId,
      // Kafka clients send controller-bound admin requests here; any live broker forwards them.
      controllerId: ctx.broker.nodeId,
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS,
    }
  },
})
