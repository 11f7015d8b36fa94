/**
 * Three Raft nodes in three separate OS processes (test/raft/fixtures/raft-node-process.ts, each
 * running a RaftWorkerHandle: a worker thread with its durable LogStorage), connected only by
 * loopback TCP peer links, and controlled over child_process IPC channels: the "across processes
 * in a cluster" half of the claim that the same node code runs in one process or many
 * (worker-cluster.test.ts covers one process). They elect a leader and commit proposals made
 * through one process, every process applies the same entries in the same order; the leader's
 * process is SIGKILLed, the two left elect a new leader and commit; the killed node, restarted
 * in a new process on its directory and port, catches up.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { ProposeReply, ReadReply } from '../../src/raft/host/raft-host.ts'
import type { Status } from '../../src/raft/raft-node.ts'
import type { NodeId } from '../../src/raft/types.ts'
import type { PeerAddress } from '../../src/raft/transport/transport.ts'
import type { AppliedValue, FromNode, NodeProcessConfig, ToNode } from './fixtures/raft-node-process.ts'
import { until } from '../helpers/wait.ts'
import { followerReadIndex } from './follower-read.ts'

const SCRIPT = fileURLToPath(new URL('./fixtures/raft-node-process.ts', import.meta.url))
const VOTERS = [1, 2, 3]
type Request = ToNode extends infer R ? R extends { seq: number } ? Omit<R, 'seq'> : never : never

/** One node's process, seen from the test: its IPC calls and what it has applied. */
class NodeProcess {
  readonly id: NodeId
  readonly child: ChildProcess
  port = 0
  /** Data entries applied in this process's life, in order. */
  readonly applied: AppliedValue[] = []
  output = ''
  exited = false
  readonly #calls = new Map<number, (reply: unknown) => void>()
  #seq = 0
  readonly #exit: Promise<void>

  constructor(id: NodeId, config: NodeProcessConfig) {
    this.id = id
    // execArgv []: none of the test runner's flags; Node 24 runs the TypeScript fixture as is.
    this.child = fork(SCRIPT, [JSON.stringify(config)], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    this.child.stdout!.on('data', (b: Buffer) => { this.output += b.toString() })
    this.child.stderr!.on('data', (b: Buffer) => { this.output += b.toString() })
    this.#exit = new Promise((resolve) => this.child.once('exit', () => {
      this.exited = true
      for (const c of this.#calls.values()) c({ error: 'stopped', leaderId: 0 })
      this.#calls.clear()
      resolve()
    }))
    this.child.on('message', (m: FromNode) => {
      if (m.ev === 'applied') this.applied.push(...m.entries)
      else if (m.ev === 'reply') {
        this.#calls.get(m.seq)?.(m.reply)
        this.#calls.delete(m.seq)
      }
    })
  }

  /** Resolves with the node's listening port once it serves. */
  ready(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromNode): void => {
        if (m.ev !== 'ready') return
        this.child.off('message', onMessage)
        this.port = m.port
        resolve(m.port)
      }
      this.child.on('message', onMessage)
      void this.#exit.then(() => reject(new Error(`node ${this.id} exited before serving:\n${this.output}`)))
    })
  }

  call(req: Request): Promise<unknown> {
    if (this.exited || !this.child.connected) return Promise.resolve({ error: 'stopped', leaderId: 0 })
    const seq = ++this.#seq
    return new Promise((resolve) => {
      this.#calls.set(seq, resolve)
      this.child.send({ ...req, seq } as ToNode)
    })
  }

  status(): Promise<Status | { error: string }> { return this.call({ op: 'status' }) as Promise<Status | { error: string }> }
  propose(value: string): Promise<ProposeReply> { return this.call({ op: 'propose', value }) as Promise<ProposeReply> }
  readIndex(): Promise<ReadReply> { return this.call({ op: 'read' }) as Promise<ReadReply> }
  setPeers(peers: readonly PeerAddress[]): Promise<unknown> { return this.call({ op: 'peers', peers }) }

  /** SIGKILL: the process dies at once, its worker thread and sockets with it (a crash). */
  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL')
    await this.#exit
  }

  /** Clean stop (the node closes its log and sockets, the process exits); SIGKILL if that takes over 5 s. */
  async stop(): Promise<void> {
    if (this.exited) return
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    void this.call({ op: 'stop' })
    await this.#exit
    clearTimeout(timer)
  }
}


t.test('3 Raft nodes in 3 processes over loopback TCP: election, commit, SIGKILL of the leader, restart and catch-up', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'samsa-raft-processes-'))
  const nodes = new Map<NodeId, NodeProcess>()
  const all: NodeProcess[] = []
  const ports = new Map<NodeId, number>()
  t.teardown(async () => {
    await Promise.all(all.map((n) => n.stop()))
    rmSync(root, { recursive: true, force: true })
  })

  const start = async (id: NodeId): Promise<NodeProcess> => {
    const n = new NodeProcess(id, {
      id, voters: VOTERS, dir: join(root, `node-${id}`, '__cluster_metadata-0'), port: ports.get(id) ?? 0,
      tickMs: 10, electionTicks: 15, heartbeatTicks: 3,
    })
    all.push(n)
    ports.set(id, await n.ready())
    nodes.set(id, n)
    return n
  }
  await Promise.all(VOTERS.map(start))
  const peers = VOTERS.map((id) => ({ id, host: '127.0.0.1', port: ports.get(id)! }))
  await Promise.all([...nodes.values()].map((n) => n.setPeers(peers)))
  const pids = new Set(all.map((n) => n.child.pid))
  t.equal(pids.size, 3, 'three processes')
  t.notOk(pids.has(process.pid), 'none of them is the test process')

  /** The leader every live node agrees on. */
  const agreedLeader = async (): Promise<NodeProcess | undefined> => {
    const statuses = await Promise.all([...nodes.values()].map((n) => n.status()))
    if (statuses.some((s) => 'error' in s)) return undefined
    const ss = statuses as Status[]
    const leader = ss.find((s) => s.role === 'leader')
    if (leader === undefined || !ss.every((s) => s.lead === leader.id && s.term === leader.term)) return undefined
    return nodes.get(leader.id)
  }
  /** Proposes at the agreed leader's process; a refusal or a lost proposal is retried at the new leader. */
  const commit = async (value: string): Promise<{ leader: NodeProcess; index: number }> => {
    for (;;) {
      const leader = await until(agreedLeader, `a leader for ${value}`)
      const r = await leader.propose(value)
      if ('index' in r) return { leader, index: r.index }
      if (r.error === 'timeout' || r.error === 'unknown') throw new Error(`proposal ${value}: ${r.error}`)
    }
  }
  const appliedAll = (ids: Iterable<NodeId>, n: number): Promise<true> =>
    until(async () => ([...ids].every((id) => nodes.get(id)!.applied.length >= n) ? true : undefined), `${n} entries applied everywhere`)
  const values = (n: NodeProcess): string[] => n.applied.map((e) => e.value)

  const first = await until(agreedLeader, 'a first leader')
  const a = Array.from({ length: 20 }, (_, i) => `a${i}`)
  for (const v of a) {
    const { leader } = await commit(v)
    if (leader !== first) t.comment(`leadership moved to ${leader.id} during the a-writes`)
  }
  t.pass('20 proposals committed through the leader\'s process')
  await appliedAll(VOTERS, 20)
  const reference = nodes.get(1)!.applied
  for (const id of VOTERS) {
    t.same(values(nodes.get(id)!), a, `process of node ${id} applied a0..a19 in order`)
    t.same(nodes.get(id)!.applied, reference, `process of node ${id} applied them at the same indexes and terms`)
  }
  const read = await followerReadIndex(nodes.values(), agreedLeader, 'a read-index through a follower\'s process')
  t.ok(read !== undefined && 'index' in read && read.index >= reference.at(-1)!.index,
    `a read-index through a follower's process reflects the commits (${JSON.stringify(read)})`)

  // Crash the leader's whole process.
  const victim = (await until(agreedLeader, 'the leader to kill'))
  await victim.kill()
  t.equal(victim.child.signalCode, 'SIGKILL', `node ${victim.id}'s process was SIGKILLed`)
  nodes.delete(victim.id)
  const second = await until(async () => {
    const l = await agreedLeader()
    return l !== undefined && l.id !== victim.id ? l : undefined
  }, 'a new leader among the two left')
  t.not(second.id, victim.id, `node ${second.id} took over`)
  const b = Array.from({ length: 10 }, (_, i) => `b${i}`)
  for (const v of b) await commit(v)
  t.pass('the new leader commits new proposals')
  await appliedAll(nodes.keys(), 30)
  const ab = [...a, ...b]
  const survivors = [...nodes.values()]
  for (const n of survivors) t.same(values(n), ab, `process of node ${n.id} kept a0..a19 and applied b0..b9`)
  t.same(survivors[0]!.applied, survivors[1]!.applied, 'the survivors applied the same entries at the same indexes')

  // Restart the killed node in a new process, on its directory and port.
  const back = await start(victim.id)
  t.not(back.child.pid, victim.child.pid, 'a new process')
  await back.setPeers(peers)
  await commit('c')
  await appliedAll(VOTERS, 31)
  t.same(values(back), [...ab, 'c'], 'the restarted process re-applied its durable log and caught up with what it missed')
  t.same(back.applied, nodes.get(second.id)!.applied, 'at the same indexes and terms as the others')
  // One snapshot can fall into a leader change: look again until the restarted node follows the
  // agreed leader (or the deadline passes, and the checks below fail on the last look).
  let st: Status | { error: string } | undefined
  let leaderId: NodeId | undefined
  await until(async () => {
    leaderId = (await agreedLeader())?.id
    st = await back.status()
    return leaderId !== undefined && !('error' in st) && st.role === 'follower' && st.lead === leaderId ? true : undefined
  }, 'the restarted process to follow the agreed leader').catch(() => {})
  const last = st !== undefined && !('error' in st) ? st : undefined
  t.equal(last?.role, 'follower', `it rejoined as a follower (${JSON.stringify(st)})`)
  t.equal(last?.lead, leaderId, 'following the current leader')
})
