/**
 * How `samsa` talks to people who get something wrong: --help lists every option with its
 * default; wrong usage is one line naming the option and exit code 2; an unreachable broker is
 * one line within the timeout; legacy flags from old tutorials get a one-line notice.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { startBroker } from '../helpers/broker.ts'
import { lines, mapLimit, samsa, type CliResult } from './run-cli.ts'

// Every check starts `samsa` as a child process: allow more than the default 120 s on a busy machine.
t.setTimeout(300_000)

/** Help text with its line wrapping undone. */
const flat = (r: CliResult): string => r.stdout.replace(/\s+/g, ' ')

/** The help entry of one option (its line and the wrapped lines under it), unwrapped. */
function optionHelp(r: CliResult, flag: string): string {
  const all = r.stdout.split('\n')
  const start = all.findIndex((l) => l.startsWith(`  ${flag}`))
  if (start < 0) return ''
  let end = start + 1
  while (end < all.length && /^ {4,}\S/.test(all[end]!)) end++
  return all.slice(start, end).join(' ').replace(/\s+/g, ' ').trim()
}

t.test('--help lists the commands, and each command its options with defaults', async (t) => {
  const [top, topics, producer, consumer, perf, dump, perfTop, groups] = await mapLimit([
    ['--help'], ['topics', '--help'], ['console-producer', '--help'], ['console-consumer', '--help'], ['perf', 'produce', '--help'],
    ['dump-log', '--help'], ['perf', '--help'], ['consumer-groups', '--help'],
  ], 3, (args) => samsa(args))
  for (const r of [top, topics, producer, consumer, perf, dump, perfTop, groups]) t.equal(r!.code, 0)
  for (const c of ['server-start', 'topics', 'console-producer', 'console-consumer', 'consumer-groups', 'dump-log', 'perf']) t.match(top!.stdout, new RegExp(`\\n  ${c}\\b`), c)
  for (const o of ['--list', '--describe', '--delete', '--reset-offsets', '--delete-offsets', '--group', '--topic', '--to-earliest', '--to-latest',
    '--to-offset', '--shift-by', '--to-datetime', '--dry-run', '--execute']) t.match(flat(groups!), o)
  for (const o of ['--create', '--list', '--describe', '--delete', '--alter', '--topic', '--partitions', '--replication-factor', '--config',
    '--if-exists', '--if-not-exists', '--bootstrap-server', '--broker-list', '--zookeeper']) t.match(flat(topics!), o)
  t.match(optionHelp(topics!, '--bootstrap-server'), /\(default: "localhost:9092"\)/)
  t.match(optionHelp(producer!, '--compression-codec'), /\(default: "none"\)/)
  t.match(optionHelp(producer!, '--request-required-acks'), /\(default: "-1"\)/)
  t.match(optionHelp(consumer!, '--offset'), /\(default: "latest"\)/)
  t.match(optionHelp(consumer!, '--group'), /resumes from its committed offsets/)
  t.match(optionHelp(perf!, '--throughput'), /\(default: -1\)/)
  t.match(optionHelp(perf!, '--max-in-flight'), /\(default: 5\)/)
  t.match(flat(dump!), /--verify-index-only/)
  for (const c of ['produce', 'consume', 'e2e']) t.match(perfTop!.stdout, c)
})

t.test('wrong usage: one line naming the problem, exit code 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['topics', '--list', '--bogus'], /^samsa topics: unknown option '--bogus'/],
    [['topics', '--list', '--topci', 'x'], /^samsa topics: unknown option '--topci' \(Did you mean --topic\?\)/],
    [['topics'], /^samsa topics: one action is required: --list, --describe, --create, --alter or --delete/],
    [['topics', '--list', '--create'], /^samsa topics: only one action at a time, got --create and --list/],
    [['topics', '--create'], /^samsa topics: --create needs --topic/],
    [['topics', '--create', '--topic', 't', '--partitions', 'many'], /^samsa topics: option '--partitions <n>' argument 'many' is invalid/],
    [['topics', '--delete', '--topic', 't', '--partitions', '3'], /^samsa topics: --partitions can only be used with --create or --alter/],
    [['topics', '--alter', '--topic', 't'], /^samsa topics: --alter needs --partitions/],
    [['topics', '--create', '--topic', 't', '--config', 'retention.ms'], /^samsa topics: --config expects key=value, got 'retention.ms'/],
    [['console-producer'], /^samsa console-producer: --topic is required/],
    [['console-producer', '--topic', 't', '--property', 'parse.kye=true'], /^samsa console-producer: --property: unknown setting 'parse.kye'/],
    [['console-producer', '--topic', 't', '--compression-codec', 'brotli'], /^samsa console-producer: --compression-codec: unknown compression codec 'brotli'/],
    [['console-consumer', '--topic', 't', '--offset', '5'], /^samsa console-consumer: --offset needs --partition/],
    [['console-consumer', '--topic', 't', '--max-messages', '0'], /^samsa console-consumer: option '--max-messages <n>' argument '0' is invalid/],
    [['perf', 'produce', '--topic', 't', '--record-size', '10'], /^samsa perf produce: --num-records is required/],
    [['perf', 'produce', '--topic', 't', '--num-records', '10', '--record-size', '10', '--acks', '2'], /^samsa perf produce: --acks: expected 0, 1, -1 or all/],
    [['perf', 'frob'], /^samsa perf: unknown command 'frob'/],
    [['dump-log'], /^samsa dump-log: --files is required/],
    [['frobnicate'], /^samsa: unknown command 'frobnicate'/],
    // An option whose value was forgotten must not swallow the next option as its value.
    [['topics', '--create', '--topic', '--bootstrap-server', '127.0.0.1:1'], /^samsa topics: option '--topic <topic>' argument missing \(got the option '--bootstrap-server' instead\)/],
    [['console-consumer', '--topic', '--from-beginning', '--bootstrap-server', '127.0.0.1:1'], /^samsa console-consumer: option '--topic <topic>' argument missing \(got the option '--from-beginning' instead\)/],
    [['perf', 'consume', '--topic', 't', '--messages', '--timeout', '5'], /^samsa perf consume: option '--messages <n>' argument missing \(got the option '--timeout' instead\)/],
    [['console-producer', '--topic', 't', '--property', '--help'], /^samsa console-producer: option '--property <key=value>' argument missing \(got the option '--help' instead\)/],
    [['server-start', '--override', '--override', 'a=b'], /^samsa server-start: option '--override <key=value>' argument missing/],
  ]
  await mapLimit(cases, 3, async ([args, expected]) => {
    const r = await samsa(args)
    t.equal(r.code, 2, `${args.join(' ')}: exit code 2 (${r.stderr.trim()})`)
    t.equal(lines(r.stderr).length, 1, `${args.join(' ')}: one line`)
    t.match(r.stderr, expected, args.join(' '))
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
  })
})

t.test('an unreachable broker: one line within the timeout, no stack trace', async (t) => {
  for (const args of [['topics', '--list'], ['console-consumer', '--topic', 't'], ['perf', 'produce', '--topic', 't', '--num-records', '1', '--record-size', '1']]) {
    const r = await samsa([...args, '--bootstrap-server', '127.0.0.1:1', '--connect-timeout-ms', '1000'], { input: 'x\n' })
    t.equal(r.code, 1, args[0])
    t.equal(lines(r.stderr).length, 1, `${args[0]}: one line: ${r.stderr}`)
    t.match(r.stderr, /cannot reach a broker at 127\.0\.0\.1:1 \(connection refused\) within 1000 ms — is the broker running\?/)
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
    t.ok(r.ms < 30_000, `gave up in time (${r.ms} ms including Node start-up)`)
  }
  const producer = await samsa(['console-producer', '--topic', 't', '--bootstrap-server', '127.0.0.1:1', '--connect-timeout-ms', '500'], { input: 'x\n' })
  t.equal(producer.code, 1)
  t.match(producer.stderr, /^samsa console-producer: cannot reach a broker/)
  const badHost = await samsa(['topics', '--list', '--bootstrap-server', 'no-such-host.invalid:9092', '--connect-timeout-ms', '500'])
  t.equal(badHost.code, 1)
  t.match(badHost.stderr, /no-such-host\.invalid:9092 \(unknown host\)/)
})

t.test('legacy flags from old tutorials', async (t) => {
  const broker = await startBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } })
  const list = await samsa(['topics', '--create', '--topic', 'legacy', '--broker-list', broker.bootstrap])
  t.equal(list.code, 0, list.stderr)
  t.equal(list.stdout, 'Created topic legacy.\n')
  t.equal(list.stderr, `samsa topics: note: --broker-list is the old name of --bootstrap-server; using --bootstrap-server ${broker.bootstrap}\n`)

  const produce = await samsa(['console-producer', '--topic', 'legacy', '--broker-list', broker.bootstrap], { input: 'old-school\n' })
  t.equal(produce.code, 0, produce.stderr)
  t.match(produce.stderr, /--broker-list is the old name of --bootstrap-server/)

  const zk = await samsa(['topics', '--list', '--zookeeper', '127.0.0.1:2181', '--connect-timeout-ms', '300'])
  t.match(lines(zk.stderr)[0], /^samsa topics: note: --zookeeper 127\.0\.0\.1:2181: Samsa has no ZooKeeper .*trying the broker at 127\.0\.0\.1:9092 instead — use --bootstrap-server 127\.0\.0\.1:9092$/)
  if (zk.code !== 0) t.match(lines(zk.stderr)[1], /cannot reach a broker at 127\.0\.0\.1:9092/, 'tried the same host on the broker port')

  const both = await samsa(['console-consumer', '--topic', 'legacy', '--from-beginning', '--max-messages', '1', '--zookeeper', 'localhost:2181', '--bootstrap-server', broker.bootstrap])
  t.equal(both.code, 0, both.stderr)
  t.equal(both.stdout, 'old-school\n')
  t.match(both.stderr, /--zookeeper is ignored: Samsa has no ZooKeeper/)
})

t.test('--version, on the program and on each tool, as Kafka\'s scripts have it', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  for (const args of [['--version'], ['topics', '--version'], ['console-consumer', '--version']]) {
    const r = await samsa(args)
    t.equal(r.code, 0, args.join(' '))
    t.equal(r.stdout, `${version}\n`)
  }
})
