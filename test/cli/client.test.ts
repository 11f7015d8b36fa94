/**
 * The client library under the tools (src/client/): Kafka's murmur2 partitioner, every
 * compression codec, the console producer's line reader and the consumer's formatter, and —
 * against a real broker — version negotiation, pipelining, and codec interoperability with
 * librdkafka (kcat) in both directions.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { startBroker } from '../helpers/broker.ts'
import { hasKcat } from '../helpers/external.ts'
import { lines, samsa } from './run-cli.ts'
import { Admin, CODECS, Connection, KafkaClient, Producer, buildBatch, compress, decodeBatches, decompress, murmur2, parseHostPort } from '../../src/client/index.ts'
import { API_KEYS } from '../../src/protocol/messages/index.ts'
import { isCrcValid } from '../../src/storage/record-batch.ts'
import { parseLine, lineReaderSettings } from '../../src/cli/commands/console-producer.ts'
import { formatRecord, formatterSettings } from '../../src/cli/commands/console-consumer.ts'
import { compressSync as rawSnappy } from 'snappy'

t.setTimeout(300_000)

t.test('murmur2 matches Kafka (UtilsTest vectors)', async (t) => {
  const vectors: [string, number][] = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829], ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971], ['abc', 479470107]]
  for (const [s, want] of vectors) t.equal(murmur2(Buffer.from(s)), want, s)
})

t.test('every codec round-trips; batches carry the codec and a valid CRC', async (t) => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(3000))
  for (const codec of CODECS) {
    t.same(decompress(codec, compress(codec, data)), data, codec)
    const batch = buildBatch({ records: [{ key: 'k', value: 'v1' }, { value: data }], compression: codec })
    t.ok(isCrcValid(batch, 0), `${codec}: CRC`)
    const [decoded] = decodeBatches(batch)
    t.equal(decoded!.compression, codec)
    t.same(decoded!.records.map((r) => r.value!.length), [2, data.length])
  }
  t.same(decompress('snappy', rawSnappy(data)), data, 'raw snappy (librdkafka) as well as xerial framing (Java)')
  t.same(parseHostPort('[::1]:19092'), { host: '::1', port: 19092 })
  t.same(parseHostPort('broker'), { host: 'broker', port: 9092 })
})

t.test('line reader and formatter follow Kafka\'s LineMessageReader and DefaultMessageFormatter', async (t) => {
  const s = lineReaderSettings(new Map([['parse.key', 'true'], ['key.separator', '::'], ['parse.headers', 'true'], ['null.marker', '-']]))
  t.same(parseLine('a:1,b\tk::v::w', 1, s), { key: 'k', value: 'v::w', headers: [{ key: 'a', value: '1' }, { key: 'b', value: null }] })
  t.same(parseLine('\t-::-', 2, s), { key: null, value: null, headers: [] })
  t.throws(() => parseLine('no-tab', 3, s), /no headers delimiter found on line 3/)
  const lenient = lineReaderSettings(new Map([['parse.key', 'true'], ['ignore.error', 'true']]))
  t.same(parseLine('just a value', 4, lenient), { key: null, value: 'just a value', headers: [] })

  const rec = { topic: 't', partition: 2, offset: 7, timestamp: 1234, timestampType: 'CreateTime' as const, key: null, value: Buffer.from('v'), headers: [] }
  t.equal(formatRecord(rec, formatterSettings(new Map())), 'v\n')
  t.equal(formatRecord(rec, formatterSettings(new Map([['print.key', 'true'], ['print.value', 'false']]))), 'null\n')
  t.equal(formatRecord(rec, formatterSettings(new Map([['print.partition', 'true'], ['print.offset', 'true'], ['print.headers', 'true'], ['key.separator', '|']]))),
    'Partition:2|Offset:7|NO_HEADERS|v\n')
})

t.test('against a broker: negotiation, pipelining, producer and admin', async (t) => {
  const broker = await startBroker(t)
  const [host, port] = broker.bootstrap.split(':')
  const conn = await Connection.open({ host: host!, port: Number(port) })
  t.teardown(() => conn.close())
  t.equal(conn.versionOf(0), Math.min(API_KEYS[0].maxVersion, conn.brokerVersions(0)!.maxVersion), 'highest Produce version both sides speak')
  t.equal(conn.versionOf(1), 17)
  t.throws(() => conn.versionOf(57), /does not support|none of which/, 'an API the broker lacks')

  // 200 Metadata requests in flight on one connection, each answered to its own caller.
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    conn.request(3, { topics: [{ name: `pipelined-${i % 7}`, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })))
  t.ok(answers.every((a, i) => a.topics[0]!.name === `pipelined-${i % 7}`))

  const client = new KafkaClient({ bootstrap: broker.bootstrap })
  t.teardown(() => client.close())
  const admin = new Admin(client)
  t.same((await admin.createTopics([{ name: 'keyed', numPartitions: 4 }])).map((r) => r.error), [null])
  const producer = new Producer(client, { lingerMs: 1 })
  const sent = await Promise.all(['a', 'b', 'c', 'a', 'b', 'c'].map((key, i) => producer.send({ topic: 'keyed', key, value: `v${i}` })))
  t.equal(sent[0]!.partition, sent[3]!.partition, 'same key, same partition')
  t.equal(sent[0]!.partition, (murmur2(Buffer.from('a')) & 0x7fffffff) % 4, 'the partition the Java client would pick')
  const latest = await admin.listOffsets([0, 1, 2, 3].map((partition) => ({ topic: 'keyed', partition })), -1)
  t.equal(latest.reduce((n, o) => n + o.offset, 0), 6, 'six records in all')
})

t.test('codecs interoperate with librdkafka (kcat)', { skip: hasKcat() ? false : 'kcat is not installed (apt-get install kcat)' }, async (t) => {
  const broker = await startBroker(t, { config: { 'num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } })
  const B = ['--bootstrap-server', broker.bootstrap]
  const kcat = (args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    const p = spawn('kcat', ['-b', broker.bootstrap, ...args])
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => { stdout += d })
    p.stderr.on('data', (d) => { stderr += d })
    p.on('close', (code) => resolve({ code, stdout, stderr }))
    p.stdin.end(input)
  })
  for (const codec of CODECS) {
    const fromKcat = await kcat(['-P', '-t', `kcat-${codec}`, '-z', codec, '-K:'], `k1:${codec}-one\nk2:${codec}-two\n`)
    t.equal(fromKcat.code, 0, fromKcat.stderr)
    const read = await samsa(['console-consumer', '--topic', `kcat-${codec}`, '--from-beginning', '--max-messages', '2', '--property', 'print.key=true', ...B])
    t.same(lines(read.stdout), [`k1\t${codec}-one`, `k2\t${codec}-two`], `samsa reads kcat's ${codec}`)

    const fromSamsa = await samsa(['console-producer', '--topic', `samsa-${codec}`, '--compression-codec', codec, ...B], { input: `${codec}-a\n${codec}-b\n` })
    t.equal(fromSamsa.code, 0, fromSamsa.stderr)
    const back = await kcat(['-C', '-t', `samsa-${codec}`, '-o', 'beginning', '-e', '-f', '%s\n'])
    t.same(lines(back.stdout), [`${codec}-a`, `${codec}-b`], `kcat reads samsa's ${codec}`)
  }
})
