/**
 * The deterministic simulator (after TigerBeetle's VOPR): one seed determines
 * the fault profile, every random choice and therefore the whole run.
 *
 * A run has two phases:
 *   safety   — clients write and read while the profile's faults are injected;
 *              the checkers run at every step;
 *   liveness — all faults heal and every node restarts; within a bound, a
 *              leader must emerge and a new write must be applied everywhere.
 */
import type { ConfChangeType } from '../../../src/raft/membership.ts'
import type { Message, NodeId } from '../../../src/raft/types.ts'
import { isRefusal } from '../../../src/raft/types.ts'
import { Checker, SafetyViolation } from './checker.ts'
import { EventQueue } from './event-queue.ts'
import { History } from './history.ts'
import { Host, electionTicks } from './host.ts'
import { Network } from './network.ts'
import { Prng } from './prng.ts'
import { describeProfile, makeProfile, profileNames } from './profiles.ts'
import type { FaultProfile, ProfileName } from './profiles.ts'
import { encodeOp } from './register.ts'

type SimEvent =
  | { kind: 'tick'; node: NodeId }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'client' }
  | { kind: 'partition' }
  | { kind: 'crash' }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'heal' }
  | { kind: 'membership' }
  | { kind: 'call'; fn: () => void }

export interface SimOptions {
  readonly seed: number
  /** Force a profile instead of deriving it from the seed. */
  readonly profile?: ProfileName
  /** Simulated ms of the safety phase. */
  readonly faultMs?: number
  /** Simulated ms the cluster gets, after healing, to elect a leader and commit. */
  readonly livenessMs?: number
  /** Keep a trace of the last events, printed on failure. */
  readonly traceLimit?: number
}

export interface SimResult {
  readonly seed: number
  /** What the run was started with (besides the seed), so a failure can be replayed exactly. */
  readonly options: Omit<SimOptions, 'seed' | 'traceLimit'>
  readonly profile: FaultProfile
  readonly ok: boolean
  readonly error?: string
  readonly trace: readonly string[]
  readonly stats: {
    readonly simMs: number
    readonly messages: number
    readonly dropped: number
    readonly elections: number
    readonly acked: number
    readonly lost: number
    readonly reads: number
    readonly crashes: number
    readonly committed: number
    readonly confChanges: number
  }
}

const tickMs = 10

export class Simulation {
  readonly seed: number
  readonly profile: FaultProfile
  readonly #rng: Prng
  readonly #queue = new EventQueue<SimEvent>()
  readonly #net: Network
  readonly #checker = new Checker()
  readonly #history = new History(this.#checker)
  readonly #hosts = new Map<NodeId, Host>()
  readonly #ids: NodeId[]
  readonly #tickMs = new Map<NodeId, number>()
  readonly #trace: string[] = []
  readonly #traceLimit: number
  readonly #faultMs: number
  readonly #livenessMs: number
  readonly #options: SimResult['options']
  #now = 0
  #healed = false
  #confChanges = 0
  /** Membership profile: the commit index last seen on each leader, with its id/term key. */
  readonly #leaderCommitSeen = new Map<NodeId, { key: string; commit: number }>()

  constructor(opts: SimOptions) {
    this.seed = opts.seed
    this.#options = {
      ...(opts.profile === undefined ? {} : { profile: opts.profile }),
      ...(opts.faultMs === undefined ? {} : { faultMs: opts.faultMs }),
      ...(opts.livenessMs === undefined ? {} : { livenessMs: opts.livenessMs }),
    }
    const root = new Prng(opts.seed)
    const profileRng = root.fork()
    const name = opts.profile ?? profileNames[opts.seed % profileNames.length]!
    this.profile = makeProfile(name, profileRng)
    this.#rng = root.fork()
    this.#net = new Network(root.fork(), this.profile)
    this.#traceLimit = opts.traceLimit ?? 0
    this.#faultMs = opts.faultMs ?? 3000
    this.#livenessMs = opts.livenessMs ?? 40 * electionTicks * tickMs
    // Nodes 1..nodes are the bootstrap voters; spare nodes after them start as non-members.
    this.#ids = Array.from({ length: this.profile.nodes + this.profile.spareNodes }, (_, i) => i + 1)
    const voters = this.#ids.slice(0, this.profile.nodes)
    const env = {
      rng: this.#rng, profile: this.profile, checker: this.#checker, history: this.#history, voters,
      now: () => this.#now,
      send: (m: Message) => this.#send(m),
      becameLeader: (id: NodeId) => this.#maybeCrashNewLeader(id),
      schedule: (delayMs: number, fn: () => void) => this.#queue.push(this.#now + delayMs, { kind: 'call', fn }),
    }
    for (const id of this.#ids) {
      this.#hosts.set(id, new Host(id, env))
      // Clocks drift: each node ticks at its own slightly different rate.
      this.#tickMs.set(id, tickMs + this.#rng.between(-1, 1))
      this.#queue.push(this.#rng.between(0, tickMs), { kind: 'tick', node: id })
    }
    this.#queue.push(this.#rng.between(0, 50), { kind: 'client' })
    if (this.profile.partitions !== 'none') this.#queue.push(this.#rng.between(100, 600), { kind: 'partition' })
    if (this.profile.crashEvery > 0) this.#queue.push(this.#rng.between(50, this.profile.crashEvery), { kind: 'crash' })
    if (this.profile.membershipEvery > 0) this.#queue.push(this.#rng.between(50, 200), { kind: 'membership' })
    this.#queue.push(this.#faultMs, { kind: 'heal' })
  }

  run(): SimResult {
    let error: string | undefined
    try {
      this.#loop()
      this.#checker.checkAckedApplied()
    } catch (e) {
      error = e instanceof SafetyViolation ? e.message : (e as Error).stack ?? String(e)
    }
    return {
      seed: this.seed, options: this.#options, profile: this.profile, ok: error === undefined, error, trace: this.#trace,
      stats: {
        simMs: this.#now, messages: this.#net.sent, dropped: this.#net.dropped, elections: this.#checker.elections,
        acked: this.#history.acked, lost: this.#history.lost, reads: this.#history.readsDone,
        crashes: [...this.#hosts.values()].reduce((n, h) => n + h.crashes, 0), committed: this.#checker.maxApplied,
        confChanges: this.#confChanges,
      },
    }
  }

  #loop(): void {
    const deadline = this.#faultMs + this.#livenessMs
    for (;;) {
      const ev = this.#queue.pop()
      if (!ev) throw new Error('event queue ran dry')
      this.#now = ev.time
      if (this.#now > deadline) {
        throw new SafetyViolation(`liveness: no new write applied on all nodes within ${this.#livenessMs} ms of healing`)
      }
      this.#handle(ev.event)
      if (this.profile.membershipEvery > 0) this.#checkMembership()
      if (this.#healed && this.#livenessReached()) return
    }
  }

  /**
   * Membership checks after every event (membership profile), independent of the core's
   * bookkeeping:
   *   - a learner (in its own latest configuration) is never a (pre-)candidate or leader;
   *   - quorums count voters only: whenever a leader's commit index moves, a majority of the
   *     voters of its configuration at that moment hold the entry there — the leader by its
   *     own log (it counts its unpersisted tail), the others durably (they acknowledge only
   *     after persisting) or under a snapshot. Learners' copies are not counted, so a leader
   *     that counted a learner's ack would be caught.
   */
  #checkMembership(): void {
    for (const h of this.#hosts.values()) {
      if (!h.alive || !h.raft) continue
      const st = h.raft.status()
      if (st.role !== 'follower' && st.learners.includes(h.id)) {
        throw new SafetyViolation(`learner ${h.id} is ${st.role} in term ${st.term}`)
      }
      const key = `${h.id}/${st.term}`
      if (st.role !== 'leader') continue
      const seen = this.#leaderCommitSeen.get(h.id)
      if (seen !== undefined && seen.key === key && seen.commit >= st.commit) continue
      this.#leaderCommitSeen.set(h.id, { key, commit: st.commit })
      if (seen?.key !== key) continue // a new term: its first commit is checked when it moves
      let holders = 0
      for (const v of st.voters) {
        if (v === h.id) {
          holders++ // the leader commits only onto entries of its own log (and term: checked elsewhere)
          continue
        }
        const s = this.#hosts.get(v)!.storage
        if (s.firstIndex() - 1 >= st.commit || (s.lastIndex() >= st.commit && s.term(st.commit) === st.term)) holders++
      }
      if (holders < Math.floor(st.voters.length / 2) + 1) {
        throw new SafetyViolation(`leader ${h.id} (term ${st.term}) committed ${st.commit} held by only ${holders} of voters ${st.voters} (learners ${st.learners})`)
      }
    }
  }

  #log(line: string): void {
    if (this.#traceLimit === 0) return
    this.#trace.push(`${this.#now} ${line}`)
    if (this.#trace.length > this.#traceLimit) this.#trace.shift()
  }

  #handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        this.#hosts.get(ev.node)!.tick()
        this.#queue.push(this.#now + this.#tickMs.get(ev.node)!, ev)
        return
      }
      case 'deliver': {
        const m = ev.msg
        const host = this.#hosts.get(m.to)!
        if (!host.alive || !this.#net.canDeliver(m)) return
        if (this.#traceLimit) this.#log(`${m.from}→${m.to} ${m.type} t${m.term} ${summary(m)}`)
        host.step(m)
        return
      }
      case 'client':
        this.#client()
        this.#queue.push(this.#now + this.#rng.between(1, 30), ev)
        return
      case 'partition':
        this.#partition()
        return
      case 'crash':
        this.#crash()
        return
      case 'restart': {
        const host = this.#hosts.get(ev.node)!
        if (host.alive) return
        this.#log(`restart ${ev.node}`)
        host.boot()
        host.process()
        return
      }
      case 'heal':
        this.#heal()
        return
      case 'membership':
        this.#membership()
        return
      case 'call':
        ev.fn()
        return
    }
  }

  #send(m: Message): void {
    for (const d of this.#net.delays()) this.#queue.push(this.#now + d, { kind: 'deliver', msg: m })
  }

  #client(): void {
    const host = this.#hosts.get(this.#rng.pick(this.#ids))!
    if (!host.raft) return
    const roll = this.#rng.float()
    if (roll < 0.01) {
      // An operator moves leadership (a no-op unless `host` leads).
      const to = this.#rng.pick(this.#ids)
      if (host.raft.status().role === 'leader') this.#log(`transfer leadership ${host.id} → ${to}`)
      host.raft.transferLeader(to)
      host.process()
    } else if (roll < 0.6) {
      if (this.#history.outstandingWrites(this.#now, 1000) >= 32) return
      const op = this.#history.nextOp()
      let res = host.raft.propose(encodeOp(op))
      let at = host
      // A client redirected by a follower retries once at the leader it names.
      if (isRefusal(res) && res.leaderId !== 0) {
        const leader = this.#hosts.get(res.leaderId)
        if (leader?.raft) {
          at = leader
          res = leader.raft.propose(encodeOp(op))
        }
      }
      if (!isRefusal(res)) {
        this.#history.writeAccepted(op, at.id, res.index, res.term, this.#now)
        this.#log(`write op ${op} at ${at.id} → ${res.index}/${res.term}`)
      }
      at.process()
    } else {
      const context = this.#history.readStarted(host.id, this.#now)
      host.raft.readIndex(context)
      host.process()
    }
  }

  /**
   * An operator changes the membership of a random node at the leader: a voter is removed; a
   * learner promoted (addVoter) or removed; a non-member added as a learner or, the old unsafe
   * way, directly as a voter. Refusals (another change pending, no own-term commit yet, the last
   * voter, a learner not caught up) are part of the test: the core must refuse exactly then, and
   * the checkers verify it never had two changes pending, never counted a learner and never let
   * one campaign.
   */
  #membership(): void {
    if (this.#healed) return
    const leader = this.#hosts.get(this.#leader())
    if (leader?.raft) {
      const node = this.#rng.pick(this.#ids)
      const st = leader.raft.status()
      const roll = this.#rng.float()
      const type: ConfChangeType = st.voters.includes(node) ? 'removeVoter'
        : st.learners.includes(node) ? (roll < 0.75 ? 'addVoter' : 'removeLearner')
        : (roll < 0.7 ? 'addLearner' : 'addVoter')
      const res = leader.raft.proposeConfChange({ type, node })
      if (!isRefusal(res)) {
        this.#confChanges++
        this.#log(`${type} ${node} at ${leader.id} → ${res.index}/${res.term}`)
      }
      leader.process()
    }
    const every = this.profile.membershipEvery
    this.#queue.push(this.#now + this.#rng.between(every / 2, every * 1.5), { kind: 'membership' })
  }

  #partition(): void {
    if (this.#healed) return
    const mode = this.profile.partitions
    const kind = mode === 'flapping' ? 'symmetric' : mode
    let what: string
    if (!this.#net.isHealed() && this.#rng.chance(0.4)) {
      this.#net.heal()
      what = 'heal network'
    } else {
      what = kind === 'asymmetric' ? this.#net.partitionAsymmetric(this.#ids) : this.#net.partitionSymmetric(this.#ids, this.#leader())
    }
    this.#log(what)
    const next = mode === 'flapping' ? this.#rng.between(20, 120) : this.#rng.between(200, 1200)
    this.#queue.push(this.#now + next, { kind: 'partition' })
  }

  /** The live leader with the highest term, or 0. */
  #leader(): NodeId {
    let best: NodeId = 0
    let term = -1
    for (const h of this.#hosts.values()) {
      const s = h.raft?.status()
      if (s?.role === 'leader' && s.term > term) {
        best = h.id
        term = s.term
      }
    }
    return best
  }

  #crash(): void {
    if (this.#healed) return
    // Half the crashes hit the leader: that is where uncommitted state is.
    const leader = this.#leader()
    const victim = leader !== 0 && this.#rng.chance(0.5) ? leader : this.#rng.pick(this.#ids)
    const host = this.#hosts.get(victim)!
    if (host.alive) {
      if (this.#rng.chance(this.profile.torn)) {
        host.crashDuringNextWrite = true
        this.#log(`crash ${host.id} during its next write`)
      } else {
        host.crash()
        this.#log(`crash ${host.id}`)
      }
      this.#queue.push(this.#now + this.#rng.between(50, 1000), { kind: 'restart', node: host.id })
    }
    this.#queue.push(this.#now + this.#rng.between(this.profile.crashEvery / 2, this.profile.crashEvery * 1.5), { kind: 'crash' })
  }

  /**
   * Leaders that die young leave old-term entries half replicated: the
   * situation of the paper's Figure 8, which random crashes rarely produce.
   */
  #maybeCrashNewLeader(id: NodeId): void {
    if (this.#healed || this.profile.crashEvery === 0 || !this.#rng.chance(0.3)) return
    this.#queue.push(this.#now + this.#rng.between(1, 40), {
      kind: 'call',
      fn: () => {
        const host = this.#hosts.get(id)!
        if (this.#healed || !host.alive) return
        this.#log(`crash young leader ${id}`)
        host.crash()
        this.#queue.push(this.#now + this.#rng.between(20, 400), { kind: 'restart', node: id })
      },
    })
  }

  #heal(): void {
    this.#log('heal everything: liveness phase')
    this.#healed = true
    this.#net.heal()
    this.#net.faulty = false
    this.#history.livenessFrom = this.#now
    for (const h of this.#hosts.values()) {
      h.crashDuringNextWrite = false
      if (!h.alive) {
        h.boot()
        h.process()
      }
    }
  }

  /**
   * Some write accepted after healing has been applied by every voter and learner of the
   * leader's configuration (non-members are not replicated to), and by every node without
   * membership changes.
   */
  #livenessReached(): boolean {
    const ops = this.#history.livenessOps
    if (ops.size === 0) return false
    const leader = this.#hosts.get(this.#leader())?.raft?.status()
    if (!leader) return false
    for (const h of this.#hosts.values()) {
      if (this.profile.membershipEvery > 0 && !leader.voters.includes(h.id) && !leader.learners.includes(h.id)) continue
      if (!h.alive) return false
      if (!this.#checker.appliedAny(ops, h.sm.applied)) return false
    }
    return true
  }
}

function summary(m: Message): string {
  switch (m.type) {
    case 'append':
      return `prev=${m.prevIndex}/${m.prevTerm} n=${m.entries.length} commit=${m.commit}`
    case 'appendResp':
      return `${m.reject ? 'reject' : 'ok'} index=${m.index} hint=${m.hintIndex}/${m.hintTerm}`
    case 'vote':
    case 'preVote':
      return `last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' transfer' : ''}`
    case 'voteResp':
    case 'preVoteResp':
      return m.reject ? 'reject' : 'grant'
    case 'heartbeat':
      return `commit=${m.commit} ctx=${m.context}`
    case 'snapshot':
      return `snap=${m.snapshot.meta.index}/${m.snapshot.meta.term}`
    default:
      return ''
  }
}

/**
 * The command that replays run `r` exactly: the seed, and every option main.ts reads from the
 * environment that the run was given (a forced profile differs from the seed's own profile).
 */
export function replayCommand(r: Pick<SimResult, 'seed' | 'options'>): string {
  const env = [`SEED=${r.seed}`]
  if (r.options.profile !== undefined) env.push(`PROFILE=${r.options.profile}`)
  if (r.options.faultMs !== undefined) env.push(`FAULT_MS=${r.options.faultMs}`)
  if (r.options.livenessMs !== undefined) env.push(`LIVENESS_MS=${r.options.livenessMs}`)
  return `${env.join(' ')} node test/raft/sim/main.ts`
}

export function formatFailure(r: SimResult): string {
  return [
    `raft sim FAILED seed=${r.seed}: ${r.error}`,
    `profile: ${describeProfile(r.profile)}`,
    `replay: ${replayCommand(r)}`,
    ...r.trace,
  ].join('\n')
}
