/**
 * The group coordinator as an actor: what the network thread asks it (`CoordinatorCall`, to
 * the actor GROUP_COORDINATOR_ACTOR on a coordinator worker) and what it asks the network
 * thread's `__consumer_offsets` access (`GroupLogCall`, to GROUP_LOG_ACTOR on the main
 * thread's router), both through the router.
 *
 * Each call is a plain, structured-cloneable value (Buffers arrive as Uint8Arrays and are
 * restored by the receiver; record batches travel as transferred bytes).
 */
import type { MessagePort } from 'node:worker_threads'
import type { FetchedOffset, JoinRequest, JoinResult, MemberRef, OffsetCommitRequestData, PartitionResult, SyncRequest, SyncResult } from './coordinator.ts'
import type { DescribedGroupData, ListedGroupData } from './coordinator.ts'
import type { CoordinatorConfig } from './context.ts'
import type { CoordinatorError } from './errors.ts'

export const GROUP_COORDINATOR_ACTOR = 'group-coordinator'
export const GROUP_LOG_ACTOR = 'group-log'

export type CoordinatorCall =
  | { readonly op: 'join'; readonly req: JoinRequest }
  | { readonly op: 'sync'; readonly req: SyncRequest }
  | { readonly op: 'heartbeat'; readonly req: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null } }
  | { readonly op: 'leave'; readonly groupId: string; readonly members: readonly MemberRef[] }
  | { readonly op: 'commit'; readonly req: OffsetCommitRequestData }
  | { readonly op: 'fetch'; readonly groupId: string; readonly topics: readonly { name: string; partitions: readonly number[] }[] | null }
  | { readonly op: 'deleteOffsets'; readonly groupId: string; readonly partitions: readonly { topic: string; partition: number }[] }
  | { readonly op: 'describe'; readonly groupIds: readonly string[] }
  | { readonly op: 'list'; readonly states: readonly string[]; readonly types: readonly string[] }
  | { readonly op: 'deleteGroups'; readonly groupIds: readonly string[] }
  /** Load group state from __consumer_offsets (once; later calls wait for the same load). */
  | { readonly op: 'load' }
  /** Answer parked requests, cancel timers, wait for in-flight writes; serve nothing afterwards. */
  | { readonly op: 'stop' }

/** The reply to each call, by op. */
export interface CoordinatorReplies {
  join: JoinResult
  sync: SyncResult
  heartbeat: CoordinatorError | null
  leave: { error: CoordinatorError | null; members: (MemberRef & { error: CoordinatorError | null })[] }
  commit: PartitionResult[]
  fetch: { error: CoordinatorError | null; offsets: FetchedOffset[] }
  deleteOffsets: { error: CoordinatorError | null; partitions: PartitionResult[] }
  describe: DescribedGroupData[]
  list: { error: CoordinatorError | null; groups: ListedGroupData[] }
  deleteGroups: { groupId: string; error: CoordinatorError | null }[]
  load: CoordinatorError | null
  stop: null
}

export type GroupLogCall =
  /** Append one batch of group records to the group's partition; null once it is below the high watermark. */
  | { readonly op: 'append'; readonly groupId: string; readonly batch: Uint8Array }
  /** The partitions to load: each with its log start offset and high watermark. */
  | { readonly op: 'partitions' }
  /** Raw record batches of one partition from `offset` (at least one whole batch, up to ~1 MiB). */
  | { readonly op: 'read'; readonly partition: number; readonly offset: number }

export interface GroupLogReplies {
  append: CoordinatorError | null
  partitions: { partition: number; logStartOffset: number; highWatermark: number }[]
  read: Uint8Array
}

/** What a coordinator worker starts with (workerData; `hub` is transferred). */
export interface CoordinatorWorkerData {
  readonly nodeId: number
  /** The worker's end of its port link to the main thread's router. */
  readonly hub: MessagePort
  readonly config: CoordinatorConfig
  readonly logLevel: string
}
