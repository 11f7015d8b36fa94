/**
 * Three Raft nodes, each on its own worker thread with its durable log and the TCP transport on
 * loopback: they elect a leader, commit proposals, survive the leader's thread being killed
 * (a new leader is elected, committed entries are kept, new proposals commit), and the killed
 * node, restarted on its old directory and port, catches up from its durable log. The same
 * worker code also runs three nodes linked by MessageChannels instead of sockets (the router
 * decides the link; the node code does not change).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import t from 'tap'
import { RaftWorkerHandle } from '../../src/raft/host/worker-handle.ts'
import type { AppliedEntry } from '../../src/raft/host/protocol.ts'
import { DEFAULT_TIMING } from '../../src/raft/host/timing.ts'
import type { Status } from '../../src/raft/raft-node.ts'
import type { NodeId } from '../../src/raft/types.ts'
import { until } from '../helpers/wait.ts'
import { followerReadIndex } from './follower-read.ts'

const VOTERS = [1, 2, 3]
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const untext = (b: Uint8Array): string => new TextDecoder().decode(b)


t.test('3 worker-thread nodes over loopback TCP: election, commit, leader crash, restart and catch-up', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'samsa-raft-workers-'))
  const nodes = new Map<NodeId, RaftWorkerHandle>()
  const applied = new Map<NodeId, string[]>()
  const ports = new Map<NodeId, number>()
  t.teardown(async () => {
    for (const n of nodes.values()) await n.stop()
    rmSync(root, { recursive: true, force: true })
  })

  const start = async (id: NodeId): Promise<RaftWorkerHandle> => {
    applied.set(id, [])
    const h = await RaftWorkerHandle.start({
      id, voters: VOTERS, dir: join(root, `node-${id}`, '__cluster_metadata-0'), port: ports.get(id) ?? 0,
      fsync: false, tickMs: 10, electionTicks: 15, heartbeatTicks: 3, deliverApplied: true,
    }, (es: readonly AppliedEntry[]) => applied.get(id)!.push(...es.filter((e) => e.kind === 'data').map((e) => untext(e.data))))
    nodes.set(id, h)
    ports.set(id, h.port)
    return h
  }
  for (const id of VOTERS) await start(id)
  const peers = VOTERS.map((id) => ({ id, host: '127.0.0.1', port: ports.get(id)! }))
  for (const n of nodes.values()) n.setPeers(peers)

  /** The leader every live node agrees on. */
  const agreedLeader = async (): Promise<RaftWorkerHandle | undefined> => {
    const statuses = (await Promise.all([...nodes.values()].map((n) => n.status()))) as Status[]
    const leader = statuses.find((s) => s.role === 'leader')
    if (leader === undefined || !statuses.every((s) => s.lead === leader.id && s.term === leader.term)) return undefined
    return nodes.get(leader.id)
  }

  /**
   * Proposes at the agreed leader; a refusal or a proposal reported lost (a leader change on a
   * loaded machine) is retried at the new leader, as a client would. An uncertain outcome fails.
   */
  const commit = async (value: string): Promise<RaftWorkerHandle> => {
    for (;;) {
      const leader = await until(agreedLeader, `a leader for ${value}`)
      const r = await leader.propose(text(value))
      if ('index' in r) return leader
      if (r.error === 'timeout' || r.error === 'unknown') throw new Error(`proposal ${value}: ${r.error}`)
    }
  }
  const first = await until(agreedLeader, 'a first leader')
  for (let i = 0; i < 20; i++) await commit(`a${i}`)
  t.pass('20 proposals committed')
  const a = Array.from({ length: 20 }, (_, i) => `a${i}`)
  await until(async () => (VOTERS.every((id) => applied.get(id)!.length === 20) ? true : undefined), 'every node applies them')
  for (const id of VOTERS) t.same(applied.get(id), a, `node ${id} applied a0..a19 in order`)

  const read = await followerReadIndex(nodes.values(), agreedLeader, 'a read-index through a follower')
  t.ok(read !== undefined && 'index' in read && read.index >= 21, `a read-index through a follower reflects the commits (${JSON.stringify(read)})`)

  await first.kill()
  nodes.delete(first.id)
  const second = await until(async () => {
    const l = await agreedLeader()
    return l !== undefined && l.id !== first.id ? l : undefined
  }, 'a new leader after the crash')
  t.not(second.id, first.id, `node ${second.id} took over`)
  for (let i = 0; i < 10; i++) await commit(`b${i}`)
  t.pass('the new leader commits new proposals')
  const ab = [...a, ...Array.from({ length: 10 }, (_, i) => `b${i}`)]
  await until(async () => ([...nodes.keys()].every((id) => applied.get(id)!.length === 30) ? true : undefined), 'survivors apply b0..b9')
  for (const id of nodes.keys()) t.same(applied.get(id), ab, `node ${id} kept a0..a19 and then applied b0..b9`)

  const back = await start(first.id)
  back.setPeers(peers)
  await commit('c')
  await until(async () => (applied.get(back.id)!.length === 31 ? true : undefined), 'the restarted node catches up')
  t.same(applied.get(back.id), [...ab, 'c'], 're-applied its durable log and caught up with what it missed')
  // One snapshot can fall into a leader change: look again until the restarted node follows the
  // agreed leader (or the deadline passes, and the checks below fail on the last look).
  let st: Status | undefined
  let leaderId: NodeId | undefined
  await until(async () => {
    leaderId = (await agreedLeader())?.id
    st = (await back.status()) as Status
    return leaderId !== undefined && st.role === 'follower' && st.lead === leaderId ? true : undefined
  }, 'the restarted node to follow the agreed leader').catch(() => {})
  t.equal(st?.role, 'follower', 'it rejoined as a follower (pre-vote and stickiness kept the leader)')
  t.equal(st?.lead, leaderId, 'following the agreed leader')
  for (const n of [first, ...nodes.values()]) t.equal(n.failure, null, `worker ${n.id} never failed`)
})

t.test('3 worker-thread nodes of one process over port links: election and commit without sockets', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'samsa-raft-ports-'))
  const links = new Map<NodeId, Array<{ node: NodeId; port: MessagePort }>>(VOTERS.map((id) => [id, []]))
  for (const a of VOTERS) for (const b of VOTERS) {
    if (a >= b) continue
    const ch = new MessageChannel()
    links.get(a)!.push({ node: b, port: ch.port1 })
    links.get(b)!.push({ node: a, port: ch.port2 })
  }
  const applied = new Map<NodeId, string[]>(VOTERS.map((id) => [id, []]))
  const nodes: RaftWorkerHandle[] = []
  t.teardown(async () => {
    for (const n of nodes) await n.stop()
    rmSync(root, { recursive: true, force: true })
  })
  for (const id of VOTERS) {
    nodes.push(await RaftWorkerHandle.start({
      id, voters: VOTERS, dir: join(root, `node-${id}`, '__cluster_metadata-0'), port: null, links: links.get(id)!,
      fsync: false, tickMs: 10, electionTicks: 15, heartbeatTicks: 3, deliverApplied: true,
    }, (es) => applied.get(id)!.push(...es.filter((e) => e.kind === 'data').map((e) => untext(e.data)))))
  }
  const agreed = async (): Promise<RaftWorkerHandle | undefined> => {
    const statuses = (await Promise.all(nodes.map((n) => n.status()))) as Status[]
    const l = statuses.find((s) => s.role === 'leader')
    return l !== undefined && statuses.every((s) => s.lead === l.id) ? nodes.find((n) => n.id === l.id) : undefined
  }
  for (let i = 0; i < 5; i++) {
    // A leader change on a loaded machine refuses or loses a proposal: retry at the new leader.
    for (;;) {
      const r = await (await until(agreed, 'a leader over port links')).propose(text(`p${i}`))
      if ('index' in r) break
      if (r.error === 'timeout' || r.error === 'unknown') throw new Error(`proposal p${i}: ${r.error}`)
    }
  }
  t.pass('p0..p4 committed')
  await until(async () => (VOTERS.every((id) => applied.get(id)!.length === 5) ? true : undefined), 'every node applies p0..p4')
  for (const id of VOTERS) t.same(applied.get(id), ['p0', 'p1', 'p2', 'p3', 'p4'], `node ${id} applied them in order`)
})

t.test('a one-voter quorum on a worker: campaign at start, commit, read, and the log survives a clean restart', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'samsa-raft-single-'))
  // No timing given: the node runs with the measured defaults (50 ms ticks; campaign() skips the wait).
  const data = { id: 1, voters: [1], dir: join(root, '__cluster_metadata-0'), port: 0, fsync: true, deliverApplied: true }
  let h = await RaftWorkerHandle.start(data)
  t.same(h.timing, DEFAULT_TIMING, 'the handle reports the default timing')
  t.teardown(async () => {
    await h.stop()
    rmSync(root, { recursive: true, force: true })
  })
  await h.campaign()
  t.match(await h.propose(text('x')), { index: 2 }, 'the noop of term 1, then x')
  t.match(await h.readIndex(), { index: 2 })
  await h.stop()
  const seen: string[] = []
  h = await RaftWorkerHandle.start(data, (es) => seen.push(...es.filter((e) => e.kind === 'data').map((e) => untext(e.data))))
  await h.campaign()
  t.match(await h.propose(text('y')), { index: 4 }, 'x and its term are durable; a new term starts with its noop')
  await until(async () => (seen.length === 2 ? true : undefined), 'x and y applied')
  t.same(seen, ['x', 'y'])
})
