/**
 * Log hygiene against a real broker with real clients: time and size retention segment by
 * segment (newer records stay readable), a retention change applied without a restart,
 * DeleteRecords (kafkajs, @platformatic/kafka, raw protocol, checkpointed, kept across a
 * restart), and topic deletion completing — also across a restart — with a re-created topic
 * that never sees old data. Intervals are short so everything runs in seconds.
 */
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel, type Admin as KafkaJsAdmin } from 'kafkajs'
import { Admin, Consumer, stringDeserializers } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'
import { startServerProcess } from '../helpers/server-process.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { confluentPython, hasKcat, runProcess } from '../helpers/external.ts'
import type { Broker } from '../../src/index.ts'
import { encodeDeleteRecordsRequest } from '../../src/protocol/messages/delete-records-request.ts'
import { decodeDeleteRecordsResponse } from '../../src/protocol/messages/delete-records-response.ts'
import { waitFor } from '../helpers/wait.ts'

const OFFSET_OUT_OF_RANGE = 1
const UNKNOWN_TOPIC_OR_PARTITION = 3
const POLICY_VIOLATION = 44
const CHECK_MS = 200
const HOUR = 3_600_000

const dataDir = mkdtempSync(join(tmpdir(), 'samsa-hygiene-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
const broker = await startBroker(t, { config: { 'log.dirs': dataDir, 'log.retention.check.interval.ms': CHECK_MS, 'file.delete.delay.ms': 3000 } })

async function kafkajsAdmin(t: { teardown(fn: () => unknown): void }, b: { bootstrap: string }): Promise<{ kafka: Kafka; admin: KafkaJsAdmin }> {
  const kafka = new Kafka({ clientId: 'samsa-hygiene', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  return { kafka, admin }
}


async function offsets(admin: KafkaJsAdmin, topic: string): Promise<{ low: number; high: number }> {
  const [p] = await admin.fetchTopicOffsets(topic)
  return { low: Number(p!.low), high: Number(p!.high) }
}

/** Reads one partition from `offset` to the HW with @platformatic/kafka fetches; an error code stops it. */
async function readFrom(t: { teardown(fn: () => unknown): void }, b: { bootstrap: string; nodeId: number }, topic: string, offset: number): Promise<{ errorCode: number; values: string[] }> {
  const admin = new Admin({ clientId: 'samsa-hygiene-meta', bootstrapBrokers: [b.bootstrap] })
  const consumer = new Consumer({ groupId: 'unused', clientId: 'samsa-hygiene-read', bootstrapBrokers: [b.bootstrap], deserializers: stringDeserializers })
  t.teardown(() => Promise.all([admin.close(), consumer.close()]))
  const topicId = (await admin.metadata({ topics: [topic] })).topics.get(topic)!.id
  const values: string[] = []
  let at = BigInt(offset)
  for (;;) {
    let res
    try {
      res = await consumer.fetch({
        node: b.nodeId, maxWaitTime: 10, minBytes: 1, maxBytes: 10_000_000, isolationLevel: 'READ_UNCOMMITTED',
        topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: at, lastFetchedEpoch: -1, partitionMaxBytes: 10_000_000 }] }],
      } as never)
    } catch (err) {
      // @platformatic/kafka rejects a response carrying a partition error; the code is in its ProtocolError.
      const code = (err as { errors?: { apiCode?: number }[] }).errors?.[0]?.apiCode
      if (typeof code !== 'number') throw err
      return { errorCode: code, values }
    }
    const p = res.responses[0]!.partitions[0]!
    let next = at
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        const o = batch.firstOffset + BigInt(r.offsetDelta)
        if (o >= at) values.push(r.value!.toString())
        if (o + 1n > next) next = o + 1n
      }
    }
    if (next === at || next >= p.highWatermark) return { errorCode: 0, values }
    at = next
  }
}

function partitionFiles(b: Broker, dirName: string, suffix: string): string[] {
  const dir = join(b.config.logDirs[0]!, dirName)
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(suffix)).sort() : []
}

/** Sends `batches` batches of 4 records of ~100 bytes each (about 500 bytes a batch) with the given timestamp. */
async function produce(kafka: Kafka, topic: string, tag: string, batches: number, timestamp: number): Promise<string[]> {
  const producer = kafka.producer()
  await producer.connect()
  const sent: string[] = []
  try {
    for (let b = 0; b < batches; b++) {
      const values = [0, 1, 2, 3].map((i) => `${tag}-${b}-${i}-`.padEnd(100, '.'))
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, timestamp: String(timestamp) })) })
      sent.push(...values)
    }
  } finally {
    await producer.disconnect()
  }
  return sent
}

t.test('time retention: old segments go after retention.ms is lowered live, newer records stay readable', async (t) => {
  const { kafka, admin } = await kafkajsAdmin(t, broker)
  await admin.createTopics({ topics: [{ topic: 'ret-time', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'file.delete.delay.ms', value: '3000' }] }] })
  await produce(kafka, 'ret-time', 'old', 6, Date.now() - 2 * HOUR)
  const fresh = await produce(kafka, 'ret-time', 'new', 4, Date.now())
  t.ok(partitionFiles(broker, 'ret-time-0', '.log').length >= 5, 'several segments')
  await sleep(3 * CHECK_MS) // several checks with the default retention (7 days): nothing may go
  t.same(await offsets(admin, 'ret-time'), { low: 0, high: 40 }, 'nothing removed early')

  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'ret-time', configEntries: [
    { name: 'segment.bytes', value: '1024' }, { name: 'file.delete.delay.ms', value: '3000' }, { name: 'retention.ms', value: String(HOUR) },
  ] }] })
  let sawDeleted = false
  await waitFor('retention to move the log start', async () => {
    sawDeleted ||= partitionFiles(broker, 'ret-time-0', '.log.deleted').length > 0
    return (await offsets(admin, 'ret-time')).low > 0
  })
  sawDeleted ||= partitionFiles(broker, 'ret-time-0', '.log.deleted').length > 0
  t.same(await offsets(admin, 'ret-time'), { low: 24, high: 40 }, 'exactly the three segments of old records, whole')
  t.ok(sawDeleted, 'renamed .deleted first')
  t.same((await readFrom(t, broker, 'ret-time', 0)).errorCode, OFFSET_OUT_OF_RANGE, 'Fetch below the log start: OFFSET_OUT_OF_RANGE')
  t.same(await readFrom(t, broker, 'ret-time', 24), { errorCode: 0, values: fresh }, 'every newer record, in order')
  await waitFor('.deleted files to be removed', () => partitionFiles(broker, 'ret-time-0', '.deleted').length === 0)
  t.same(partitionFiles(broker, 'ret-time-0', '.log')[0], '00000000000000000024.log')
  await sleep(3 * CHECK_MS)
  t.same(await offsets(admin, 'ret-time'), { low: 24, high: 40 }, 'later checks remove nothing more')
  t.same((await readFrom(t, broker, 'ret-time', 24)).values, fresh)
})

t.test('size retention keeps about retention.bytes, whole segments, the newest always', async (t) => {
  const { kafka, admin } = await kafkajsAdmin(t, broker)
  await admin.createTopics({ topics: [{ topic: 'ret-size', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.bytes', value: '2500' }] }] })
  const sent = await produce(kafka, 'ret-size', 's', 10, Date.now())
  // Retention may rename a segment between the listing and the stat: a vanished one counts 0.
  const keptBytes = (): number => partitionFiles(broker, 'ret-size-0', '.log')
    .reduce((sum, n) => sum + (statSync(join(dataDir, 'ret-size-0', n), { throwIfNoEntry: false })?.size ?? 0), 0)
  // Retention may run while the records are still arriving, in several passes: wait for the last one.
  await waitFor('size retention', async () => (await offsets(admin, 'ret-size')).low > 0 && keptBytes() < 2500 + 1024)
  await waitFor('.deleted files to be removed', () => partitionFiles(broker, 'ret-size-0', '.deleted').length === 0)
  const { low, high } = await offsets(admin, 'ret-size')
  t.equal(high, 40)
  const bytes = keptBytes()
  t.ok(bytes >= 2500 && bytes < 2500 + 1024, `${bytes} bytes kept: at least retention.bytes, less than a segment more`)
  t.same((await readFrom(t, broker, 'ret-size', low)).values, sent.slice(low), 'everything from the log start on is readable')
})

t.test('DeleteRecords with kafkajs, @platformatic/kafka and the raw protocol', async (t) => {
  const { kafka, admin } = await kafkajsAdmin(t, broker)
  await admin.createTopics({ topics: [
    { topic: 'dr', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] },
    { topic: 'dr-compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ] })
  const sent = await produce(kafka, 'dr', 'd', 5, Date.now())
  await admin.fetchTopicMetadata({ topics: ['dr'] }) // kafkajs' deleteTopicRecords only looks leaders up in its cache
  await admin.deleteTopicRecords({ topic: 'dr', partitions: [{ partition: 0, offset: '6' }] })
  t.same(await offsets(admin, 'dr'), { low: 6, high: 20 }, 'kafkajs: the log start moved')
  t.match(readFileSync(join(dataDir, 'log-start-offset-checkpoint'), 'utf8'), /^dr 0 6$/m, 'checkpointed before the answer')
  t.equal((await readFrom(t, broker, 'dr', 5)).errorCode, OFFSET_OUT_OF_RANGE)
  t.same((await readFrom(t, broker, 'dr', 6)).values, sent.slice(6))

  const plt = new Admin({ clientId: 'samsa-hygiene-plt', bootstrapBrokers: [broker.bootstrap] })
  t.teardown(() => plt.close())
  const res = await plt.deleteRecords({ topics: [{ name: 'dr', partitions: [{ partition: 0, offset: 9n }] }] } as never)
  t.same(res, [{ name: 'dr', partitions: [{ partition: 0, lowWatermark: 9n }] }], '@platformatic/kafka: the low watermark')
  t.same(partitionFiles(broker, 'dr-0', '.log'), ['00000000000000000008.log', '00000000000000000016.log'], 'segment [0, 8) went whole')

  const c = await RawClient.connect(broker.bootstrap)
  t.teardown(() => c.close())
  const raw = async (version: number, topic: string, offset: number) => {
    c.send(RawClient.frame(21, version, 3, (w) => encodeDeleteRecordsRequest(w, version, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs: 5000 })))
    const { body } = await c.response(21, version)
    const p = decodeDeleteRecordsResponse(body, version).topics[0]!.partitions[0]!
    return [p.errorCode, p.lowWatermark]
  }
  t.same(await raw(0, 'dr', 21), [OFFSET_OUT_OF_RANGE, -1], 'v0: above the high watermark')
  t.same(await raw(1, 'dr', 3), [0, 9], 'v1: below the low watermark changes nothing')
  t.same(await raw(2, 'dr', -1), [0, 20], 'v2: -1 deletes up to the high watermark')
  t.same(await raw(2, 'no-such-topic', 1), [UNKNOWN_TOPIC_OR_PARTITION, -1])
  t.same(await raw(2, 'dr-compact', 0), [POLICY_VIOLATION, -1], 'cleanup.policy=compact: POLICY_VIOLATION, as Kafka')
  t.same(await offsets(admin, 'dr'), { low: 20, high: 20 })
  const more = await produce(kafka, 'dr', 'after', 1, Date.now())
  t.same((await readFrom(t, broker, 'dr', 20)).values, more, 'the partition keeps working after everything was deleted')
})

t.test('librdkafka below the log start: OFFSET_OUT_OF_RANGE, then auto.offset.reset (kcat, confluent-kafka-python)', async (t) => {
  // A consumer whose position fell below the log start (retention, DeleteRecords) must get
  // OFFSET_OUT_OF_RANGE with an empty record set it can parse, then reset — not a parse failure.
  const { kafka, admin } = await kafkajsAdmin(t, broker)
  await admin.createTopics({ topics: [{ topic: 'dr-rdkafka', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }] })
  const sent = await produce(kafka, 'dr-rdkafka', 'r', 3, Date.now())
  await admin.fetchTopicMetadata({ topics: ['dr-rdkafka'] })
  await admin.deleteTopicRecords({ topic: 'dr-rdkafka', partitions: [{ partition: 0, offset: '8' }] })
  if (hasKcat()) {
    const r = await runProcess('kcat', ['-C', '-b', broker.bootstrap, '-t', 'dr-rdkafka', '-o', '2', '-e', '-X', 'auto.offset.reset=earliest', '-f', '%o %s\n'], { timeoutMs: 30_000 })
    t.equal(r.code, 0, `kcat exited (${r.stderr.slice(0, 300)})`)
    t.notMatch(r.stderr, /parse failure|PROTOERR/i, 'no protocol errors')
    t.same(r.stdout.trim().split('\n'), sent.slice(8).map((v, i) => `${8 + i} ${v}`), 'reset to the log start and read the rest')
  } else t.comment('kcat not installed: skipped')
  const python = confluentPython()
  if (python !== null) {
    const script = [
      'import sys', 'from confluent_kafka import Consumer, TopicPartition',
      `c = Consumer({"bootstrap.servers": "${broker.bootstrap}", "group.id": "dr-py", "auto.offset.reset": "earliest", "enable.auto.commit": False})`,
      'c.assign([TopicPartition("dr-rdkafka", 0, 2)])',
      'got = []',
      'while len(got) < 4:',
      '    m = c.poll(10)',
      '    if m is None: break',
      '    if m.error(): print("error", m.error(), file=sys.stderr); continue',
      '    got.append(m.offset())',
      'print(" ".join(map(str, got))); c.close()',
    ].join('\n')
    const r = await runProcess(python, ['-c', script], { timeoutMs: 60_000 })
    t.equal(r.code, 0, `python exited (${r.stderr.slice(0, 300)})`)
    t.equal(r.stdout.trim(), '8 9 10 11', 'confluent-kafka-python reset to the log start')
  } else t.comment('confluent-kafka-python not installed: skipped')
})

t.test('a deleted topic leaves the disk after file.delete.delay.ms; the name is reusable at once', async (t) => {
  const { kafka, admin } = await kafkajsAdmin(t, broker)
  await admin.createTopics({ topics: [{ topic: 'gone', numPartitions: 2 }] })
  await produce(kafka, 'gone', 'old', 3, Date.now())
  await admin.deleteTopics({ topics: ['gone'] })
  const deleted = () => readdirSync(dataDir).filter((n) => /^gone-\d\.[0-9a-f]{32}-delete$/.test(n))
  t.equal(deleted().length, 2, 'renamed <topic>-<n>.<id>-delete')
  await admin.createTopics({ topics: [{ topic: 'gone', numPartitions: 1 }] })
  const fresh = await produce(kafka, 'gone', 'fresh', 1, Date.now())
  t.same(await offsets(admin, 'gone'), { low: 0, high: 4 }, 'the new topic starts at 0')
  t.same((await readFrom(t, broker, 'gone', 0)).values, fresh, 'and never sees the old data')
  await waitFor('the deleted directories to be removed', () => deleted().length === 0)
  t.ok(existsSync(join(dataDir, 'gone-0')), 'the new topic is untouched')
  t.same((await readFrom(t, broker, 'gone', 0)).values, fresh)
})

t.test('deletion completes across a restart; DeleteRecords survives it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-hygiene-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await startBroker(t, { config: { 'log.dirs': dir, 'file.delete.delay.ms': 3_600_000 } })
  const a1 = await kafkajsAdmin(t, first)
  await a1.admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1 }, { topic: 'kept', numPartitions: 1 }] })
  await produce(a1.kafka, 'doomed', 'x', 2, Date.now())
  const kept = await produce(a1.kafka, 'kept', 'k', 3, Date.now())
  await a1.admin.fetchTopicMetadata({ topics: ['kept'] })
  await a1.admin.deleteTopicRecords({ topic: 'kept', partitions: [{ partition: 0, offset: '5' }] })
  await a1.admin.deleteTopics({ topics: ['doomed'] })
  await a1.admin.disconnect()
  await first.stop()
  const leftovers = readdirSync(dir).filter((n) => n.endsWith('-delete'))
  t.equal(leftovers.length, 1, 'the delay had not passed when the broker stopped')

  const second = await startBroker(t, { config: { 'log.dirs': dir, 'file.delete.delay.ms': 200 } })
  await waitFor('the leftover to be removed after the restart', () => readdirSync(dir).filter((n) => n.endsWith('-delete')).length === 0)
  const a2 = await kafkajsAdmin(t, second)
  t.same(await offsets(a2.admin, 'kept'), { low: 5, high: 12 }, 'the log start offset survived the restart')
  t.same((await readFrom(t, second, 'kept', 5)).values, kept.slice(5))
  t.notOk((await a2.admin.listTopics()).includes('doomed'))
})

t.test('kill -9 after retention and DeleteRecords: nothing comes back, nothing kept is lost (server process, broker-level log.retention.ms)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-hygiene-kill-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const props = { 'log.retention.check.interval.ms': CHECK_MS, 'log.retention.ms': HOUR, 'log.segment.bytes': 1024, 'file.delete.delay.ms': 3_600_000 }
  const first = await startServerProcess(dir, props)
  t.teardown(() => { first.child.kill('SIGKILL') })
  const a1 = await kafkajsAdmin(t, first)
  await a1.admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 1 }] })
  await produce(a1.kafka, 'crash', 'old', 6, Date.now() - 2 * HOUR)
  // Retention runs on its own timer, possibly between the old batches' appends (rolling the active
  // segment early). Only once every old record is gone may fresh ones come: a fresh batch sharing a
  // segment with an old one would keep that segment (its newest timestamp is recent) forever.
  await waitFor('broker-level retention', async () => (await offsets(a1.admin, 'crash')).low >= 24)
  t.same(await offsets(a1.admin, 'crash'), { low: 24, high: 24 }, 'log.retention.ms applies to a topic without overrides')
  const fresh = await produce(a1.kafka, 'crash', 'new', 4, Date.now())
  t.same(await offsets(a1.admin, 'crash'), { low: 24, high: 40 })
  await a1.admin.deleteTopicRecords({ topic: 'crash', partitions: [{ partition: 0, offset: '30' }] })
  const partitionDir = join(dir, 'data', 'crash-0')
  t.ok(readdirSync(partitionDir).some((n) => n.endsWith('.deleted')), '.deleted files wait for their delay')
  await a1.admin.disconnect()
  first.child.kill('SIGKILL')
  await first.exited

  const second = await startServerProcess(dir, props)
  t.teardown(() => { second.child.kill('SIGKILL') })
  const a2 = await kafkajsAdmin(t, second)
  t.same(await offsets(a2.admin, 'crash'), { low: 30, high: 40 }, 'the checkpointed log start survived kill -9')
  t.same(readdirSync(partitionDir).filter((n) => n.endsWith('.deleted')), [], 'leftover .deleted files removed at open')
  t.equal((await readFrom(t, { bootstrap: second.bootstrap, nodeId: 1 }, 'crash', 29)).errorCode, OFFSET_OUT_OF_RANGE)
  t.same((await readFrom(t, { bootstrap: second.bootstrap, nodeId: 1 }, 'crash', 30)).values, fresh.slice(6), 'every record kept is there')
})
