/**
 * Messages between the main thread and a Raft worker (actors/raft-worker.ts). Plain
 * postMessage with request ids: `req` pairs every reply with its request.
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
   * TCP listen port for other nodes' peer links (0: any free port, reported in the 'listening'
   * event; null: no listener, the nodes are linked by `links`).
   */
  readonly port: number | null
  readonly host?: string
  /** Links to nodes in this process (one end of a MessageChannel each; transferred to the worker). */
  readonly links?: ReadonlyArray<{ readonly node: NodeId; readonly port: MessagePort }>
  readonly fsync: boolean
  readonly tickMs: number
  readonly electionTicks: number
  readonly heartbeatTicks: number
  /** Post committed entries to the main thread ('applied' events). */
  readonly deliverApplied: boolean
}

export interface LagStats {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

export type ToWorker =
  | { readonly op: 'peers'; readonly peers: readonly PeerAddress[] }
  | { readonly op: 'propose'; readonly req: number; readonly data: Uint8Array }
  | { readonly op: 'read'; readonly req: number }
  | { readonly op: 'status'; readonly req: number }
  | { readonly op: 'transfer'; readonly req: number; readonly to: NodeId }
  | { readonly op: 'membership'; readonly req: number; readonly change: ConfChange }
  | { readonly op: 'campaign'; readonly req: number }
  | { readonly op: 'compact'; readonly req: number; readonly index: LogIndex; readonly data: Uint8Array }
  | { readonly op: 'lag'; readonly req: number }
  | { readonly op: 'stop'; readonly req: number }

export interface AppliedEntry {
  readonly index: LogIndex
  readonly term: Term
  readonly kind: EntryKind
  readonly data: Uint8Array
}

export type Reply = ProposeReply | ReadReply | Status | LagStats | Failure | null

export type FromWorker =
  | { readonly ev: 'listening'; readonly port: number }
  | { readonly ev: 'reply'; readonly req: number; readonly value: Reply }
  | { readonly ev: 'applied'; readonly entries: readonly AppliedEntry[] }
  | { readonly ev: 'restored'; readonly index: LogIndex; readonly data: Uint8Array }
  | { readonly ev: 'role'; readonly lead: NodeId; readonly role: Role; readonly term: Term }
