/**
 * OffsetFetch (key 9), versions 1–9; v8+ batches groups. A partition without a committed
 * offset gets -1; a null topic list (v2+) means every committed partition of the group. The
 * group-level error (load in progress, ...) is per partition in v1, top-level in v2–7 and per
 * group from v8. require_stable needs no wait: there are no transactional commits yet.
 */
import { decodeOffsetFetchRequest, type OffsetFetchRequest } from '../../protocol/messages/offset-fetch-request.ts'
import {
  encodeOffsetFetchResponse, type OffsetFetchResponse, type OffsetFetchResponsePartition, type OffsetFetchResponseTopic,
} from '../../protocol/messages/offset-fetch-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import type { RequestContext } from '../request-context.ts'

type Topics = readonly { name: string; partitionIndexes: readonly number[] }[] | null

async function fetchGroup(ctx: RequestContext, groupId: string, topics: Topics): Promise<{ errorCode: number; topics: OffsetFetchResponseTopic[] }> {
  const requested = topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }))
  const r = await ctx.broker.groups.coordinator.fetchOffsets(groupId, requested)
  if (r.error) {
    const code = errorCode(r.error)
    // v1 has no group-level error: every requested partition carries it.
    const failed = (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: code })),
    }))
    return { errorCode: code, topics: failed }
  }
  const byTopic = new Map<string, OffsetFetchResponsePartition[]>()
  for (const o of r.offsets) {
    let list = byTopic.get(o.topic)
    if (!list) byTopic.set(o.topic, (list = []))
    list.push({
      partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch,
      metadata: o.metadata, errorCode: o.error ? errorCode(o.error) : ErrorCode.NONE,
    })
  }
  return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }
}

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9, name: 'OffsetFetch', minVersion: 1, maxVersion: 9,
  decode: decodeOffsetFetchRequest,
  encode: encodeOffsetFetchResponse,
  async handle(ctx, req) {
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (ctx.apiVersion >= 8) {
      const groups = await Promise.all(req.groups.map(async (g) => {
        const r = await fetchGroup(ctx, g.groupId, g.topics)
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.errorCode === ErrorCode.NONE ? r.topics : [] }
      }))
      return { throttleTimeMs, topics: [], errorCode: ErrorCode.NONE, groups }
    }
    const r = await fetchGroup(ctx, req.groupId, req.topics)
    if (ctx.apiVersion === 1) return { throttleTimeMs, topics: r.topics, errorCode: ErrorCode.NONE, groups: [] }
    return { throttleTimeMs, topics: r.errorCode === ErrorCode.NONE ? r.topics : [], errorCode: r.errorCode, groups: [] }
  },
})
