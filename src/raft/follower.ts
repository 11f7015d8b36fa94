/**
 * Follower side of replication: AppendEntries (§5.3), heartbeats and
 * InstallSnapshot (§7). Every reply is queued in `msgs`, which the caller sends
 * only after persisting what the reply acknowledges.
 */
import type { Raft } from './raft.ts'
import type { AppendMessage, HeartbeatMessage, SnapshotMessage } from './types.ts'

export function handleAppend(r: Raft, m: AppendMessage): void {
  const log = r.log
  if (m.prevIndex < log.committed) {
    // Everything up to our commit index already matches the leader (§5.4
    // leader completeness); tell it where we are so it skips ahead.
    r.send({ type: 'appendResp', to: m.from, reject: false, index: log.committed, hintIndex: 0, hintTerm: 0 })
    return
  }
  const lastNew = log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries)
  if (lastNew !== undefined) {
    r.send({ type: 'appendResp', to: m.from, reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 })
    return
  }
  // Log matching failed at prevIndex. Offer the last index whose term is not
  // above prevTerm: every entry after it must differ from the leader's.
  const hintIndex = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm)
  const hintTerm = log.term(hintIndex) ?? 0
  r.send({ type: 'appendResp', to: m.from, reject: true, index: m.prevIndex, hintIndex, hintTerm })
}

export function handleHeartbeat(r: Raft, m: HeartbeatMessage): void {
  // The leader sends min(our match, its commit), so this prefix matches its log.
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()))
  r.send({ type: 'heartbeatResp', to: m.from, context: m.context })
}

export function handleSnapshot(r: Raft, m: SnapshotMessage): void {
  const log = r.log
  const meta = m.snapshot.meta
  if (meta.index <= log.committed) {
    r.send({ type: 'appendResp', to: m.from, reject: false, index: log.committed, hintIndex: 0, hintTerm: 0 })
    return
  }
  if (log.matchTerm(meta.index, meta.term)) {
    // We already hold the snapshot's last entry, hence (log matching) all before it.
    log.commitTo(meta.index)
  } else {
    // Replaces the log, and with it the configuration (the snapshot's voters).
    log.restore(m.snapshot)
  }
  r.send({ type: 'appendResp', to: m.from, reject: false, index: log.committed, hintIndex: 0, hintTerm: 0 })
}
