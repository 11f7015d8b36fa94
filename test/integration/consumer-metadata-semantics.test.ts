/**
 * Consumer and metadata semantics compared with Apache Kafka's, byte by byte: how Fetch fills
 * max_bytes across partitions, a long poll on a topic that is deleted, Metadata auto-creation
 * of internal topics and authorized operations, CreateTopics/DeleteTopics edge cases.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { encodeProduceRequest } from '../../src/protocol/messages/produce-request.ts'
import { decodeProduceResponse } from '../../src/protocol/messages/produce-response.ts'
import { encodeMetadataRequest, defaultMetadataRequest } from '../../src/protocol/messages/metadata-request.ts'
import { decodeMetadataResponse } from '../../src/protocol/messages/metadata-response.ts'
import { encodeCreateTopicsRequest } from '../../src/protocol/messages/create-topics-request.ts'
import { decodeCreateTopicsResponse } from '../../src/protocol/messages/create-topics-response.ts'
import { encodeDeleteTopicsRequest } from '../../src/protocol/messages/delete-topics-request.ts'
import { decodeDeleteTopicsResponse } from '../../src/protocol/messages/delete-topics-response.ts'
import { encodeFetchRequest, type FetchRequest } from '../../src/protocol/messages/fetch-request.ts'
import { decodeFetchResponse } from '../../src/protocol/messages/fetch-response.ts'
import { encodeDescribeConfigsRequest } from '../../src/protocol/messages/describe-configs-request.ts'
import { decodeDescribeConfigsResponse } from '../../src/protocol/messages/describe-configs-response.ts'
import { encodeDescribeClusterRequest } from '../../src/protocol/messages/describe-cluster-request.ts'
import { decodeDescribeClusterResponse } from '../../src/protocol/messages/describe-cluster-response.ts'
import { encodeDescribeGroupsRequest } from '../../src/protocol/messages/describe-groups-request.ts'
import { decodeDescribeGroupsResponse } from '../../src/protocol/messages/describe-groups-response.ts'
import { buildRecordBatch } from '../../src/storage/record-batch-builder.ts'

const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA'
const broker = await startBroker(t, { config: { 'num.partitions': 1, 'offsets.topic.num.partitions': 3 } })

async function client(t: { teardown(fn: () => void): void }): Promise<RawClient> {
  const c = await RawClient.connect(broker.bootstrap)
  t.teardown(() => c.close())
  return c
}

let correlation = 1000

async function createTopics(c: RawClient, topics: { name: string; numPartitions?: number; configs?: { name: string; value: string | null }[] }[], validateOnly = false) {
  c.send(RawClient.frame(19, 7, correlation++, (w) => encodeCreateTopicsRequest(w, 7, {
    topics: topics.map((x) => ({ name: x.name, numPartitions: x.numPartitions ?? 1, replicationFactor: 1, assignments: [], configs: x.configs ?? [] })),
    timeoutMs: 5000, validateOnly,
  })))
  return decodeCreateTopicsResponse((await c.response(19, 7)).body, 7)
}

async function produce(c: RawClient, topic: string, partition: number, records: Buffer): Promise<void> {
  c.send(RawClient.frame(0, 9, correlation++, (w) => encodeProduceRequest(w, 9, {
    transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  })))
  const p = decodeProduceResponse((await c.response(0, 9)).body, 9).responses[0]!.partitionResponses[0]!
  if (p.errorCode !== 0) throw new Error(`produce failed: ${p.errorCode}`)
}

function fetchRequest(topic: string, partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[], o: Partial<FetchRequest> = {}): FetchRequest {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [{
      topic, topicId: ZERO, partitions: partitions.map((p) => ({
        partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1,
        partitionMaxBytes: p.partitionMaxBytes, replicaDirectoryId: ZERO,
      })),
    }],
    ...o,
  }
}

async function fetch(c: RawClient, req: FetchRequest, version = 11) {
  c.send(RawClient.frame(1, version, correlation++, (w) => encodeFetchRequest(w, version, req)))
  return decodeFetchResponse((await c.response(1, version)).body, version)
}

/** Whole batches in a records buffer: [count, sizes]. */
function batchSizes(records: Buffer | null): number[] {
  const sizes: number[] = []
  if (!records) return sizes
  let pos = 0
  while (records.length - pos >= 12) {
    const size = 12 + records.readInt32BE(pos + 8)
    if (pos + size > records.length) break
    sizes.push(size)
    pos += size
  }
  return sizes
}

t.test('Fetch fills max_bytes in partition order: a later partition gets the whole batches that still fit (KIP-74)', async (t) => {
  const c = await client(t)
  t.equal((await createTopics(c, [{ name: 'fill-order', numPartitions: 3 }])).topics[0]!.errorCode, 0)
  const batch = buildRecordBatch({ records: [{ value: 'v'.repeat(100) }] })
  const size = batch.length
  for (let p = 0; p < 3; p++) for (let i = 0; i < 5; i++) await produce(c, 'fill-order', p, Buffer.from(batch))
  const all = [0, 1, 2].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 }))
  // Room for partition 0's five batches and two and a half of partition 1's.
  const res = await fetch(c, fetchRequest('fill-order', all, { maxBytes: 7 * size + size / 2 }))
  const got = res.responses[0]!.partitions.map((p) => batchSizes(p.records).length)
  t.same(got, [5, 2, 0], 'Kafka: p0 whole, p1 what fits in the rest, p2 nothing')
  for (const p of res.responses[0]!.partitions) t.equal(p.highWatermark, 5, 'every partition reports its high watermark')

  // Only the first partition that returns data may exceed its partition_max_bytes (KIP-74).
  const small = [0, 1].map((partition) => ({ partition, fetchOffset: 4, partitionMaxBytes: size - 10 }))
  const res2 = await fetch(c, fetchRequest('fill-order', small))
  t.same(res2.responses[0]!.partitions.map((p) => batchSizes(p.records).length), [1, 0],
    'the first partition gets its oversized batch; the next one is held to partition_max_bytes')
  // A partition with nothing to read does not use up the "at least one batch" allowance.
  const res3 = await fetch(c, fetchRequest('fill-order', [
    { partition: 0, fetchOffset: 5, partitionMaxBytes: size - 10 }, { partition: 1, fetchOffset: 4, partitionMaxBytes: size - 10 },
  ]))
  t.same(res3.responses[0]!.partitions.map((p) => batchSizes(p.records).length), [0, 1])
})

t.test('a long-polling fetch on a topic that gets deleted is answered at once with UNKNOWN_TOPIC_OR_PARTITION', async (t) => {
  const admin = await client(t)
  const fetcher = await client(t)
  t.equal((await createTopics(admin, [{ name: 'doomed' }])).topics[0]!.errorCode, 0)
  await produce(admin, 'doomed', 0, buildRecordBatch({ records: [{ value: 'x' }] }))
  let answered = false
  const waiting = fetch(fetcher, fetchRequest('doomed', [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }], { maxWaitMs: 60_000 }))
    .then((r) => { answered = true; return r })
  await new Promise((r) => setTimeout(r, 200))
  t.notOk(answered, 'at the high watermark: the fetch waits')
  admin.send(RawClient.frame(20, 4, correlation++, (w) => encodeDeleteTopicsRequest(w, 4, { topics: [], topicNames: ['doomed'], timeoutMs: 5000 })))
  t.equal(decodeDeleteTopicsResponse((await admin.response(20, 4)).body, 4).responses[0]!.errorCode, 0)
  // max_wait_ms is 60 s: an answer before the race's 20 s can only come from the deletion.
  const res = await Promise.race([waiting, new Promise<null>((r) => setTimeout(() => r(null), 20_000))])
  t.ok(res, 'the deletion completed the waiting fetch')
  t.equal(res?.responses[0]!.partitions[0]!.errorCode, 3, 'UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers for a deleted topic')
})

t.test('Fetch v13+: a topic id that is gone (deleted while waiting) gets UNKNOWN_TOPIC_ID', async (t) => {
  const admin = await client(t)
  const fetcher = await client(t)
  const created = await createTopics(admin, [{ name: 'doomed-id' }])
  const topicId = created.topics[0]!.topicId
  let answered = false
  const req = fetchRequest('', [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { maxWaitMs: 60_000 })
  req.topics[0]!.topicId = topicId
  const waiting = fetch(fetcher, req, 17).then((r) => { answered = true; return r })
  await new Promise((r) => setTimeout(r, 200))
  t.notOk(answered)
  admin.send(RawClient.frame(20, 6, correlation++, (w) => encodeDeleteTopicsRequest(w, 6, { topics: [{ name: null, topicId }], topicNames: [], timeoutMs: 5000 })))
  t.equal(decodeDeleteTopicsResponse((await admin.response(20, 6)).body, 6).responses[0]!.errorCode, 0)
  const res = await Promise.race([waiting, new Promise<null>((r) => setTimeout(() => r(null), 20_000))])
  t.ok(res, 'answered at once')
  t.equal(res?.responses[0]!.partitions[0]!.errorCode, 100, 'UNKNOWN_TOPIC_ID')
})

t.test('Fetch read_committed without transactions: aborted_transactions is an empty list, as Kafka sends', async (t) => {
  const c = await client(t)
  t.equal((await createTopics(c, [{ name: 'rc-empty' }])).topics[0]!.errorCode, 0)
  await produce(c, 'rc-empty', 0, buildRecordBatch({ records: [{ value: 'x' }] }))
  const rc = await fetch(c, fetchRequest('rc-empty', [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { isolationLevel: 1 }))
  t.same(rc.responses[0]!.partitions[0]!.abortedTransactions, [])
  const ru = await fetch(c, fetchRequest('rc-empty', [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }], { isolationLevel: 0 }))
  t.equal(ru.responses[0]!.partitions[0]!.abortedTransactions, null, 'read_uncommitted: null')
})

t.test('Metadata auto-creation of __consumer_offsets uses the offsets topic settings, as Kafka does', async (t) => {
  const c = await client(t)
  c.send(RawClient.frame(3, 12, correlation++, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [{ topicId: ZERO, name: '__consumer_offsets' }], allowAutoTopicCreation: true })))
  const res = decodeMetadataResponse((await c.response(3, 12)).body, 12)
  const topic = res.topics[0]!
  t.equal(topic.errorCode, 0)
  t.equal(topic.isInternal, true)
  t.equal(topic.partitions.length, 3, 'offsets.topic.num.partitions, not num.partitions')
  c.send(RawClient.frame(32, 4, correlation++, (w) => encodeDescribeConfigsRequest(w, 4, {
    resources: [{ resourceType: 2, resourceName: '__consumer_offsets', configurationKeys: ['cleanup.policy'] }], includeSynonyms: false, includeDocumentation: false,
  })))
  const configs = decodeDescribeConfigsResponse((await c.response(32, 4)).body, 4).results[0]!
  t.equal(configs.configs.find((x) => x.name === 'cleanup.policy')?.value, 'compact', 'compacted')
})

t.test('authorized operations: without an authorizer every supported operation (Kafka\'s AuthHelper)', async (t) => {
  const c = await client(t)
  t.equal((await createTopics(c, [{ name: 'ops' }])).topics[0]!.errorCode, 0)
  c.send(RawClient.frame(3, 10, correlation++, (w) => encodeMetadataRequest(w, 10, {
    ...defaultMetadataRequest(), topics: [{ topicId: ZERO, name: 'ops' }], allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true,
  })))
  const res = decodeMetadataResponse((await c.response(3, 10)).body, 10)
  // READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS
  t.equal(res.topics[0]!.topicAuthorizedOperations, 3576)
  // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
  t.equal(res.clusterAuthorizedOperations, 8096)
  c.send(RawClient.frame(3, 10, correlation++, (w) => encodeMetadataRequest(w, 10, { ...defaultMetadataRequest(), topics: [{ topicId: ZERO, name: 'ops' }], allowAutoTopicCreation: false })))
  const plain = decodeMetadataResponse((await c.response(3, 10)).body, 10)
  t.equal(plain.topics[0]!.topicAuthorizedOperations, -2147483648, 'not asked: the schema default')
  c.send(RawClient.frame(60, 1, correlation++, (w) => encodeDescribeClusterRequest(w, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })))
  t.equal(decodeDescribeClusterResponse((await c.response(60, 1)).body, 1).clusterAuthorizedOperations, 8096)
  c.send(RawClient.frame(15, 5, correlation++, (w) => encodeDescribeGroupsRequest(w, 5, { groups: ['ops-group'], includeAuthorizedOperations: true })))
  const group = decodeDescribeGroupsResponse((await c.response(15, 5)).body, 5).groups[0]!
  t.equal(group.errorCode, 0)
  t.equal(group.authorizedOperations, 328, 'READ, DELETE, DESCRIBE')
})

t.test('CreateTopics: a duplicated name gets one INVALID_REQUEST result; a null config value is INVALID_CONFIG', async (t) => {
  const c = await client(t)
  const dup = await createTopics(c, [{ name: 'dup-create' }, { name: 'dup-create' }, { name: 'dup-create-ok' }])
  t.same(dup.topics.map((x) => [x.name, x.errorCode]), [['dup-create', 42], ['dup-create-ok', 0]])
  const nullConfig = await createTopics(c, [{ name: 'null-config', configs: [{ name: 'retention.ms', value: null }] }], true)
  t.equal(nullConfig.topics[0]!.errorCode, 40)
  t.match(nullConfig.topics[0]!.errorMessage, /Null value not supported for topic configs: retention.ms/)
  const valid = await createTopics(c, [{ name: 'validate-configs', configs: [{ name: 'retention.ms', value: '1000' }] }], true)
  t.equal(valid.topics[0]!.errorCode, 0)
  t.equal(valid.topics[0]!.configs?.find((x) => x.name === 'retention.ms')?.value, '1000', 'validate_only answers the effective configs')
})

t.test('DeleteTopics: duplicates and ambiguous entries are INVALID_REQUEST, as Kafka answers', async (t) => {
  const c = await client(t)
  const created = await createTopics(c, [{ name: 'del-dup' }, { name: 'del-both' }])
  c.send(RawClient.frame(20, 4, correlation++, (w) => encodeDeleteTopicsRequest(w, 4, { topics: [], topicNames: ['del-dup', 'del-dup'], timeoutMs: 5000 })))
  const dup = decodeDeleteTopicsResponse((await c.response(20, 4)).body, 4)
  t.same(dup.responses.map((r) => [r.name, r.errorCode]), [['del-dup', 42]], 'one INVALID_REQUEST entry, nothing deleted')
  c.send(RawClient.frame(20, 6, correlation++, (w) => encodeDeleteTopicsRequest(w, 6, {
    topics: [{ name: 'del-both', topicId: created.topics[1]!.topicId }, { name: null, topicId: ZERO }], topicNames: [], timeoutMs: 5000,
  })))
  const v6 = decodeDeleteTopicsResponse((await c.response(20, 6)).body, 6)
  t.same(v6.responses.map((r) => r.errorCode), [42, 42], 'name and id both set; neither set')
  c.send(RawClient.frame(3, 12, correlation++, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [{ topicId: ZERO, name: 'del-dup' }, { topicId: ZERO, name: 'del-both' }], allowAutoTopicCreation: false })))
  const md = decodeMetadataResponse((await c.response(3, 12)).body, 12)
  t.same(md.topics.map((x) => x.errorCode), [0, 0], 'both topics still exist')
})

t.test('ListOffsets: a partition named twice gets INVALID_REQUEST at each mention, as Kafka answers', async (t) => {
  const { encodeListOffsetsRequest } = await import('../../src/protocol/messages/list-offsets-request.ts')
  const { decodeListOffsetsResponse } = await import('../../src/protocol/messages/list-offsets-response.ts')
  const c = await client(t)
  t.equal((await createTopics(c, [{ name: 'lo-dup', numPartitions: 2 }])).topics[0]!.errorCode, 0)
  const part = (partitionIndex: number) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 })
  c.send(RawClient.frame(2, 7, correlation++, (w) => encodeListOffsetsRequest(w, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: 'lo-dup', partitions: [part(0), part(1), part(0)] }],
  })))
  const res = decodeListOffsetsResponse((await c.response(2, 7)).body, 7)
  t.same(res.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode]), [[0, 42], [1, 0], [0, 42]])
})
