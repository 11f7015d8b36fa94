/**
 * Messages between the main thread and a Raft worker (actors/raft-worker.ts), through the
 * router: the main thread asks the worker's RAFT_CONTROL_ACTOR (ControlCall → Reply), and the
 * worker tells the main thread's RAFT_EVENTS_ACTOR what happened (RaftEvent, in order).
 */
import type { MessagePort } from 'node:worker_threads'
import type { ConfChange } from '../membership.ts'
import type { Status } from '../raft-node.ts'
import type { EntryKind, LogIndex, NodeId, Role, Term } from '../types.ts'
import type { PeerAddress } from '../transport/transport.ts'
import type { Failure, ProposeReply, ReadReply } from './raft-host.ts'

export interface RaftWorkerData {
  readonly id: NodeId
  readonly voters: readonly NodeId[]
  /** The Raft log directory, e.g. `<metadata.log.dir>/__cluster_metadata-0`. */
  readonly dir: string
  /**
   * TCP listen port for other nodes' peer links (0: any free port, reported by the 'hello'
   * call; null: no listener, the nodes are linked by `links`).
   */
  readonly port: number | null
  readonly host?: string
  /** Links to nodes in this process (one end of a MessageChannel each; transferred to the worker). */
  readonly links?: ReadonlyArray<{ readonly node: NodeId; readonly port: MessagePort }>
  readonly fsync: boolean
  /** Tick interval in ms (default DEFAULT_TICK_MS, host/timing.ts). */
  readonly tickMs?: number
  /** Default DEFAULT_ELECTION_TICKS (host/timing.ts). */
  readonly electionTicks?: number
  /** Default DEFAULT_HEARTBEAT_TICKS (host/timing.ts). */
  readonly heartbeatTicks?: number
  /** Post committed entries to the main thread ('applied' events). */
  readonly deliverApplied: boolean
  /** The worker's end of its port link to the main thread's router (transferred). */
  readonly hub: MessagePort
}

export interface LagStats {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

/** The Raft worker's control actor (on the worker's router): what the main thread asks it. */
export const RAFT_CONTROL_ACTOR = 'raft-control'
/** The main thread's actor that receives the worker's events (tells, in order). */
export const RAFT_EVENTS_ACTOR = 'raft-events'

export type ControlCall =
  /** The node's peer-listener port (0 when it has none). */
  | { readonly op: 'hello' }
  | { readonly op: 'peers'; readonly peers: readonly PeerAddress[] }
  | { readonly op: 'propose'; readonly data: Uint8Array }
  | { readonly op: 'read' }
  | { readonly op: 'status' }
  | { readonly op: 'transfer'; readonly to: NodeId }
  | { readonly op: 'membership'; readonly change: ConfChange }
  | { readonly op: 'campaign' }
  | { readonly op: 'compact'; readonly index: LogIndex; readonly data: Uint8Array }
  | { readonly op: 'lag' }
  | { readonly op: 'stop' }

export interface AppliedEntry {
  readonly index: LogIndex
  readonly term: Term
  readonly kind: EntryKind
  readonly data: Uint8Array
}

export type Reply = ProposeReply | ReadReply | Status | LagStats | Failure | { readonly port: number } | null

export type RaftEvent =
  | { readonly ev: 'applied'; readonly entries: readonly AppliedEntry[] }
  | { readonly ev: 'restored'; readonly index: LogIndex; readonly data: Uint8Array }
  | { readonly ev: 'role'; readonly lead: NodeId; readonly role: Role; readonly term: Term }
