/**
 * CreateTopics (key 19), versions 2–7. -1 partitions / replication factor mean the broker's
 * defaults (v4+); validate_only plans without committing. Results carry the effective
 * partition count, replication factor and configs (v5+) and the topic id (v7).
 */
import { decodeCreateTopicsRequest, type CreateTopicsRequest } from '../../protocol/messages/create-topics-request.ts'
import { encodeCreateTopicsResponse, type CreateTopicsResponse, type CreatableTopicResult } from '../../protocol/messages/create-topics-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { ZERO_UUID } from '../../protocol/primitives/uuid.ts'
import { describeTopicConfigs } from '../../broker/describe-configs.ts'
import type { RequestContext } from '../request-context.ts'
import type { CreatableTopic } from '../../protocol/messages/create-topics-request.ts'

async function createOne(ctx: RequestContext, t: CreatableTopic, validateOnly: boolean): Promise<CreatableTopicResult> {
  const result: CreatableTopicResult = {
    name: t.name, topicId: ZERO_UUID, errorCode: ErrorCode.NONE, errorMessage: null, topicConfigErrorCode: 0,
    numPartitions: -1, replicationFactor: -1, configs: null,
  }
  const outcome = await ctx.broker.controller.createTopic({
    name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor,
    assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
    configs: t.configs.map((c) => ({ name: c.name, value: c.value })),
  }, validateOnly)
  if ('error' in outcome) {
    result.errorCode = errorCode(outcome.error)
    result.errorMessage = outcome.message
    ctx.log.info({ topic: t.name, error: outcome.error, reason: outcome.message }, 'CreateTopics rejected')
    return result
  }
  const partitions = outcome.plan.records.filter((r) => r.type === 'Partition')
  result.numPartitions = partitions.length
  result.replicationFactor = partitions[0]?.type === 'Partition' ? partitions[0].replicas.length : -1
  const overrides = new Map(t.configs.filter((c) => c.value !== null).map((c) => [c.name, c.value!]))
  result.configs = describeTopicConfigs(ctx.broker.config, overrides, null).map((c) => ({
    name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: false,
  }))
  if (outcome.topic) {
    result.topicId = outcome.topic.topicId
    ctx.log.info({ topic: t.name, topicId: outcome.topic.topicId, partitions: result.numPartitions }, 'topic created')
  }
  return result
}

export default defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  apiKey: 19, name: 'CreateTopics', minVersion: 2, maxVersion: 7,
  decode: decodeCreateTopicsRequest,
  encode: encodeCreateTopicsResponse,
  async handle(ctx, req) {
    // A name given more than once gets a single INVALID_REQUEST result and is not created; the
    // response lists each name once, as Kafka's (ControllerApis.createTopics).
    const seen = new Map<string, number>()
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1)
    const answered = new Set<string>()
    const topics = await Promise.all(req.topics.filter((t) => {
      if (answered.has(t.name)) return false
      answered.add(t.name)
      return true
    }).map((t) => {
      if (seen.get(t.name)! > 1) {
        return {
          name: t.name, topicId: ZERO_UUID, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.',
          topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: null,
        } satisfies CreatableTopicResult
      }
      return createOne(ctx, t, req.validateOnly)
    }))
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
