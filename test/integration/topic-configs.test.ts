/**
 * Topic configs end to end: AlterConfigs (whole-set replacement) with kafkajs and
 * confluent-kafka-python, IncrementalAlterConfigs with @platformatic/kafka and the raw protocol,
 * validation (INVALID_CONFIG with a message, INVALID_REQUEST), validate_only, changes taking
 * effect on live partitions (max.message.bytes, message.timestamp.type=LogAppendTime) and
 * surviving a restart.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { gunzipSync, zstdDecompressSync } from 'node:zlib'
import { decompressFrameSync as lz4Decompress } from 'lz4-napi'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { Admin } from '@platformatic/kafka'
import { startBroker } from '../helpers/broker.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { confluentPython, hasKcat, runProcess } from '../helpers/external.ts'
import { Broker } from '../../src/index.ts'
import { encodeAlterConfigsRequest } from '../../src/protocol/messages/alter-configs-request.ts'
import { decodeAlterConfigsResponse } from '../../src/protocol/messages/alter-configs-response.ts'
import { encodeIncrementalAlterConfigsRequest } from '../../src/protocol/messages/incremental-alter-configs-request.ts'
import { decodeIncrementalAlterConfigsResponse } from '../../src/protocol/messages/incremental-alter-configs-response.ts'
import { encodeProduceRequest } from '../../src/protocol/messages/produce-request.ts'
import { decodeProduceResponse } from '../../src/protocol/messages/produce-response.ts'
import { buildRecordBatch } from '../../src/storage/record-batch-builder.ts'
import { decodeRecordBatches } from '../../src/storage/record-batch-reader.ts'
import {
  ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, batchSizeOf, compressionOf, isCrcValid, type CompressionType,
} from '../../src/storage/record-batch.ts'

const INVALID_CONFIG = 40
const INVALID_REQUEST = 42
const UNKNOWN_TOPIC_OR_PARTITION = 3
const MESSAGE_TOO_LARGE = 10
const TOPIC = 2
const BROKER = 4

const broker = await startBroker(t)
const kafka = new Kafka({ clientId: 'samsa-cfg', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
const admin = kafka.admin()
await admin.connect()
t.teardown(() => admin.disconnect())

async function topicConfigs(b: Broker, topic: string): Promise<Map<string, { value: string | null; source: number }>> {
  const k = new Kafka({ clientId: 'samsa-cfg-describe', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const a = k.admin()
  await a.connect()
  try {
    const res = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC, name: topic }] })
    return new Map(res.resources[0]!.configEntries.map((c) => [c.configName, { value: c.configValue, source: (c as { configSource: number }).configSource }]))
  } finally {
    await a.disconnect()
  }
}

async function raw(t: { teardown(fn: () => void): void }, b: Broker = broker): Promise<RawClient> {
  const c = await RawClient.connect(b.bootstrap)
  t.teardown(() => c.close())
  return c
}

type Op = { name: string; configOperation: number; value: string | null }
async function incremental(c: RawClient, version: number, resources: { resourceType: number; resourceName: string; configs: Op[] }[], validateOnly = false) {
  c.send(RawClient.frame(44, version, 7, (w) => encodeIncrementalAlterConfigsRequest(w, version, { resources, validateOnly })))
  const { body } = await c.response(44, version)
  return decodeIncrementalAlterConfigsResponse(body, version).responses
}

async function replace(c: RawClient, version: number, resources: { resourceType: number; resourceName: string; configs: { name: string; value: string | null }[] }[], validateOnly = false) {
  c.send(RawClient.frame(33, version, 8, (w) => encodeAlterConfigsRequest(w, version, { resources, validateOnly })))
  const { body } = await c.response(33, version)
  return decodeAlterConfigsResponse(body, version).responses
}

async function produceRaw(c: RawClient, topic: string, valueBytes: number, timestamp: number) {
  const records = buildRecordBatch({ records: [{ key: 'k', value: 'x'.repeat(valueBytes) }], timestamp })
  c.send(RawClient.frame(0, 9, 11, (w) => encodeProduceRequest(w, 9, {
    transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })))
  const { body } = await c.response(0, 9)
  return decodeProduceResponse(body, 9).responses[0]!.partitionResponses[0]!
}

t.test('kafkajs alterConfigs replaces the whole override set; describe shows sources', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'cfg-kjs', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: TOPIC, name: 'cfg-kjs', configEntries: [{ name: 'segment.bytes', value: '4096' }, { name: 'cleanup.policy', value: 'compact,delete' }] }],
  })
  let cfg = await topicConfigs(broker, 'cfg-kjs')
  t.same(cfg.get('segment.bytes'), { value: '4096', source: 1 }, 'set, source TOPIC_CONFIG')
  t.same(cfg.get('cleanup.policy'), { value: 'compact,delete', source: 1 })
  t.equal(cfg.get('retention.ms')!.value, '604800000', 'retention.ms was not named: back to the default')
  t.equal(cfg.get('retention.ms')!.source, 5)

  await admin.alterConfigs({ validateOnly: true, resources: [{ type: TOPIC, name: 'cfg-kjs', configEntries: [{ name: 'segment.bytes', value: '8192' }] }] })
  cfg = await topicConfigs(broker, 'cfg-kjs')
  t.equal(cfg.get('segment.bytes')!.value, '4096', 'validate_only changes nothing')
  t.equal(cfg.get('cleanup.policy')!.value, 'compact,delete')

  await t.rejects(admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'cfg-kjs', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
    { name: 'KafkaJSProtocolError', type: 'INVALID_CONFIG' })
  await t.rejects(admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'cfg-kjs', configEntries: [{ name: 'no.such.key', value: '1' }] }] }),
    { name: 'KafkaJSProtocolError', type: 'INVALID_CONFIG' })
  t.equal((await topicConfigs(broker, 'cfg-kjs')).get('segment.bytes')!.value, '4096', 'a refused change leaves everything as it was')
})

t.test('@platformatic/kafka incrementalAlterConfigs: SET, APPEND, SUBTRACT, DELETE', async (t) => {
  await admin.createTopics({ topics: [{ topic: 'cfg-plt', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })
  const plt = new Admin({ clientId: 'samsa-cfg-plt', bootstrapBrokers: [broker.bootstrap] })
  t.teardown(() => plt.close())
  const alter = (configs: { name: string; configOperation: number; value?: string }[]) =>
    plt.incrementalAlterConfigs({ resources: [{ resourceType: TOPIC, resourceName: 'cfg-plt', configs } as never] })
  await alter([{ name: 'max.message.bytes', configOperation: 0, value: '500000' }, { name: 'cleanup.policy', configOperation: 2, value: 'compact' }])
  let cfg = await topicConfigs(broker, 'cfg-plt')
  t.equal(cfg.get('max.message.bytes')!.value, '500000')
  t.equal(cfg.get('cleanup.policy')!.value, 'delete,compact', 'APPEND starts from the default value')
  t.equal(cfg.get('retention.ms')!.value, '3600000', 'keys not named are kept')
  await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }, { name: 'retention.ms', configOperation: 1 }])
  cfg = await topicConfigs(broker, 'cfg-plt')
  t.equal(cfg.get('cleanup.policy')!.value, 'compact')
  t.same(cfg.get('retention.ms'), { value: '604800000', source: 5 }, 'DELETE restores the default')
  await t.rejects(alter([{ name: 'retention.ms', configOperation: 2, value: '5' }]), 'APPEND to a non-list key is refused')
})

t.test('raw protocol: every version, validation errors with messages, validate_only', async (t) => {
  const c = await raw(t)
  await admin.createTopics({ topics: [{ topic: 'cfg-raw', numPartitions: 1 }] })
  for (const v of [0, 1]) {
    const [r] = await incremental(c, v, [{ resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'segment.ms', configOperation: 0, value: String(1000 + v) }] }])
    t.same([r!.errorCode, r!.resourceName], [0, 'cfg-raw'], `IncrementalAlterConfigs v${v}`)
    t.equal((await topicConfigs(broker, 'cfg-raw')).get('segment.ms')!.value, String(1000 + v))
  }
  for (const v of [0, 1, 2]) {
    const [r] = await replace(c, v, [{ resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'retention.bytes', value: String(10_000 + v) }] }])
    t.equal(r!.errorCode, 0, `AlterConfigs v${v}`)
    const cfg = await topicConfigs(broker, 'cfg-raw')
    t.equal(cfg.get('retention.bytes')!.value, String(10_000 + v))
    t.equal(cfg.get('segment.ms')!.source, 5, 'replaced away')
  }
  const bad = await incremental(c, 1, [
    { resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'message.timestamp.type', configOperation: 0, value: 'WallClock' }] },
    { resourceType: TOPIC, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }] },
    { resourceType: BROKER, resourceName: String(broker.nodeId), configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }] },
    { resourceType: TOPIC, resourceName: 'cfg-raw-dups', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }, { name: 'retention.ms', configOperation: 1, value: null }] },
    { resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'segment.bytes', configOperation: 0, value: '3' }] },
    { resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'retention.ms', configOperation: 0, value: null }] },
  ])
  t.equal(bad[0]!.errorCode, INVALID_REQUEST, 'a resource named twice is refused (every copy)')
  t.equal(bad[4]!.errorCode, INVALID_REQUEST)
  t.equal(bad[1]!.errorCode, UNKNOWN_TOPIC_OR_PARTITION)
  t.equal(bad[2]!.errorCode, INVALID_REQUEST)
  t.match(bad[2]!.errorMessage, /server\.properties/)
  t.equal(bad[3]!.errorCode, UNKNOWN_TOPIC_OR_PARTITION, 'unknown topic is reported before duplicate keys')
  t.equal(bad[5]!.errorCode, INVALID_REQUEST)
  const one = async (configs: Op[]) => (await incremental(c, 1, [{ resourceType: TOPIC, resourceName: 'cfg-raw', configs }]))[0]!
  let r = await one([{ name: 'message.timestamp.type', configOperation: 0, value: 'WallClock' }])
  t.equal(r.errorCode, INVALID_CONFIG)
  t.match(r.errorMessage, /WallClock.*message\.timestamp\.type/)
  r = await one([{ name: 'segment.bytes', configOperation: 0, value: '3' }])
  t.equal(r.errorCode, INVALID_CONFIG)
  t.match(r.errorMessage, /segment\.bytes.*at least 14/)
  r = await one([{ name: 'retention.ms', configOperation: 0, value: '1' }, { name: 'retention.ms', configOperation: 1, value: null }])
  t.equal(r.errorCode, INVALID_REQUEST)
  t.match(r.errorMessage, /duplicate config keys/)
  r = await one([{ name: 'retention.ms', configOperation: 9, value: '1' }])
  t.equal(r.errorCode, INVALID_REQUEST)
  r = (await incremental(c, 1, [{ resourceType: TOPIC, resourceName: 'cfg-raw', configs: [{ name: 'retention.ms', configOperation: 0, value: '42' }] }], true))[0]!
  t.equal(r.errorCode, 0, 'validate_only answers as a real change would')
  t.equal((await topicConfigs(broker, 'cfg-raw')).get('retention.ms')!.source, 5, 'but changes nothing')
  t.equal((await topicConfigs(broker, 'cfg-raw')).get('retention.bytes')!.value, '10002', 'refused changes left the topic as it was')
})

t.test('changes apply to live partitions: max.message.bytes and LogAppendTime', async (t) => {
  const c = await raw(t)
  await admin.createTopics({ topics: [{ topic: 'cfg-live', numPartitions: 1 }] })
  const old = Date.now() - 3_600_000
  let r = await produceRaw(c, 'cfg-live', 2000, old)
  t.same([r.errorCode, r.baseOffset, r.logAppendTimeMs], [0, 0, -1], 'CreateTime: the broker does not stamp')
  const set = (configs: Op[]) => incremental(c, 1, [{ resourceType: TOPIC, resourceName: 'cfg-live', configs }])
  t.equal((await set([{ name: 'max.message.bytes', configOperation: 0, value: '1000' }, { name: 'message.timestamp.type', configOperation: 0, value: 'LogAppendTime' }]))[0]!.errorCode, 0)
  r = await produceRaw(c, 'cfg-live', 2000, old)
  t.equal(r.errorCode, MESSAGE_TOO_LARGE, 'the new limit applies at once')
  const before = Date.now()
  r = await produceRaw(c, 'cfg-live', 100, old)
  t.equal(r.errorCode, 0)
  t.equal(r.baseOffset, 1)
  t.ok(r.logAppendTimeMs >= before && r.logAppendTimeMs <= Date.now(), 'LogAppendTime: stamped with the broker time')
  const producer = kafka.producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await t.rejects(producer.send({ topic: 'cfg-live', acks: 1, messages: [{ value: 'y'.repeat(5000) }] }), { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' }, 'kafkajs sees MESSAGE_TOO_LARGE')
  await set([{ name: 'max.message.bytes', configOperation: 1, value: null }])
  const sent = await producer.send({ topic: 'cfg-live', acks: 1, messages: [{ value: 'y'.repeat(5000) }] })
  t.equal(sent[0]!.errorCode, 0, 'deleting the override restores the broker default')

  if (!hasKcat()) return
  // librdkafka checks every batch's CRC (check.crcs): the stamped batches, one of them lz4-compressed, must verify.
  const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'cfg-live', '-z', 'lz4'], 'compressed-a\ncompressed-b\n')
  t.equal(produced.status, 0, produced.stderr)
  const read = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'cfg-live', '-o', '1', '-e', '-X', 'check.crcs=true', '-f', '%o %T %s\n'])
  t.equal(read.status, 0, read.stderr)
  const lines = read.stdout.trim().split('\n').map((l) => l.split(' '))
  t.same(lines.map((l) => l[0]), ['1', '2', '3', '4'], 'every record after the change, CRCs valid')
  t.equal(Number(lines[0]![1]), r.logAppendTimeMs, 'the consumer sees the broker\'s LogAppendTime, not the producer\'s')
  t.ok(lines.slice(2).every((l) => Number(l[1]) >= before), 'the compressed batch got the broker time too')
  t.same(lines.slice(2).map((l) => l[2]), ['compressed-a', 'compressed-b'])
})

t.test('confluent-kafka-python alter_configs', async (t) => {
  const python = confluentPython()
  if (!python) {
    t.plan(0, 'confluent-kafka-python is not installed (apt-get install python3-confluent-kafka)')
    return
  }
  await admin.createTopics({ topics: [{ topic: 'cfg-py', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '100000' }] }] })
  const script = String.raw`
import sys, json
from confluent_kafka.admin import AdminClient, ConfigResource
from confluent_kafka import KafkaException
admin = AdminClient({'bootstrap.servers': sys.argv[1]})
out = {}
res = ConfigResource('topic', 'cfg-py', set_config={'retention.ms': '120000', 'cleanup.policy': 'compact'})
for f in admin.alter_configs([res]).values():
    f.result()
for f in admin.describe_configs([ConfigResource('topic', 'cfg-py')]).values():
    c = f.result()
    out['retention'] = c['retention.ms'].value
    out['policy'] = c['cleanup.policy'].value
    out['segment_default'] = c['segment.bytes'].is_default
try:
    for f in admin.alter_configs([ConfigResource('topic', 'cfg-py', set_config={'min.cleanable.dirty.ratio': 'lots'})]).values():
        f.result()
    out['bad'] = 'accepted'
except KafkaException as e:
    out['bad'] = e.args[0].name()
print(json.dumps(out))
`
  // Asynchronously: the broker runs in this process and must keep answering.
  const r = await runPython(python, script, broker.bootstrap)
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout.trim().split('\n').pop()!), { retention: '120000', policy: 'compact', segment_default: true, bad: 'INVALID_CONFIG' })
})

function runPython(python: string, script: string, bootstrap: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run(python, ['-c', script, bootstrap])
}

const run = (cmd: string, args: string[], input = '') => runProcess(cmd, args, { input }).then((r) => ({ ...r, status: r.code }))

t.test('configs survive a restart and still apply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-cfg-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await startBroker(t, { config: { 'log.dirs': dir } })
  const c1 = await raw(t, first)
  const k = new Kafka({ clientId: 'samsa-cfg-restart', brokers: [first.bootstrap], logLevel: logLevel.NOTHING })
  const a = k.admin()
  await a.connect()
  await a.createTopics({ topics: [{ topic: 'cfg-durable', numPartitions: 1 }] })
  await a.disconnect()
  t.equal((await incremental(c1, 1, [{ resourceType: TOPIC, resourceName: 'cfg-durable', configs: [{ name: 'max.message.bytes', configOperation: 0, value: '1000' }] }]))[0]!.errorCode, 0)
  c1.close()
  await first.stop()
  const second = await startBroker(t, { config: { 'log.dirs': dir } })
  t.same((await topicConfigs(second, 'cfg-durable')).get('max.message.bytes'), { value: '1000', source: 1 })
  const c2 = await raw(t, second)
  t.equal((await produceRaw(c2, 'cfg-durable', 2000, Date.now())).errorCode, MESSAGE_TOO_LARGE, 'the partition opened with the stored config')
  t.equal((await produceRaw(c2, 'cfg-durable', 10, Date.now())).errorCode, 0)
})

/**
 * The batches of a partition's first segment file as stored: codec, CRC validity and record
 * values — decompressed here with the codec libraries directly, not with the broker's code.
 */
function storedBatches(dir: string): { codec: CompressionType | undefined; crcOk: boolean; values: string[] }[] {
  const file = readFileSync(join(dir, '00000000000000000000.log'))
  const out = []
  for (let pos = 0; pos < file.length; pos += batchSizeOf(file, pos)) {
    const batch = file.subarray(pos, pos + batchSizeOf(file, pos))
    const codec = compressionOf(batch, 0)
    const body = batch.subarray(RECORD_BATCH_OVERHEAD)
    const unpack: Partial<Record<CompressionType, (b: Buffer) => Buffer>> = { none: (b) => b, gzip: gunzipSync, zstd: zstdDecompressSync, lz4: lz4Decompress }
    const records = unpack[codec!]!(body)
    // The same header with codec bits 0 and the plain records: a batch the plain decoder reads.
    const plain = Buffer.concat([batch.subarray(0, RECORD_BATCH_OVERHEAD), records])
    plain.writeInt32BE(plain.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET)
    plain.writeInt16BE(plain.readInt16BE(ATTRIBUTES_OFFSET) & ~7, ATTRIBUTES_OFFSET)
    const values = decodeRecordBatches(plain).flatMap((b) => b.records.map((r) => r.value!.toString()))
    out.push({ codec, crcOk: isCrcValid(batch, 0), values })
  }
  return out
}

t.test('compression.type recompresses produced batches to the topic codec; producer keeps them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-compression-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const b = await Broker.start({ config: { 'log.dirs': dir } })
  t.teardown(() => b.stop())
  const k = new Kafka({ clientId: 'samsa-compression', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const a = k.admin()
  await a.connect()
  t.teardown(() => a.disconnect())
  const topics = {
    'to-gzip': 'gzip', 'to-zstd': 'zstd', 'to-lz4': 'lz4', 'to-none': 'uncompressed', 'as-sent': 'producer',
    'lz4-to-zstd': 'zstd', 'zstd-to-gzip': 'gzip', 'to-snappy': 'snappy',
  }
  await a.createTopics({
    waitForLeaders: true,
    topics: Object.entries(topics).map(([topic, value]) => ({ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value }] })),
  })
  const p = k.producer()
  await p.connect()
  t.teardown(() => p.disconnect())
  const messages = ['one', 'two', 'three'].map((v) => ({ key: v, value: `${v}-`.padEnd(300, 'x') }))
  const values = messages.map((m) => m.value)
  await p.send({ topic: 'to-gzip', messages, compression: CompressionTypes.None })
  await p.send({ topic: 'to-zstd', messages, compression: CompressionTypes.GZIP })
  await p.send({ topic: 'to-none', messages, compression: CompressionTypes.GZIP })
  await p.send({ topic: 'as-sent', messages, compression: CompressionTypes.GZIP })
  await p.send({ topic: 'to-gzip', messages, compression: CompressionTypes.GZIP }) // already gzip: passes through

  t.same(storedBatches(join(dir, 'to-gzip-0')), [
    { codec: 'gzip', crcOk: true, values }, { codec: 'gzip', crcOk: true, values },
  ], 'an uncompressed batch is stored gzip, a gzip one as it came')
  t.same(storedBatches(join(dir, 'to-zstd-0')), [{ codec: 'zstd', crcOk: true, values }], 'gzip from kafkajs is stored zstd')
  t.same(storedBatches(join(dir, 'to-none-0')), [{ codec: 'none', crcOk: true, values }], 'uncompressed decompresses')
  t.same(storedBatches(join(dir, 'as-sent-0')), [{ codec: 'gzip', crcOk: true, values }], 'producer keeps the client codec')

  if (hasKcat()) {
    // librdkafka writes raw (unframed) snappy: the broker must read it to recompress it.
    const input = values.join('\n') + '\n'
    const r = await runProcess('kcat', ['-P', '-b', b.bootstrap, '-t', 'to-lz4', '-z', 'snappy', '-X', 'linger.ms=50'], { input })
    t.equal(r.code, 0, `kcat produced (${r.stderr})`)
    const stored = storedBatches(join(dir, 'to-lz4-0'))
    t.ok(stored.length >= 1 && stored.every((x) => x.codec === 'lz4' && x.crcOk), 'snappy from kcat is stored lz4')
    t.same(stored.flatMap((x) => x.values), values, 'and decodes to the same records')
    // Every codec librdkafka writes is read by the broker; and the snappy the broker writes is read by librdkafka.
    for (const [topic, codec, stored] of [['lz4-to-zstd', 'lz4', 'zstd'], ['zstd-to-gzip', 'zstd', 'gzip']] as const) {
      const rr = await runProcess('kcat', ['-P', '-b', b.bootstrap, '-t', topic, '-z', codec, '-X', 'linger.ms=50'], { input })
      t.equal(rr.code, 0, `kcat -z ${codec} produced (${rr.stderr})`)
      const got = storedBatches(join(dir, `${topic}-0`))
      t.ok(got.length >= 1 && got.every((x) => x.codec === stored && x.crcOk), `${codec} from kcat is stored ${stored}`)
      t.same(got.flatMap((x) => x.values), values, 'and decodes to the same records')
    }
    await p.send({ topic: 'to-snappy', messages, compression: CompressionTypes.None })
    const read = await runProcess('kcat', ['-C', '-b', b.bootstrap, '-t', 'to-snappy', '-o', 'beginning', '-e', '-X', 'check.crcs=true', '-f', '%s\n'])
    t.equal(read.code, 0, `kcat consumed (${read.stderr})`)
    t.same(read.stdout.trim().split('\n'), values, 'the snappy batch the broker wrote is read back by librdkafka')
    const file = readFileSync(join(dir, 'to-snappy-0', '00000000000000000000.log'))
    t.equal(compressionOf(file, 0), 'snappy', 'and it is stored snappy')
  } else {
    t.comment('kcat not installed: the librdkafka codec cases are skipped')
  }

  const c = await raw(t, b)
  const [bad] = await incremental(c, 1, [{ resourceType: TOPIC, resourceName: 'as-sent', configs: [{ name: 'compression.type', configOperation: 0, value: 'brotli' }] }])
  t.equal(bad!.errorCode, INVALID_CONFIG, 'an unknown codec is refused with INVALID_CONFIG')
  t.match(bad!.errorMessage ?? '', /compression\.type/, `with a message naming the key (${bad!.errorMessage})`)
})

t.test('edge cases answered as Kafka answers them (empty key lists, names, nulls, duplicates, value forms)', async (t) => {
  const { encodeDescribeConfigsRequest } = await import('../../src/protocol/messages/describe-configs-request.ts')
  const { decodeDescribeConfigsResponse } = await import('../../src/protocol/messages/describe-configs-response.ts')
  const { encodeCreatePartitionsRequest } = await import('../../src/protocol/messages/create-partitions-request.ts')
  const { decodeCreatePartitionsResponse } = await import('../../src/protocol/messages/create-partitions-response.ts')
  const c = await raw(t)
  await admin.createTopics({ topics: [{ topic: 'cfg-edge', numPartitions: 2 }] })
  const describe = async (resourceType: number, resourceName: string, configurationKeys: string[] | null, includeSynonyms = false, includeDocumentation = false) => {
    c.send(RawClient.frame(32, 4, 9, (w) => encodeDescribeConfigsRequest(w, 4, { resources: [{ resourceType, resourceName, configurationKeys }], includeSynonyms, includeDocumentation })))
    return decodeDescribeConfigsResponse((await c.response(32, 4)).body, 4).results[0]!
  }
  const all = (await describe(TOPIC, 'cfg-edge', null)).configs.length
  t.ok(all > 10)
  t.equal((await describe(TOPIC, 'cfg-edge', [])).configs.length, all, 'an empty key list means every key')
  t.equal((await describe(BROKER, String(broker.nodeId), [])).configs.length, (await describe(BROKER, String(broker.nodeId), null)).configs.length)
  t.equal((await describe(TOPIC, 'bad name!', null)).errorCode, 17, 'INVALID_TOPIC_EXCEPTION for a name no topic can have')
  t.same((await describe(BROKER, '', null)).configs, [], 'the cluster-default resource holds dynamic defaults only: none')
  const documented = (await describe(TOPIC, 'cfg-edge', ['retention.ms', 'remote.storage.enable'], false, true)).configs
  t.match(documented[0]!.documentation, /\S/, 'include_documentation: a topic key is described by its broker key\'s text')
  t.equal(documented[1]!.documentation, null, 'null where Samsa has no text')
  t.equal((await describe(TOPIC, 'cfg-edge', ['retention.ms'])).configs[0]!.documentation, null, 'and nothing unless asked')
  t.match((await describe(BROKER, String(broker.nodeId), ['num.partitions'], false, true)).configs[0]!.documentation, /\S/)
  const delay = (await describe(TOPIC, 'cfg-edge', ['file.delete.delay.ms'], true)).configs[0]!
  t.same(delay.synonyms.map((x) => [x.name, x.value]), [['log.segment.delete.delay.ms', '60000']], 'the broker synonym is Kafka\'s log.segment.delete.delay.ms')

  const nulled = (await replace(c, 1, [{ resourceType: TOPIC, resourceName: 'cfg-edge', configs: [{ name: 'retention.ms', value: null }] }]))[0]!
  t.same([nulled.errorCode, nulled.errorMessage], [INVALID_REQUEST, 'Null value not supported for : retention.ms'], 'AlterConfigs refuses a null value')

  c.send(RawClient.frame(37, 3, 10, (w) => encodeCreatePartitionsRequest(w, 3, { topics: [{ name: 'cfg-edge', count: 3, assignments: null }, { name: 'cfg-edge', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false })))
  const dup = decodeCreatePartitionsResponse((await c.response(37, 3)).body, 3).results
  t.same(dup.map((r) => [r.name, r.errorCode, r.errorMessage]), [['cfg-edge', INVALID_REQUEST, 'Duplicate topic name.']], 'one INVALID_REQUEST')
  t.equal((await admin.fetchTopicMetadata({ topics: ['cfg-edge'] })).topics[0]!.partitions.length, 2, 'and the topic is left as it was')

  const forms = (await replace(c, 1, [{ resourceType: TOPIC, resourceName: 'cfg-edge', configs: [
    { name: 'unclean.leader.election.enable', value: 'TRUE' }, { name: 'compression.type', value: ' gzip' },
    { name: 'cleanup.policy', value: 'compact, delete' }, { name: 'retention.bytes', value: '-5' },
  ] }]))[0]!
  t.equal(forms.errorCode, 0, `values Kafka's parser accepts are accepted (${forms.errorMessage})`)
  await admin.createTopics({ topics: [{ topic: 'cfg-kafka-keys', configEntries: [
    { name: 'max.compaction.lag.ms', value: '3600000' }, { name: 'segment.jitter.ms', value: '100' }, { name: 'preallocate', value: 'false' },
    { name: 'message.downconversion.enable', value: 'true' }, { name: 'compression.zstd.level', value: '5' },
  ] }] })
  const kafkaKeys = await topicConfigs(broker, 'cfg-kafka-keys')
  t.same(['max.compaction.lag.ms', 'segment.jitter.ms', 'compression.zstd.level'].map((k) => [kafkaKeys.get(k)?.value, kafkaKeys.get(k)?.source]), [['3600000', 1], ['100', 1], ['5', 1]],
    'Kafka topic keys Samsa does not act on yet are accepted and described (DYNAMIC_TOPIC_CONFIG)')
  t.equal(kafkaKeys.get('local.retention.ms')?.value, '-2', 'with Kafka\'s defaults when unset')
  const cfg = await topicConfigs(broker, 'cfg-edge')
  t.same(['unclean.leader.election.enable', 'compression.type', 'cleanup.policy', 'retention.bytes'].map((k) => cfg.get(k)!.value), ['true', 'gzip', 'compact,delete', '-5'], 'and described in canonical form')
})
