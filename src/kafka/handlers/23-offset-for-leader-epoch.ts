/**
 * OffsetForLeaderEpoch (key 23), versions 0–4: for a leader epoch, the largest epoch ≤ it this
 * partition knows and the offset where that epoch ended. The Java consumer uses it to detect
 * log truncation after a leader change; followers will use it for truncation.
 */
import { decodeOffsetForLeaderEpochRequest, type OffsetForLeaderEpochRequest } from '../../protocol/messages/offset-for-leader-epoch-request.ts'
import {
  encodeOffsetForLeaderEpochResponse, type OffsetForLeaderEpochResponse, type EpochEndOffset,
} from '../../protocol/messages/offset-for-leader-epoch-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode, type InternalError } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'

function result(partition: number, error: InternalError | null): EpochEndOffset {
  return { errorCode: error ? errorCode(error) : ErrorCode.NONE, partition, leaderEpoch: -1, endOffset: -1 }
}

export default defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: 23, name: 'OffsetForLeaderEpoch', minVersion: 0, maxVersion: 4,
  decode: decodeOffsetForLeaderEpochRequest,
  encode: encodeOffsetForLeaderEpochResponse,
  async handle(ctx, req) {
    const image = ctx.broker.image()
    const pending: Promise<void>[] = []
    const topics = req.topics.map((t) => {
      const topic = topicByName(image, t.topic)
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const meta = topic?.partitions[p.partition]
          const hosted = topic ? ctx.broker.replicas.lookup(topic.topicId, p.partition) : undefined
          if (!topic || !meta) return result(p.partition, 'unknown_topic_or_partition')
          if (!hosted || meta.leader !== ctx.broker.nodeId) return result(p.partition, 'not_leader_or_follower')
          const current = ctx.broker.replicas.watermarks(hosted).leaderEpoch
          if (p.currentLeaderEpoch !== -1 && p.currentLeaderEpoch !== current) {
            return result(p.partition, p.currentLeaderEpoch < current ? 'fenced_leader_epoch' : 'unknown_leader_epoch')
          }
          const out = result(p.partition, null)
          pending.push(ctx.broker.replicas.pool.offsetForLeaderEpoch(hosted.handle, p.leaderEpoch).then((r) => {
            if ('error' in r) out.errorCode = errorCode(r.error)
            else {
              out.leaderEpoch = r.ok.leaderEpoch
              out.endOffset = r.ok.endOffset
            }
          }))
          return out
        }),
      }
    })
    await Promise.all(pending)
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), topics }
  },
})
