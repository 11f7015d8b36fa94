/**
 * OffsetCommit (key 8), versions 2–9. Partitions of unknown topics get
 * UNKNOWN_TOPIC_OR_PARTITION here; the rest go to the coordinator, which checks the
 * generation and member (or accepts generation -1 with no member id for an Empty group — the
 * form kcat, offset resets and admin tools use) and answers once the commit is durable.
 */
import { decodeOffsetCommitRequest, type OffsetCommitRequest } from '../../protocol/messages/offset-commit-request.ts'
import { encodeOffsetCommitResponse, type OffsetCommitResponse } from '../../protocol/messages/offset-commit-response.ts'
import { defineHandler } from '../handler.ts'
import { groupPartitions } from '../group-partitions.ts'

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8, name: 'OffsetCommit', minVersion: 2, maxVersion: 9,
  decode: decodeOffsetCommitRequest,
  encode: encodeOffsetCommitResponse,
  async handle(ctx, req) {
    const { response: topics, known, setErrors } = groupPartitions(ctx.broker.image(), req.topics)
    if (known.length > 0) {
      const offsets = known.map(({ topic, partition, request: p }) => ({
        topic, partition, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata,
      }))
      setErrors(await ctx.broker.groups.coordinator.commitOffsets({
        groupId: req.groupId, generationId: req.generationIdOrMemberEpoch, memberId: req.memberId, groupInstanceId: req.groupInstanceId, offsets,
      }))
    }
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
