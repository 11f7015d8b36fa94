/**
 * OffsetCommit (key 8), versions 2–9. Partitions of unknown topics get
 * UNKNOWN_TOPIC_OR_PARTITION here; the rest go to the coordinator, which checks the
 * generation and member (or accepts generation -1 with no member id for an Empty group — the
 * form kcat, offset resets and admin tools use) and answers once the commit is durable.
 */
import { decodeOffsetCommitRequest, type OffsetCommitRequest } from '../../protocol/messages/offset-commit-request.ts'
import {
  encodeOffsetCommitResponse, type OffsetCommitResponse, type OffsetCommitResponsePartition,
} from '../../protocol/messages/offset-commit-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'
import type { OffsetCommitRequestData } from '../../coordinator/coordinator.ts'

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8, name: 'OffsetCommit', minVersion: 2, maxVersion: 9,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  async handle(ctx, req) {
    const image = ctx.broker.image()
    const slots = new Map<string, OffsetCommitResponsePartition>()
    const offsets: OffsetCommitRequestData['offsets'][number][] = []
    const topics = req.topics.map((t) => {
      const topic = topicByName(image, t.name)
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          const slot = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number }
          if (!topic || !topic.partitions[p.partitionIndex]) slot.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          else {
            slots.set(`${t.name}\u0000${p.partitionIndex}`, slot)
            offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })
          }
          return slot
        }),
      }
    })
    if (offsets.length > 0) {
      const results = await ctx.broker.groups.coordinator.commitOffsets({
        groupId: req.groupId, generationId: req.generationIdOrMemberEpoch, memberId: req.memberId, groupInstanceId: req.groupInstanceId, offsets,
      })
      for (const r of results) {
        const slot = slots.get(`${r.topic}\u0000${r.partition}`)
        if (slot && r.error) slot.errorCode = errorCode(r.error)
      }
    }
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
