/**
 * Log compaction against a real broker: kafkajs produces many values per key to a compacted
 * topic with small segments; the cleaner (run from the shard's retention timer) rewrites the
 * rolled segments, and a fetch from the beginning (@platformatic/kafka) yields the latest value
 * per key at its original offset, plus everything in the active segment. The pass runs on the
 * process's piscina cleaner pool and its progress is kept in `cleaner-offset-checkpoint`, which
 * survives restarts and drops deleted partitions. Keyless records are refused with
 * INVALID_RECORD, compressed or not.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { Admin, Consumer, stringDeserializers } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'
import { Broker } from '../../src/index.ts'
import { decodeRecordBatches } from '../../src/storage/record-batch-reader.ts'
import { readOffsetCheckpoint } from '../../src/storage/checkpoint-file.ts'
import { CleanerPool } from '../../src/runtime/cleaner-pool.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'samsa-compaction-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
const broker = await startBroker(t, { config: { 'log.dirs': dataDir, 'log.retention.check.interval.ms': 200 } })
const kafka = new Kafka({ clientId: 'samsa-compaction', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })

/** Every record from offset 0 to the HW as `offset:key=value`. */
async function readAll(topic: string): Promise<string[]> {
  const admin = new Admin({ clientId: 'samsa-compaction-meta', bootstrapBrokers: [broker.bootstrap] })
  const consumer = new Consumer({ groupId: 'unused', clientId: 'samsa-compaction-read', bootstrapBrokers: [broker.bootstrap], deserializers: stringDeserializers })
  try {
    const topicId = (await admin.metadata({ topics: [topic] })).topics.get(topic)!.id
    const out: string[] = []
    let at = 0n
    for (;;) {
      const res = await consumer.fetch({
        node: broker.nodeId, maxWaitTime: 10, minBytes: 1, maxBytes: 10_000_000, isolationLevel: 'READ_UNCOMMITTED',
        topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: at, lastFetchedEpoch: -1, partitionMaxBytes: 10_000_000 }] }],
      } as never)
      const p = res.responses[0]!.partitions[0]!
      let next = at
      for (const batch of p.records ?? []) {
        for (const r of batch.records) {
          const o = batch.firstOffset + BigInt(r.offsetDelta)
          if (o >= at) out.push(`${o}:${r.key!.toString()}=${r.value!.toString()}`)
        }
        const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
        if (end > next) next = end
      }
      if (next === at || next >= p.highWatermark) return out
      at = next
    }
  } finally {
    await Promise.all([admin.close(), consumer.close()])
  }
}

/** The cleaner-offset-checkpoint entry of `topic`-0 in `dir`, if any. */
function cleanerCheckpoint(dir: string, topic: string): number | undefined {
  const read = readOffsetCheckpoint(join(dir, 'cleaner-offset-checkpoint'))
  if ('error' in read) throw new Error(read.message)
  return read.entries.find((e) => e.topic === topic && e.partition === 0)?.offset
}

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what() && Date.now() < deadline) await sleep(50)
}

function latestPerKey(records: string[]): Map<string, string> {
  const byKey = new Map<string, string>()
  for (const r of records) byKey.set(r.slice(r.indexOf(':') + 1, r.indexOf('=')), r)
  return byKey
}

t.test('a compacted topic read from the beginning yields the latest value per key at its original offset', async (t) => {
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{
      topic: 'compacted', numPartitions: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2000' },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      ],
    }],
  })
  const producer = kafka.producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const sent: string[] = []
  for (let b = 0; b < 30; b++) {
    const messages = [0, 1, 2].map((i) => ({ key: `key-${(b * 3 + i) % 7}`, value: `value-${b}-${i}-`.padEnd(60, '.') }))
    const [meta] = await producer.send({ topic: 'compacted', messages, compression: b % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP })
    const base = Number(meta!.baseOffset)
    messages.forEach((m, i) => sent.push(`${base + i}:${m.key}=${m.value}`))
  }
  t.equal(sent.length, 90)
  const all = await readAll('compacted')
  t.ok(all.length <= 90, 'readable before cleaning')

  // Wait until the cleaner ran: fewer records than were produced.
  let after: string[] = all
  const deadline = Date.now() + 15_000
  while (after.length >= 90 && Date.now() < deadline) {
    await sleep(100)
    after = await readAll('compacted')
  }
  t.ok(after.length < 90, `the cleaner removed superseded records (${after.length} of 90 left)`)
  const expectedLatest = latestPerKey(sent)
  const gotLatest = latestPerKey(after)
  t.same([...gotLatest.entries()].sort(), [...expectedLatest.entries()].sort(), 'the latest value of every key, at its original offset')
  for (const r of after) t.ok(sent.includes(r), `${r} was produced at that offset`)
  const offsets = after.map((r) => Number(r.split(':')[0]))
  t.same(offsets, [...offsets].sort((a, b) => a - b), 'offsets ascend')
  t.equal(new Set(offsets).size, offsets.length, 'no offset twice')

  const [partition] = await admin.fetchTopicOffsets('compacted')
  t.equal(Number(partition!.high), 90, 'the log end did not move')

  t.ok(CleanerPool.current()?.started, 'the pass ran on the piscina cleaner pool')
  await until(() => cleanerCheckpoint(dataDir, 'compacted') !== undefined)
  const cleanedTo = cleanerCheckpoint(dataDir, 'compacted')
  t.ok(cleanedTo !== undefined && cleanedTo > 0 && cleanedTo <= 90, `cleaner-offset-checkpoint records the pass (compacted 0 ${cleanedTo})`)
})

t.test('cleaner-offset-checkpoint is read at start-up and loses the entry of a deleted partition', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-compaction-checkpoint-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let b = await Broker.start({ config: { 'log.dirs': dir, 'log.retention.check.interval.ms': 200 } })
  t.teardown(() => b.stop())
  let k = new Kafka({ clientId: 'samsa-compaction-ckpt', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const producer = k.producer()
  await producer.connect()
  let admin = k.admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: 'resumed', numPartitions: 1, configEntries: [
      { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2000' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' },
    ] }],
  })
  for (let i = 0; i < 30; i++) await producer.send({ topic: 'resumed', messages: [{ key: `key-${i % 3}`, value: 'x'.repeat(200) }] })
  await until(() => cleanerCheckpoint(dir, 'resumed') !== undefined)
  await producer.disconnect()
  await admin.disconnect()
  await b.stop()
  // Read only once this incarnation stopped: its cleaner (every 200 ms) may run more passes, each
  // moving the checkpoint forward, until then.
  const cleanedTo = cleanerCheckpoint(dir, 'resumed')
  t.ok(cleanedTo !== undefined && cleanedTo > 0, `cleaned to ${cleanedTo}`)

  // No retention check (and so no pass) can run in this incarnation: the entry it writes at stop
  // can only come from what it read at start-up.
  b = await Broker.start({ config: { 'log.dirs': dir, 'log.retention.check.interval.ms': 3_600_000 } })
  await b.stop()
  t.equal(cleanerCheckpoint(dir, 'resumed'), cleanedTo, 'the checkpoint survived a restart without a pass')

  b = await Broker.start({ config: { 'log.dirs': dir, 'log.retention.check.interval.ms': 3_600_000 } })
  k = new Kafka({ clientId: 'samsa-compaction-ckpt', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  admin = k.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await admin.deleteTopics({ topics: ['resumed'] })
  await until(() => cleanerCheckpoint(dir, 'resumed') === undefined)
  t.equal(cleanerCheckpoint(dir, 'resumed'), undefined, 'deleting the topic dropped its entry')
})

t.test('keyless records on a compacted topic are refused with INVALID_RECORD', async (t) => {
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'compacted-keys', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
  const producer = kafka.producer({ retry: { retries: 0 } })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const error = await producer.send({ topic: 'compacted-keys', messages: [{ key: 'k', value: 'v' }, { value: 'no key' }], compression })
      .then(() => null, (err: unknown) => err as { type?: string })
    t.equal(error?.type, 'INVALID_RECORD', `refused (compression ${compression})`)
  }
  const [meta] = await producer.send({ topic: 'compacted-keys', messages: [{ key: 'k', value: 'v' }] })
  t.equal(meta!.errorCode, 0, 'keyed records are accepted')
})

t.test('__consumer_offsets is compacted and still reloads the latest commits after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-compaction-offsets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = {
    'log.dirs': dir, 'log.retention.check.interval.ms': 200, 'offsets.topic.num.partitions': 1,
    'offsets.topic.replication.factor': 1, 'offsets.topic.segment.bytes': 1000,
  }
  let b = await Broker.start({ config })
  t.teardown(() => b.stop())
  let k = new Kafka({ clientId: 'samsa-compaction-groups', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  let admin = k.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'committed', numPartitions: 1 }] })
  // Records up to offset 40, so the commits below are positions kafkajs can fetch from: a commit
  // beyond the log end makes its fetch loop hit OFFSET_OUT_OF_RANGE and commit its default
  // offset (-2) on its own, racing the commits this test makes.
  const producer = k.producer()
  await producer.connect()
  await producer.send({ topic: 'committed', messages: Array.from({ length: 41 }, (_, i) => ({ value: `r${i}` })) })
  await producer.disconnect()
  const consumer = k.consumer({ groupId: 'compacting' })
  await consumer.connect()
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.subscribe({ topic: 'committed', fromBeginning: true })
  await consumer.run({ autoCommit: false, eachMessage: async () => {} })
  await joined
  // Each commit is one record of the same key in __consumer_offsets: 39 of the 40 are superseded.
  for (let offset = 1; offset <= 40; offset++) await consumer.commitOffsets([{ topic: 'committed', partition: 0, offset: String(offset) }])
  const committed = async (): Promise<string> => (await admin.fetchOffsets({ groupId: 'compacting', topics: ['committed'] }))[0]!.partitions[0]!.offset
  t.equal(await committed(), '40', 'the last commit is the group offset')
  await consumer.disconnect()
  const offsetsDir = join(dir, '__consumer_offsets-0')
  // The cleaner may rename or delete a segment between the listing and the read: on ENOENT,
  // list again.
  const recordsOnDisk = (): number => {
    for (;;) {
      try {
        return readdirSync(offsetsDir).filter((n) => n.endsWith('.log'))
          .reduce((n, name) => n + decodeRecordBatches(readFileSync(join(offsetsDir, name))).reduce((m, batch) => m + batch.records.length, 0), 0)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
  }
  const deadline = Date.now() + 15_000
  while (recordsOnDisk() >= 40 && Date.now() < deadline) await sleep(100)
  t.ok(recordsOnDisk() < 40, `superseded commits were compacted away (${recordsOnDisk()} records left)`)
  // kafkajs may commit once more when the member leaves; whatever the group holds now must survive.
  const latest = await committed()
  await admin.disconnect()

  await b.stop()
  b = await Broker.start({ config })
  k = new Kafka({ clientId: 'samsa-compaction-groups', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  admin = k.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  const [topic] = await admin.fetchOffsets({ groupId: 'compacting', topics: ['committed'] })
  t.equal(topic!.partitions[0]!.offset, latest, 'the latest commit survives compaction and a restart')
})

t.test('the cleaner looks at compacted logs every log.cleaner.backoff.ms, not only at the (5-minute) retention check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-compaction-backoff-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const b = await startBroker(t, { config: { 'log.dirs': dir, 'log.cleaner.backoff.ms': 200 } })
  t.equal(b.config.retentionCheckIntervalMs, 300_000, 'the retention check stays at its default')
  const k = new Kafka({ clientId: 'samsa-compaction-backoff', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  const admin = k.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'backoff', numPartitions: 1, configEntries: [
    { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '1000' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' },
  ] }] })
  const producer = k.producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  for (let i = 0; i < 30; i++) await producer.send({ topic: 'backoff', messages: [{ key: `key-${i % 3}`, value: 'x'.repeat(200) }] })
  const checkpointed = (): number | undefined => {
    try {
      return cleanerCheckpoint(dir, 'backoff')
    } catch {
      return undefined // not written yet
    }
  }
  await until(() => checkpointed() !== undefined, 20_000)
  await b.stop()
  t.ok((cleanerCheckpoint(dir, 'backoff') ?? 0) > 0, `cleaned within seconds (checkpoint ${cleanerCheckpoint(dir, 'backoff')})`)
})
