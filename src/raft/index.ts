/**
 * Public surface of the Raft library. See docs/raft.md for the manual.
 */
export { RaftNode } from './raft-node.ts'
export type { Ready, Status } from './raft-node.ts'
export type { RaftConfig, Random } from './config.ts'
export { MemoryStorage } from './storage.ts'
export { decodeConfigEntry, encodeConfigEntry } from './membership.ts'
export type { ConfChange, ConfChangeType, ConfigEntryData } from './membership.ts'
export type { InitialState, RaftStorage } from './storage.ts'
export { entrySize, isRefusal } from './types.ts'
export type {
  AppendMessage, AppendResponse, Entry, EntryKind, HardState, HeartbeatMessage, HeartbeatResponse, LogIndex,
  Message, MessageType, NodeId, ProposalOutcome, ProposeResult, ReadIndexRequest, ReadIndexResponse, ReadState,
  Refusal, RefusalReason, Role, Snapshot, SnapshotMessage, SnapshotMeta, SoftState, Term, TimeoutNowMessage,
  VoteRequest, VoteResponse,
} from './types.ts'
