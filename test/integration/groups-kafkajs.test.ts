/**
 * Consumer groups with kafkajs 2.2.4 against a real broker: members of one group get disjoint
 * partitions and together every record exactly once; a second group gets everything; joins
 * and leaves rebalance; a member killed with SIGKILL is evicted after its session timeout and
 * its partitions reassigned; committed offsets survive a consumer restart and a broker restart.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel, type Consumer } from 'kafkajs'
import { Broker } from '../../src/index.ts'
import { startBroker } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'

const GROUP_CONFIG = { 'offsets.topic.num.partitions': 4, 'group.min.session.timeout.ms': 1000 }
const broker = await startBroker(t, { config: GROUP_CONFIG })
const kafka = new Kafka({ clientId: 'groups-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
const admin = kafka.admin()
await admin.connect()
t.teardown(() => admin.disconnect())
const producer = kafka.producer()
await producer.connect()
t.teardown(() => producer.disconnect())


interface Member {
  readonly consumer: Consumer
  readonly received: { partition: number; value: string }[]
  /** The latest assignment (GROUP_JOIN), as partitions of the test topic. */
  assigned: number[]
  generations: number
}

async function member(k: Kafka, groupId: string, topic: string, t: { teardown(fn: () => unknown): void }): Promise<Member> {
  const consumer = k.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 300, rebalanceTimeout: 10_000 })
  const m: Member = { consumer, received: [], assigned: [], generations: 0 }
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assigned = e.payload.memberAssignment[topic] ?? []
    m.generations++
  })
  await consumer.connect()
  t.teardown(() => consumer.disconnect())
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ eachMessage: async ({ partition, message }) => { m.received.push({ partition, value: String(message.value) }) } })
  return m
}

async function groupMembers(groupId: string): Promise<number> {
  const { groups } = await admin.describeGroups([groupId])
  return groups[0]!.state === 'Stable' ? groups[0]!.members.length : -1
}

/** Every partition assigned exactly once across `members`. */
function disjointCover(members: readonly Member[], partitions: number): boolean {
  const all = members.flatMap((m) => m.assigned).sort((a, b) => a - b)
  return all.length === partitions && all.every((p, i) => p === i)
}

async function produce(topic: string, prefix: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
  await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) })
  return values
}

t.test('members of a group share the partitions and get every record exactly once; a second group gets everything', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'g-share', numPartitions: 6 }] })
  const members = [await member(kafka, 'share', 'g-share', t), await member(kafka, 'share', 'g-share', t), await member(kafka, 'share', 'g-share', t)]
  await waitFor('three members with disjoint partitions', async () => disjointCover(members, 6) && (await groupMembers('share')) === 3)
  t.ok(members.every((m) => m.assigned.length === 2), 'two partitions each')
  const other = await member(kafka, 'other', 'g-share', t)
  await waitFor('the second group to be assigned', () => other.assigned.length === 6)
  const values = await produce('g-share', 'r', 120)
  await waitFor('every record', () => members.reduce((n, m) => n + m.received.length, 0) >= 120 && other.received.length >= 120)
  await new Promise((r) => setTimeout(r, 500)) // would reveal duplicates still in flight
  const got = members.flatMap((m) => m.received.map((r) => r.value)).sort()
  t.same(got, [...values].sort(), 'each record once across the group')
  for (const m of members) t.ok(m.received.every((r) => m.assigned.includes(r.partition)), 'a member reads only its own partitions')
  t.same(other.received.map((r) => r.value).sort(), [...values].sort(), 'the second group gets every record too')
  const described = await admin.describeGroups(['share'])
  t.equal(described.groups[0]!.protocol, 'RoundRobinAssigner', 'kafkajs\'s default assigner was chosen')
  t.equal(described.groups[0]!.protocolType, 'consumer')
  const listed = await admin.listGroups()
  t.same(listed.groups.map((g) => g.groupId).sort(), ['other', 'share'])
})

t.test('a member joining and a member leaving each trigger a rebalance that completes', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'g-rebalance', numPartitions: 4 }] })
  const a = await member(kafka, 'rebalance', 'g-rebalance', t)
  await waitFor('a owns everything', () => a.assigned.length === 4)
  const b = await member(kafka, 'rebalance', 'g-rebalance', t)
  await waitFor('a and b split the partitions', async () => disjointCover([a, b], 4) && b.assigned.length === 2 && (await groupMembers('rebalance')) === 2)
  t.ok(a.generations >= 2, 'a rejoined')
  await b.consumer.disconnect() // LeaveGroup
  await waitFor('a owns everything again', async () => a.assigned.length === 4 && (await groupMembers('rebalance')) === 1)
  const values = await produce('g-rebalance', 'after-leave', 20)
  await waitFor('a gets the new records', () => values.every((v) => a.received.some((r) => r.value === v)))
  t.pass('rebalances completed')
})

t.test('a member killed with SIGKILL is evicted after its session timeout; its partitions move', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'g-kill', numPartitions: 4 }] })
  const fixture = fileURLToPath(new URL('./fixtures/kafkajs-group-member.ts', import.meta.url))
  const child: ChildProcess = spawn(process.execPath, [fixture, broker.bootstrap, 'kill', 'g-kill', '2000'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let childAssigned: number[] = []
  let buffered = ''
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const event = JSON.parse(line) as { joined?: Record<string, number[]> }
      if (event.joined) childAssigned = event.joined['g-kill'] ?? []
    }
  })
  await waitFor('the child to own all partitions', () => childAssigned.length === 4)
  const survivor = await member(kafka, 'kill', 'g-kill', t)
  await waitFor('child and survivor to split the partitions', async () => survivor.assigned.length === 2 && childAssigned.length === 2 && (await groupMembers('kill')) === 2)
  child.kill('SIGKILL')
  await waitFor('the survivor to take every partition', async () => survivor.assigned.length === 4 && (await groupMembers('kill')) === 1)
  const values = await produce('g-kill', 'after-kill', 40)
  await waitFor('the survivor to read them', () => values.every((v) => survivor.received.some((r) => r.value === v)))
  t.pass('evicted and reassigned')
})

t.test('committed offsets survive a consumer restart and a broker restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-groups-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = { ...GROUP_CONFIG, 'log.dirs': dir }
  let b = await Broker.start({ config })
  t.teardown(() => b.stop())
  let k = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const send = async (values: string[]) => {
    const p = k.producer()
    await p.connect()
    await p.send({ topic: 'g-durable', messages: values.map((value) => ({ value })) })
    await p.disconnect()
  }
  const consumeAll = async (expected: number) => {
    const m = await member(k, 'durable', 'g-durable', t)
    await waitFor(`${expected} records`, () => m.received.length >= expected)
    await new Promise((r) => setTimeout(r, 300))
    await m.consumer.disconnect() // commits what it processed, then leaves
    return m.received.map((r) => r.value).sort()
  }
  const adm = k.admin()
  await adm.connect()
  await adm.createTopics({ topics: [{ topic: 'g-durable', numPartitions: 2 }] })
  await adm.disconnect()
  const first = Array.from({ length: 20 }, (_, i) => `first-${i}`)
  await send(first)
  t.same(await consumeAll(20), first.sort())
  const second = ['second-a', 'second-b', 'second-c']
  await send(second)
  t.same(await consumeAll(3), second.sort(), 'a restarted consumer resumes at the committed offsets')

  await b.stop()
  b = await Broker.start({ config })
  k = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const adm2 = k.admin()
  await adm2.connect()
  t.teardown(() => adm2.disconnect())
  const offsets = await adm2.fetchOffsets({ groupId: 'durable', topics: ['g-durable'] })
  t.equal(offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0), 23, 'committed offsets reloaded from __consumer_offsets')
  const third = ['third-a', 'third-b']
  await send(third)
  t.same(await consumeAll(2), third.sort(), 'after a broker restart the group resumes where it was')
  const { groups } = await adm2.describeGroups(['durable'])
  t.equal(groups[0]!.state, 'Empty')
  await adm2.deleteGroups(['durable'])
  t.same((await adm2.listGroups()).groups, [], 'deleted')
})

t.test('a consumer that stays up across a broker restart resumes after its committed offsets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-groups-live-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let b = await Broker.start({ config: { ...GROUP_CONFIG, 'log.dirs': dir } })
  // The restarted broker listens on the same port, so the running client finds it again.
  const config = { ...GROUP_CONFIG, 'log.dirs': dir, listeners: `PLAINTEXT://127.0.0.1:${b.port}` }
  const k = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })
  const consumer = k.consumer({ groupId: 'live', sessionTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 300 })
  const got: string[] = []
  await consumer.connect()
  t.teardown(async () => {
    await consumer.disconnect()
    await b.stop()
  })
  await consumer.subscribe({ topic: 'g-live', fromBeginning: true })
  await consumer.run({ autoCommitInterval: 100, eachMessage: async ({ message }) => { got.push(String(message.value)) } })
  const send = async (values: string[]) => {
    const p = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).producer()
    await p.connect()
    await p.send({ topic: 'g-live', messages: values.map((value) => ({ value })) })
    await p.disconnect()
  }
  await send(['a', 'b', 'c'])
  await waitFor('the first records', () => got.length >= 3)
  const committed = async () => {
    const a = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).admin()
    await a.connect()
    const offsets = await a.fetchOffsets({ groupId: 'live', topics: ['g-live'] })
    await a.disconnect()
    return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
  }
  await waitFor('the commit', async () => (await committed()) === 3)
  await b.stop()
  b = await Broker.start({ config })
  await send(['d', 'e'])
  await waitFor('the records produced after the restart', () => got.length >= 5)
  await new Promise((r) => setTimeout(r, 300))
  t.same(got.sort(), ['a', 'b', 'c', 'd', 'e'], 'nothing read twice, nothing lost')
})
