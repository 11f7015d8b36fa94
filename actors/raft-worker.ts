/**
 * Entry point of a Raft worker thread: one Raft node with its durable log, its TCP transport and
 * its own tick timer, so a busy main (network) thread cannot delay its ticks into false
 * elections. All logic is in src/raft/host/raft-host.ts; the message protocol is
 * src/raft/host/protocol.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parentPort, workerData } from 'node:worker_threads'
import { assert } from '../src/lib/assert.ts'
import { RaftHost } from '../src/raft/host/raft-host.ts'
import type { FromWorker, RaftWorkerData, Reply, ToWorker } from '../src/raft/host/protocol.ts'
import { LogStorage } from '../src/raft/storage/log-storage.ts'
import { TcpTransport } from '../src/raft/transport/tcp-transport.ts'

const port = parentPort
assert(port !== null, 'raft-worker.ts must run in a worker thread')
const data = workerData as RaftWorkerData
const post = (m: FromWorker): void => port.postMessage(m)

const lag = monitorEventLoopDelay({ resolution: 1 })
lag.enable()
const transport = await TcpTransport.listen({ id: data.id, port: data.port, ...(data.host === undefined ? {} : { host: data.host }) })
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
    case 'peers': transport.setPeers(m.peers); break
    case 'propose': void host.propose(m.data).then((v) => reply(m.req, v)); break
    case 'read': void host.readIndex().then((v) => reply(m.req, v)); break
    case 'status': reply(m.req, host.status()); break
    case 'transfer': reply(m.req, host.transferLeader(m.to)); break
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
      void host.close().then(() => {
        reply(m.req, null)
        port.close()
      })
      break
  }
})
post({ ev: 'listening', port: transport.port })
