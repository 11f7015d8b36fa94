/**
 * Produce (key 0), versions 3–11 (v3 is the first with RecordBatch v2; librdkafka needs it).
 *
 * Ordering: everything up to posting to the shards is synchronous, so two pipelined requests
 * reach a partition's mailbox in arrival order. Each request sends one message per shard it
 * touches. Batches pass through: validated, stamped and appended by the partition actor; the
 * payload is never decoded here.
 * acks=0 gets no response; if any partition fails, the connection is closed so the client
 * notices (as Kafka does). acks=1 and acks=all are answered after the bytes are in the file.
 */
import { decodeProduceRequest, type ProduceRequest } from '../../protocol/messages/produce-request.ts'
import {
  encodeProduceResponse, type ProduceResponse, type PartitionProduceResponse, type TopicProduceResponse,
} from '../../protocol/messages/produce-response.ts'
import { defineHandler, RequestFailure } from '../handler.ts'
import { ErrorCode, errorCode, type InternalError } from '../error-map.ts'
import { topicByName } from '../../metadata/image.ts'
import type { RequestContext } from '../request-context.ts'
import type { HostedPartition } from '../../broker/replica-service.ts'
import type { ProduceItemResult } from '../../broker/partition-host.ts'
import { RECORD_BATCH_OVERHEAD, batchSizeOf, recordCountOf } from '../../storage/record-batch.ts'

/**
 * Floor of the shard round trip's deadline. Kafka's timeout_ms bounds only the wait for
 * replication: the local append happens whatever it says (0 or negative included), so a small or
 * negative value must not make the shard skip the append as expired.
 */
const MIN_APPEND_DEADLINE_MS = 5_000

interface Slot {
  readonly response: PartitionProduceResponse
  readonly hosted: HostedPartition
  readonly records: Buffer
}

function partitionResponse(index: number, error: InternalError | null, message: string | null = null): PartitionProduceResponse {
  return {
    index, errorCode: error ? errorCode(error) : ErrorCode.NONE, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
    recordErrors: [], errorMessage: message, currentLeader: { leaderId: -1, leaderEpoch: -1 },
  }
}

function fill(slot: Slot, result: ProduceItemResult): void {
  const r = slot.response
  if ('error' in result) {
    r.errorCode = errorCode(result.error)
    r.errorMessage = result.message ?? null
    return
  }
  r.baseOffset = result.ok.baseOffset
  r.logAppendTimeMs = result.ok.logAppendTime
  r.logStartOffset = result.ok.logStartOffset
}

/** Bytes and records of a partition's record set, from its batch headers (the shard validates them; a bad one stops the count). */
function trafficOf(records: Buffer): { bytes: number; records: number } {
  let count = 0
  for (let p = 0; p + RECORD_BATCH_OVERHEAD <= records.length;) {
    const size = batchSizeOf(records, p)
    if (size < RECORD_BATCH_OVERHEAD) break
    count += Math.max(0, recordCountOf(records, p))
    p += size
  }
  return { bytes: records.length, records: count }
}

/** One log line per rejected produce request, naming each failed partition and why. */
function logRejected(ctx: RequestContext, responses: TopicProduceResponse[]): void {
  const failures = responses.flatMap((t) => t.partitionResponses
    .filter((p) => p.errorCode !== ErrorCode.NONE)
    .map((p) => ({ topic: t.name, partition: p.index, errorCode: p.errorCode, message: p.errorMessage })))
  ctx.log.warn({ client: ctx.clientId, conn: ctx.conn.id, failures }, 'produce rejected')
}

export function handleProduce(ctx: RequestContext, req: ProduceRequest): ProduceResponse | null | Promise<ProduceResponse | null> {
  const { broker } = ctx
  const image = broker.image()
  const slots: Slot[] = []
  const responses: TopicProduceResponse[] = []
  let failed = false
  const validAcks = req.acks === 0 || req.acks === 1 || req.acks === -1
  for (const t of req.topicData) {
    const topic = topicByName(image, t.name)
    const partitionResponses: PartitionProduceResponse[] = []
    responses.push({ name: t.name, partitionResponses })
    for (const p of t.partitionData) {
      let error: InternalError | null = null
      const hosted = topic ? broker.replicas.lookup(topic.topicId, p.index) : undefined
      const meta = topic?.partitions[p.index]
      if (!validAcks) error = 'invalid_required_acks'
      else if (!topic || !meta) error = 'unknown_topic_or_partition'
      else if (meta.leader !== broker.nodeId || !hosted) error = 'not_leader_or_follower'
      else if (p.records === null || p.records.length === 0) error = 'corrupt_message'
      else if (req.acks === -1 && meta.isr.length < broker.replicas.minInsyncReplicas(image, t.name)) error = 'not_enough_replicas'
      const response = partitionResponse(p.index, error)
      partitionResponses.push(response)
      if (error) {
        failed = true
        continue
      }
      slots.push({ response, hosted: hosted!, records: p.records! })
    }
  }
  const pool = broker.replicas.pool
  // Read before the buffers are transferred to the shards (which detaches them here).
  const traffic = broker.metrics === null ? null : slots.map((s) => trafficOf(s.records))
  // Posted to every shard synchronously, before this handler returns: arrival order is kept.
  const sent = slots.length === 0 ? null : pool.produceAcrossShards(slots.map((s) => ({ handle: s.hosted.handle, records: s.records })), Math.max(MIN_APPEND_DEADLINE_MS, req.timeoutMs))
  for (const shard of new Set(slots.map((s) => s.hosted.handle.shard))) {
    if (pool.isSaturated(shard)) ctx.conn.holdReads(new Promise<void>((resolve) => pool.onDrain(shard, resolve)))
  }
  const respond = (): ProduceResponse | null => {
    if (failed) logRejected(ctx, responses)
    if (req.acks === 0) {
      if (failed) throw new RequestFailure('acks=0 produce failed; closing the connection so the client refreshes metadata')
      return null
    }
    return { responses, throttleTimeMs: broker.throttleTimeMs(ctx), nodeEndpoints: [] }
  }
  if (sent === null) return respond()
  return sent.then((results) => {
    results.forEach((r, i) => {
      fill(slots[i]!, r)
      if ('error' in r) failed = true
      else if (traffic !== null) broker.metrics!.produced(slots[i]!.hosted.topic, traffic[i]!.bytes, traffic[i]!.records)
    })
    return respond()
  })
}

export default defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: 0, name: 'Produce', minVersion: 3, maxVersion: 11,
  decode: decodeProduceRequest,
  encode: encodeProduceResponse,
  handle: handleProduce,
})
