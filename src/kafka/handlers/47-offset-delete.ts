/**
 * OffsetDelete (key 47), version 0: removes committed offsets of partitions the group does not
 * subscribe to (GROUP_SUBSCRIBED_TO_TOPIC for the others); unknown topics get
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import { decodeOffsetDeleteRequest, type OffsetDeleteRequest } from '../../protocol/messages/offset-delete-request.ts'
import { encodeOffsetDeleteResponse, type OffsetDeleteResponse } from '../../protocol/messages/offset-delete-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { groupPartitions } from '../group-partitions.ts'

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47, name: 'OffsetDelete', minVersion: 0, maxVersion: 0,
  decode: decodeOffsetDeleteRequest,
  encode: encodeOffsetDeleteResponse,
  async handle(ctx, req) {
    const { response: topics, known, setErrors } = groupPartitions(ctx.broker.image(), req.topics)
    const r = await ctx.broker.groups.coordinator.deleteOffsets(req.groupId, known.map(({ topic, partition }) => ({ topic, partition })))
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (r.error) return { errorCode: errorCode(r.error), throttleTimeMs, topics: [] }
    setErrors(r.partitions)
    return { errorCode: ErrorCode.NONE, throttleTimeMs, topics }
  },
})
