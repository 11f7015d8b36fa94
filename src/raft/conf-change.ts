/**
 * The leader's side of membership changes (see membership.ts for the entries and the safety
 * conditions): accepting one change at a time and keeping replication progress in step with
 * the configuration in force.
 */
import { assert } from '../lib/assert.ts'
import { applyChange, encodeConfigEntry, type ConfChange } from './membership.ts'
import { Progress } from './progress.ts'
import type { Raft } from './raft.ts'
import { appendEntries, bcastAppend } from './replication.ts'
import type { Entry, ProposeResult } from './types.ts'

/**
 * Appends a config entry that adds or removes one voter or learner, or promotes a learner
 * (thesis §4.1–4.3, §4.2.1). Refused while: we do not lead; a transfer is under way; the
 * previous change (of any kind) is uncommitted (one at a time); we have not committed an entry
 * of our own term (the single-server bug's fix: only then is every older change committed and
 * known to us); the change is a no-op or does not fit the node's role; it would leave no
 * voter; it promotes a learner whose match is below our commit index ('not_caught_up': the
 * enlarged quorum could not commit at once). The new configuration takes effect here, on
 * append: progress is created for an added voter or learner (which then receives the log or a
 * snapshot) and dropped for a removed one, a promoted learner keeps its progress, and quorums
 * count the new voter set from now on.
 */
export function proposeConfChange(r: Raft, cc: ConfChange): ProposeResult {
  assert(Number.isInteger(cc.node) && cc.node > 0, `conf change node ${cc.node} is not a node id`)
  if (r.role !== 'leader') return { error: 'not_leader', leaderId: r.lead }
  if (r.leadTransferee !== 0) return { error: 'transferring', leaderId: r.id }
  if (r.log.config.lastChangeIndex > r.log.committed) return { error: 'change_pending', leaderId: r.id }
  if (r.log.term(r.log.committed) !== r.term) return { error: 'term_not_committed', leaderId: r.id }
  const isVoter = r.voters.includes(cc.node)
  const isLearner = r.learners.includes(cc.node)
  const noOp = cc.type === 'addVoter' ? isVoter
    : cc.type === 'removeVoter' ? !isVoter
    : cc.type === 'addLearner' ? isVoter || isLearner // demotion is not supported: removeVoter, then addLearner
    : !isLearner
  if (noOp) return { error: 'no_op_change', leaderId: r.id }
  // Promotion: the learner must already hold everything committed, so that the new quorum
  // (which needs its ack whenever one other voter is down) can commit at once.
  if (cc.type === 'addVoter' && isLearner && (r.progress.get(cc.node)?.match ?? 0) < r.log.committed) {
    return { error: 'not_caught_up', leaderId: r.id }
  }
  const next = applyChange(r.log.config.current, cc)
  if (next.voters.length === 0) return { error: 'last_voter', leaderId: r.id }
  if (r.log.lastIndex() - r.log.committed >= r.cfg.maxUncommittedEntries) {
    return { error: 'overloaded', leaderId: r.id }
  }
  const data = encodeConfigEntry({ change: cc, voters: next.voters, learners: next.learners })
  const e: Entry = appendEntries(r, [{ index: 0, term: 0, kind: 'config', data }])
  assert(r.voters.length === next.voters.length && r.learners.length === next.learners.length,
    'the appended configuration is in force at once')
  r.pendingProposals.push({ index: e.index, term: e.term })
  bcastAppend(r, false)
  r.maybeStepDownRemoved()
  return { index: e.index, term: e.term }
}

/** Leader: progress for every voter and learner in the configuration (and ourselves), none for others. */
export function syncProgress(r: Raft): void {
  const replicas = r.replicas()
  for (const v of replicas) {
    if (r.progress.has(v)) continue
    // Start probing at the config entry itself: a caught-up node matches just below it, a new
    // one rejects and the hints walk next back (or down to a snapshot).
    const pr = new Progress(r.log.lastIndex(), r.cfg.maxInflightMessages)
    // Counts as heard from, so check-quorum does not depose us before it could answer.
    pr.recentActive = true
    r.progress.set(v, pr)
  }
  for (const v of [...r.progress.keys()]) {
    if (v !== r.id && !replicas.includes(v)) r.progress.delete(v)
  }
  if (r.leadTransferee !== 0 && !r.voters.includes(r.leadTransferee)) r.leadTransferee = 0
}
