/**
 * OffsetDelete (key 47), version 0: removes committed offsets of partitions the group does not
 * subscribe to (GROUP_SUBSCRIBED_TO_TOPIC for the others); unknown topics get
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import { decodeOffsetDeleteRequest, type OffsetDeleteRequest } from '../../protocol/messages/offset-delete-request.ts'
import { encodeOffsetDeleteResponse, type OffsetDeleteResponse, type OffsetDeleteResponsePartition } from '../../protocol/messages/offset-delete-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47, name: 'OffsetDelete', minVersion: 0, maxVersion: 0,
  decode: decodeOffsetDeleteRequest,
  encode: encodeOffsetDeleteResponse,
  async handle(ctx, req) {
    const image = ctx.broker.image()
    const slots = new Map<string, OffsetDeleteResponsePartition>()
    const known: { topic: string; partition: number }[] = []
    const topics = req.topics.map((t) => {
      const topic = topicByName(image, t.name)
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          const slot = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number }
          if (!topic || !topic.partitions[p.partitionIndex]) slot.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          else {
            slots.set(`${t.name}\u0000${p.partitionIndex}`, slot)
            known.push({ topic: t.name, partition: p.partitionIndex })
          }
          return slot
        }),
      }
    })
    const r = await ctx.broker.groups.coordinator.deleteOffsets(req.groupId, known)
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (r.error) return { errorCode: errorCode(r.error), throttleTimeMs, topics: [] }
    for (const p of r.partitions) {
      const slot = slots.get(`${p.topic}\u0000${p.partition}`)
      if (slot && p.error) slot.errorCode = errorCode(p.error)
    }
    return { errorCode: ErrorCode.NONE, throttleTimeMs, topics }
  },
})
