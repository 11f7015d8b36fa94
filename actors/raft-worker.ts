/**
 * Entry point of a Raft worker thread: one Raft node with its durable log, its own router (with
 * peer links to the other nodes' Raft workers, or port links when the nodes share a process)
 * and its own tick timer, so a busy main (network) thread can delay neither its ticks nor its
 * messages into false elections. All logic is in src/raft/host/raft-host.ts; the message protocol is
 * src/raft/host/protocol.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'
import { assert } from '../src/lib/assert.ts'
import { RaftHost } from '../src/raft/host/raft-host.ts'
import type { FromWorker, RaftWorkerData, Reply, ToWorker } from '../src/raft/host/protocol.ts'
import { LogStorage } from '../src/raft/storage/log-storage.ts'
import { RouterTransport } from '../src/raft/transport/router-transport.ts'
import { PeerLink } from '../src/router/peer-link.ts'
import { PeerListener } from '../src/router/peer-listener.ts'
import { PortLink } from '../src/router/port-link.ts'
import { Router } from '../src/router/router.ts'

const port = parentPort
assert(port !== null, 'raft-worker.ts must run in a worker thread')
const data = workerData as RaftWorkerData
const post = (m: FromWorker): void => port.postMessage(m)

const lag = monitorEventLoopDelay({ resolution: 1 })
lag.enable()
const router = new Router({ node: data.id, name: 'raft' })
const listener = data.port === null ? null : await PeerListener.listen(router, { port: data.port, ...(data.host === undefined ? {} : { host: data.host }) })
for (const l of data.links ?? []) router.routeNode(l.node, new PortLink(`node ${l.node}`, l.port))
const transport = new RouterTransport(router)
const storage = LogStorage.open({ dir: data.dir, voters: data.voters, fsync: data.fsync })
const host = new RaftHost({
  id: data.id, voters: data.voters, storage, transport, electionTicks: data.electionTicks, heartbeatTicks: data.heartbeatTicks,
  onApply: data.deliverApplied ? (entries) => post({ ev: 'applied', entries: entries.map(({ index, term, kind, data }) => ({ index, term, kind, data })) }) : undefined,
  onRestore: (snap) => post({ ev: 'restored', index: snap.meta.index, data: snap.data }),
  onSoftState: (s) => post({ ev: 'role', lead: s.lead, role: s.role, term: s.term }),
})
const ticker = setInterval(() => host.tick(), data.tickMs)

const reply = (req: number, value: Reply): void => post({ ev: 'reply', req, value })

port.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'peers':
      for (const p of m.peers) {
        if (p.id === data.id) continue
        // Raft resends what is lost, so a bounded queue that drops is right for a dead peer.
        router.routeNode(p.id, new PeerLink({ node: p.id, host: p.host, port: p.port, maxQueueBytes: 64 << 20, backoffMinMs: 10, backoffMaxMs: 1000 }))
      }
      break
    case 'propose': void host.propose(m.data).then((v) => reply(m.req, v)); break
    case 'read': void host.readIndex().then((v) => reply(m.req, v)); break
    case 'status': reply(m.req, host.status()); break
    case 'transfer': reply(m.req, host.transferLeader(m.to)); break
    case 'membership': void host.changeMembership(m.change).then((v) => reply(m.req, v)); break
    case 'campaign': host.campaign(); reply(m.req, null); break
    case 'compact': host.compact(m.index, m.data); reply(m.req, null); break
    case 'lag': {
      reply(m.req, { p50Ms: lag.percentile(50) / 1e6, p99Ms: lag.percentile(99) / 1e6, maxMs: lag.max / 1e6, meanMs: lag.mean / 1e6 })
      lag.reset()
      break
    }
    case 'stop':
      clearInterval(ticker)
      lag.disable()
      void host.close().then(async () => {
        router.close()
        await listener?.close()
        reply(m.req, null)
        port.close()
      })
      break
  }
})
post({ ev: 'listening', port: listener?.port ?? 0 })
