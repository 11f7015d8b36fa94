/**
 * How the pool turns what comes back from a shard (or does not) into per-item results: wire
 * results to Buffers, link failures to retriable errors for every item that was sent, control
 * errors to Kafka-level ones; and which handle names which actor incarnation.
 */
import type { FetchItemResult, PartitionHandle, ProduceItemResult } from '../broker/partition-host.ts'
import type { WireFetchResult, WireProduceResult } from './protocol.ts'
import type { ControlError } from './shard-host.ts'
import type { LinkError, LinkOutcome } from './shard-link.ts'
import type { ShardPartitionHandle } from './shard-restarter.ts'

/**
 * A handle names one incarnation of an actor: after a close and re-open (same key) the old
 * handle is stale. Handles are the pool's own objects; a copy is matched by its actorId.
 */
export function sameIncarnation(current: ShardPartitionHandle, handle: PartitionHandle): boolean {
  return current === handle || (current.slot === handle.slot && (handle as Partial<ShardPartitionHandle>).actorId === current.actorId)
}

/** Answers the items at `at` (those sent, or about to be) with one error. */
export function fillPending<R extends ProduceItemResult | FetchItemResult>(results: R[], at: readonly number[], error: 'shard_unavailable' | 'request_timed_out'): R[] {
  for (const i of at) results[i] = { error } as R
  return results
}

export function mergeResults(results: ProduceItemResult[], at: readonly number[], outcome: LinkOutcome<WireProduceResult[]>): ProduceItemResult[] {
  if ('error' in outcome) return fillPending(results, at, outcome.error)
  at.forEach((i, k) => { results[i] = outcome.ok[k]! })
  return results
}

export function fromWireFetch(r: WireFetchResult): FetchItemResult {
  if ('error' in r) return r.watermarks === undefined ? { error: r.error } : { error: r.error, watermarks: r.watermarks }
  const { buffer, byteOffset, byteLength, highWatermark, lastStableOffset, logStartOffset } = r.ok
  return { ok: { records: Buffer.from(buffer, byteOffset, byteLength), highWatermark, lastStableOffset, logStartOffset } }
}

export function liftControl<T>(r: { ok: T } | { error: LinkError | ControlError }): { ok: T } | { error: 'not_leader_or_follower' | 'shard_unavailable' | 'request_timed_out' } {
  if ('ok' in r) return r
  if (r.error === 'shard_unavailable' || r.error === 'request_timed_out') return { error: r.error }
  return { error: r.error === 'not_found' ? 'not_leader_or_follower' : 'shard_unavailable' }
}
