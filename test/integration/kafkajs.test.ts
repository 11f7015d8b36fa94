/**
 * kafkajs 2.2.4 against a real in-process broker: admin, produce (keys, headers, gzip, acks
 * 0/1/all, idempotence, several requests in flight), metadata and offsets. kafkajs has no
 * consumer without groups, so reads are checked through ListOffsets here and through the other
 * clients' assign/fetch APIs elsewhere.
 */
import t from 'tap'
import { Kafka, CompressionTypes, logLevel } from 'kafkajs'
import { startBroker } from '../helpers/broker.ts'

const broker = await startBroker(t)
const kafka = new Kafka({ clientId: 'samsa-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } })
const admin = kafka.admin()
await admin.connect()
t.teardown(() => admin.disconnect())

t.test('admin: create, list, describe, grow, delete topics', async (t) => {
  t.equal(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true)
  t.equal(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 2 }] }), false, 'exists already')
  t.ok((await admin.listTopics()).includes('kjs-admin'))
  const meta = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] })
  t.equal(meta.topics[0]!.partitions.length, 2)
  t.equal(meta.topics[0]!.partitions[0]!.leader, broker.nodeId)
  const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'kjs-admin' }] })
  const retention = configs.resources[0]!.configEntries.find((c) => c.configName === 'retention.ms')
  t.equal(retention?.configValue, '3600000')
  const defaults = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: 2, name: 'kjs-admin', configNames: ['segment.ms', 'delete.retention.ms'] }] })
  const segmentMs = defaults.resources[0]!.configEntries.find((c) => c.configName === 'segment.ms')
  t.equal(segmentMs?.configValue, '604800000', 'an inherited default is given in the topic key\'s unit')
  t.match(segmentMs?.configSynonyms, [{ configName: 'log.roll.hours', configValue: '168', configSource: 5 }], "Kafka's synonym chain")
  t.match(defaults.resources[0]!.configEntries.find((c) => c.configName === 'delete.retention.ms')?.configSynonyms, [{ configName: 'log.cleaner.delete.retention.ms', configValue: '86400000' }])
  await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-admin', count: 4 }] })
  t.equal((await admin.fetchTopicMetadata({ topics: ['kjs-admin'] })).topics[0]!.partitions.length, 4)
  const cluster = await admin.describeCluster()
  t.equal(cluster.controller, broker.nodeId)
  t.equal(cluster.brokers.length, 1)
  await admin.deleteTopics({ topics: ['kjs-admin'] })
  t.notOk((await admin.listTopics()).includes('kjs-admin'))
  await t.rejects(admin.createTopics({ topics: [{ topic: 'bad topic!', numPartitions: 1 }] }), { errors: [{ type: 'INVALID_TOPIC_EXCEPTION' }] })
  await t.rejects(admin.createTopics({ topics: [{ topic: 'too-many-replicas', numPartitions: 1, replicationFactor: 3 }] }), { errors: [{ type: 'INVALID_REPLICATION_FACTOR' }] })
})

t.test('produce with every acks setting, keys, headers and gzip; offsets are dense', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'kjs-produce', numPartitions: 1 }] })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  for (const acks of [1, -1]) {
    const [res] = await producer.send({ topic: 'kjs-produce', acks, messages: [{ key: 'k', value: 'v', headers: { h: 'x' } }, { value: 'w' }] })
    t.equal(res!.errorCode, 0)
  }
  await producer.send({ topic: 'kjs-produce', compression: CompressionTypes.GZIP, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `gz-${i}` })) })
  await producer.send({ topic: 'kjs-produce', acks: 0, messages: [{ value: 'fire-and-forget' }] })
  await producer.send({ topic: 'kjs-produce', acks: 1, messages: [{ value: 'after acks=0' }] })
  const offsets = await admin.fetchTopicOffsets('kjs-produce')
  t.same(offsets.map((o) => [o.partition, o.low, o.high]), [[0, '0', '16']])
})

t.test('idempotent producer with 5 requests in flight keeps order and offsets', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'kjs-idem', numPartitions: 3 }] })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const sends = Array.from({ length: 50 }, (_, i) => producer.send({ topic: 'kjs-idem', acks: -1, messages: [{ key: `key-${i % 6}`, value: `v${i}` }] }))
  const results = await Promise.all(sends)
  t.ok(results.every((r) => r.every((p) => p.errorCode === 0)))
  const offsets = await admin.fetchTopicOffsets('kjs-idem')
  t.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 50, 'every record stored exactly once')
})

t.test('offsets by timestamp', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'kjs-time', numPartitions: 1 }] })
  const producer = kafka.producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const base = Date.now() - 100_000
  for (let i = 0; i < 5; i++) await producer.send({ topic: 'kjs-time', messages: [{ value: `t${i}`, timestamp: String(base + i * 1000) }] })
  const [atThird] = await admin.fetchTopicOffsetsByTimestamp('kjs-time', base + 2000)
  t.equal(atThird!.offset, '2')
  const [future] = await admin.fetchTopicOffsetsByTimestamp('kjs-time', Date.now() + 3_600_000)
  t.equal(future!.offset, '5', 'no record at or after the timestamp: kafkajs falls back to the latest offset')
})

t.test('metadata auto-creates topics when allowed', async (t) => {
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const [res] = await producer.send({ topic: 'kjs-auto', messages: [{ value: 'x' }] })
  t.equal(res!.errorCode, 0)
  t.ok((await admin.listTopics()).includes('kjs-auto'))
})
