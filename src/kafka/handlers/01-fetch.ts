/**
 * Fetch (key 1), versions 4–17 (topic ids from v13). Consumers only for now (replica fetches
 * come with replication). Fetch sessions (KIP-227) are answered without a session: session id
 * 0 tells the client to keep sending full fetch requests.
 *
 * Long poll: read; if fewer than min_bytes came back (counted across all partitions), wait
 * until one of the partitions' watermarks moves — an event from its shard, never a timer
 * poll — or max_wait_ms passes, and read again. Records are the file bytes as read by the
 * partition actor (whole batches; at least one batch even above max_bytes, KIP-74).
 */
import { decodeFetchRequest, type FetchRequest } from '../../protocol/messages/fetch-request.ts'
import { encodeFetchResponse, type FetchResponse, type PartitionData, type FetchableTopicResponse } from '../../protocol/messages/fetch-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode, type InternalError } from '../error-map.ts'
import { topicByName, type TopicImage } from '../../metadata/image.ts'
import type { RequestContext } from '../request-context.ts'
import { partitionKey, type HostedPartition } from '../../broker/replica-service.ts'
import type { FetchItemResult } from '../../broker/partition-host.ts'

const READ_COMMITTED = 1

interface Target {
  readonly data: PartitionData
  readonly hosted: HostedPartition
  readonly fetchOffset: number
  readonly maxBytes: number
  readonly currentLeaderEpoch: number
}

/**
 * Records of a partition that returns none (an error, or nothing yet): empty, never null —
 * librdkafka refuses a null (size −1) message set as a parse failure and refetches in a loop,
 * and Kafka itself always sends an empty one.
 */
const NO_RECORDS = Buffer.alloc(0)

function emptyPartition(index: number, error: InternalError | null): PartitionData {
  return {
    partitionIndex: index, errorCode: error ? errorCode(error) : ErrorCode.NONE, highWatermark: -1, lastStableOffset: -1,
    logStartOffset: -1, divergingEpoch: { epoch: -1, endOffset: -1 }, currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 }, abortedTransactions: null, preferredReadReplica: -1, records: NO_RECORDS,
  }
}

function resolveTopic(ctx: RequestContext, name: string, topicId: string): { topic?: TopicImage; error?: InternalError } {
  const image = ctx.broker.image()
  if (ctx.apiVersion >= 13) {
    const topic = image.topicsById.get(topicId)
    return topic ? { topic } : { error: 'unknown_topic_id' }
  }
  const topic = topicByName(image, name)
  return topic ? { topic } : { error: 'unknown_topic_or_partition' }
}

/** Reads every target once (one message per shard) and fills in their response entries; returns the bytes read. */
async function readAll(ctx: RequestContext, targets: readonly Target[], isolation: number, reads: Map<number, ArrayBuffer[]>): Promise<number> {
  const pool = ctx.broker.replicas.pool
  const byShard = new Map<number, Target[]>()
  for (const t of targets) {
    let list = byShard.get(t.hosted.handle.shard)
    if (!list) byShard.set(t.hosted.handle.shard, (list = []))
    list.push(t)
  }
  let bytes = 0
  await Promise.all([...byShard].map(async ([shard, list]) => {
    const results = await pool.fetch(shard, list.map((t) => ({
      handle: t.hosted.handle, fetchOffset: t.fetchOffset, maxBytes: t.maxBytes,
      isolation: isolation === READ_COMMITTED ? 'read_committed' as const : 'read_uncommitted' as const,
      currentLeaderEpoch: t.currentLeaderEpoch, minOneBatch: true,
    })), 30_000)
    results.forEach((r, i) => {
      bytes += apply(list[i]!.data, r)
      if ('ok' in r) reads.get(shard)?.push(r.ok.records.buffer as ArrayBuffer) ?? reads.set(shard, [r.ok.records.buffer as ArrayBuffer])
    })
  }))
  return bytes
}

function apply(data: PartitionData, r: FetchItemResult): number {
  if ('error' in r) {
    data.errorCode = errorCode(r.error)
    data.records = NO_RECORDS
    if (r.watermarks) {
      data.highWatermark = r.watermarks.highWatermark
      data.lastStableOffset = r.watermarks.lastStableOffset
      data.logStartOffset = r.watermarks.logStartOffset
    }
    return 0
  }
  data.errorCode = ErrorCode.NONE
  data.highWatermark = r.ok.highWatermark
  data.lastStableOffset = r.ok.lastStableOffset
  data.logStartOffset = r.ok.logStartOffset
  data.abortedTransactions = r.ok.abortedTransactions ?? null
  data.records = r.ok.records
  return r.ok.records.length
}

/** Nothing to read yet: every target is at its upper bound (HW, or LSO for read_committed). */
function allCaughtUp(ctx: RequestContext, targets: readonly Target[], isolation: number): boolean {
  for (const t of targets) {
    const w = ctx.broker.replicas.watermarks(t.hosted)
    const bound = isolation === READ_COMMITTED ? w.lastStableOffset : w.highWatermark
    if (t.fetchOffset !== bound || t.fetchOffset < w.logStartOffset) return false
    if (t.currentLeaderEpoch !== -1 && t.currentLeaderEpoch !== w.leaderEpoch) return false
  }
  return true
}

/** KIP-74 and max_bytes: keep whole partitions in request order while they fit; the first with data always stays. */
function trimToMaxBytes(targets: readonly Target[], maxBytes: number): void {
  let total = 0
  for (const t of targets) {
    const n = t.data.records?.length ?? 0
    if (n === 0) continue
    if (total > 0 && total + n > maxBytes) t.data.records = Buffer.alloc(0)
    else total += n
  }
}

export async function handleFetch(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  const responses: FetchableTopicResponse[] = []
  const targets: Target[] = []
  for (const ft of req.topics) {
    const { topic, error } = resolveTopic(ctx, ft.topic, ft.topicId)
    const partitions: PartitionData[] = []
    responses.push({ topic: ft.topic, topicId: ft.topicId, partitions })
    for (const fp of ft.partitions) {
      const meta = topic?.partitions[fp.partition]
      const hosted = topic ? ctx.broker.replicas.lookup(topic.topicId, fp.partition) : undefined
      let err: InternalError | null = error ?? null
      if (!err && (!topic || !meta)) err = 'unknown_topic_or_partition'
      else if (!err && req.replicaId >= 0) err = 'not_leader_or_follower' // replica fetches come with replication
      else if (!err && (!hosted || meta!.leader !== ctx.broker.nodeId)) err = 'not_leader_or_follower'
      const data = emptyPartition(fp.partition, err)
      partitions.push(data)
      if (!err) targets.push({ data, hosted: hosted!, fetchOffset: fp.fetchOffset, maxBytes: Math.min(fp.partitionMaxBytes, req.maxBytes), currentLeaderEpoch: fp.currentLeaderEpoch })
    }
  }
  // Read buffers go back to their shard once the response is written (src/lib/buffer-pool.ts).
  const reads = new Map<number, ArrayBuffer[]>()
  ctx.onResponseWritten(() => {
    for (const [shard, buffers] of reads) ctx.broker.replicas.pool.recycle(shard, buffers)
  })
  const deadline = Date.now() + Math.max(0, req.maxWaitMs)
  const keys = targets.map((t) => partitionKey(t.hosted.topicId, t.hosted.partition))
  for (;;) {
    // Skip the round trip while nothing new can be read, then wait for a watermark to move.
    const caughtUp = targets.length > 0 && allCaughtUp(ctx, targets, req.isolationLevel)
    const bytes = caughtUp ? 0 : await readAll(ctx, targets, req.isolationLevel, reads)
    const anyError = targets.some((t) => t.data.errorCode !== ErrorCode.NONE)
    const remaining = deadline - Date.now()
    if (bytes >= req.minBytes || anyError || remaining <= 0 || targets.length === 0) {
      if (caughtUp) await readAll(ctx, targets, req.isolationLevel, reads)
      break
    }
    await ctx.broker.waiters.wait(keys, remaining)
  }
  trimToMaxBytes(targets, req.maxBytes)
  return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: [] }
}

export default defineHandler<FetchRequest, FetchResponse>({
  apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 17,
  decode: decodeFetchRequest,
  encode: encodeFetchResponse,
  handle: handleFetch,
})
