/**
 * Consumer groups through the real `samsa` command against a real broker: console consumers
 * sharing a group split the partitions and together print every record once; another group
 * gets everything; a member killed without leaving is evicted and its partitions taken over;
 * committed offsets are resumed; `consumer-groups --describe` shows the lag that is really
 * there; `--reset-offsets` and `--delete` refuse active groups and work on inactive ones.
 */
import t, { type Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { startBroker } from '../helpers/broker.ts'
import { lines, mapLimit, samsa, type CliResult } from './run-cli.ts'
import { Admin, KafkaClient, Producer } from '../../src/client/index.ts'
import { GroupAdmin } from '../../src/client/group-admin.ts'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, rangeAssignor, roundRobinAssignor } from '../../src/client/assignors.ts'
import { hasKcat } from '../helpers/external.ts'
import { waitFor } from '../helpers/wait.ts'

// Every check starts `samsa` as a child process; one waits out a 6 s session timeout.
t.setTimeout(180_000)

// No initial rebalance delay: the group forms as soon as its members have joined.
const broker = await startBroker(t, { config: { 'group.initial.rebalance.delay.ms': 0 } })
const B = ['--bootstrap-server', broker.bootstrap]
const SHORT_SESSION = ['--consumer-property', 'session.timeout.ms=6000']

// Setting up and waiting go through the client library in-process (each `samsa` start costs
// about a second); what is under test always runs as the real command.
const client = new KafkaClient({ bootstrap: broker.bootstrap })
const admin = new Admin(client)
const groups = new GroupAdmin(client)
const producer = new Producer(client, { lingerMs: 1 })
t.teardown(async () => {
  await producer.close()
  client.close()
})

async function createTopic(name: string, numPartitions: number): Promise<void> {
  const [r] = await admin.createTopics([{ name, numPartitions }])
  if (r?.error) throw r.error
}

/** Keyed records k<i>=v<i>, so they spread over the partitions. */
async function produce(topic: string, from: number, to: number): Promise<void> {
  await Promise.all(Array.from({ length: to - from + 1 }, (_, i) => producer.send({ topic, key: `k${from + i}`, value: `v${from + i}` })))
}

/** Member ids owning partitions, from DescribeGroups. */
async function owners(group: string): Promise<Set<string>> {
  const d = await groups.describeGroup(group)
  return d.state === 'Stable' ? new Set(d.members.filter((m) => m.assignment.length > 0).map((m) => m.memberId)) : new Set()
}

interface Running {
  child: ChildProcess
  out: () => string
  result: Promise<CliResult>
}

/** A console consumer left running; killed at teardown if the test did not stop it. */
function startConsumer(t: Test, args: readonly string[]): Running {
  let child: ChildProcess | null = null
  let out = ''
  const result = samsa(['console-consumer', ...args, ...SHORT_SESSION, ...B], {
    timeoutMs: 120_000,
    onSpawn: (c) => {
      child = c
      c.stdin!.end()
      c.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    },
  })
  const running = child as ChildProcess | null
  if (!running) throw new Error('samsa did not start')
  t.teardown(() => {
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGKILL')
  })
  return { child: running, out: () => out, result }
}


const values = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `v${from + i}`)

interface DescribeRow {
  group: string; topic: string; partition: number; current: string; logEnd: string; lag: string; consumerId: string; host: string; clientId: string
}

async function describe(group: string): Promise<{ rows: DescribeRow[]; r: CliResult }> {
  const r = await samsa(['consumer-groups', '--describe', '--group', group, ...B])
  const all = lines(r.stdout)
  const rows = all.slice(1).map((l) => {
    const [g, topic, partition, current, logEnd, lag, consumerId, host, clientId] = l.split(/\s+/)
    return { group: g!, topic: topic!, partition: Number(partition), current: current!, logEnd: logEnd!, lag: lag!, consumerId: consumerId!, host: host!, clientId: clientId! }
  })
  return { rows, r }
}

const sum = (rows: DescribeRow[], k: 'current' | 'logEnd' | 'lag'): number => rows.reduce((n, r) => n + Number(r[k]), 0)

/** Partition → values printed, from `--property print.partition=true` output. */
function byPartition(out: string): Map<number, string[]> {
  const m = new Map<number, string[]>()
  for (const l of lines(out)) {
    const [p, v] = l.split('\t')
    const n = Number(p!.replace('Partition:', ''))
    m.set(n, [...(m.get(n) ?? []), v!])
  }
  return m
}

t.test('assignors and the consumer protocol encodings', async (t) => {
  const members = ['m-c', 'm-a', 'm-b'].map((memberId) => ({ memberId, groupInstanceId: null, topics: ['x', 'y'] }))
  const counts = new Map([['x', 4], ['y', 2]])
  const range = rangeAssignor.assign(members, counts)
  t.same(range.get('m-a'), [{ topic: 'x', partition: 0 }, { topic: 'x', partition: 1 }, { topic: 'y', partition: 0 }], 'range: the first member takes the extra partition')
  t.same(range.get('m-c'), [{ topic: 'x', partition: 3 }])
  const rr = roundRobinAssignor.assign(members, counts)
  t.same(rr.get('m-a'), [{ topic: 'x', partition: 0 }, { topic: 'x', partition: 3 }])
  t.same(rr.get('m-c'), [{ topic: 'x', partition: 2 }, { topic: 'y', partition: 1 }])
  const single = rangeAssignor.assign([{ memberId: 'only', groupInstanceId: null, topics: ['x', 'missing'] }], counts)
  t.equal(single.get('only')!.length, 4, 'topics that do not exist are skipped')

  const sub = decodeSubscription(encodeSubscription(['x'], [{ topic: 'x', partition: 1 }], 7))
  t.same([sub.topics, sub.ownedPartitions, sub.generationId], [['x'], [{ topic: 'x', partitions: [1] }], 7])
  t.equal(encodeSubscription(['x'], [], -1).readInt16BE(0), 3, 'an int16 version first')
  // A version-0 subscription from an older client: version, topics, user data.
  const v0 = Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0x78, 0xff, 0xff, 0xff, 0xff])
  t.same(decodeSubscription(v0).topics, ['x'])
  t.same(decodeAssignment(encodeAssignment([{ topic: 'y', partition: 1 }, { topic: 'x', partition: 2 }])), [{ topic: 'x', partition: 2 }, { topic: 'y', partition: 1 }])
  t.same(decodeAssignment(Buffer.alloc(0)), [], 'an empty assignment: no partitions')
})

t.test('members of one group share the partitions; another group gets everything; a killed member is evicted', async (t) => {
  await createTopic('shared', 4)
  const args = ['--topic', 'shared', '--group', 'sharers', '--from-beginning', '--property', 'print.partition=true']
  const a = startConsumer(t, args)
  const b = startConsumer(t, args)
  await waitFor('both members to own partitions', async () => (await owners('sharers')).size === 2)
  const { rows: stable } = await describe('sharers')
  t.same(stable.map((r) => r.partition).sort(), [0, 1, 2, 3], 'every partition has an owner')
  for (const r of stable) {
    t.match(r.consumerId, /^console-consumer-/, 'CONSUMER-ID: the member id the broker gave')
    t.equal(r.host, '/127.0.0.1')
    t.equal(r.clientId, 'console-consumer')
  }

  await produce('shared', 1, 200)
  await waitFor('200 records printed', () => lines(a.out()).length + lines(b.out()).length >= 200)
  const pa = byPartition(a.out())
  const pb = byPartition(b.out())
  t.ok(pa.size > 0 && pb.size > 0, 'both members printed records')
  t.same([...pa.keys()].filter((p) => pb.has(p)), [], 'no partition was read by both')
  t.same([...pa.values(), ...pb.values()].flat().sort(), values(1, 200).sort(), 'together: every record exactly once')

  const other = await samsa(['console-consumer', '--topic', 'shared', '--group', 'others', '--from-beginning', '--max-messages', '200', ...SHORT_SESSION, ...B])
  t.equal(other.code, 0, other.stderr)
  t.same(lines(other.stdout).sort(), values(1, 200).sort(), 'a second group gets every record')
  t.match(other.stderr, /Processed a total of 200 messages\n$/)

  // SIGKILL: no LeaveGroup; the coordinator evicts the member after its session timeout.
  a.child.kill('SIGKILL')
  await produce('shared', 201, 220)
  await waitFor('the survivor to take over and print the late records', () => {
    const seen = new Set(lines(b.out()).map((l) => l.split('\t')[1]))
    return values(201, 220).every((v) => seen.has(v))
  })
  t.equal((await owners('sharers')).size, 1, 'one member owns every partition')
  b.child.kill('SIGINT')
  const rb = await b.result
  t.equal(rb.code, 0, rb.stderr)
  t.match(rb.stderr, /Processed a total of \d+ messages\n$/)

  // Closed with a commit: no lag; 30 more records are 30 of lag.
  await produce('shared', 221, 250)
  const { rows, r } = await describe('sharers')
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /Consumer group 'sharers' has no active members\./)
  t.match(r.stdout, /^\nGROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID\n/)
  t.equal(rows.length, 4)
  t.equal(sum(rows, 'current'), 220, 'committed: everything consumed')
  t.equal(sum(rows, 'logEnd'), 250)
  t.equal(sum(rows, 'lag'), 30, 'lag: produced minus consumed')
  t.ok(rows.every((x) => x.consumerId === '-' && x.host === '-' && x.clientId === '-'), 'no member columns without members')
})

t.test('committed offsets are resumed; --reset-offsets rewinds an inactive group', async (t) => {
  await createTopic('resumed', 3)
  await produce('resumed', 1, 90)
  const first = await samsa(['console-consumer', '--topic', 'resumed', '--group', 'resumers', '--from-beginning', '--max-messages', '40', ...SHORT_SESSION, ...B])
  t.equal(first.code, 0, first.stderr)
  t.equal(lines(first.stdout).length, 40)
  t.equal((await groups.committedOffsets('resumers')).reduce((n, c) => n + c.offset, 0), 40, 'what was printed is what was committed')

  // The 50 records the first run left; --timeout-ms is only a safety net (a short one would stop
  // before everything arrived on a busy machine).
  const rest = await samsa(['console-consumer', '--topic', 'resumed', '--group', 'resumers', '--max-messages', '50', '--timeout-ms', '20000', ...SHORT_SESSION, ...B])
  t.equal(rest.code, 0, rest.stderr)
  t.same([...lines(first.stdout), ...lines(rest.stdout)].sort(), values(1, 90).sort(), 'the second run starts where the first stopped')

  // Shifting past the log end: Kafka's notice, clamped to the log end offsets (a dry run).
  const dry = await samsa(['consumer-groups', '--reset-offsets', '--group', 'resumers', '--topic', 'resumed', '--shift-by', '1000', '--dry-run', ...B])
  t.equal(dry.code, 0, dry.stderr)
  const ends = await admin.listOffsets([0, 1, 2].map((partition) => ({ topic: 'resumed', partition })), -1)
  const table = lines(dry.stdout).filter((l) => !l.startsWith('New offset'))
  t.same(lines(dry.stdout).filter((l) => l.startsWith('New offset')).length, 3)
  t.match(dry.stdout, /New offset \(\d+\) is higher than latest offset for topic partition resumed-0\. Value will be set to \d+/)
  t.same(table.map((l) => l.trim().split(/\s+/)), [['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
    ...ends.sort((a, b) => a.partition - b.partition).map((o) => ['resumers', 'resumed', String(o.partition), String(o.offset)])])
  const committedSum = async (): Promise<number> => (await groups.committedOffsets('resumers')).reduce((n, c) => n + c.offset, 0)
  t.equal(await committedSum(), 90, 'a dry run changes nothing')

  const exec = await samsa(['consumer-groups', '--reset-offsets', '--group', 'resumers', '--topic', 'resumed', '--to-earliest', '--execute', ...B])
  t.equal(exec.code, 0, exec.stderr)
  t.same(lines(exec.stdout).map((l) => l.trim().split(/\s+/)), [['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
    ['resumers', 'resumed', '0', '0'], ['resumers', 'resumed', '1', '0'], ['resumers', 'resumed', '2', '0']])
  t.equal(await committedSum(), 0, 'executed: back to the beginning')
  const again = await samsa(['console-consumer', '--topic', 'resumed', '--group', 'resumers', '--max-messages', '90', ...SHORT_SESSION, ...B])
  t.equal(again.code, 0, again.stderr)
  t.same(lines(again.stdout).sort(), values(1, 90).sort(), 'every record again after the reset')
})

t.test('active groups are protected; inactive ones can be deleted', async (t) => {
  await createTopic('guarded', 2)
  const c = startConsumer(t, ['--topic', 'guarded', '--group', 'guarded-g'])
  await waitFor('the member to own the partitions', async () => (await owners('guarded-g')).size === 1)

  const [reset, busy, members, state] = await Promise.all([
    ['--reset-offsets', '--group', 'guarded-g', '--topic', 'guarded', '--to-earliest', '--execute'], ['--delete', '--group', 'guarded-g'],
    ['--describe', '--group', 'guarded-g', '--members'], ['--describe', '--group', 'guarded-g', '--state'],
  ].map((args) => samsa(['consumer-groups', ...args, ...B])))
  t.equal(reset!.code, 1)
  t.match(reset!.stderr, /Error: Assignments can only be reset if the group 'guarded-g' is inactive, but the current state is Stable\./)
  t.match(lines(members!.stdout).map((l) => l.trim().split(/\s+/)), [['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'],
    ['guarded-g', /^console-consumer-/, '/127.0.0.1', 'console-consumer', '2']], '--members')
  t.match(lines(state!.stdout)[1], /^guarded-g\s+\S+:\d+ {2}\(\d+\)\s+range\s+Stable\s+1$/, '--state')
  t.equal(busy!.code, 1)
  t.match(busy!.stdout, /\* Group 'guarded-g' could not be deleted due to: the group is not empty.*\(NON_EMPTY_GROUP\)/)

  c.child.kill('SIGINT')
  const rc = await c.result
  t.equal(rc.code, 0, rc.stderr)
  t.match(rc.stderr, /Processed a total of 0 messages\n$/)

  const list = await samsa(['consumer-groups', '--list', ...B])
  t.ok(lines(list.stdout).includes('guarded-g'), '--list shows the group')
  t.ok(lines(list.stdout).includes('sharers'), '--list shows every group')
  const states = await samsa(['consumer-groups', '--list', '--state', ...B])
  t.equal(states.code, 0, states.stderr)
  t.match(lines(states.stdout)[0], /^GROUP {11,}STATE$/, 'Kafka\'s GROUP/STATE header (KIP-518)')
  t.ok(lines(states.stdout).some((l) => /^guarded-g {7,}Empty$/.test(l)), 'the stopped group is Empty')
  const filtered = await samsa(['consumer-groups', '--list', '--state', 'empty,dead', ...B])
  t.ok(lines(filtered.stdout).slice(1).every((l) => /\sEmpty$/.test(l)) && lines(filtered.stdout).length > 1, 'only groups in the given states')
  const all = await samsa(['consumer-groups', '--reset-offsets', '--all-groups', '--all-topics', '--to-earliest', '--dry-run', ...B])
  t.equal(all.code, 0, all.stderr)
  t.match(all.stdout, /\nguarded-g +guarded +0 +0 *\n[^]*\nsharers +shared +0 +0 *\n/, '--reset-offsets --all-groups plans every group (dry run)')
  const del = await samsa(['consumer-groups', '--delete', '--group', 'guarded-g', ...B])
  t.equal(del.code, 0, del.stderr)
  t.equal(del.stdout, "Deletion of requested consumer groups ('guarded-g') was successful.\n")
  t.notOk((await groups.listGroups()).some((g) => g.groupId === 'guarded-g'), 'the group is gone')
  const gone = await samsa(['consumer-groups', '--delete', '--group', 'guarded-g', ...B])
  t.equal(gone.code, 1)
  t.match(gone.stdout, /\* Group 'guarded-g' could not be deleted due to: the group does not exist \(GROUP_ID_NOT_FOUND\)/)
  const missing = await samsa(['consumer-groups', '--describe', '--group', 'guarded-g', ...B])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /Error: Consumer group 'guarded-g' does not exist\./)
})

t.test('a librdkafka member (kcat -G) and a samsa member share a group', { skip: hasKcat() ? false : 'kcat is not installed' }, async (t) => {
  await createTopic('mixed', 4)
  let kcatOut = ''
  const kcat = spawn('kcat', ['-b', broker.bootstrap, '-G', 'mixers', 'mixed', '-X', 'session.timeout.ms=6000', '-X', 'auto.offset.reset=earliest', '-q', '-u', '-f', '%p\t%s\n'],
    { stdio: ['ignore', 'pipe', 'ignore'] })
  kcat.stdout.on('data', (d: Buffer) => { kcatOut += d.toString() })
  const kcatExit = new Promise((r) => kcat.on('close', r))
  t.teardown(() => {
    if (kcat.exitCode === null && kcat.signalCode === null) kcat.kill('SIGKILL')
  })
  const ours = startConsumer(t, ['--topic', 'mixed', '--group', 'mixers', '--from-beginning', '--property', 'print.partition=true'])
  await waitFor('both members to own partitions', async () => (await owners('mixers')).size === 2)
  const d = await groups.describeGroup('mixers')
  t.same(d.members.map((m) => m.clientId).sort(), ['console-consumer', 'rdkafka'])
  t.equal(d.protocol, 'range', 'both offered range first')

  await produce('mixed', 1, 100)
  const theirs = (): Map<number, string[]> => byPartition(lines(kcatOut).map((l) => `Partition:${l}`).join('\n'))
  await waitFor('100 records printed', () => lines(ours.out()).length + lines(kcatOut).length >= 100)
  const po = byPartition(ours.out())
  const pk = theirs()
  t.same([...po.keys()].filter((p) => pk.has(p)), [], 'no partition was read by both')
  t.same([...po.values(), ...pk.values()].flat().sort(), values(1, 100).sort(), 'together: every record exactly once')
  ours.child.kill('SIGINT')
  t.equal((await ours.result).code, 0)
  kcat.kill('SIGINT')
  await kcatExit
})

t.test('wrong usage: one line naming the option, exit code 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['consumer-groups'], /^samsa consumer-groups: one action is required: --list, --describe, --delete, --reset-offsets or --delete-offsets/],
    [['consumer-groups', '--describe'], /^samsa consumer-groups: --describe needs --group \(or --all-groups\)/],
    [['consumer-groups', '--list', '--execute'], /^samsa consumer-groups: --execute can only be used with --reset-offsets/],
    [['consumer-groups', '--reset-offsets', '--group', 'g', '--to-earliest'], /^samsa consumer-groups: --reset-offsets needs --topic or --all-topics/],
    [['consumer-groups', '--reset-offsets', '--group', 'g', '--topic', 't'], /^samsa consumer-groups: --reset-offsets needs one of --to-earliest/],
    [['consumer-groups', '--reset-offsets', '--group', 'g', '--topic', 't', '--to-datetime', 'yesterday'], /^samsa consumer-groups: --to-datetime expects YYYY-MM-DDTHH:mm:SS\.sss/],
    [['console-consumer', '--topic', 't', '--group', 'g', '--partition', '0'], /^samsa console-consumer: --group and --partition cannot be used together/],
    [['console-consumer', '--topic', 't', '--consumer-property', 'partition.assignment.strategy=sticky'], /^samsa console-consumer: consumer property partition.assignment.strategy: unknown assignor 'sticky'/],
  ]
  const refused = samsa(['console-consumer', '--topic', 'shared', '--group', 'impatient', '--consumer-property', 'session.timeout.ms=1000', ...B])
  await mapLimit(cases, 3, async ([args, expected]) => {
    const r = await samsa([...args, ...B])
    t.equal(r.code, 2, `${args.join(' ')}: exit code 2 (${r.stderr.trim()})`)
    t.equal(lines(r.stderr).length, 1, `${args.join(' ')}: one line`)
    t.match(r.stderr, expected, args.join(' '))
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
  })
  // Refused by the broker (below group.min.session.timeout.ms): exit code 1, the reason, then the summary.
  const r = await refused
  t.equal(r.code, 1)
  t.match(r.stderr, /^samsa console-consumer: joining group 'impatient': the session timeout is outside .*\(INVALID_SESSION_TIMEOUT\)\nProcessed a total of 0 messages\n$/)
})
