/**
 * Entry point of a Raft worker thread: one Raft node with its durable log, its own router (with
 * peer links to the other nodes' Raft workers, or port links when the nodes share a process)
 * and its own tick timer, so a busy main (network) thread can delay neither its ticks nor its
 * messages into false elections. All logic is in src/raft/host/raft-host.ts; the calls and
 * events are in src/raft/host/protocol.ts.
 *
 * The router's actors here: `raft` (the node's peer messages, RouterTransport) and
 * `raft-control` (the main thread's calls). Anything else goes to the default route, the port
 * link to the main thread's router, which is attached last: calls that arrive earlier wait in
 * the port until every actor is registered.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { workerData } from 'node:worker_threads'
import { unreachable } from '../src/lib/assert.ts'
import { RaftHost } from '../src/raft/host/raft-host.ts'
import { resolveTiming } from '../src/raft/host/timing.ts'
import { RAFT_CONTROL_ACTOR, RAFT_EVENTS_ACTOR, type ControlCall, type RaftEvent, type RaftWorkerData, type Reply } from '../src/raft/host/protocol.ts'
import { LogStorage } from '../src/raft/storage/log-storage.ts'
import { RouterTransport } from '../src/raft/transport/router-transport.ts'
import { PeerLink } from '../src/router/peer-link.ts'
import { PeerListener } from '../src/router/peer-listener.ts'
import { PortLink } from '../src/router/port-link.ts'
import { Router } from '../src/router/router.ts'

const data = workerData as RaftWorkerData
// Settings the caller left out take the measured defaults (src/raft/host/timing.ts).
const timing = resolveTiming(data)

const lag = monitorEventLoopDelay({ resolution: 1 })
lag.enable()
const router = new Router({ node: data.id, name: `raft-${data.id}` })
const listener = data.port === null ? null : await PeerListener.listen(router, { port: data.port, ...(data.host === undefined ? {} : { host: data.host }) })
for (const l of data.links ?? []) router.routeNode(l.node, new PortLink(`node ${l.node}`, l.port))
const transport = new RouterTransport(router)
const storage = LogStorage.open({ dir: data.dir, voters: data.voters, fsync: data.fsync })
const events = { node: data.id, actor: RAFT_EVENTS_ACTOR }
const emit = (e: RaftEvent): void => void router.tell(events, e)
const host = new RaftHost({
  id: data.id, voters: data.voters, storage, transport, electionTicks: timing.electionTicks, heartbeatTicks: timing.heartbeatTicks,
  onApply: data.deliverApplied ? (entries) => emit({ ev: 'applied', entries: entries.map(({ index, term, kind, data }) => ({ index, term, kind, data })) }) : undefined,
  onRestore: (snap) => emit({ ev: 'restored', index: snap.meta.index, data: snap.data }),
  onSoftState: (s) => emit({ ev: 'role', lead: s.lead, role: s.role, term: s.term }),
})
const ticker = setInterval(() => host.tick(), timing.tickMs)

function control(call: ControlCall): Reply | Promise<Reply> {
  switch (call.op) {
    case 'hello': return { port: listener?.port ?? 0 }
    case 'peers':
      for (const p of call.peers) {
        if (p.id === data.id) continue
        // Raft resends what is lost, so a bounded queue that drops is right for a dead peer.
        router.routeNode(p.id, new PeerLink({ node: p.id, host: p.host, port: p.port, maxQueueBytes: 64 << 20, backoffMinMs: 10, backoffMaxMs: 1000 }))
      }
      return null
    case 'propose': return host.propose(call.data)
    case 'read': return host.readIndex()
    case 'status': return host.status()
    case 'transfer': return host.transferLeader(call.to)
    case 'membership': return host.changeMembership(call.change)
    case 'campaign': host.campaign(); return null
    case 'compact': host.compact(call.index, call.data); return null
    case 'lag': {
      const stats = { p50Ms: lag.percentile(50) / 1e6, p99Ms: lag.percentile(99) / 1e6, maxMs: lag.max / 1e6, meanMs: lag.mean / 1e6 }
      lag.reset()
      return stats
    }
    case 'stop':
      clearInterval(ticker)
      lag.disable()
      return host.close().then(async () => {
        await listener?.close()
        // After this reply is posted: closing the router closes the hub port, and the thread ends.
        setImmediate(() => router.close())
        return null
      })
    default: return unreachable(call, 'raft control call')
  }
}
router.register(RAFT_CONTROL_ACTOR, (body) => control(body as ControlCall))
router.routeDefault(new PortLink('main', data.hub))
