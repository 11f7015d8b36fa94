/**
 * DeleteRecords (key 21), versions 0–2: moves each partition's log start offset up to the
 * requested offset (-1: the high watermark) and answers the new low watermark. Records below it
 * are no longer readable (Fetch answers OFFSET_OUT_OF_RANGE, ListOffsets earliest moves);
 * segments wholly below it are deleted at once, their files after file.delete.delay.ms.
 * Refused with OFFSET_OUT_OF_RANGE above the high watermark, POLICY_VIOLATION on a topic whose
 * cleanup.policy has no `delete` (as Kafka).
 */
import { decodeDeleteRecordsRequest, type DeleteRecordsRequest } from '../../protocol/messages/delete-records-request.ts'
import {
  encodeDeleteRecordsResponse, type DeleteRecordsPartitionResult, type DeleteRecordsResponse, type DeleteRecordsTopicResult,
} from '../../protocol/messages/delete-records-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'
import type { RequestContext } from '../request-context.ts'

async function deleteOne(ctx: RequestContext, topic: string, partition: number, offset: number): Promise<DeleteRecordsPartitionResult> {
  const result = { partitionIndex: partition, lowWatermark: -1, errorCode: ErrorCode.NONE }
  const t = topicByName(ctx.broker.image(), topic)
  if (!t || !t.partitions[partition]) return { ...result, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
  const hosted = ctx.broker.replicas.lookup(t.topicId, partition)
  if (!hosted) return { ...result, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
  const r = await ctx.broker.replicas.deleteRecords(hosted, offset)
  if ('error' in r) {
    ctx.log.info({ topic, partition, offset, error: r.error, reason: r.message }, 'DeleteRecords refused')
    return { ...result, errorCode: errorCode(r.error) }
  }
  return { ...result, lowWatermark: r.ok.lowWatermark }
}

export default defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: 21, name: 'DeleteRecords', minVersion: 0, maxVersion: 2,
  decode: decodeDeleteRecordsRequest,
  encode: encodeDeleteRecordsResponse,
  async handle(ctx, req) {
    const topics: DeleteRecordsTopicResult[] = await Promise.all(req.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(t.partitions.map((p) => deleteOne(ctx, t.name, p.partitionIndex, p.offset))),
    })))
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
