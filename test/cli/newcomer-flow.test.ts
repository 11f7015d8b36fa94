/**
 * The README's newcomer flow with the real `samsa` command against a real broker: create a
 * topic, produce lines, consume them from the beginning, describe, alter, delete; Ctrl-C and
 * the formatter and line-reader properties.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { lines, samsa } from './run-cli.ts'

// Every check starts `samsa` as a child process: allow more than the default 120 s on a busy machine.
t.setTimeout(300_000)

// No initial rebalance delay: every console consumer joins a (generated) group, as Kafka's does.
const broker = await startBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } })
const B = ['--bootstrap-server', broker.bootstrap]

t.test('create, produce, consume from the beginning, describe, delete', async (t) => {
  const create = await samsa(['topics', '--create', '--topic', 'quickstart-events', '--partitions', '1', '--replication-factor', '1', '--config', 'retention.ms=86400000', ...B])
  t.equal(create.code, 0, create.stderr)
  t.equal(create.stdout, 'Created topic quickstart-events.\n')

  const again = await samsa(['topics', '--create', '--topic', 'quickstart-events', ...B])
  t.equal(again.code, 1, 'creating an existing topic fails')
  t.match(again.stdout, /^Error while executing topic command : Topic 'quickstart-events' already exists\.\n$/)
  const quiet = await samsa(['topics', '--create', '--topic', 'quickstart-events', '--if-not-exists', ...B])
  t.equal(quiet.code, 0, '--if-not-exists forgives it')
  t.equal(quiet.stdout, '')

  const list = await samsa(['topics', '--list', ...B])
  t.equal(list.code, 0, list.stderr)
  t.ok(lines(list.stdout).includes('quickstart-events'))

  const produce = await samsa(['console-producer', '--topic', 'quickstart-events', ...B], { input: 'This is my first event\nThis is my second event\n' })
  t.equal(produce.code, 0, produce.stderr)
  const keyed = await samsa(['console-producer', '--topic', 'quickstart-events', '--property', 'parse.key=true', '--property', 'key.separator=:',
    '--producer-property', 'acks=all', '--compression-codec', 'zstd', ...B], { input: 'k1:v1\nk2:v2\n' })
  t.equal(keyed.code, 0, keyed.stderr)

  const consume = await samsa(['console-consumer', '--topic', 'quickstart-events', '--from-beginning', '--max-messages', '4', ...B])
  t.equal(consume.code, 0, consume.stderr)
  t.same(lines(consume.stdout), ['This is my first event', 'This is my second event', 'v1', 'v2'])
  t.match(consume.stderr, /Processed a total of 4 messages/)

  const props = await samsa(['console-consumer', '--topic', 'quickstart-events', '--partition', '0', '--offset', '2', '--max-messages', '2',
    '--property', 'print.key=true', '--property', 'print.offset=true', '--property', 'print.partition=true', '--property', 'print.timestamp=true', ...B])
  t.equal(props.code, 0, props.stderr)
  const got = lines(props.stdout)
  t.equal(got.length, 2)
  t.match(got[0], /^CreateTime:\d+\tPartition:0\tOffset:2\tk1\tv1$/, 'Kafka\'s DefaultMessageFormatter layout')
  t.match(got[1], /^CreateTime:\d+\tPartition:0\tOffset:3\tk2\tv2$/)

  const describe = await samsa(['topics', '--describe', '--topic', 'quickstart-events', ...B])
  t.equal(describe.code, 0, describe.stderr)
  const [head, part0, ...rest] = lines(describe.stdout)
  t.match(head, /^Topic: quickstart-events\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: retention\.ms=86400000$/)
  t.equal(part0, `\tTopic: quickstart-events\tPartition: 0\tLeader: ${broker.nodeId}\tReplicas: ${broker.nodeId}\tIsr: ${broker.nodeId}\tElr: N/A\tLastKnownElr: N/A`)
  t.same(rest, [])

  const alter = await samsa(['topics', '--alter', '--topic', 'quickstart-events', '--partitions', '3', ...B])
  t.equal(alter.code, 0, alter.stderr)
  const described = await samsa(['topics', '--describe', '--topic', 'quickstart-events', ...B])
  t.match(described.stdout, /PartitionCount: 3/)
  t.equal(lines(described.stdout).length, 4)

  const del = await samsa(['topics', '--delete', '--topic', 'quickstart-events', ...B])
  t.equal(del.code, 0, del.stderr)
  const after = await samsa(['topics', '--list', ...B])
  t.notOk(lines(after.stdout).includes('quickstart-events'), 'deleted')
  const missing = await samsa(['topics', '--describe', '--topic', 'quickstart-events', ...B])
  t.equal(missing.code, 1)
  t.match(missing.stdout, /Topic 'quickstart-events' does not exist as expected/)
  const ifExists = await samsa(['topics', '--delete', '--topic', 'quickstart-events', '--if-exists', ...B])
  t.equal(ifExists.code, 0, '--if-exists forgives a missing topic')
})

t.test('console-consumer stops cleanly on Ctrl-C with a summary', async (t) => {
  await samsa(['topics', '--create', '--topic', 'ctrl-c', '--partitions', '2', ...B])
  await samsa(['console-producer', '--topic', 'ctrl-c', ...B], { input: 'a\nb\nc\n' })
  let sent = false
  const r = await samsa(['console-consumer', '--topic', 'ctrl-c', '--from-beginning', ...B], {
    onSpawn: (child) => {
      child.stdin!.end()
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (!sent && lines(out).length >= 3) {
          sent = true
          child.kill('SIGINT')
        }
      })
    },
  })
  t.ok(sent, 'records arrived')
  t.equal(r.code, 0, r.stderr)
  t.same(lines(r.stdout).sort(), ['a', 'b', 'c'])
  t.match(r.stderr, /Processed a total of 3 messages\n$/)
})

t.test('console-consumer --timeout-ms, --group, headers and null markers', async (t) => {
  const p = await samsa(['console-producer', '--topic', 'extras', '--property', 'parse.headers=true', '--property', 'parse.key=true',
    '--property', 'null.marker=NULL', ...B], { input: 'h1:x,h2:y\tkey\tNULL\n' })
  t.equal(p.code, 0, p.stderr)
  // The one record, then exit; --timeout-ms here is only a safety net (the run below checks that it
  // ends a consumer that gets nothing).
  const c = await samsa(['console-consumer', '--topic', 'extras', '--from-beginning', '--max-messages', '1', '--timeout-ms', '20000', '--group', 'my-group',
    '--property', 'print.headers=true', '--property', 'print.key=true', ...B])
  t.equal(c.code, 0, c.stderr)
  t.equal(c.stdout, 'h1:x,h2:y\tkey\tnull\n')
  t.equal(c.stderr, 'Processed a total of 1 messages\n')
  const again = await samsa(['console-consumer', '--topic', 'extras', '--from-beginning', '--timeout-ms', '1000', '--group', 'my-group', ...B])
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, '', 'my-group committed its offset: --from-beginning does not apply any more')
})

t.test('console-producer stops at a line it cannot parse, as Kafka\'s does; ignore.error=true sends it whole', async (t) => {
  const bad = await samsa(['console-producer', '--topic', 'unparsed', '--property', 'parse.key=true', ...B], { input: 'k1\tv1\nno separator\nk3\tv3\n' })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^samsa console-producer: no key separator '\t' found on line 2: 'no separator'; stopped reading/)
  const lenient = await samsa(['console-producer', '--topic', 'unparsed', '--property', 'parse.key=true', '--property', 'ignore.error=true', ...B], { input: 'no separator\nk4\tv4\n' })
  t.equal(lenient.code, 0, lenient.stderr)
  const read = await samsa(['console-consumer', '--topic', 'unparsed', '--from-beginning', '--max-messages', '3', '--timeout-ms', '20000', '--property', 'print.key=true', ...B])
  t.equal(read.code, 0, read.stderr)
  t.same(lines(read.stdout), ['k1\tv1', 'null\tno separator', 'k4\tv4'], 'nothing after the bad line was sent; the lenient run sent the line as a keyless value')
})

t.test('--consumer.config and --producer.config files are read, and a missing one is refused', async (t) => {
  const dir = t.testdir({
    'consumer.properties': 'group.id=from-file\nauto.offset.reset=earliest\n',
    'producer.properties': 'compression.type=gzip\nacks=all\n',
    'bad-producer.properties': 'compression.type=bogus\n',
  })
  const sent = await samsa(['console-producer', '--topic', 'from-files', '--producer.config', `${dir}/producer.properties`, ...B], { input: 'one\ntwo\n' })
  t.equal(sent.code, 0, sent.stderr)
  const read = await samsa(['console-consumer', '--topic', 'from-files', '--consumer.config', `${dir}/consumer.properties`, '--max-messages', '2', '--timeout-ms', '20000', ...B])
  t.equal(read.code, 0, read.stderr)
  t.same(lines(read.stdout), ['one', 'two'], 'auto.offset.reset=earliest from the file')
  const groups = await samsa(['consumer-groups', '--list', ...B])
  t.ok(lines(groups.stdout).includes('from-file'), 'group.id from the file')
  const bad = await samsa(['console-producer', '--topic', 'from-files', '--producer.config', `${dir}/bad-producer.properties`, ...B], { input: 'x\n' })
  t.equal(bad.code, 2)
  t.match(bad.stderr, /compression\.type/)
  for (const [cmd, flag] of [['console-consumer', '--consumer.config'], ['console-producer', '--producer.config']] as const) {
    const missing = await samsa([cmd, '--topic', 'from-files', flag, `${dir}/nope.properties`, ...B], { input: '' })
    t.equal(missing.code, 2, `${cmd}: wrong usage`)
    t.match(missing.stderr, new RegExp(`${flag.replace('.', '\\.')}: cannot read .*nope\\.properties: ENOENT`))
  }
})
