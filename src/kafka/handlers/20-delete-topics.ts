/**
 * DeleteTopics (key 20), versions 1–6 (by name; v6 also by topic id). The topic leaves the
 * metadata at once; its partition directories are renamed `<topic>-<n>.<id>-delete` and
 * removed later (log hygiene).
 */
import { decodeDeleteTopicsRequest, type DeleteTopicsRequest } from '../../protocol/messages/delete-topics-request.ts'
import { encodeDeleteTopicsResponse, type DeleteTopicsResponse, type DeletableTopicResult } from '../../protocol/messages/delete-topics-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { ZERO_UUID } from '../../protocol/primitives/uuid.ts'
import { topicByName } from '../../metadata/image.ts'
import type { RequestContext } from '../request-context.ts'

async function deleteOne(ctx: RequestContext, name: string | null, topicId: string): Promise<DeletableTopicResult> {
  const image = ctx.broker.image()
  const topic = name !== null ? topicByName(image, name) : image.topicsById.get(topicId)
  const result: DeletableTopicResult = { name, topicId: topic?.topicId ?? topicId, errorCode: ErrorCode.NONE, errorMessage: null }
  if (!ctx.broker.config.deleteTopicEnable) {
    result.errorCode = ErrorCode.TOPIC_DELETION_DISABLED
    return result
  }
  if (!topic) {
    result.errorCode = name !== null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID
    return result
  }
  result.name = topic.name
  const outcome = await ctx.broker.controller.deleteTopic(topic.topicId)
  if ('error' in outcome) {
    result.errorCode = errorCode(outcome.error)
    result.errorMessage = outcome.message
  } else {
    ctx.log.info({ topic: topic.name, topicId: topic.topicId }, 'topic deleted')
  }
  return result
}

export default defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: 20, name: 'DeleteTopics', minVersion: 1, maxVersion: 6,
  decode: decodeDeleteTopicsRequest,
  encode: encodeDeleteTopicsResponse,
  async handle(ctx, req) {
    const targets = ctx.apiVersion >= 6
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((n) => ({ name: n as string | null, topicId: ZERO_UUID }))
    // As Kafka's ControllerApis.deleteTopics: an entry naming both a name and an id, or neither,
    // and a name or id given more than once get INVALID_REQUEST (one entry per duplicate) and
    // nothing of them is deleted.
    const count = new Map<string, number>()
    const keyOf = (t: { name: string | null; topicId: string }): string => t.name !== null ? `n:${t.name}` : `i:${t.topicId}`
    for (const t of targets) count.set(keyOf(t), (count.get(keyOf(t)) ?? 0) + 1)
    const answered = new Set<string>()
    const responses: DeletableTopicResult[] = []
    const invalid = (name: string | null, topicId: string, errorMessage: string): DeletableTopicResult =>
      ({ name, topicId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage })
    // One at a time: deletions are small metadata writes, and order keeps the log readable.
    for (const t of targets) {
      if (t.name !== null && t.topicId !== ZERO_UUID) {
        responses.push(invalid(t.name, t.topicId, 'You may not specify both topic name and topic id.'))
        continue
      }
      if (t.name === null && t.topicId === ZERO_UUID) {
        responses.push(invalid(null, ZERO_UUID, 'Neither topic name nor id were specified.'))
        continue
      }
      const key = keyOf(t)
      if (answered.has(key)) continue
      answered.add(key)
      if (count.get(key)! > 1) {
        responses.push(invalid(t.name, t.topicId, t.name !== null ? 'Duplicate topic name.' : 'Duplicate topic id.'))
        continue
      }
      if (ctx.apiVersion < 3 && !ctx.broker.config.deleteTopicEnable) {
        responses.push(invalid(t.name, t.topicId, 'Topic deletion is disabled.')) // TOPIC_DELETION_DISABLED is v3+
        continue
      }
      responses.push(await deleteOne(ctx, t.name, t.topicId))
    }
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), responses }
  },
})
