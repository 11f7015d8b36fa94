/**
 * `samsa configs` (kafka-configs.sh) as a child process against a real broker: --describe of a
 * topic's overrides (none, then some) and of all its configs, --alter with --add-config (square
 * brackets for list values) and --delete-config seen through describe and through kafkajs,
 * the broker's message for an invalid value, unknown topics, broker configs (readable, not
 * alterable), and wrong usage as one line with exit code 2.
 */
import t from 'tap'
import { Kafka, logLevel } from 'kafkajs'
import { startBroker } from '../helpers/broker.ts'
import { lines, mapLimit, samsa } from './run-cli.ts'

const TOPIC_RESOURCE = 2
const DYNAMIC_TOPIC_CONFIG = 1

const broker = await startBroker(t)
const B = ['--bootstrap-server', broker.bootstrap]

const kafka = new Kafka({ clientId: 'samsa-configs-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
const admin = kafka.admin()
await admin.connect()
t.teardown(() => admin.disconnect())

await admin.createTopics({
  topics: [
    { topic: 'plain', numPartitions: 1 },
    { topic: 'tuned', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] },
    { topic: 'altered', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] },
  ],
})

/** A config line as Kafka prints it, whatever synonyms follow the topic's own. */
const overrideLine = (name: string, value: string): RegExp =>
  new RegExp(`^  ${name.replaceAll('.', '\\.')}=${value} sensitive=false synonyms=\\{DYNAMIC_TOPIC_CONFIG:${name.replaceAll('.', '\\.')}=${value}(, [A-Z_]+:[a-z.]+=[^,}]+)*\\}$`)

async function kafkajsConfigs(topic: string): Promise<Map<string, { value: string; source: number }>> {
  const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC_RESOURCE, name: topic }] })
  return new Map(res.resources[0]!.configEntries.map((c) => [c.configName, { value: c.configValue, source: (c as unknown as { configSource: number }).configSource }]))
}

t.test('--describe shows only the topic\'s overrides, --all everything', async (t) => {
  const [plain, tuned, all, shortcut] = await Promise.all([
    samsa(['configs', ...B, '--entity-type', 'topics', '--entity-name', 'plain', '--describe']),
    samsa(['configs', ...B, '--entity-type', 'topics', '--entity-name', 'tuned', '--describe']),
    samsa(['configs', ...B, '--entity-type', 'topics', '--entity-name', 'tuned', '--describe', '--all']),
    samsa(['configs', ...B, '--topic', 'tuned', '--describe']),
  ])
  t.equal(plain.code, 0, plain.stderr)
  t.equal(plain.stdout, 'Dynamic configs for topic plain are:\n', 'no overrides: the header alone')

  t.equal(tuned.code, 0, tuned.stderr)
  const out = lines(tuned.stdout)
  t.equal(out[0], 'Dynamic configs for topic tuned are:')
  t.equal(out.length, 2, 'one override')
  t.match(out[1], overrideLine('retention.ms', '60000'))
  t.equal(shortcut.stdout, tuned.stdout, '--topic T is --entity-type topics --entity-name T')

  t.equal(all.code, 0, all.stderr)
  const every = lines(all.stdout)
  t.equal(every[0], 'All configs for topic tuned are:')
  const names = every.slice(1).map((l) => /^ {2}([a-z0-9.]+)=/.exec(l)?.[1])
  t.ok(names.length > 10 && names.every((n) => n !== undefined), 'one "  name=value ..." line per config')
  t.same(names, [...names].sort(), 'sorted by name')
  t.ok(every.some((l) => overrideLine('retention.ms', '60000').test(l)), 'the override among them')
  t.ok(every.some((l) => /^ {2}segment\.bytes=\d+ sensitive=false synonyms=\{[A-Z_]+_CONFIG:log\.segment\.bytes=\d+\}$/.test(l)),
    'a default shows the broker key it comes from')
})

t.test('--alter --add-config / --delete-config changes single keys', async (t) => {
  const res = await samsa(['configs', ...B, '--entity-type', 'topics', '--entity-name', 'altered', '--alter',
    '--add-config', 'cleanup.policy=[compact,delete],max.message.bytes=2048', '--delete-config', 'retention.ms'])
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stdout, 'Completed updating config for topic altered.\n')

  const described = await samsa(['configs', ...B, '--topic', 'altered', '--describe'])
  const out = lines(described.stdout)
  t.equal(out[0], 'Dynamic configs for topic altered are:')
  t.equal(out.length, 3, 'two overrides left')
  t.match(out[1], overrideLine('cleanup.policy', 'compact,delete'))
  t.match(out[2], overrideLine('max.message.bytes', '2048'))

  const seen = await kafkajsConfigs('altered')
  t.same(seen.get('cleanup.policy'), { value: 'compact,delete', source: DYNAMIC_TOPIC_CONFIG }, 'kafkajs sees the list value')
  t.same(seen.get('max.message.bytes'), { value: '2048', source: DYNAMIC_TOPIC_CONFIG })
  t.not(seen.get('retention.ms')?.source, DYNAMIC_TOPIC_CONFIG, 'the deleted override is gone')
  t.not(seen.get('retention.ms')?.value, '60000')

  // Back to no overrides at all, through the --topic shortcut.
  const cleared = await samsa(['configs', ...B, '--topic', 'altered', '--alter', '--delete-config', 'cleanup.policy', '--delete-config', 'max.message.bytes'])
  t.equal(cleared.code, 0, cleared.stderr)
  t.equal(cleared.stdout, 'Completed updating config for topic altered.\n')
  const after = await kafkajsConfigs('altered')
  t.ok([...after.values()].every((c) => c.source !== DYNAMIC_TOPIC_CONFIG), 'no override left')
})

t.test('failures: the broker\'s message, exit code 1', async (t) => {
  const [invalid, notOverridden, unknownAlter, unknownDescribe, brokerAlter] = await Promise.all([
    samsa(['configs', ...B, '--topic', 'plain', '--alter', '--add-config', 'retention.ms=abc']),
    samsa(['configs', ...B, '--topic', 'plain', '--alter', '--delete-config', 'segment.ms']),
    samsa(['configs', ...B, '--topic', 'no-such-topic', '--alter', '--add-config', 'retention.ms=1000']),
    samsa(['configs', ...B, '--topic', 'no-such-topic', '--describe']),
    samsa(['configs', ...B, '--entity-type', 'brokers', '--entity-name', String(broker.nodeId), '--alter', '--add-config', 'log.retention.ms=1000']),
  ])
  t.equal(invalid.code, 1)
  t.equal(lines(invalid.stderr).length, 1, 'one line')
  t.match(invalid.stderr, /^samsa configs: .*\(INVALID_CONFIG\)\n$/)
  t.match(invalid.stderr, /Invalid value abc for configuration retention\.ms/, 'the broker\'s message')
  t.equal(invalid.stdout, '')
  t.equal((await kafkajsConfigs('plain')).get('retention.ms')?.source === DYNAMIC_TOPIC_CONFIG, false, 'nothing was set')

  t.equal(notOverridden.code, 1)
  t.equal(notOverridden.stderr, 'samsa configs: Invalid config(s): segment.ms\n', 'deleting a key the topic does not override, as Kafka')

  t.equal(unknownAlter.code, 1)
  t.match(unknownAlter.stderr, /^samsa configs: .*no-such-topic.*\(UNKNOWN_TOPIC_OR_PARTITION\)\n$/)

  t.equal(unknownDescribe.code, 0, 'as Kafka: not an error for the dynamic view')
  t.equal(unknownDescribe.stdout, "The topic 'no-such-topic' doesn't exist and doesn't have dynamic config.\n")

  t.equal(brokerAlter.code, 1)
  t.match(brokerAlter.stderr, /^samsa configs: .*server\.properties.*\(INVALID_REQUEST\)\n$/, 'broker configs are static')
})

t.test('broker configs can be described', async (t) => {
  const id = String(broker.nodeId)
  const [dynamic, all] = await Promise.all([
    samsa(['configs', ...B, '--entity-type', 'brokers', '--entity-name', id, '--describe']),
    samsa(['configs', ...B, '--broker', id, '--describe', '--all']),
  ])
  t.equal(dynamic.code, 0, dynamic.stderr)
  t.equal(dynamic.stdout, `Dynamic configs for broker ${id} are:\n`, 'Samsa has no dynamic broker configs')
  t.equal(all.code, 0, all.stderr)
  const out = lines(all.stdout)
  t.equal(out[0], `All configs for broker ${id} are:`)
  t.ok(out.some((l) => /^ {2}log\.retention\.hours=168 sensitive=false synonyms=\{DEFAULT_CONFIG:log\.retention\.hours=168\}$/.test(l)), 'a default broker config')
})

t.test('wrong usage: one line naming the problem, exit code 2', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['missing --entity-name', ['--entity-type', 'topics', '--alter', '--add-config', 'retention.ms=1'], /--entity-name/],
    ['both actions', ['--topic', 'plain', '--describe', '--alter', '--add-config', 'retention.ms=1'], /--describe and --alter/],
    ['--alter without changes', ['--topic', 'plain', '--alter'], /--add-config/],
    ['malformed --add-config', ['--topic', 'plain', '--alter', '--add-config', 'retention.ms'], /key=val/],
    ['a non-numeric broker id', ['--entity-type', 'brokers', '--entity-name', 'one', '--describe'], /broker id/],
  ]
  const results = await mapLimit(cases, 3, ([, args]) => samsa(['configs', ...B, ...args]))
  cases.forEach(([what, , problem], i) => {
    const r = results[i]!
    t.equal(r.code, 2, `${what}: exit code`)
    t.equal(lines(r.stderr).length, 1, `${what}: one line`)
    t.match(r.stderr, problem, `${what}: names the problem`)
    t.match(r.stderr, /^samsa configs: /, `${what}: prefixed with the tool`)
  })
})
