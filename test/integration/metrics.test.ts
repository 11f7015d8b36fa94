/**
 * The Prometheus endpoint (`samsa.metrics.listener`) against real traffic from kafkajs: request
 * counts per API, bytes and records in and out per topic, partition offsets, consumer-group lag
 * that follows the committed offset, rejected frames; a deleted topic's gauges go away; the
 * endpoint is off by default and closes with the broker.
 */
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { Broker, ConfigError } from '../../src/index.ts'
import { RawClient } from '../helpers/raw-client.ts'

/** One sample of a scrape: `name{labels} value` → value, looked up by name and a subset of labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]))
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3])
  }
  return undefined
}

t.test('off by default', async (t) => {
  const b = await Broker.start()
  t.teardown(() => b.stop())
  t.equal(b.metricsUrl, null)
})

t.test('a bad samsa.metrics.listener stops start-up naming the key', async (t) => {
  await t.rejects(Broker.start({ config: { 'samsa.metrics.listener': 'localhost' } }), new ConfigError("samsa.metrics.listener: 'localhost' is not host:port (for example 127.0.0.1:9404; empty turns it off)"))
  await t.rejects(Broker.start({ config: { 'samsa.metrics.listener': '127.0.0.1:70000' } }), { name: 'ConfigError', message: /port 70000 is out of range/ })
})

t.test('requests, traffic, offsets and consumer lag, as a scrape shows them', async (t) => {
  const b = await Broker.start({ config: { 'samsa.metrics.listener': '127.0.0.1:0' } })
  t.teardown(() => b.stop())
  t.match(b.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'the real port')
  const scrape = async (): Promise<string> => {
    const res = await fetch(b.metricsUrl!)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
    return res.text()
  }

  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  await admin.createTopics({ topics: [{ topic: 'metered', numPartitions: 2 }, { topic: 'doomed', numPartitions: 1 }] })
  const producer = kafka.producer()
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic: 'metered', messages: [{ partition: 0, value: 'a' }, { partition: 0, value: 'b' }, { partition: 0, value: 'c' }, { partition: 1, value: 'd' }] })
  await producer.send({ topic: 'doomed', messages: [{ value: 'x' }] })

  const consumer = kafka.consumer({ groupId: 'metered-group' })
  await consumer.connect()
  await consumer.subscribe({ topic: 'metered', fromBeginning: true })
  let seen = 0
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async () => { if (++seen === 4) resolve() } })
  })
  await consumer.disconnect()
  await admin.setOffsets({ groupId: 'metered-group', topic: 'metered', partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '1' }] })

  let text = await scrape()
  t.ok(sample(text, 'samsa_requests_total', { api: 'Produce' })! >= 2, 'Produce requests counted')
  t.ok(sample(text, 'samsa_requests_total', { api: 'JoinGroup' })! >= 1, 'group requests counted')
  t.ok(sample(text, 'samsa_request_duration_seconds_count', { api: 'Fetch' })! >= 1, 'Fetch latency observed')
  t.equal(sample(text, 'samsa_topic_records_in_total', { topic: 'metered' }), 4, 'records in')
  const bytesIn = sample(text, 'samsa_topic_bytes_in_total', { topic: 'metered' })!
  t.ok(bytesIn > 61 * 2, `bytes in: at least two batch headers (${bytesIn})`)
  t.equal(sample(text, 'samsa_topic_bytes_out_total', { topic: 'metered' }), bytesIn, 'everything produced was fetched once, whole batches')
  t.equal(sample(text, 'samsa_partition_high_watermark', { topic: 'metered', partition: '0' }), 3)
  t.equal(sample(text, 'samsa_partition_log_end_offset', { topic: 'metered', partition: '1' }), 1)
  t.equal(sample(text, 'samsa_partition_log_start_offset', { topic: 'metered', partition: '0' }), 0)
  t.equal(sample(text, 'samsa_consumer_group_lag', { group: 'metered-group', topic: 'metered', partition: '0' }), 2, 'lag = high watermark - committed offset')
  t.equal(sample(text, 'samsa_consumer_group_lag', { group: 'metered-group', topic: 'metered', partition: '1' }), 0)
  t.equal(sample(text, 'samsa_under_replicated_partitions'), 0)
  t.ok(sample(text, 'samsa_connections')! >= 1, 'the admin and producer connections are open')
  t.ok(sample(text, 'samsa_process_cpu_seconds_total') !== undefined, 'process metrics too')
  t.equal(sample(text, 'samsa_partition_high_watermark', { topic: 'doomed', partition: '0' }), 1)

  // A frame no handler takes is refused (the connection closes) and counted.
  const raw = await RawClient.connect(b.bootstrap)
  raw.send(RawClient.frame(999, 0, 1, () => {}))
  t.ok(await raw.closed(10_000))
  await admin.deleteTopics({ topics: ['doomed'] })
  text = await scrape()
  t.equal(sample(text, 'samsa_frames_rejected_total', { reason: 'unknown_api' }), 1)
  t.equal(sample(text, 'samsa_partition_high_watermark', { topic: 'doomed', partition: '0' }), undefined, 'a deleted topic\'s partitions leave the scrape')

  t.equal((await fetch(b.metricsUrl!.replace(/\/metrics$/, '/'))).status, 404, 'only /metrics is served')
  t.equal((await fetch(b.metricsUrl!, { method: 'POST' })).status, 405)
})

t.test('the endpoint closes with the broker', async (t) => {
  const b = await Broker.start({ config: { 'samsa.metrics.listener': '127.0.0.1:0' } })
  const url = b.metricsUrl!
  t.equal((await fetch(url)).status, 200)
  await b.stop()
  await t.rejects(fetch(url), 'nothing listens any more')
})
