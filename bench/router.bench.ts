/**
 * The router's cost per message, next to a bare postMessage round trip in the same run: asks
 * from the main thread to an echo actor on a worker thread (port link), and between two routers
 * over a loopback TCP peer link; small bodies (64 B) and 64 KiB ones, CONCURRENCY asks
 * outstanding. Prints asks/s and round-trip latency percentiles (hdr-histogram).
 *
 *   node bench/router.bench.ts              # SECONDS=3 per case, CONCURRENCY=32
 */
import { MessageChannel, Worker } from 'node:worker_threads'
import hdr from 'hdr-histogram-js'
import { PeerLink } from '../src/router/peer-link.ts'
import { PeerListener } from '../src/router/peer-listener.ts'
import { PortLink } from '../src/router/port-link.ts'
import { Router } from '../src/router/router.ts'

const SECONDS = Number(process.env.SECONDS ?? 3)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)

async function measure(name: string, once: () => Promise<unknown>): Promise<void> {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 })
  const end = performance.now() + SECONDS * 1000
  let n = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await once()
      h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
      n++
    }
  }))
  const us = (p: number): string => (h.getValueAtPercentile(p) / 1000).toFixed(3)
  console.log(`${name.padEnd(40)} ${String(Math.round(n / SECONDS)).padStart(8)} asks/s   p50 ${us(50)} ms   p99 ${us(99)} ms`)
}

const small = Buffer.alloc(64, 1)
const large = Buffer.alloc(64 * 1024, 2)

// Baseline: a bare MessagePort echo on a worker (no router), same bodies.
const bare = new MessageChannel()
const echoSource = `
  const { workerData } = require('node:worker_threads')
  workerData.port.on('message', (m) => workerData.port.postMessage(m))
`
const bareWorker = new Worker(echoSource, { eval: true, workerData: { port: bare.port2 }, transferList: [bare.port2] })
let seq = 0
const waiting = new Map<number, () => void>()
bare.port1.on('message', (m: { id: number }) => { waiting.get(m.id)?.(); waiting.delete(m.id) })
const bareAsk = (body: Buffer): Promise<void> => new Promise((resolve) => {
  const id = ++seq
  waiting.set(id, resolve)
  bare.port1.postMessage({ id, body })
})

// Router over a port link: the test fixture worker has an `echo` actor.
const hub = new Router({ node: 1, name: 'main' })
const ch = new MessageChannel()
const worker = new Worker(new URL('../test/unit/router/fixtures/router-worker.ts', import.meta.url), { workerData: { hub: ch.port2 }, transferList: [ch.port2] })
await new Promise((r) => worker.once('message', r))
hub.routeActors(new PortLink('worker', ch.port1), ['echo'])
const echo = { node: 1, actor: 'echo' }

// Two routers (nodes 1 and 2) over loopback TCP.
const a = new Router({ node: 1, name: 'tcp-a' })
const b = new Router({ node: 2, name: 'tcp-b' })
const la = await PeerListener.listen(a, { port: 0 })
const lb = await PeerListener.listen(b, { port: 0 })
const link = (node: number, port: number): PeerLink => new PeerLink({ node, host: '127.0.0.1', port, maxQueueBytes: 256 << 20, backoffMinMs: 5, backoffMaxMs: 100 })
a.routeNode(2, link(2, lb.port))
b.routeNode(1, link(1, la.port))
b.register('echo', (body) => body)
await a.ask({ node: 2, actor: 'echo' }, small, { timeoutMs: 5000 }) // connected

console.log(`${SECONDS} s per case, ${CONCURRENCY} outstanding`)
for (const [label, body] of [['64 B', small], ['64 KiB', large]] as const) {
  await measure(`bare postMessage echo, ${label}`, () => bareAsk(body))
  await measure(`router ask via port link, ${label}`, () => hub.ask(echo, body, { timeoutMs: 10_000 }))
  await measure(`router ask via TCP peer link, ${label}`, () => a.ask({ node: 2, actor: 'echo' }, body, { timeoutMs: 10_000 }))
}

hub.close(); a.close(); b.close()
await la.close(); await lb.close()
await worker.terminate(); await bareWorker.terminate()
bare.port1.close()
