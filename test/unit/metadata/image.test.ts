import t from 'tap'
import { applyRecords, EMPTY_IMAGE, MetadataDelta, topicByName } from '../../../src/metadata/image.ts'
import { planCreateTopic, planCreatePartitions, planDeleteTopic, type ControllerContext } from '../../../src/metadata/controller.ts'
import { encodeMetadataRecord, decodeMetadataRecord } from '../../../src/metadata/record-codec.ts'
import type { MetadataRecord } from '../../../src/metadata/records.ts'

const broker = (id: number): MetadataRecord => ({
  type: 'RegisterBroker', brokerId: id, incarnationId: 'AAAAAAAAAAAAAAAAAAAAAg', brokerEpoch: id,
  endPoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 + id, securityProtocol: 0 }], rack: null, fenced: false,
})
let ids = 0
const ctx: ControllerContext = {
  newTopicId: () => `topic-id-${++ids}`, randomInt: () => 0, defaultPartitions: 3, defaultReplicationFactor: 1,
}
function withRecords(records: MetadataRecord[], base = EMPTY_IMAGE) {
  return applyRecords(base, records.map((record, i) => ({ offset: base.offset + 1 + i, record })))
}

t.test('create, grow and delete a topic through planned records', async (t) => {
  let image = withRecords([broker(1), broker(2)])
  const plan = planCreateTopic(image, { name: 'orders', numPartitions: -1, replicationFactor: 2, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }, ctx)
  if ('error' in plan) throw new Error(plan.message)
  image = withRecords(plan.records, image)
  const topic = topicByName(image, 'orders')!
  t.equal(topic.partitions.length, 3)
  t.same(topic.partitions.map((p) => p.replicas), [[1, 2], [2, 1], [1, 2]])
  t.equal(image.topicConfigs.get('orders')?.get('retention.ms'), '1000')
  const again = planCreateTopic(image, { name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx)
  t.match(again, { error: 'topic_already_exists' })
  const collide = planCreateTopic(image, { name: 'orde_rs', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx)
  t.notMatch(collide, { error: 'invalid_topic_exception' }, 'different names do not collide')
  const grow = planCreatePartitions(image, 'orders', 5, null, ctx)
  if ('error' in grow) throw new Error(grow.message)
  image = withRecords(grow.records, image)
  t.equal(topicByName(image, 'orders')!.partitions.length, 5)
  t.match(planCreatePartitions(image, 'orders', 4, null, ctx), { error: 'invalid_partitions' })
  const del = planDeleteTopic(image, topic.topicId)
  if ('error' in del) throw new Error(del.message)
  const before = image
  image = withRecords(del.records, image)
  t.notOk(topicByName(image, 'orders'))
  t.notOk(image.topicConfigs.has('orders'))
  t.ok(topicByName(before, 'orders'), 'older images are unchanged (immutable)')
})

t.test('validation errors', async (t) => {
  const image = withRecords([broker(1)])
  t.match(planCreateTopic(image, { name: 'bad name', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx), { error: 'invalid_topic_exception' })
  t.match(planCreateTopic(image, { name: 'x'.repeat(250), numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx), { error: 'invalid_topic_exception' })
  t.match(planCreateTopic(image, { name: 'rf', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }, ctx), { error: 'invalid_replication_factor' })
  t.match(planCreateTopic(image, { name: 'np', numPartitions: 0, replicationFactor: 1, assignments: [], configs: [] }, ctx), { error: 'invalid_partitions' })
  t.match(planCreateTopic(image, { name: 'cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: 'soon' }] }, ctx), { error: 'invalid_config' })
  t.match(planCreateTopic(image, { name: 'cfg2', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'no.such.key', value: '1' }] }, ctx), { error: 'invalid_config' })
  const withDot = withRecords((planCreateTopic(image, { name: 'a.b', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx) as { records: MetadataRecord[] }).records, image)
  t.match(planCreateTopic(withDot, { name: 'a_b', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }, ctx), { error: 'invalid_topic_exception', message: /collides/ })
})

t.test('partition changes bump epochs as KRaft does', async (t) => {
  let image = withRecords([broker(1), broker(2), { type: 'Topic', name: 't', topicId: 'tid' },
    { type: 'Partition', partitionId: 0, topicId: 'tid', replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }])
  image = withRecords([{ type: 'PartitionChange', partitionId: 0, topicId: 'tid', isr: [1], leader: -2, replicas: null }], image)
  t.match(image.topicsById.get('tid')!.partitions[0], { isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 1 })
  image = withRecords([{ type: 'PartitionChange', partitionId: 0, topicId: 'tid', isr: null, leader: 2, replicas: null }], image)
  t.match(image.topicsById.get('tid')!.partitions[0], { leader: 2, leaderEpoch: 1, partitionEpoch: 2 })
})

t.test('records round-trip through Kafka metadata record values', async (t) => {
  const records: MetadataRecord[] = [
    broker(3), { type: 'Topic', name: 'x', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' },
    { type: 'Partition', partitionId: 0, topicId: 'AAAAAAAAAAAAAAAAAAAAAg', replicas: [3], isr: [3], leader: 3, leaderEpoch: 4, partitionEpoch: 5 },
    { type: 'Config', resourceType: 2, resourceName: 'x', name: 'retention.ms', value: null },
    { type: 'ProducerIds', brokerId: 3, brokerEpoch: 7, nextProducerId: 2000 }, { type: 'RemoveTopic', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' },
    { type: 'PartitionChange', partitionId: 0, topicId: 'AAAAAAAAAAAAAAAAAAAAAg', isr: [3], leader: -2, replicas: null },
  ]
  for (const r of records) t.same(decodeMetadataRecord(encodeMetadataRecord(r)), r, r.type)
})

t.test('replaying 100,000 records applies each once, in one delta', async (t) => {
  const delta = new MetadataDelta(withRecords([broker(1)]))
  let offset = 1
  for (let i = 0; i < 20_000; i++) {
    delta.apply(offset++, { type: 'Topic', name: `t${i}`, topicId: `id${i}` })
    for (let p = 0; p < 4; p++) delta.apply(offset++, { type: 'Partition', partitionId: p, topicId: `id${i}`, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })
  }
  const image = delta.image()
  t.equal(image.topicsById.size, 20_000)
  t.equal(image.offset, 100_000)
  t.throws(() => new MetadataDelta(image).apply(5, { type: 'NoOp' }), { message: /offsets must increase/ })
})
