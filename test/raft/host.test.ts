/**
 * The Ready loop host (src/raft/host/raft-host.ts) with durable LogStorage and the in-memory
 * transport, in one thread: the durability order (fsync and hard state before any message that
 * depends on them), proposals and read-index through promises, a lagging follower caught up by
 * snapshot install over the durable storage, and a restart that re-applies from disk.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { RaftHost, type HostStorage } from '../../src/raft/host/raft-host.ts'
import { DEFAULT_ELECTION_TICKS, DEFAULT_HEARTBEAT_TICKS, DEFAULT_TICK_MS, DEFAULT_TIMING, resolveTiming } from '../../src/raft/host/timing.ts'
import { LogStorage } from '../../src/raft/storage/log-storage.ts'
import { MemoryNetwork } from '../../src/raft/transport/memory-transport.ts'
import type { RaftTransport } from '../../src/raft/transport/transport.ts'
import type { Entry, HardState, Message, NodeId, Snapshot } from '../../src/raft/types.ts'
import { Prng } from './sim/prng.ts'

const VOTERS = [1, 2, 3]
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const untext = (b: Uint8Array): string => new TextDecoder().decode(b)

interface Node {
  host: RaftHost
  storage: LogStorage
  applied: string[]
  restoredFrom: number
}

class Cluster {
  readonly net = new MemoryNetwork()
  readonly nodes = new Map<NodeId, Node>()
  readonly root: string
  events: string[] = []

  constructor(t: Test) {
    this.root = mkdtempSync(join(tmpdir(), 'samsa-raft-host-'))
    t.teardown(async () => {
      for (const n of this.nodes.values()) await n.host.close()
      rmSync(this.root, { recursive: true, force: true })
    })
  }

  start(id: NodeId, spy = false): Node {
    const storage = LogStorage.open({ dir: join(this.root, `n${id}`, '__cluster_metadata-0'), voters: VOTERS, fsync: false })
    const node: Node = { host: undefined as unknown as RaftHost, storage, applied: [], restoredFrom: 0 }
    const transport = spy ? this.#spyTransport(this.net.endpoint(id), id) : this.net.endpoint(id)
    node.host = new RaftHost({
      id, voters: VOTERS, storage: spy ? this.#spyStorage(storage, id) : storage, transport,
      electionTicks: 10, heartbeatTicks: 1, random: new Prng(id),
      onApply: (es: readonly Entry[]) => node.applied.push(...es.filter((e) => e.kind === 'data').map((e) => untext(e.data))),
      onRestore: (s: Snapshot) => { node.restoredFrom = s.meta.index; node.applied = untext(s.data).split(',').filter((x) => x !== '') },
    })
    this.nodes.set(id, node)
    return node
  }

  async stop(id: NodeId): Promise<void> {
    await this.nodes.get(id)!.host.close()
    this.nodes.delete(id)
  }

  #spyStorage(s: LogStorage, id: NodeId): HostStorage {
    const ev = this.events
    return new Proxy(s, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown
        if (typeof v !== 'function') return v
        return (...args: unknown[]) => {
          if (prop === 'append') ev.push(`${id} append`)
          if (prop === 'sync') ev.push(`${id} sync`)
          if (prop === 'setHardState') { const hs = args[0] as HardState; ev.push(`${id} hard ${hs.term} ${hs.vote}`) }
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    }) as HostStorage
  }

  #spyTransport(inner: RaftTransport, id: NodeId): RaftTransport {
    return {
      send: (m: Message) => {
        this.events.push(`${id} send ${m.type} ${m.to} ${m.term} ${'reject' in m ? m.reject : ''}`)
        inner.send(m)
      },
      onMessage: (h) => inner.onMessage(h),
      close: () => inner.close(),
    }
  }

  /** Ticks every node and lets messages and Readies run until `done` holds. */
  async runUntil(done: () => boolean, what: string, maxTicks = 2000): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      if (done()) return
      for (const n of this.nodes.values()) n.host.tick()
      for (let k = 0; k < 4; k++) await new Promise((r) => setImmediate(r))
    }
    throw new Error(`not reached within ${maxTicks} ticks: ${what}`)
  }

  /** A leader that every running node knows. */
  agreed(): boolean {
    const l = this.leader()
    return l !== undefined && [...this.nodes.values()].every((n) => n.host.status().lead === l.host.id)
  }

  leader(): Node | undefined {
    return [...this.nodes.values()].find((n) => n.host.status().role === 'leader')
  }
}

t.test('durability order: nothing is sent while appended entries or a vote are not yet on disk', async (t) => {
  const c = new Cluster(t)
  for (const id of VOTERS) c.start(id, true)
  await c.runUntil(() => c.agreed(), 'a leader known to all')
  const leader = c.leader()!
  const replies = await Promise.all([1, 2, 3].map((i) => leader.host.propose(text(`w${i}`))))
  t.ok(replies.every((r) => 'index' in r), 'proposals commit')
  const dirty = new Map<string, boolean>()
  const vote = new Map<string, string>()
  let checked = 0
  for (const e of c.events) {
    const [id, kind, ...rest] = e.split(' ')
    if (kind === 'append') dirty.set(id!, true)
    if (kind === 'sync') dirty.set(id!, false)
    if (kind === 'hard') vote.set(id!, `${rest[0]} ${rest[1]}`)
    if (kind !== 'send') continue
    checked++
    if (dirty.get(id!) === true) t.fail(`${e} before the appended entries were synced`)
    const [type, to, term, reject] = rest
    if ((type === 'voteResp') && reject === 'false' && vote.get(id!) !== `${term} ${to}`) t.fail(`${e} before its vote was written`)
  }
  t.ok(checked > 10, `${checked} sends checked against the order of writes`)
})

t.test('proposals, read-index, a lagging follower caught up by snapshot, a restart re-applies from disk', async (t) => {
  const c = new Cluster(t)
  for (const id of VOTERS) c.start(id)
  await c.runUntil(() => c.agreed(), 'a leader known to all')
  let leader = c.leader()!
  const follower = [...c.nodes.entries()].find(([, n]) => n !== leader)!
  const refused = await follower[1].host.propose(text('x'))
  t.match(refused, { error: 'not_leader', leaderId: leader.host.id }, 'a follower refuses and names the leader')

  const lagging = [...c.nodes.keys()].find((id) => id !== leader.host.id && id !== follower[0])!
  for (const id of c.nodes.keys()) if (id !== lagging) c.net.cut(id, lagging)
  for (let i = 0; i < 30; i++) t.match(await leader.host.propose(text(`a${i}`)), { index: Number }, `a${i} commits without the cut-off node`)
  const read = await follower[1].host.readIndex()
  t.ok('index' in read && follower[1].applied.includes('a29'), 'a read through a follower sees every acknowledged write')

  const applied = leader.host.status().applied
  leader.host.compact(applied, text(leader.applied.join(',')))
  t.equal(leader.storage.firstIndex(), applied + 1, 'the leader compacted its log')
  for (const id of c.nodes.keys()) if (id !== lagging) c.net.cut(id, lagging, false)
  await c.runUntil(() => c.nodes.get(lagging)!.applied.includes('a29'), 'the lagging node catches up')
  t.equal(c.nodes.get(lagging)!.restoredFrom, applied, 'by installing the snapshot')

  await c.stop(lagging)
  const restarted = c.start(lagging)
  t.same(restarted.applied.slice(-3), ['a27', 'a28', 'a29'], 'a restart restores the durable snapshot')
  leader = c.leader()!
  t.match(await leader.host.propose(text('b')), { index: Number })
  await c.runUntil(() => restarted.applied.includes('b'), 'the restarted node applies new writes')
  t.same(restarted.applied, leader.applied, 'and its state machine equals the leader\'s')
})

t.test('changeMembership: add a fourth node through the host, compact, restart; status reports voters', async (t) => {
  const c = new Cluster(t)
  for (const id of [...VOTERS, 4]) c.start(id) // node 4 runs with the bootstrap voters: a non-member
  await c.runUntil(() => c.leader() !== undefined && c.leader()!.host.status().commit > 0, 'a leader that committed its no-op')
  const leader = c.leader()!
  t.notOk(c.nodes.get(4)!.host.status().voters.includes(4), 'node 4 starts outside the configuration')
  const added = await leader.host.changeMembership({ type: 'addVoter', node: 4 })
  t.match(added, { index: Number, term: Number }, 'the change commits')
  t.same(leader.host.status().voters, [1, 2, 3, 4])
  t.match(await leader.host.changeMembership({ type: 'addVoter', node: 4 }), { error: 'no_op_change' })
  t.match(await leader.host.propose(text('after')), { index: Number })
  await c.runUntil(() => c.nodes.get(4)!.applied.includes('after'), 'node 4 replicates')
  t.same(c.nodes.get(4)!.host.status().voters, [1, 2, 3, 4])

  const applied = leader.host.status().applied
  leader.host.compact(applied, text(leader.applied.join(',')))
  t.same(leader.storage.snapshot().meta.voters, [1, 2, 3, 4], 'the snapshot records the voters at its index')
  const id = leader.host.id
  await c.stop(id)
  const restarted = c.start(id)
  t.same(restarted.host.status().voters, [1, 2, 3, 4], 'a restart from the snapshot keeps them (not the bootstrap list)')
})

t.test('timing defaults: the measured values of docs/raft.md, used when the caller passes none', async (t) => {
  t.same(DEFAULT_TIMING, { tickMs: 50, heartbeatTicks: 2, electionTicks: 20 }, 'tick 50 ms, heartbeat 2 ticks, election 20 ticks')
  t.equal(DEFAULT_TICK_MS, 50)
  t.equal(DEFAULT_HEARTBEAT_TICKS, 2)
  t.equal(DEFAULT_ELECTION_TICKS, 20)
  t.same(resolveTiming({ tickMs: 10 }), { tickMs: 10, heartbeatTicks: 2, electionTicks: 20 }, 'only what is left out is defaulted')
  t.same(resolveTiming({ electionTicks: 15, heartbeatTicks: 3 }), { tickMs: 50, heartbeatTicks: 3, electionTicks: 15 })

  // A one-voter host without electionTicks: it may not campaign before 20 ticks, and must by 40.
  const root = mkdtempSync(join(tmpdir(), 'samsa-raft-timing-'))
  const storage = LogStorage.open({ dir: join(root, '__cluster_metadata-0'), voters: [1], fsync: false })
  const host = new RaftHost({ id: 1, voters: [1], storage, transport: new MemoryNetwork().endpoint(1), random: new Prng(3) })
  t.teardown(async () => {
    await host.close()
    rmSync(root, { recursive: true, force: true })
  })
  const drain = async (): Promise<void> => { for (let k = 0; k < 4; k++) await new Promise((r) => setImmediate(r)) }
  let ticks = 0
  for (; ticks < DEFAULT_ELECTION_TICKS - 1; ticks++) { host.tick(); await drain() }
  t.equal(host.status().role, 'follower', `no election within ${ticks} ticks`)
  while (host.status().role !== 'leader' && ticks < 2 * DEFAULT_ELECTION_TICKS) { host.tick(); ticks++; await drain() }
  t.equal(host.status().role, 'leader', `elected after ${ticks} ticks, in [20, 40)`)
  t.ok(ticks >= DEFAULT_ELECTION_TICKS, 'not before the default election timeout')
})
