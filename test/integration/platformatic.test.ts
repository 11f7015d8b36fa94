/**
 * @platformatic/kafka (newest flexible versions: Produce 11, Fetch 17 with topic ids, Metadata
 * 12, ListOffsets 9) against a real in-process broker: admin, produce with keys, headers and
 * each compression codec it offers, fetch from the beginning and from an offset without a
 * group, list offsets; acks 0/1/all and an idempotent producer with several sends in flight,
 * checked against what is stored; fetch by timestamp (listOffsets with a timestamp, then fetch).
 */
import t from 'tap'
import { Admin, Producer, Consumer, stringSerializers, stringDeserializers } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'
import { readPartition } from '../helpers/read-partition.ts'

const broker = await startBroker(t)
const bootstrapBrokers = [broker.bootstrap]
const admin = new Admin({ clientId: 'samsa-plt-admin', bootstrapBrokers })
t.teardown(() => admin.close())

t.test('admin create, metadata, delete', async (t) => {
  await admin.createTopics({ topics: ['plt-admin'], partitions: 3, replicas: 1 })
  const meta = await admin.metadata({ topics: ['plt-admin'] })
  const topic = meta.topics.get('plt-admin')
  t.ok(topic, 'topic listed')
  t.equal(topic!.partitionsCount, 3)
  t.match(topic!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a real topic id (platformatic prints it dashed)')
  await admin.deleteTopics({ topics: ['plt-admin'] })
  const after = await admin.metadata({ topics: [] })
  t.notOk(after.topics.has('plt-admin'))
})

t.test('produce every codec, then fetch from the beginning and from an offset', async (t) => {
  await admin.createTopics({ topics: ['plt-data'], partitions: 1, replicas: 1 })
  const producer = new Producer({ clientId: 'samsa-plt-producer', bootstrapBrokers, serializers: stringSerializers })
  t.teardown(() => producer.close())
  const sent: string[] = []
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const values = [0, 1, 2].map((i) => `${compression}-${i}`)
    await producer.send({ compression, messages: values.map((value, i) => ({ topic: 'plt-data', key: `k${i}`, value, headers: { codec: compression } })) })
    sent.push(...values)
  }
  const consumer = new Consumer({ groupId: 'unused', clientId: 'samsa-plt-consumer', bootstrapBrokers, deserializers: stringDeserializers })
  t.teardown(() => consumer.close())
  const meta = await admin.metadata({ topics: ['plt-data'] })
  const topicId = meta.topics.get('plt-data')!.id
  const fetchFrom = async (offset: bigint) => {
    const res = await consumer.fetch({
      node: broker.nodeId, maxWaitTime: 100, minBytes: 1, maxBytes: 10_000_000, isolationLevel: 'READ_COMMITTED',
      topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 10_000_000 }] }],
    } as never)
    const p = res.responses[0]!.partitions[0]!
    t.equal(p.errorCode, 0)
    const values: string[] = []
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        if (batch.firstOffset + BigInt(r.offsetDelta) >= offset) values.push(r.value!.toString())
      }
    }
    return { values, highWatermark: p.highWatermark }
  }
  const all = await fetchFrom(0n)
  t.same(all.values, sent, 'every record, in order, whatever its codec')
  t.equal(all.highWatermark, BigInt(sent.length))
  const tail = await fetchFrom(BigInt(sent.length - 2))
  t.same(tail.values, sent.slice(-2))
  const offsets = await consumer.listOffsets({ topics: ['plt-data'] })
  t.equal(offsets.get('plt-data')?.[0], BigInt(sent.length))
})

t.test('acks 0/1/all, idempotent pipelined sends; fetch by timestamp', async (t) => {
  await admin.createTopics({ topics: ['plt-acks'], partitions: 1, replicas: 1 })
  const BASE = 1_700_000_000_000n
  const sent: string[] = []
  let ts = 0n
  const msgs = (tag: string, n: number) => Array.from({ length: n }, (_, i) => {
    sent.push(`${tag}-${i}`)
    return { topic: 'plt-acks', partition: 0, key: `k${i}`, value: `${tag}-${i}`, headers: { tag }, timestamp: BASE + 1000n * ts++ }
  })
  const plain = new Producer({ clientId: 'samsa-plt-acks', bootstrapBrokers, serializers: stringSerializers })
  t.teardown(() => plain.close())
  const offsetsOf = (r: { offsets?: { offset: bigint }[] }) => (r.offsets ?? []).map((o) => o.offset)
  t.same(offsetsOf(await plain.send({ acks: 1, messages: msgs('acks1', 5) })), [0n], 'acks=1: the base offset')
  t.same(offsetsOf(await plain.send({ acks: -1, messages: msgs('acksall', 5) })), [5n], 'acks=all: the base offset')
  t.same(offsetsOf(await plain.send({ acks: 0, compression: 'lz4', messages: msgs('acks0', 5) })), [], 'acks=0: no answer')

  const idem = new Producer({ clientId: 'samsa-plt-idem', bootstrapBrokers, serializers: stringSerializers, idempotent: true })
  t.teardown(() => idem.close())
  const batches = [0, 1, 2, 3, 4].map((j) => msgs(`idem${j}`, 4))
  const results = await Promise.all(batches.map((messages, j) => idem.send({ messages, compression: j % 2 ? 'zstd' : 'none' })))
  t.same(results.map(offsetsOf), [[15n], [19n], [23n], [27n], [31n]], 'five sends in flight: appended in order')

  // acks=0 is never answered: wait (bounded) until all are stored before checking
  let stored = await readPartition(broker.bootstrap, 'plt-acks', 0)
  for (let i = 0; i < 100 && stored.reduce((n, b) => n + b.records.length, 0) < sent.length; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    stored = await readPartition(broker.bootstrap, 'plt-acks', 0)
  }
  t.same(stored.flatMap((b) => b.records.map((r) => r.value?.toString())), sent, 'every record stored once, in order (acks=0 included)')
  t.same(stored.flatMap((b) => b.records.map((r) => r.timestamp)), sent.map((_, i) => Number(BASE) + 1000 * i), 'CreateTime kept')
  const idemBatches = stored.filter((b) => b.baseOffset >= 15)
  t.ok(idemBatches.length === 5 && idemBatches.every((b) => b.producerId >= 0 && b.producerId === idemBatches[0]!.producerId), 'idempotent batches: one producer id')
  t.same(idemBatches.map((b) => b.baseSequence), [0, 4, 8, 12, 16], 'sequences in order')
  t.same(stored.filter((b) => b.baseOffset >= 10 && b.baseOffset < 15).map((b) => b.codec), ['lz4'])

  const consumer = new Consumer({ groupId: 'unused', clientId: 'samsa-plt-time', bootstrapBrokers, deserializers: stringDeserializers })
  t.teardown(() => consumer.close())
  const at = async (timestamp: bigint) => (await consumer.listOffsetsWithTimestamps({ topics: ['plt-acks'], timestamp })).get('plt-acks')!.get(0)!
  t.same(await at(BASE + 12_000n), { offset: 12n, timestamp: BASE + 12_000n }, 'a record\'s own timestamp (inside an lz4 batch)')
  t.same(await at(BASE + 20_500n), { offset: 21n, timestamp: BASE + 21_000n }, 'between two records (inside a zstd batch)')
  t.same((await at(BASE - 1n)).offset, 0n)
  t.same((await at(BASE + 1_000_000n)).offset, -1n, 'after the newest: -1')
  const start = (await at(BASE + 26_000n)).offset
  const topicId = (await admin.metadata({ topics: ['plt-acks'] })).topics.get('plt-acks')!.id
  const res = await consumer.fetch({
    node: broker.nodeId, maxWaitTime: 100, minBytes: 1, maxBytes: 10_000_000, isolationLevel: 'READ_COMMITTED',
    topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: start, lastFetchedEpoch: -1, partitionMaxBytes: 10_000_000 }] }],
  } as never)
  const got: string[] = []
  for (const batch of res.responses[0]!.partitions[0]!.records ?? []) {
    for (const r of batch.records) if (batch.firstOffset + BigInt(r.offsetDelta) >= start) got.push(r.value!.toString())
  }
  t.same(got, sent.slice(26), 'fetch from the offset found by timestamp')
})
