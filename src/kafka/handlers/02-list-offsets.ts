/**
 * ListOffsets (key 2), versions 1–9. Special timestamps: -1 latest (the high watermark, or the
 * last stable offset under read_committed), -2 earliest (log start offset), -3 max timestamp
 * (v7+), -4 earliest local (v8+; no tiered storage, so the log start offset), -5 latest
 * tiered (v9+; no tiered storage, so "no offset": -1). Latest and earliest come from the
 * shared watermark table without a round trip; timestamps ask the partition actor.
 */
import { decodeListOffsetsRequest, type ListOffsetsRequest } from '../../protocol/messages/list-offsets-request.ts'
import {
  encodeListOffsetsResponse, type ListOffsetsResponse, type ListOffsetsPartitionResponse, type ListOffsetsTopicResponse,
} from '../../protocol/messages/list-offsets-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode, type InternalError } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'
import type { RequestContext } from '../request-context.ts'
import type { HostedPartition } from '../../broker/replica-service.ts'

const LATEST = -1
const EARLIEST = -2
const MAX_TIMESTAMP = -3
const EARLIEST_LOCAL = -4
const LATEST_TIERED = -5
const READ_COMMITTED = 1

function response(index: number, error: InternalError | null): ListOffsetsPartitionResponse {
  return { partitionIndex: index, errorCode: error ? errorCode(error) : ErrorCode.NONE, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 }
}

function epochError(requested: number, current: number): InternalError | null {
  if (requested === -1 || requested === current) return null
  return requested < current ? 'fenced_leader_epoch' : 'unknown_leader_epoch'
}

async function lookup(ctx: RequestContext, hosted: HostedPartition, timestamp: number, isolation: number, out: ListOffsetsPartitionResponse): Promise<void> {
  const w = ctx.broker.replicas.watermarks(hosted)
  out.leaderEpoch = w.leaderEpoch
  switch (timestamp) {
    case LATEST:
      out.offset = isolation === READ_COMMITTED ? w.lastStableOffset : w.highWatermark
      return
    case EARLIEST:
    case EARLIEST_LOCAL:
      out.offset = w.logStartOffset
      return
    case LATEST_TIERED:
      out.leaderEpoch = -1
      return
    default: {
      if (timestamp < 0 && timestamp !== MAX_TIMESTAMP) {
        out.errorCode = ErrorCode.INVALID_REQUEST
        return
      }
      const found = await ctx.broker.replicas.pool.listOffsetByTime(hosted.handle, timestamp)
      if ('error' in found) {
        out.errorCode = errorCode(found.error)
        return
      }
      if (found.ok === null) {
        out.leaderEpoch = -1
        return
      }
      // Only offsets below the upper bound a consumer could read are visible.
      const bound = isolation === READ_COMMITTED ? w.lastStableOffset : w.highWatermark
      if (found.ok.offset >= bound) {
        out.leaderEpoch = -1
        return
      }
      out.offset = found.ok.offset
      out.timestamp = found.ok.timestamp
      out.leaderEpoch = found.ok.leaderEpoch
    }
  }
}

export default defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2, name: 'ListOffsets', minVersion: 1, maxVersion: 9,
  decode: decodeListOffsetsRequest,
  encode: encodeListOffsetsResponse,
  async handle(ctx, req) {
    const image = ctx.broker.image()
    const pending: Promise<void>[] = []
    // A partition named more than once gets INVALID_REQUEST at every mention (Kafka's duplicatePartitions).
    const mentions = new Map<string, number>()
    for (const t of req.topics) for (const p of t.partitions) mentions.set(`${t.name}\0${p.partitionIndex}`, (mentions.get(`${t.name}\0${p.partitionIndex}`) ?? 0) + 1)
    const topics: ListOffsetsTopicResponse[] = req.topics.map((t) => {
      const topic = topicByName(image, t.name)
      return {
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (mentions.get(`${t.name}\0${p.partitionIndex}`)! > 1) return response(p.partitionIndex, 'invalid_request')
          const meta = topic?.partitions[p.partitionIndex]
          const hosted = topic ? ctx.broker.replicas.lookup(topic.topicId, p.partitionIndex) : undefined
          if (!topic || !meta) return response(p.partitionIndex, 'unknown_topic_or_partition')
          if (!hosted || meta.leader !== ctx.broker.nodeId) return response(p.partitionIndex, 'not_leader_or_follower')
          const epochProblem = epochError(p.currentLeaderEpoch, ctx.broker.replicas.watermarks(hosted).leaderEpoch)
          if (epochProblem) return response(p.partitionIndex, epochProblem)
          const out = response(p.partitionIndex, null)
          pending.push(lookup(ctx, hosted, p.timestamp, req.isolationLevel, out))
          return out
        }),
      }
    })
    await Promise.all(pending)
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
