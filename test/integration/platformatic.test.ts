/**
 * @platformatic/kafka (newest flexible versions: Produce 11, Fetch 17 with topic ids, Metadata
 * 12, ListOffsets 9) against a real in-process broker: admin, produce with keys, headers and
 * each compression codec it offers, fetch from the beginning and from an offset without a
 * group, list offsets.
 */
import t from 'tap'
import { Admin, Producer, Consumer, stringSerializers, stringDeserializers } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'

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
