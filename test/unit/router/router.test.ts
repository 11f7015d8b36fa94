/**
 * The router (src/router/): asks and tells between actors on one thread, across threads
 * through the hub (with reply routes learned, not configured), and between nodes over TCP;
 * deadlines, failures that name their cause (no such actor, unreachable, handler failed, bodies
 * that cannot cross a node link), a dead thread failing its asks at once, per-sender ordering
 * and the bounded window with its backlog. Plus the wire codec between nodes.
 */
import { MessageChannel, Worker } from 'node:worker_threads'
import t from 'tap'
import { RouterError } from '../../../src/router/envelope.ts'
import { PeerLink } from '../../../src/router/peer-link.ts'
import { PeerListener } from '../../../src/router/peer-listener.ts'
import { PortLink } from '../../../src/router/port-link.ts'
import { Router } from '../../../src/router/router.ts'
import { decodeEnvelope, encodeEnvelope } from '../../../src/router/wire.ts'

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
    return 'resolved'
  } catch (err) {
    return err instanceof RouterError ? err.code : `not a RouterError: ${String(err)}`
  }
}

t.test('one thread: ask and reply, tells in order, failures named', async (t) => {
  const r = new Router({ node: 7, name: 'main' })
  t.teardown(() => r.close())
  const seen: number[] = []
  r.register('double', (n) => (n as number) * 2)
  r.register('later', async (n) => { await new Promise((res) => setTimeout(res, 5)); return n })
  r.register('log', (n) => { seen.push(n as number) })
  r.register('boom', () => { throw new Error('kaput') })
  r.register('sulk', () => new Promise(() => {}))
  t.equal(await r.ask({ node: 7, actor: 'double' }, 21, { timeoutMs: 1000 }), 42)
  t.equal(await r.ask({ node: 7, actor: 'later' }, 'x', { timeoutMs: 1000 }), 'x', 'an async handler replies when it resolves')
  for (let i = 0; i < 100; i++) r.tell({ node: 7, actor: 'log' }, i)
  await r.ask({ node: 7, actor: 'double' }, 0, { timeoutMs: 1000 })
  t.same(seen, Array.from({ length: 100 }, (_, i) => i), 'tells arrive in the order sent')
  t.equal(await code(r.ask({ node: 7, actor: 'nobody' }, 1, { timeoutMs: 1000 })), 'no_such_actor')
  t.equal(await code(r.ask({ node: 8, actor: 'double' }, 1, { timeoutMs: 1000 })), 'unreachable', 'a node without a route')
  const err = await r.ask({ node: 7, actor: 'boom' }, 1, { timeoutMs: 1000 }).catch((e: RouterError) => e)
  t.match(err, { code: 'handler_failed', message: /kaput/ }, 'a handler that throws fails the ask with its message')
  t.equal(await code(r.ask({ node: 7, actor: 'sulk' }, 1, { timeoutMs: 30 })), 'timeout', 'no ask waits past its deadline')
  t.throws(() => r.register('double', () => 0), 'an actor name is registered once')
  const pending = r.ask({ node: 7, actor: 'sulk' }, 1, { timeoutMs: 10_000 })
  r.close()
  t.equal(await code(pending), 'stopped', 'closing fails what is pending')
  t.equal(await code(r.ask({ node: 7, actor: 'double' }, 1, { timeoutMs: 1000 })), 'stopped')
})

t.test('window: at most maxInFlight asks per actor; the rest wait in order; backlog reports them', async (t) => {
  const r = new Router({ node: 1, name: 'main', maxInFlight: 2 })
  t.teardown(() => r.close())
  const releases: Array<() => void> = []
  const order: string[] = []
  r.register('gate', (body) => {
    order.push(body as string)
    return new Promise<string>((res) => releases.push(() => res(body as string)))
  })
  const gate = { node: 1, actor: 'gate' }
  const asks = ['a', 'b', 'c', 'd'].map((x) => r.ask(gate, x, { timeoutMs: 5000 }))
  r.tell(gate, 'e')
  await new Promise((res) => setImmediate(res))
  t.same(order, ['a', 'b'], 'two in flight')
  t.equal(r.backlog(gate), 3, 'two asks and the tell behind them wait')
  releases.shift()!()
  await asks[0]
  await new Promise((res) => setImmediate(res))
  t.same(order, ['a', 'b', 'c'], 'a reply frees one slot')
  while (releases.length > 0 || order.length < 5) {
    releases.shift()?.()
    await new Promise((res) => setImmediate(res))
  }
  t.same(await Promise.all(asks), ['a', 'b', 'c', 'd'])
  t.same(order, ['a', 'b', 'c', 'd', 'e'], 'the tell kept its place behind the asks')
  t.equal(r.backlog(gate), 0)
  r.setWindow(gate, 10)
  const wide = Array.from({ length: 5 }, (_, i) => r.ask(gate, `w${i}`, { timeoutMs: 5000 }))
  await new Promise((res) => setImmediate(res))
  t.equal(order.length, 10, 'a wider window for one actor lets parked asks through')
  t.equal(r.backlog(gate), 0)
  while (releases.length > 0) releases.shift()!()
  await Promise.all(wide)
})

t.test('threads: the hub forwards to a worker; the worker asks the hub back; a dead worker fails its asks at once', async (t) => {
  const hub = new Router({ node: 1, name: 'main' })
  const ch = new MessageChannel()
  const worker = new Worker(new URL('./fixtures/router-worker.ts', import.meta.url), { workerData: { hub: ch.port2 }, transferList: [ch.port2] })
  t.teardown(async () => { hub.close(); await worker.terminate() })
  await new Promise((res) => worker.once('message', res))
  hub.routeActors(new PortLink('worker', ch.port1), ['echo', 'ask-main', 'never', 'log', 'dump'])
  hub.register('clock', () => 'noon')
  const bytes = new Uint8Array([1, 2, 3])
  t.same(await hub.ask({ node: 1, actor: 'echo' }, { bytes, n: 1 }, { timeoutMs: 5000 }), { bytes, n: 1 }, 'structured bodies cross threads')
  const ab = new ArrayBuffer(1024)
  await hub.ask({ node: 1, actor: 'echo' }, ab, { timeoutMs: 5000, transfer: [ab] })
  t.equal(ab.byteLength, 0, 'a transferred buffer moves (detached here), it is not copied')
  t.equal(await hub.ask({ node: 1, actor: 'ask-main' }, null, { timeoutMs: 5000 }), 'noon', 'the worker reached the hub\'s actor by its default route')
  for (let i = 0; i < 50; i++) hub.tell({ node: 1, actor: 'log' }, i)
  t.same(await hub.ask({ node: 1, actor: 'dump' }, null, { timeoutMs: 5000 }), Array.from({ length: 50 }, (_, i) => i), 'in order across the thread')
  t.equal(await code(hub.ask({ node: 1, actor: 'nobody' }, 1, { timeoutMs: 1000 })), 'no_such_actor', 'nothing to forward to')
  const stuck = code(hub.ask({ node: 1, actor: 'never' }, 1, { timeoutMs: 60_000 }))
  await new Promise((res) => setTimeout(res, 20))
  const started = Date.now()
  await worker.terminate()
  t.equal(await stuck, 'unreachable', 'the dead thread\'s ask fails')
  t.ok(Date.now() - started < 30_000, 'well before its deadline')
})

t.test('nodes: asks over TCP peer links; bodies must be bytes; failures cross the network', async (t) => {
  const a = new Router({ node: 1, name: 'main' })
  const b = new Router({ node: 2, name: 'main' })
  const la = await PeerListener.listen(a, { port: 0 })
  const lb = await PeerListener.listen(b, { port: 0 })
  t.teardown(async () => { a.close(); b.close(); await la.close(); await lb.close() })
  const link = (node: number, port: number): PeerLink => new PeerLink({ node, host: '127.0.0.1', port, maxQueueBytes: 1 << 20, backoffMinMs: 5, backoffMaxMs: 50 })
  a.routeNode(2, link(2, lb.port))
  b.routeNode(1, link(1, la.port))
  b.register('upper', (body) => Buffer.from(Buffer.from(body as Uint8Array).toString().toUpperCase()))
  b.register('boom', () => { throw new Error('remote kaput') })
  b.register('object', () => ({ not: 'bytes' }))
  const reply = await a.ask<Uint8Array>({ node: 2, actor: 'upper' }, Buffer.from('hello'), { timeoutMs: 5000 })
  t.equal(Buffer.from(reply).toString(), 'HELLO')
  t.match(await a.ask({ node: 2, actor: 'boom' }, Buffer.alloc(0), { timeoutMs: 5000 }).catch((e: RouterError) => e), { code: 'handler_failed', message: /remote kaput/ })
  t.equal(await code(a.ask({ node: 2, actor: 'nobody' }, Buffer.alloc(0), { timeoutMs: 5000 })), 'no_such_actor')
  t.equal(await code(a.ask({ node: 2, actor: 'upper' }, { text: 'hi' }, { timeoutMs: 5000 })), 'not_bytes', 'an object cannot cross to another node')
  t.equal(await code(a.ask({ node: 2, actor: 'object' }, Buffer.alloc(0), { timeoutMs: 5000 })), 'not_bytes', 'nor can a reply')
})

t.test('wire: envelopes round-trip; malformed frames throw', async (t) => {
  const env = { kind: 'ask' as const, to: { node: 3, actor: 'group-coordinator' }, from: { node: 1, actor: '~main' }, id: 99, ttlMs: 1500, body: Buffer.from('payload') }
  const back = decodeEnvelope(encodeEnvelope(env))
  t.same({ ...back, body: Buffer.from(back.body as Uint8Array).toString() }, { ...env, body: 'payload' })
  const fail = { kind: 'fail' as const, to: env.from, from: env.to, id: 99, ttlMs: 0, body: { code: 'timeout', message: 'late' } }
  t.same(decodeEnvelope(encodeEnvelope(fail)), fail)
  const bytes = encodeEnvelope(env)
  t.throws(() => decodeEnvelope(bytes.subarray(0, 12)), 'truncated')
  const wrongVersion = Buffer.from(bytes)
  wrongVersion[0] = 9
  t.throws(() => decodeEnvelope(wrongVersion), /version/)
  const wrongKind = Buffer.from(bytes)
  wrongKind[1] = 9
  t.throws(() => decodeEnvelope(wrongKind), /kind/)
  const longName = Buffer.from(bytes)
  longName.writeUInt16BE(60_000, 14)
  t.throws(() => decodeEnvelope(longName), /past the envelope/)
})
