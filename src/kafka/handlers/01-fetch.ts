/**
 * Fetch (key 1), versions 4–17 (topic ids from v13). Consumers only for now (replica fetches
 * come with replication). Fetch sessions (KIP-227) are answered without a session: session id
 * 0 tells the client to keep sending full fetch requests. An incremental request (session
 * epoch > 0) names a session this broker never created: FETCH_SESSION_ID_NOT_FOUND, after which
 * clients start over with a full request (Kafka answers so for a session it has evicted).
 *
 * Long poll: read; if fewer than min_bytes came back (counted across all partitions), wait
 * until one of the partitions' watermarks moves — an event from its shard, never a timer
 * poll — or max_wait_ms passes, and read again; a watched partition that stops being hosted
 * (its topic deleted) ends the wait at once. Records are the file bytes as read by the
 * partition actor (whole batches), cut to max_bytes in request order (fillMaxBytes; at least one
 * batch for the first partition with data, KIP-74).
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
  // Not readonly: a partition named again later in the request takes that entry's parameters.
  fetchOffset: number
  maxBytes: number
  currentLeaderEpoch: number
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
      bytes += apply(list[i]!.data, r, isolation)
      if ('ok' in r) reads.get(shard)?.push(r.ok.records.buffer as ArrayBuffer) ?? reads.set(shard, [r.ok.records.buffer as ArrayBuffer])
    })
  }))
  return bytes
}

function apply(data: PartitionData, r: FetchItemResult, isolation: number): number {
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
  // read_committed answers a list (empty without aborted transactions), read_uncommitted null, as Kafka does.
  data.abortedTransactions = r.ok.abortedTransactions ?? (isolation === READ_COMMITTED ? [] : null)
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

/** The length of the whole batches at the start of `records` that fit in `limit` bytes. */
function wholeBatchesWithin(records: Buffer, limit: number): number {
  let end = 0
  while (records.length - end >= 12) {
    const size = 12 + records.readInt32BE(end + 8)
    if (end + size > limit || end + size > records.length) break
    end += size
  }
  return end
}

/**
 * max_bytes as Kafka's ReplicaManager.readFromLog spends it: partitions in request order, each
 * read limited to min(partition_max_bytes, what is left of max_bytes); only the first partition
 * that returns data may exceed its limit with one whole batch (KIP-74). Every partition was read
 * with min(partition_max_bytes, max_bytes) and "at least one batch", so later ones are cut back
 * here to the whole batches that fit in what is left.
 */
function fillMaxBytes(targets: readonly Target[], maxBytes: number): void {
  let remaining = maxBytes
  let first = true
  for (const t of targets) {
    const records = t.data.records
    if (!records || records.length === 0) continue
    if (first) {
      first = false
      remaining = Math.max(0, remaining - records.length)
      continue
    }
    const end = wholeBatchesWithin(records, Math.min(t.maxBytes, remaining))
    t.data.records = end === records.length ? records : records.subarray(0, end)
    remaining -= end
  }
}

/**
 * A partition that stopped being hosted while the fetch ran. Its topic deleted: what a new
 * request would get (UNKNOWN_TOPIC_ID from v13, else UNKNOWN_TOPIC_OR_PARTITION — Kafka's answer
 * for a partition it no longer knows); otherwise NOT_LEADER_OR_FOLLOWER.
 */
function answerGone(ctx: RequestContext, t: Target): void {
  const gone = !ctx.broker.image().topicsById.has(t.hosted.topicId)
  const error: InternalError = !gone ? 'not_leader_or_follower' : ctx.apiVersion >= 13 ? 'unknown_topic_id' : 'unknown_topic_or_partition'
  Object.assign(t.data, emptyPartition(t.data.partitionIndex, error))
}

export async function handleFetch(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  if (req.sessionEpoch > 0) {
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [], nodeEndpoints: [] }
  }
  const responses: FetchableTopicResponse[] = []
  const targets: Target[] = []
  // A partition asked for twice is answered once, where it first appeared, with the last
  // request's parameters — Kafka collects the request's partitions in an insertion-ordered map.
  const seen = new Map<string, PartitionData>()
  for (const ft of req.topics) {
    const { topic, error } = resolveTopic(ctx, ft.topic, ft.topicId)
    const partitions: PartitionData[] = []
    responses.push({ topic: ft.topic, topicId: ft.topicId, partitions })
    for (const fp of ft.partitions) {
      const key = `${ctx.apiVersion >= 13 ? ft.topicId : ft.topic}\u0000${fp.partition}`
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        const target = targets.find((t) => t.data === earlier)
        if (target !== undefined) {
          target.fetchOffset = fp.fetchOffset
          target.maxBytes = Math.min(fp.partitionMaxBytes, req.maxBytes)
          target.currentLeaderEpoch = fp.currentLeaderEpoch
        }
        continue
      }
      const meta = topic?.partitions[fp.partition]
      const hosted = topic ? ctx.broker.replicas.lookup(topic.topicId, fp.partition) : undefined
      let err: InternalError | null = error ?? null
      if (!err && (!topic || !meta)) err = 'unknown_topic_or_partition'
      else if (!err && req.replicaId >= 0) err = 'not_leader_or_follower' // replica fetches come with replication
      else if (!err && (!hosted || meta!.leader !== ctx.broker.nodeId)) err = 'not_leader_or_follower'
      const data = emptyPartition(fp.partition, err)
      seen.set(key, data)
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
  // A partition that stops being hosted (its topic deleted) completes the fetch at once, as
  // Kafka completes delayed fetches when it stops a replica.
  const watched = new Set(keys)
  let removed = false
  const unsubscribe = ctx.broker.replicas.onRemoved((key) => {
    if (!watched.has(key)) return
    removed = true
    ctx.broker.waiters.notify(key)
  })
  try {
    for (;;) {
      // Skip the round trip while nothing new can be read, then wait for a watermark to move.
      const caughtUp = targets.length > 0 && allCaughtUp(ctx, targets, req.isolationLevel)
      const bytes = caughtUp ? 0 : await readAll(ctx, targets, req.isolationLevel, reads)
      const anyError = targets.some((t) => t.data.errorCode !== ErrorCode.NONE)
      const remaining = deadline - Date.now()
      if (bytes >= req.minBytes || anyError || removed || remaining <= 0 || targets.length === 0) {
        if (caughtUp || removed) await readAll(ctx, targets, req.isolationLevel, reads)
        break
      }
      await ctx.broker.waiters.wait(keys, remaining)
    }
  } finally {
    unsubscribe()
  }
  for (const t of targets) if (ctx.broker.replicas.lookup(t.hosted.topicId, t.hosted.partition) !== t.hosted) answerGone(ctx, t)
  fillMaxBytes(targets, req.maxBytes)
  const answered = responses.filter((r) => r.partitions.length > 0) // entries left empty by duplicates
  if (ctx.broker.metrics !== null) {
    for (const t of targets) if (t.data.records && t.data.records.length > 0) ctx.broker.metrics.fetched(t.hosted.topic, t.data.records.length)
  }
  return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), errorCode: ErrorCode.NONE, sessionId: 0, responses: answered, nodeEndpoints: [] }
}

export default defineHandler<FetchRequest, FetchResponse>({
  apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 17,
  decode: decodeFetchRequest,
  encode: encodeFetchResponse,
  handle: handleFetch,
})
