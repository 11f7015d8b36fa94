/**
 * Leader side of log replication (Raft §5.3, §5.4.2, §7, §8): sending appends,
 * snapshots and heartbeats under flow control, reacting to replies, advancing
 * the commit index and confirming read-index requests.
 */
import { assert } from '../lib/assert.ts'
import type { Progress } from './progress.ts'
import { committedIndex, hasQuorum } from './quorum.ts'
import type { Raft } from './raft.ts'
import type { AppendResponse, Entry, HeartbeatResponse, LogIndex, NodeId } from './types.ts'

/** Stamps index and term on new entries, appends them and counts our own ack. Returns the last one. */
export function appendEntries(r: Raft, ents: readonly Entry[]): Entry {
  assert(r.role === 'leader' && ents.length > 0, 'only a leader appends new entries')
  let index = r.log.lastIndex()
  const stamped = ents.map((e) => ({ ...e, index: ++index, term: r.term }))
  r.log.append(stamped)
  // A config entry is in force once appended: track exactly its voters before counting acks.
  if (stamped.some((e) => e.kind === 'config')) r.syncProgress()
  r.progress.get(r.id)!.maybeUpdate(r.log.lastIndex())
  // A single-voter group commits as soon as the leader has the entry.
  maybeCommit(r)
  return stamped[stamped.length - 1]!
}

/**
 * §5.4.2: the leader commits an index once a majority store it, but only if
 * the entry there is from its current term; older entries commit with it.
 */
export function maybeCommit(r: Raft): boolean {
  // Over the current voters (learners never count): a leader that removed itself does not count its own log.
  const index = committedIndex(r.voters, (v) => r.progress.get(v)?.match ?? 0)
  if (index <= r.log.committed || r.log.term(index) !== r.term) return false
  r.log.commitTo(index)
  releaseReadsAwaitingCommit(r)
  return true
}

/** Sends `to` the entries it is missing, if flow control allows. Returns whether anything was sent. */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty = true): boolean {
  const pr = r.progress.get(to)!
  if (pr.isPaused()) return false
  const prevIndex = pr.next - 1
  const prevTerm = r.log.term(prevIndex)
  const ents = r.log.entries(pr.next, r.log.lastIndex() + 1, r.cfg.maxBytesPerMessage)
  if (prevTerm === undefined || ents === undefined) return sendSnapshot(r, to, pr)
  if (ents.length === 0 && !sendIfEmpty) return false
  r.send({ type: 'append', to, prevIndex, prevTerm, entries: ents, commit: r.log.committed })
  pr.sentEntries(prevIndex + ents.length, ents.length)
  return true
}

/** §7: the follower needs entries we compacted away, so it gets our latest snapshot. */
function sendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  const snapshot = r.log.pendingSnapshot ?? r.log.storage.snapshot()
  if (snapshot.meta.index === 0) return false
  assert(snapshot.meta.index >= pr.next - 1, 'a snapshot must cover the entries the follower lacks')
  r.send({ type: 'snapshot', to, snapshot })
  pr.becomeSnapshot(snapshot.meta.index)
  return true
}

/** Voters and learners alike: a learner's acks never count (maybeCommit is over voters). */
export function bcastAppend(r: Raft, sendIfEmpty = true): void {
  for (const v of r.replicas()) if (v !== r.id) sendAppend(r, v, sendIfEmpty)
}

/** To learners too (they must not time out); read-index counts only the voters' answers. */
export function bcastHeartbeat(r: Raft, context: string | null): void {
  for (const v of r.replicas()) {
    if (v === r.id) continue
    // Never tell a follower to commit past what it is known to hold: its log
    // beyond `match` may still differ from ours.
    const commit = Math.min(r.progress.get(v)!.match, r.log.committed)
    r.send({ type: 'heartbeat', to: v, commit, context })
  }
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'timeoutNow', to })
}

/** A snapshot that got no answer within an election timeout was probably lost: probe again. */
export function tickSnapshots(r: Raft): void {
  for (const pr of r.progress.values()) {
    if (pr.state !== 'snapshot') continue
    if (++pr.snapshotTicks >= r.cfg.electionTicks) pr.becomeProbe()
  }
}

export function handleAppendResponse(r: Raft, pr: Progress, m: AppendResponse): void {
  pr.recentActive = true
  if (m.reject) {
    // Skip back over a whole diverging term at once when the follower gave a hint.
    const probe = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex
    if (pr.maybeDecrTo(m.index, probe + 1)) {
      if (pr.state === 'replicate') pr.becomeProbe()
      sendAppend(r, m.from)
    }
    return
  }
  const wasPaused = pr.isPaused()
  if (!pr.maybeUpdate(m.index)) return
  if (pr.state === 'probe') {
    pr.becomeReplicate()
  } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
    pr.becomeProbe()
    pr.becomeReplicate()
  } else if (pr.state === 'replicate') {
    pr.inflights.freeLE(m.index)
  }
  if (maybeCommit(r)) {
    bcastAppend(r) // tell everyone the new commit index
  } else if (wasPaused) {
    sendAppend(r, m.from)
  }
  while (sendAppend(r, m.from, false)) {
    // keep streaming while the window allows
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from)
}

export function handleHeartbeatResponse(r: Raft, pr: Progress, m: HeartbeatResponse): void {
  pr.recentActive = true
  pr.probeSent = false
  // Appends may have been lost: free a slot so replication cannot stall forever.
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst()
  if (pr.match < r.log.lastIndex()) sendAppend(r, m.from)
  if (m.context === null) return
  const read = r.reads.recordAck(m.context, m.from)
  if (read && hasQuorum(r.voters, (v) => read.acks.has(v))) releaseReads(r, m.context)
}

/**
 * §8: a read may be served at the current commit index once a quorum confirms
 * we are still leader, but only after this term has committed an entry
 * (before that our commit index may lag behind entries committed earlier).
 * Returns false when the queue is full (the request is not taken).
 */
export function handleReadIndex(r: Raft, context: string, from: NodeId): boolean {
  if (r.reads.size + r.readsAwaitingCommit.length >= r.cfg.maxPendingReads) return false
  if (r.log.term(r.log.committed) !== r.term) {
    r.readsAwaitingCommit.push({ context, from })
    return true
  }
  const read = r.reads.add(context, r.log.committed, from, r.id)
  if (!read) return true
  if (hasQuorum(r.voters, (v) => read.acks.has(v))) releaseReads(r, context)
  else bcastHeartbeat(r, context)
  return true
}

function releaseReads(r: Raft, context: string): void {
  for (const read of r.reads.releaseThrough(context)) answerRead(r, read.from, read.index, read.context)
}

function answerRead(r: Raft, from: NodeId, index: LogIndex, context: string): void {
  if (from === r.id) r.readStates.push({ index, context })
  else r.send({ type: 'readIndexResp', to: from, index, context })
}

function releaseReadsAwaitingCommit(r: Raft): void {
  if (r.readsAwaitingCommit.length === 0 || r.log.term(r.log.committed) !== r.term) return
  const waiting = r.readsAwaitingCommit
  r.readsAwaitingCommit = []
  for (const w of waiting) handleReadIndex(r, w.context, w.from) // cannot overflow: the queue only shrank
}
