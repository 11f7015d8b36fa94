import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseProperties } from '../../../src/config/properties.ts'
import { loadBrokerConfig, ConfigError, didYouMean } from '../../../src/config/broker-config.ts'
import { setLongTimeout, MAX_TIMER_DELAY_MS } from '../../../src/lib/long-timer.ts'
import { validateTopicConfig } from '../../../src/metadata/topic-config.ts'

t.test('parses Java properties syntax', async (t) => {
  const p = parseProperties('# comment\n! also\nkey=value\nspaced : v2\nplain v3\ncont=a\\\n  b\nesc=tab\\tend\n')
  t.equal(p.get('key'), 'value')
  t.equal(p.get('spaced'), 'v2')
  t.equal(p.get('plain'), 'v3')
  t.equal(p.get('cont'), 'ab')
  t.equal(p.get('esc'), 'tab\tend')
})

t.test('the shipped server.properties loads without unknown keys', async (t) => {
  const props = parseProperties(readFileSync(new URL('../../../config/server.properties', import.meta.url), 'utf8'))
  const { config, warnings } = loadBrokerConfig(props)
  t.same(warnings, [])
  t.equal(config.nodeId, 1)
  t.equal(config.listeners[0]!.port, 9092)
  t.equal(config.topicDefaults.retentionMs, 168 * 3_600_000)
})

t.test('invalid values name the key and what it accepts', async (t) => {
  t.throws(() => loadBrokerConfig(new Map([['num.partitions', 'zero']])), { message: /num\.partitions: 'zero' is not an integer; accepted: an integer from 1/ })
  t.throws(() => loadBrokerConfig(new Map([['num.partitions', '0']])), ConfigError)
  t.throws(() => loadBrokerConfig(new Map([['auto.create.topics.enable', 'yes']])), { message: /accepted: true, false/ })
  t.throws(() => loadBrokerConfig(new Map([['listeners', 'PLAINTEXT:/127.0.0.1:9092']])), { message: /listeners: .* is not NAME:\/\/host:port/ })
  t.throws(() => loadBrokerConfig(new Map([['listeners', 'SSL://127.0.0.1:9093']])), { message: /PLAINTEXT only/ })
  t.throws(() => loadBrokerConfig(new Map([['log.message.timestamp.type', 'Wall']])), { message: /accepted: CreateTime, LogAppendTime/ })
  t.throws(() => loadBrokerConfig(new Map([['log.cleanup.policy', 'bogus']])), { message: /log\.cleanup\.policy: 'bogus' is not accepted; accepted: a list of delete, compact/ })
  t.throws(() => loadBrokerConfig(new Map([['log.cleaner.min.cleanable.ratio', '7']])), { message: /log\.cleaner\.min\.cleanable\.ratio: 7 is out of range; accepted: 0 to 1/ })
  t.throws(() => loadBrokerConfig(new Map([['log.cleaner.min.cleanable.ratio', 'half']])), { message: /is not a number/ })
})

t.test('broker defaults of the compaction settings back the topic configs', async (t) => {
  const { config } = loadBrokerConfig(new Map([
    ['log.cleanup.policy', 'compact,delete'], ['log.cleaner.delete.retention.ms', '1000'],
    ['log.cleaner.min.compaction.lag.ms', '2000'], ['log.cleaner.min.cleanable.ratio', '0.1'],
  ]))
  t.same([config.topicDefaults.cleanupPolicy, config.topicDefaults.deleteRetentionMs, config.topicDefaults.minCompactionLagMs, config.topicDefaults.minCleanableDirtyRatio],
    ['compact,delete', 1000, 2000, 0.1])
  const defaults = loadBrokerConfig(new Map()).config.topicDefaults
  t.same([defaults.deleteRetentionMs, defaults.minCompactionLagMs, defaults.minCleanableDirtyRatio], [86_400_000, 0, 0.5], "Kafka's defaults")
})

t.test('topic config values are checked against Kafka\'s types and ranges', async (t) => {
  t.match(validateTopicConfig([{ name: 'retention.ms', value: '99999999999999999999999' }]), /Not a number of type LONG/, 'beyond a 64-bit long')
  t.equal(validateTopicConfig([{ name: 'retention.ms', value: '9223372036854775807' }]), null, 'Long.MAX is a long ("never")')
  t.match(validateTopicConfig([{ name: 'segment.bytes', value: '2147483648' }]), /Not a number of type INT/)
  t.match(validateTopicConfig([{ name: 'min.cleanable.dirty.ratio', value: '7' }]), /no more than 1/)
  t.match(validateTopicConfig([{ name: 'min.cleanable.dirty.ratio', value: 'Infinity' }]), /Not a number of type DOUBLE/)
  t.equal(validateTopicConfig([{ name: 'min.cleanable.dirty.ratio', value: '0.9' }]), null)
  t.equal(validateTopicConfig([{ name: 'cleanup.policy', value: 'delete,shred' }]), 'Invalid value delete,shred for configuration cleanup.policy: shred is not one of: delete, compact')
  t.equal(validateTopicConfig([{ name: 'cleanup.policy', value: 'nope' }]), 'Invalid value nope for configuration cleanup.policy: String must be one of: delete, compact', 'said once, as Kafka says it')
})

t.test('unknown and unimplemented Kafka keys warn once each, with a suggestion', async (t) => {
  const { warnings } = loadBrokerConfig(new Map([['num.network.threads', '3'], ['num.partition', '2']]))
  t.equal(warnings.length, 2)
  t.match(warnings[0], /num\.network\.threads: a Kafka setting Samsa does not implement/)
  t.match(warnings[1], /did you mean num\.partitions\?/)
  t.equal(didYouMean('log.retention.hour'), 'log.retention.hours')
})

t.test('"never" spellings become Infinity, never a timer value', async (t) => {
  const { config } = loadBrokerConfig(new Map([
    ['log.retention.ms', '-1'], ['log.flush.interval.ms', '9223372036854775807'], ['connections.max.idle.ms', '-1'],
  ]))
  t.equal(config.topicDefaults.retentionMs, Infinity)
  t.equal(config.topicDefaults.flushMs, Infinity)
  t.equal(config.connectionsMaxIdleMs, Infinity)
  t.equal(config.topicDefaults.flushMessages, Infinity, 'Long.MAX messages means never')
})

t.test('long timers do not fire early', async (t) => {
  let now = 0
  let fired = 0
  const thirtyDays = 30 * 24 * 3_600_000
  t.ok(thirtyDays > MAX_TIMER_DELAY_MS)
  const timer = setLongTimeout(() => fired++, thirtyDays, () => now)
  await new Promise((r) => setTimeout(r, 20))
  t.equal(fired, 0, '30-day timer has not fired after 20 ms')
  timer.cancel()
  const never = setLongTimeout(() => fired++, Infinity)
  await new Promise((r) => setTimeout(r, 20))
  t.equal(fired, 0)
  never.cancel()
  now = 0
  const soon = setLongTimeout(() => fired++, 5, () => now)
  now = 10
  await new Promise((r) => setTimeout(r, 20))
  t.equal(fired, 1, 'a due timer fires')
  soon.cancel()
})

t.test('a derived default is described with the value in use (samsa.shard.workers)', async (t) => {
  t.equal(loadBrokerConfig(new Map()).config.raw.get('samsa.shard.workers'), String(loadBrokerConfig(new Map()).config.shardWorkers))
  t.equal(loadBrokerConfig(new Map([['samsa.shard.workers', '3']])).config.raw.get('samsa.shard.workers'), '3')
})

t.test('log.segment.delete.delay.ms is the broker key (Kafka\'s); file.delete.delay.ms is accepted too, and loses to it', async (t) => {
  const delay = (entries: [string, string][]) => loadBrokerConfig(new Map(entries)).config.fileDeleteDelayMs
  t.equal(delay([]), 60_000)
  t.equal(delay([['log.segment.delete.delay.ms', '5']]), 5)
  t.equal(delay([['file.delete.delay.ms', '7']]), 7)
  t.equal(delay([['file.delete.delay.ms', '7'], ['log.segment.delete.delay.ms', '5']]), 5)
  t.equal(loadBrokerConfig(new Map([['log.segment.delete.delay.ms', '0']])).config.topicDefaults.fileDeleteDelayMs, 0)
  t.same(loadBrokerConfig(new Map([['log.segment.delete.delay.ms', '0']])).warnings, [], 'a known key: no warning')
})
