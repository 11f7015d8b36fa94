/**
 * Consumer groups with the other clients: @platformatic/kafka consumer streams (newest
 * flexible versions: JoinGroup 9, OffsetFetch 9 batched, FindCoordinator 6 batched),
 * confluent-kafka-python subscribe() consumers and kcat -G (librdkafka 2.0.2: JoinGroup 5,
 * OffsetCommit 7, OffsetFetch 7, legacy ListGroups/DescribeGroups v0).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers, type MessagesStream } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'
import { confluentPython, hasKcat } from '../helpers/external.ts'
import { waitFor } from '../helpers/wait.ts'

const broker = await startBroker(t, { config: { 'offsets.topic.num.partitions': 4, 'group.min.session.timeout.ms': 1000 } })
const bootstrapBrokers = [broker.bootstrap]
const admin = new Admin({ clientId: 'groups-admin', bootstrapBrokers })
t.teardown(() => admin.close())
const producer = new Producer({ clientId: 'groups-producer', bootstrapBrokers, serializers: stringSerializers })
t.teardown(() => producer.close())


async function produce(topic: string, prefix: string, count: number, partitions: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
  await producer.send({ messages: values.map((value, i) => ({ topic, value, partition: i % partitions })) })
  return values
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => { stdout += d })
    p.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('@platformatic/kafka: two consumer streams share a group; a new stream resumes from the committed offsets', async (t) => {
  await admin.createTopics({ topics: ['plt-group'], partitions: 4, replicas: 1 })
  const received: { member: number; partition: number; value: string }[] = []
  const consumers: Consumer<string, string, string, string>[] = []
  const streams: MessagesStream<string, string, string, string>[] = []
  const streamErrors: unknown[] = []
  t.teardown(async () => {
    for (const s of streams) await s.close().catch(() => {})
    for (const c of consumers) await c.close(true).catch(() => {})
  })
  const start = async (member: number) => {
    const consumer = new Consumer({ groupId: 'plt', clientId: `plt-${member}`, bootstrapBrokers, deserializers: stringDeserializers })
    consumers.push(consumer)
    const stream = await consumer.consume({
      topics: ['plt-group'], mode: 'committed', fallbackMode: 'earliest', autocommit: 100,
      sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTime: 100,
    })
    streams.push(stream)
    stream.on('error', (err) => { streamErrors.push(err) })
    stream.on('data', (m) => { received.push({ member, partition: m.partition, value: m.value }) })
    return consumer
  }
  const a = await start(0)
  const b = await start(1)
  const owned = (c: Consumer<string, string, string, string>) => (c.assignments ?? []).flatMap((x) => x.partitions)
  await waitFor('a and b to split the four partitions', async () => {
    const all = [...owned(a), ...owned(b)].sort()
    const groups = await admin.describeGroups({ groups: ['plt'] })
    return owned(a).length === 2 && owned(b).length === 2 && all.join() === '0,1,2,3' && groups.get('plt')?.state === 'Stable'
  })
  // A fetch that a stream sent before the rebalance (long poll, 100 ms) may still be in flight
  // with the old partitions; platformatic delivers what it returns, so let those finish first
  // (a wide margin over the long poll: a loaded machine answers late).
  await new Promise((r) => setTimeout(r, 2500))
  const values = await produce('plt-group', 'plt', 40, 4)
  await waitFor('every record', () => received.length >= 40)
  t.same(received.map((r) => r.value).sort(), [...values].sort(), 'each record once')
  t.ok(received.every((r) => owned(r.member === 0 ? a : b).includes(r.partition)), 'every record read by its partition\'s owner')
  await new Promise((r) => setTimeout(r, 300)) // let autocommit (100 ms) commit
  for (const s of streams) await s.close()
  for (const c of consumers) await c.close()
  const later = await produce('plt-group', 'later', 8, 4)
  received.length = 0
  await start(2)
  await waitFor('the new records', () => received.length >= 8)
  await new Promise((r) => setTimeout(r, 300))
  t.same(received.map((r) => r.value).sort(), [...later].sort(), 'only what was not committed')
  const listed = await admin.listGroups()
  t.ok(listed.has('plt'), 'listed')
  t.same(streamErrors, [], 'no stream errors')
})

t.test('@platformatic/kafka admin: alter (generation -1 commits), list and delete group offsets; delete the group', async (t) => {
  await admin.createTopics({ topics: ['plt-offsets'], partitions: 2, replicas: 1 })
  await admin.alterConsumerGroupOffsets({ groupId: 'plt-admin', topics: [{ name: 'plt-offsets', partitionOffsets: [{ partition: 0, offset: 7n }, { partition: 1, offset: 3n }] }] })
  const listed = await admin.listConsumerGroupOffsets({ groups: ['plt-admin'] })
  t.same(listed[0]!.topics.map((x) => x.partitions.map((p) => [p.partitionIndex, p.committedOffset]).sort()), [[[0, 7n], [1, 3n]]], 'OffsetFetch v9 (batched) sees the commits')
  const described = await admin.describeGroups({ groups: ['plt-admin'] })
  t.equal(described.get('plt-admin')!.state, 'Empty')
  await admin.deleteConsumerGroupOffsets({ groupId: 'plt-admin', topics: [{ name: 'plt-offsets', partitionIndexes: [0] }] })
  const after = await admin.listConsumerGroupOffsets({ groups: ['plt-admin'] })
  t.same(after[0]!.topics.flatMap((x) => x.partitions.map((p) => [p.partitionIndex, p.committedOffset])), [[1, 3n]], 'OffsetDelete removed partition 0')
  await admin.deleteGroups({ groups: ['plt-admin'] })
  t.notOk((await admin.listGroups()).has('plt-admin'), 'DeleteGroups')
})

const python = confluentPython()
t.test('confluent-kafka-python: subscribe() consumers in one group, commits, restart, list_groups', { skip: python ? false : 'confluent-kafka-python is not installed' }, async (t) => {
  await admin.createTopics({ topics: ['py-group'], partitions: 4, replicas: 1 })
  const script = String.raw`
import sys, json, time
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
b = sys.argv[1]
conf = {'bootstrap.servers': b, 'group.id': 'py', 'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000,
        'heartbeat.interval.ms': 300, 'enable.auto.commit': False}
cs = [Consumer(conf), Consumer(conf)]
for c in cs: c.subscribe(['py-group'])
got = {0: [], 1: []}
deadline = time.time() + 30
# Both consumers own partitions before anything is produced, so no record is read twice.
while time.time() < deadline and any(len(c.assignment()) != 2 for c in cs):
    for c in cs: c.poll(0.05)
out = {'assigned': [sorted(tp.partition for tp in c.assignment()) for c in cs]}
p = Producer({'bootstrap.servers': b})
for i in range(60): p.produce('py-group', value='py-%d' % i, partition=i % 4)
p.flush(10)
deadline = time.time() + 30
while time.time() < deadline and sum(len(v) for v in got.values()) < 60:
    for i, c in enumerate(cs):
        m = c.poll(0.05)
        if m is None or m.error(): continue
        got[i].append([m.partition(), m.value().decode()])
        c.commit(message=m, asynchronous=False)
out['values'] = sorted(v for i in got for (pt, v) in got[i])
owned = [set(a) for a in out['assigned']]
out['own_partitions_only'] = all(pt in owned[i] for i in got for (pt, v) in got[i])
groups = AdminClient({'bootstrap.servers': b}).list_groups(timeout=10)
out['groups'] = sorted([[g.id, g.state, g.protocol_type, len(g.members)] for g in groups if g.id == 'py'])
for c in cs: c.close()
for i in range(4): p.produce('py-group', value='after-%d' % i, partition=i)
p.flush(10)
c = Consumer(conf)
c.subscribe(['py-group'])
later = []
deadline = time.time() + 20
while time.time() < deadline and len(later) < 4:
    m = c.poll(0.2)
    if m is None or m.error(): continue
    later.append(m.value().decode())
c.close()
out['later'] = sorted(later)
print(json.dumps(out))
`
  const r = await run(python!, ['-c', script, broker.bootstrap])
  t.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
  t.same(out.values, Array.from({ length: 60 }, (_, i) => `py-${i}`).sort(), 'each record once across the group')
  t.same([...out.assigned[0], ...out.assigned[1]].sort(), [0, 1, 2, 3], 'disjoint partitions')
  t.equal(out.own_partitions_only, true)
  t.same(out.groups, [['py', 'Stable', 'consumer', 2]], 'list_groups (ListGroups v0, DescribeGroups v0)')
  t.same(out.later, ['after-0', 'after-1', 'after-2', 'after-3'], 'a restarted consumer resumes at the committed offsets')
})

t.test('kcat -G: a balanced consumer reads everything, commits, and a second run reads only new records', { skip: hasKcat() ? false : 'kcat is not installed' }, async (t) => {
  await admin.createTopics({ topics: ['kcat-group'], partitions: 2, replicas: 1 })
  const values = await produce('kcat-group', 'kc', 10, 2)
  // No -o: with -G an explicit offset would override the committed one on every assignment.
  const args = ['-b', broker.bootstrap, '-G', 'kcat', '-X', 'auto.offset.reset=earliest', '-e', '-f', '%s\n', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=300', 'kcat-group']
  const first = await run('kcat', args)
  t.equal(first.code, 0, first.stderr)
  t.same(first.stdout.trim().split('\n').sort(), [...values].sort())
  const more = await produce('kcat-group', 'kc-more', 4, 2)
  const second = await run('kcat', args)
  t.equal(second.code, 0, second.stderr)
  t.same(second.stdout.trim().split('\n').sort(), [...more].sort(), 'resumed from the committed offsets')
})
