/**
 * The wire protocol against a real broker, byte by byte: ApiVersions quirks, framing limits,
 * bad input (the connection closes, everyone else keeps being served), acks=0, pipelining.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { encodeApiVersionsRequest, defaultApiVersionsRequest } from '../../src/protocol/messages/api-versions-request.ts'
import { decodeApiVersionsResponse } from '../../src/protocol/messages/api-versions-response.ts'
import { encodeProduceRequest } from '../../src/protocol/messages/produce-request.ts'
import { decodeProduceResponse } from '../../src/protocol/messages/produce-response.ts'
import { encodeMetadataRequest, defaultMetadataRequest } from '../../src/protocol/messages/metadata-request.ts'
import { decodeMetadataResponse } from '../../src/protocol/messages/metadata-response.ts'
import { encodeCreateTopicsRequest } from '../../src/protocol/messages/create-topics-request.ts'
import { decodeCreateTopicsResponse } from '../../src/protocol/messages/create-topics-response.ts'
import { buildRecordBatch } from '../../src/storage/record-batch-builder.ts'

const broker = await startBroker(t, { config: { 'socket.request.max.bytes': 1_000_000 } })

async function client(t: { teardown(fn: () => void): void }): Promise<RawClient> {
  const c = await RawClient.connect(broker.bootstrap)
  t.teardown(() => c.close())
  return c
}

async function apiVersions(c: RawClient, version: number, correlationId = 1) {
  c.send(RawClient.frame(18, version, correlationId, (w) => encodeApiVersionsRequest(w, version, { ...defaultApiVersionsRequest(), clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1.0' })))
  const { correlationId: got, body } = await c.response(18, version)
  return { correlationId: got, body: decodeApiVersionsResponse(body, version) }
}

async function createTopic(c: RawClient, name: string): Promise<number> {
  c.send(RawClient.frame(19, 7, 9, (w) => encodeCreateTopicsRequest(w, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
  })))
  const { body } = await c.response(19, 7)
  return decodeCreateTopicsResponse(body, 7).topics[0]!.errorCode
}

function produceFrame(topic: string, correlationId: number, records: Buffer, acks = 1, version = 9): Buffer {
  return RawClient.frame(0, version, correlationId, (w) => encodeProduceRequest(w, version, {
    transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  }))
}

t.test('ApiVersions answers every version 0–4 with the implemented table', async (t) => {
  const c = await client(t)
  for (let v = 0; v <= 4; v++) {
    const { correlationId, body } = await apiVersions(c, v, 100 + v)
    t.equal(correlationId, 100 + v)
    t.equal(body.errorCode, 0)
    const produce = body.apiKeys.find((k) => k.apiKey === 0)
    t.same([produce?.minVersion, produce?.maxVersion], [3, 11], `v${v} advertises Produce 3–11`)
    const fetch = body.apiKeys.find((k) => k.apiKey === 1)
    t.same([fetch?.minVersion, fetch?.maxVersion], [4, 17])
  }
})

t.test('a too-new ApiVersions gets UNSUPPORTED_VERSION and the supported range in a v0 body', async (t) => {
  const c = await client(t)
  c.send(RawClient.frame(18, 9, 7, () => {}))
  const frame = await c.next()
  t.equal(frame.readInt32BE(0), 7, 'correlation id, header v0')
  t.equal(frame.readInt16BE(4), 35, 'UNSUPPORTED_VERSION')
  t.equal(frame.readInt32BE(6), 1, 'one api key listed')
  t.same([frame.readInt16BE(10), frame.readInt16BE(12), frame.readInt16BE(14)], [18, 0, 4])
})

t.test('ApiVersions v3 with an invalid client software name gets INVALID_REQUEST', async (t) => {
  const c = await client(t)
  c.send(RawClient.frame(18, 3, 1, (w) => encodeApiVersionsRequest(w, 3, { clientSoftwareName: '-bad name-', clientSoftwareVersion: '1' })))
  const { body } = await c.response(18, 3)
  t.equal(decodeApiVersionsResponse(body, 3).errorCode, 42)
})

t.test('bad input closes only the offending connection', async (t) => {
  const healthy = await client(t)
  const cases: [string, Buffer][] = [
    ['unknown api key', RawClient.frame(999, 0, 1, () => {})],
    ['unsupported version of a known api', RawClient.frame(0, 2, 1, () => {})],
    ['garbage', Buffer.from('00000010ffffffffffffffffffffffffffffffff', 'hex')],
    ['size above socket.request.max.bytes', Buffer.from('7fffffff00', 'hex')],
    ['negative size', Buffer.from('ffffffff', 'hex')],
    ['truncated body', RawClient.frame(3, 12, 1, (w) => w.int8(5))],
  ]
  for (const [name, bytes] of cases) {
    const bad = await client(t)
    bad.send(bytes)
    t.ok(await bad.closed(), `${name}: connection closed`)
  }
  const { body } = await apiVersions(healthy, 3)
  t.equal(body.errorCode, 0, 'other clients keep being served')
})

t.test('acks=0 gets no response; a bad CRC is refused and appends nothing', async (t) => {
  const c = await client(t)
  t.equal(await createTopic(c, 'raw-acks'), 0)
  const good = buildRecordBatch({ records: [{ key: 'k', value: 'v' }] })
  c.send(produceFrame('raw-acks', 1, Buffer.from(good), 0))
  c.send(produceFrame('raw-acks', 2, Buffer.from(good), 1))
  const { correlationId, body } = await c.response(0, 9)
  t.equal(correlationId, 2, 'the acks=0 request got no response')
  const res = decodeProduceResponse(body, 9).responses[0]!.partitionResponses[0]!
  t.equal(res.errorCode, 0)
  t.equal(res.baseOffset, 1, 'the acks=0 record was appended first')
  const corrupt = Buffer.from(good)
  corrupt[corrupt.length - 1]! ^= 0xff
  c.send(produceFrame('raw-acks', 3, corrupt, 1))
  const bad = decodeProduceResponse((await c.response(0, 9)).body, 9).responses[0]!.partitionResponses[0]!
  t.equal(bad.errorCode, 2, 'CORRUPT_MESSAGE')
  c.send(produceFrame('raw-acks', 4, Buffer.from(good), 1))
  const after = decodeProduceResponse((await c.response(0, 9)).body, 9).responses[0]!.partitionResponses[0]!
  t.equal(after.baseOffset, 2, 'nothing was appended for the corrupt batch')
})

t.test('pipelined produce requests are appended and answered in arrival order', async (t) => {
  const c = await client(t)
  t.equal(await createTopic(c, 'raw-order'), 0)
  const n = 200
  for (let i = 0; i < n; i++) c.send(produceFrame('raw-order', 1000 + i, buildRecordBatch({ records: [{ value: `m${i}` }] })))
  for (let i = 0; i < n; i++) {
    const { correlationId, body } = await c.response(0, 9)
    t.equal(correlationId, 1000 + i)
    const p = decodeProduceResponse(body, 9).responses[0]!.partitionResponses[0]!
    if (p.baseOffset !== i) t.fail(`request ${i} got offset ${p.baseOffset}`)
  }
})

t.test('large frames split anywhere are framed in arrival order, also while reads are held for memory', async (t) => {
  // Frames above 64 KiB are read straight into their buffers (user-buffer reads); the memory
  // limit (2 frames at a time) makes the connection stash and resume mid-stream.
  const small = await startBroker(t, { config: { 'queued.max.request.bytes': 600_000 } })
  const c = await RawClient.connect(small.bootstrap)
  t.teardown(() => c.close())
  t.equal(await (async () => {
    c.send(RawClient.frame(19, 7, 1, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name: 'big-frames', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })))
    return decodeCreateTopicsResponse((await c.response(19, 7)).body, 7).topics[0]!.errorCode
  })(), 0)
  const n = 24
  const frames = Array.from({ length: n }, (_, i) => {
    // Sizes around the direct-read threshold and well above it; distinct bytes, so a misplaced byte fails the CRC.
    const value = Buffer.alloc(i % 3 === 0 ? 70_000 : 250_000 + i * 1000, 0x41 + (i % 26))
    return produceFrame('big-frames', 100 + i, buildRecordBatch({ records: [{ value }, { value: Buffer.from(`tail-${i}`) }] }))
  })
  const all = Buffer.concat(frames)
  // Cut the stream at odd places: inside size headers, inside frames, several frames per write.
  let at = 0
  for (const step of [1, 2, 3, 70_001, 5, 400_000, 65_536, 1]) {
    c.send(all.subarray(at, at + step))
    at += step
  }
  while (at < all.length) {
    const step = 1 + ((at * 7919) % 300_000)
    c.send(all.subarray(at, at + step))
    at += step
  }
  for (let i = 0; i < n; i++) {
    const { correlationId, body } = await c.response(0, 9)
    const p = decodeProduceResponse(body, 9).responses[0]!.partitionResponses[0]!
    if (correlationId !== 100 + i || p.errorCode !== 0 || p.baseOffset !== 2 * i) t.fail(`request ${i}: correlation ${correlationId}, error ${p.errorCode}, offset ${p.baseOffset}`)
  }
  t.pass('every large request answered, in order, intact (CRC checked by the broker), with consecutive offsets')
})

t.test('Metadata names a live controller and auto-creates topics', async (t) => {
  const c = await client(t)
  c.send(RawClient.frame(3, 12, 5, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'raw-auto' }], allowAutoTopicCreation: true })))
  const res = decodeMetadataResponse((await c.response(3, 12)).body, 12)
  t.equal(res.controllerId, broker.nodeId)
  t.ok(res.brokers.some((b) => b.nodeId === res.controllerId))
  t.equal(res.topics[0]!.errorCode, 0)
  t.not(res.topics[0]!.topicId, 'AAAAAAAAAAAAAAAAAAAAAA', 'a real topic id')
  t.equal(res.topics[0]!.partitions[0]!.leaderId, broker.nodeId)

  const twice = { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'raw-twice' }
  c.send(RawClient.frame(3, 12, 6, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [twice, twice, { ...twice, name: 'raw-auto' }], allowAutoTopicCreation: true })))
  const dup = decodeMetadataResponse((await c.response(3, 12)).body, 12)
  t.same(dup.topics.map((x) => [x.name, x.errorCode]), [['raw-twice', 0], ['raw-auto', 0]], 'a topic named twice is created and answered once')
})

t.test('ListOffsets v9: special timestamps and leader epoch checks', async (t) => {
  const { encodeListOffsetsRequest } = await import('../../src/protocol/messages/list-offsets-request.ts')
  const { decodeListOffsetsResponse } = await import('../../src/protocol/messages/list-offsets-response.ts')
  const c = await client(t)
  t.equal(await createTopic(c, 'raw-times'), 0)
  const t0 = Date.now() - 60_000
  for (const [i, ts] of [t0 + 5000, t0 + 9000, t0 + 1000].entries()) {
    c.send(produceFrame('raw-times', 50 + i, buildRecordBatch({ records: [{ value: `r${i}` }], timestamp: ts })))
    await c.response(0, 9)
  }
  const ask = async (timestamp: number, currentLeaderEpoch = -1) => {
    c.send(RawClient.frame(2, 9, 60, (w) => encodeListOffsetsRequest(w, 9, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: 'raw-times', partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp, maxNumOffsets: 1 }] }],
    })))
    return decodeListOffsetsResponse((await c.response(2, 9)).body, 9).topics[0]!.partitions[0]!
  }
  t.match(await ask(-1), { errorCode: 0, offset: 3 }, 'latest = high watermark')
  t.match(await ask(-2), { errorCode: 0, offset: 0 }, 'earliest')
  t.match(await ask(-3), { errorCode: 0, offset: 1, timestamp: t0 + 9000 }, 'max timestamp (KIP-734)')
  t.match(await ask(-4), { errorCode: 0, offset: 0 }, 'earliest local = log start without tiered storage')
  t.match(await ask(-5), { errorCode: 0, offset: -1 }, 'latest tiered: no tiered storage, no offset')
  t.match(await ask(t0 + 4000), { errorCode: 0, offset: 0, timestamp: t0 + 5000 })
  t.match(await ask(t0 + 9500), { errorCode: 0, offset: -1 }, 'nothing at or after')
  t.match(await ask(-1, 7), { errorCode: 75 }, 'UNKNOWN_LEADER_EPOCH for a newer epoch')
})

t.test('limits: queued.max.request.bytes delays reads but drops nothing', async (t) => {
  const small = await startBroker(t, { config: { 'queued.max.request.bytes': 100_000 } })
  const c = await RawClient.connect(small.bootstrap)
  t.teardown(() => c.close())
  c.send(RawClient.frame(19, 7, 1, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name: 'limits', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })))
  t.equal(decodeCreateTopicsResponse((await c.response(19, 7)).body, 7).topics[0]!.errorCode, 0)
  const value = Buffer.alloc(20_000, 0x62)
  const n = 40 // 40 × ~20 KB pipelined: 8× the broker-wide request memory
  for (let i = 0; i < n; i++) c.send(produceFrame('limits', 10 + i, buildRecordBatch({ records: [{ value }] })))
  for (let i = 0; i < n; i++) {
    const { correlationId, body } = await c.response(0, 9)
    const p = decodeProduceResponse(body, 9).responses[0]!.partitionResponses[0]!
    if (correlationId !== 10 + i || p.errorCode !== 0 || p.baseOffset !== i) t.fail(`request ${i}: correlation ${correlationId}, error ${p.errorCode}, offset ${p.baseOffset}`)
  }
  t.pass('every request answered, in order, with consecutive offsets')
})

t.test('connections.max.idle.ms closes idle connections, not one waiting for an answer', async (t) => {
  const { encodeFetchRequest } = await import('../../src/protocol/messages/fetch-request.ts')
  const { decodeFetchResponse } = await import('../../src/protocol/messages/fetch-response.ts')
  const b = await startBroker(t, { config: { 'connections.max.idle.ms': 300 } })
  const c = await RawClient.connect(b.bootstrap)
  t.teardown(() => c.close())
  c.send(RawClient.frame(3, 12, 1, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'idle-poll' }], allowAutoTopicCreation: true })))
  t.equal(decodeMetadataResponse((await c.response(3, 12)).body, 12).topics[0]!.errorCode, 0)
  // A long poll on an empty partition: 1.5 s without a byte on the socket, five idle periods.
  const started = Date.now()
  c.send(RawClient.frame(1, 12, 2, (w) => encodeFetchRequest(w, 12, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 1500, minBytes: 1, maxBytes: 1 << 20,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [{ topic: 'idle-poll', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
  })))
  const answer = await Promise.race([c.response(1, 12), c.closed(30_000).then(() => null)])
  if (answer === null) return t.fail('the broker closed the connection of a waiting long poll')
  const res = decodeFetchResponse(answer.body, 12)
  t.equal(res.responses[0]!.partitions[0]!.errorCode, 0, 'the long poll was answered')
  t.ok(Date.now() - started >= 1400, 'after its max_wait_ms')
  t.ok(await c.closed(10_000), 'then, idle, the connection is closed')
  const idle = await RawClient.connect(b.bootstrap)
  t.ok(await idle.closed(10_000), 'a connection that never sends is closed too')
})

t.test('a partition fetched twice in one request is answered once, with the later entry\'s offset', async (t) => {
  const { encodeFetchRequest } = await import('../../src/protocol/messages/fetch-request.ts')
  const { decodeFetchResponse } = await import('../../src/protocol/messages/fetch-response.ts')
  const c = await client(t)
  t.equal(await createTopic(c, 'raw-twice-fetch'), 0)
  for (let i = 0; i < 2; i++) {
    c.send(produceFrame('raw-twice-fetch', 20 + i, buildRecordBatch({ records: [{ value: `v${i}` }] })))
    await c.response(0, 9)
  }
  const part = (fetchOffset: number) => ({ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' })
  c.send(RawClient.frame(1, 11, 4, (w) => encodeFetchRequest(w, 11, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [
      { topic: 'raw-twice-fetch', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [part(0)] },
      { topic: 'raw-twice-fetch', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [part(1)] },
    ],
  })))
  const res = decodeFetchResponse((await c.response(1, 11)).body, 11)
  t.equal(res.responses.length, 1, 'one topic entry')
  t.equal(res.responses[0]!.partitions.length, 1, 'one partition entry')
  const records = res.responses[0]!.partitions[0]!.records!
  t.equal(Number(records.readBigInt64BE(0)), 1, 'read from the later entry\'s offset')
})

t.test('an incremental fetch (session epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND: this broker keeps no fetch sessions', async (t) => {
  const { encodeFetchRequest } = await import('../../src/protocol/messages/fetch-request.ts')
  const { decodeFetchResponse } = await import('../../src/protocol/messages/fetch-response.ts')
  const c = await client(t)
  t.equal(await createTopic(c, 'raw-session'), 0)
  const fetch = async (sessionId: number, sessionEpoch: number) => {
    c.send(RawClient.frame(1, 12, 3, (w) => encodeFetchRequest(w, 12, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId, sessionEpoch, forgottenTopicsData: [], rackId: '',
      topics: [{ topic: 'raw-session', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
    })))
    return decodeFetchResponse((await c.response(1, 12)).body, 12)
  }
  const initial = await fetch(0, 0)
  t.same([initial.errorCode, initial.sessionId, initial.responses.length], [0, 0, 1], 'a request for a new session is served in full, without one')
  const incremental = await fetch(12345, 1)
  t.same([incremental.errorCode, incremental.sessionId, incremental.responses.length], [70, 0, 0], 'FETCH_SESSION_ID_NOT_FOUND, no partitions')
  const closing = await fetch(12345, -1)
  t.same([closing.errorCode, closing.responses.length], [0, 1], 'a final (sessionless) request is served in full')
})

t.test('a connections.max.idle.ms beyond Node\'s timer range (30 days) arms without overflow', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.name)
  process.on('warning', onWarning)
  t.teardown(() => void process.off('warning', onWarning))
  const b = await startBroker(t, { config: { 'connections.max.idle.ms': 30 * 24 * 3_600_000 } })
  const c = await RawClient.connect(b.bootstrap)
  t.teardown(() => c.close())
  c.send(RawClient.frame(19, 7, 1, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name: 'idle-long', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })))
  t.equal(decodeCreateTopicsResponse((await c.response(19, 7)).body, 7).topics[0]!.errorCode, 0, 'the connection serves')
  t.notOk(await c.closed(300), 'and stays open')
  t.notOk(warnings.includes('TimeoutOverflowWarning'), 'no timer was cut to 24.8 days')
})

t.test('long poll: a waiting fetch wakes when data arrives, and min_bytes counts across partitions', async (t) => {
  const { encodeFetchRequest } = await import('../../src/protocol/messages/fetch-request.ts')
  const { decodeFetchResponse } = await import('../../src/protocol/messages/fetch-response.ts')
  const admin = await client(t)
  admin.send(RawClient.frame(19, 7, 1, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name: 'raw-poll', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })))
  t.equal(decodeCreateTopicsResponse((await admin.response(19, 7)).body, 7).topics[0]!.errorCode, 0)
  const batch = buildRecordBatch({ records: [{ value: 'x'.repeat(100) }] })
  const fetcher = await client(t)
  const fetch = (minBytes: number) => {
    fetcher.send(RawClient.frame(1, 11, 2, (w) => encodeFetchRequest(w, 11, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 30_000, minBytes, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic: 'raw-poll', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' })) }],
    })))
    return fetcher.response(1, 11).then((r) => decodeFetchResponse(r.body, 11))
  }
  const produceTo = async (partition: number) => {
    admin.send(RawClient.frame(0, 9, 3, (w) => encodeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'raw-poll', partitionData: [{ index: partition, records: Buffer.from(batch) }] }] })))
    await admin.response(0, 9)
  }
  let answered = false
  const waiting = fetch(2 * batch.length).then((r) => { answered = true; return r })
  await produceTo(0)
  await new Promise((r) => setTimeout(r, 300))
  t.notOk(answered, 'one batch is below min_bytes: the fetch keeps waiting')
  await produceTo(1)
  // max_wait_ms is 30 s: an answer well before it can only come from the wake-up event.
  const res = await Promise.race([waiting, new Promise<null>((r) => setTimeout(() => r(null), 10_000))])
  t.ok(res, 'the fetch woke when min_bytes was reached')
  const sizes = res!.responses[0]!.partitions.map((p) => p.records?.length ?? 0)
  t.same(sizes, [batch.length, batch.length], 'both partitions returned their batch')
})

t.test('acks=0 to a partition that fails closes the connection, as Kafka does', async (t) => {
  const c = await client(t)
  c.send(produceFrame('no-such-topic-acks0', 1, buildRecordBatch({ records: [{ value: 'lost' }] }), 0))
  t.ok(await c.closed(), 'closed, so the client refreshes its metadata')
})
