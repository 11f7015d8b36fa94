/**
 * Raft transports: the wire codec round-trips every message type; the in-memory network and the
 * router transport over loopback TCP deliver, the peer link reconnects after its peer restarts
 * and bounds its queue while the peer is down; over port links (nodes in one process) the same
 * transport delivers.
 */
import t from 'tap'
import { decodeMessage, encodeMessage } from '../../src/raft/transport/codec.ts'
import { MessageChannel } from 'node:worker_threads'
import { FrameDecoder, frame } from '../../src/router/frames.ts'
import { MemoryNetwork } from '../../src/raft/transport/memory-transport.ts'
import { RouterTransport } from '../../src/raft/transport/router-transport.ts'
import { PeerLink } from '../../src/router/peer-link.ts'
import { PeerListener } from '../../src/router/peer-listener.ts'
import { PortLink } from '../../src/router/port-link.ts'
import { Router } from '../../src/router/router.ts'
import type { Message } from '../../src/raft/types.ts'

const h = { from: 1, to: 2, term: 2 ** 40 + 7 }
const data = (s: string): Uint8Array => new TextEncoder().encode(s)
const samples: Message[] = [
  { type: 'append', ...h, prevIndex: 9, prevTerm: 3, commit: 8, entries: [
    { index: 10, term: 3, kind: 'noop', data: new Uint8Array(0) }, { index: 11, term: 4, kind: 'data', data: data('héllo') }] },
  { type: 'append', ...h, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] },
  { type: 'appendResp', ...h, reject: true, index: 300, hintIndex: 128, hintTerm: 2 },
  { type: 'vote', ...h, lastIndex: 2 ** 53 - 1, lastTerm: 5, transfer: false },
  { type: 'preVote', ...h, lastIndex: 1, lastTerm: 1, transfer: true },
  { type: 'voteResp', ...h, reject: false },
  { type: 'preVoteResp', ...h, reject: true },
  { type: 'heartbeat', ...h, commit: 77, context: null },
  { type: 'heartbeat', ...h, commit: 77, context: '' },
  { type: 'heartbeatResp', ...h, context: 'ctx-1' },
  { type: 'snapshot', ...h, snapshot: { meta: { index: 1000, term: 9, voters: [1, 2, 3] }, data: new Uint8Array(70_000).fill(5) } },
  { type: 'timeoutNow', ...h },
  { type: 'readIndex', ...h, context: 'r' },
  { type: 'readIndexResp', ...h, index: 12, context: 'r' },
]

/** Byte arrays as hex (Buffer and Uint8Array alike: `this[k]` is the value before Buffer's toJSON). */
const plain = (m: Message): unknown => JSON.parse(JSON.stringify(m, function (this: Record<string, unknown>, k, v: unknown) {
  const raw = this[k]
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex') : v
}))

t.test('codec: every message type round-trips, compactly', async (t) => {
  for (const m of samples) t.same(plain(decodeMessage(encodeMessage(m))), plain(m), m.type)
  t.ok(encodeMessage(samples[5]!).length <= 12, 'a vote response is a dozen bytes')
  const bytes = encodeMessage(samples[0]!)
  t.throws(() => decodeMessage(bytes.subarray(0, bytes.length - 1)), 'a truncated message is refused')
  t.throws(() => decodeMessage(new Uint8Array([99, 1, 2, 3])), 'an unknown type is refused')
})

t.test('frames: split and coalesced chunks decode to the same payloads', async (t) => {
  const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(5000, 7)]
  const wire = Buffer.concat(payloads.map(frame))
  for (const step of [1, 3, 4096, wire.length]) {
    const d = new FrameDecoder()
    const got: Buffer[] = []
    for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)))
    t.same(got.map((b) => b.toString('hex')), payloads.map((b) => b.toString('hex')), `chunks of ${step}`)
  }
  const bad = Buffer.alloc(4)
  bad.writeUInt32BE(0xffffffff)
  t.throws(() => new FrameDecoder().push(bad), 'an oversized frame is refused')
})

t.test('memory network: delivers asynchronously and honours cuts', async (t) => {
  const net = new MemoryNetwork()
  const a = net.endpoint(1)
  const b = net.endpoint(2)
  const got: Message[] = []
  b.onMessage((m) => got.push(m))
  a.send(samples[2]!)
  t.equal(got.length, 0, 'not synchronously')
  await new Promise((r) => setImmediate(r))
  t.equal(got.length, 1)
  net.cut(1, 2)
  a.send(samples[2]!)
  await new Promise((r) => setImmediate(r))
  t.equal(got.length, 1, 'a cut link drops')
  t.equal(net.dropped, 1)
})

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A node's Raft transport as the Raft worker builds it: a router, a peer listener, the router transport. */
async function tcpNode(id: number, port = 0): Promise<{ router: Router; listener: PeerListener; transport: RouterTransport; close(): Promise<void> }> {
  const router = new Router({ node: id, name: 'raft' })
  const listener = await PeerListener.listen(router, { port })
  const transport = new RouterTransport(router)
  return { router, listener, transport, close: async () => { router.close(); await listener.close() } }
}

t.test('router transport over tcp: loopback delivery, reconnect after the peer restarts, bounded queue', async (t) => {
  const a = await tcpNode(1)
  let b = await tcpNode(2)
  t.teardown(async () => { await a.close(); await b.close() })
  const port = b.listener.port
  const link = new PeerLink({ node: 2, host: '127.0.0.1', port, maxQueueBytes: 128 * 1024, backoffMinMs: 5, backoffMaxMs: 50 })
  a.router.routeNode(2, link)
  const got: Message[] = []
  b.transport.onMessage((m) => got.push(m))
  for (const m of samples) a.transport.send(m)
  await until(() => got.length === samples.length, 'all samples')
  t.same(got.map(plain), samples.map(plain), 'in order, intact')

  await b.close()
  const big: Message = { type: 'append', ...h, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, kind: 'data', data: new Uint8Array(10_000) }] }
  await new Promise((r) => setTimeout(r, 20))
  for (let i = 0; i < 20; i++) a.transport.send(big)
  t.ok(link.dropped >= 7, `a dead peer's queue is bounded (${link.dropped} of 20 dropped)`)
  b = await tcpNode(2, port)
  const after: Message[] = []
  b.transport.onMessage((m) => after.push(m))
  await until(() => after.length > 0, 'queued frames after the reconnect')
  a.transport.send(samples[2]!)
  await until(() => after.some((m) => m.type === 'appendResp'), 'a new message after the reconnect')
  t.ok(after.length >= 2, 'the link reconnected with backoff and flushed its queue')
})

t.test('router transport over port links: nodes of one process', async (t) => {
  const channel = new MessageChannel()
  const a = new Router({ node: 1, name: 'raft-1' })
  const b = new Router({ node: 2, name: 'raft-2' })
  t.teardown(() => { a.close(); b.close() })
  a.routeNode(2, new PortLink('node 2', channel.port1))
  b.routeNode(1, new PortLink('node 1', channel.port2))
  const ta = new RouterTransport(a)
  const tb = new RouterTransport(b)
  const got: Message[] = []
  tb.onMessage((m) => got.push(m))
  for (const m of samples) ta.send(m)
  await until(() => got.length === samples.length, 'all samples')
  t.same(got.map(plain), samples.map(plain), 'in order, intact')
  const misaddressed = { ...samples[5]!, to: 3 }
  ta.send(misaddressed)
  t.ok(a.stats.dropped >= 1, 'a message for a node without a route is dropped, not thrown')
})
