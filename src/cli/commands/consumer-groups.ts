/**
 * `samsa consumer-groups`, as kafka-consumer-groups.sh: --list, --describe, --delete,
 * --reset-offsets, --delete-offsets.
 *
 * `--describe` prints Kafka's table, one row per partition: the group's committed offset
 * (OffsetFetch for every partition), the log end offset (ListOffsets latest), the lag, and the
 * member that owns the partition (DescribeGroups, whose assignments are only sent while the group
 * is Stable); partitions with offsets but no owner show `-` in the member columns. Notices about
 * the group's state go to stderr as Kafka prints them ("has no active members", "is
 * rebalancing", "does not exist").
 */
import type { Command } from 'commander'
import { Admin, LATEST } from '../../client/admin.ts'
import type { KafkaClient } from '../../client/client.ts'
import { GroupAdmin, type GroupDescription } from '../../client/group-admin.ts'
import type { TopicPartition } from '../../client/assignors.ts'
import { UsageError, addConnectionOptions, collect, configureTool, createClient, intArg, isExplicit, runAction, type ConnectionFlags } from '../common.ts'
import {
  GroupCommandError, deleteOffsets, parseDateTime, parseTopicSpec, planReset, requireInactive, resetTable, resolvePartitions, type Scenario,
} from './consumer-groups-reset.ts'

const TOOL = 'samsa consumer-groups'

interface GroupsFlags extends ConnectionFlags {
  list: boolean
  describe: boolean
  delete: boolean
  resetOffsets: boolean
  deleteOffsets: boolean
  group: string[]
  allGroups: boolean
  topic: string[]
  allTopics: boolean
  members: boolean
  /** true (no value), or with --list a comma-separated state filter (KIP-518). */
  state: boolean | string
  toEarliest: boolean
  toLatest: boolean
  toCurrent: boolean
  toOffset?: number
  shiftBy?: number
  toDatetime?: string
  dryRun: boolean
  execute: boolean
  timeout: number
}

const ACTIONS = ['list', 'describe', 'delete', 'resetOffsets', 'deleteOffsets'] as const
type Action = (typeof ACTIONS)[number]
const flagName = (camel: string): string => `--${camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

export function registerConsumerGroups(program: Command): void {
  const cmd = program
    .command('consumer-groups')
    .description('list, describe, delete consumer groups and reset their offsets (as kafka-consumer-groups.sh)')
    .option('--list', 'list all consumer groups', false)
    .option('--describe', 'per partition: committed offset, log end offset, lag and owning member of --group', false)
    .option('--delete', 'delete --group (only when it has no active members)', false)
    .option('--reset-offsets', 'reset the offsets of --group (only when it has no active members); a dry run unless --execute', false)
    .option('--delete-offsets', 'delete the committed offsets of --group for --topic', false)
    .option('--group <group>', 'the consumer group (repeatable for --describe and --delete)', collect, [])
    .option('--all-groups', 'with --describe, --delete or --reset-offsets: every group', false)
    .option('--topic <topic>', 'with --reset-offsets/--delete-offsets: TOPIC (all partitions) or TOPIC:0,1 (repeatable)', collect, [])
    .option('--all-topics', 'with --reset-offsets: every topic the group has offsets for', false)
    .option('--members', 'with --describe: one row per member (CONSUMER-ID HOST CLIENT-ID #PARTITIONS)', false)
    .option('--state [states]', 'with --describe: the group\'s coordinator, assignment strategy, state and member count; with --list: each group\'s state, only groups in the given states (e.g. Stable,Empty) if any', false)
    .option('--to-earliest', 'reset to the earliest offset', false)
    .option('--to-latest', 'reset to the latest offset', false)
    .option('--to-current', 'reset to the current committed offset', false)
    .option('--to-offset <n>', 'reset to this offset', intArg('an offset', 0))
    .option('--shift-by <n>', 'shift the committed offset by n (may be negative)', intArg('a number'))
    .option('--to-datetime <datetime>', 'reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss')
    .option('--dry-run', 'only show the result of --reset-offsets (the default)', false)
    .option('--execute', 'carry out --reset-offsets', false)
    .option('--timeout <ms>', 'accepted for compatibility with kafka-consumer-groups.sh', intArg('a time in ms', 1), 5000)
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: GroupsFlags, command: Command) => {
    const action = checkUsage(flags, command)
    const scenario = action === 'resetOffsets' ? scenarioOf(flags) : null
    const client = createClient(command, flags, TOOL, 'samsa-consumer-groups')
    try {
      await client.connect()
      const groups = new GroupAdmin(client)
      const groupIds = flags.allGroups ? (await groups.listGroups()).map((g) => g.groupId) : flags.group
      switch (action) {
        case 'list': return void process.stdout.write(listing(await groups.listGroups(), flags.state))
        case 'describe': return await describe(client, groups, groupIds, f2view(flags))
        case 'delete': return await remove(groups, groupIds)
        case 'resetOffsets': return await reset(client, groups, groupIds, flags, scenario!)
        case 'deleteOffsets': {
          const partitions = await resolvePartitions(client, groups, flags.group[0]!, flags.topic, false)
          if (!(await deleteOffsets(groups, flags.group[0]!, partitions))) process.exitCode = 1
          return
        }
      }
    } catch (err) {
      if (err instanceof GroupCommandError) {
        process.stderr.write(`\nError: ${err.message}\n`)
        process.exitCode = 1
        return
      }
      throw err
    } finally {
      client.close()
    }
  }))
}

function checkUsage(f: GroupsFlags, cmd: Command): Action {
  const actions = ACTIONS.filter((a) => f[a])
  if (actions.length !== 1) {
    throw new UsageError(actions.length === 0
      ? 'one action is required: --list, --describe, --delete, --reset-offsets or --delete-offsets'
      : `only one action at a time, got ${actions.map(flagName).join(' and ')}`)
  }
  const action = actions[0]!
  const onlyWith = (flag: string, given: boolean, allowed: Action[]): void => {
    if (given && !allowed.includes(action)) throw new UsageError(`${flag} can only be used with ${allowed.map(flagName).join(' or ')}`)
  }
  onlyWith('--group', f.group.length > 0, ['describe', 'delete', 'resetOffsets', 'deleteOffsets'])
  onlyWith('--all-groups', f.allGroups, ['describe', 'delete', 'resetOffsets'])
  onlyWith('--topic', f.topic.length > 0, ['resetOffsets', 'deleteOffsets'])
  onlyWith('--all-topics', f.allTopics, ['resetOffsets'])
  onlyWith('--members', f.members, ['describe'])
  onlyWith('--state', f.state !== false, ['describe', 'list'])
  if (typeof f.state === 'string' && action !== 'list') throw new UsageError('--state takes a list of states only with --list')
  if (f.members && f.state !== false) throw new UsageError('--members and --state cannot be used together')
  onlyWith('--dry-run', f.dryRun, ['resetOffsets'])
  onlyWith('--execute', f.execute, ['resetOffsets'])
  for (const s of ['toEarliest', 'toLatest', 'toCurrent', 'toOffset', 'shiftBy', 'toDatetime'] as const) {
    onlyWith(flagName(s), isExplicit(cmd, s), ['resetOffsets'])
  }
  if (action !== 'list') {
    const many = action === 'describe' || action === 'delete' || action === 'resetOffsets'
    if (f.group.length === 0 && !f.allGroups) throw new UsageError(`${flagName(action)} needs --group${many ? ' (or --all-groups)' : ''}`)
    if (f.group.length > 0 && f.allGroups) throw new UsageError('--group and --all-groups cannot be used together')
    if (!many && f.group.length > 1) throw new UsageError(`${flagName(action)} takes a single --group`)
  }
  if (action === 'resetOffsets') {
    if (f.topic.length === 0 && !f.allTopics) throw new UsageError('--reset-offsets needs --topic or --all-topics')
    if (f.topic.length > 0 && f.allTopics) throw new UsageError('--topic and --all-topics cannot be used together')
    if (f.dryRun && f.execute) throw new UsageError('--dry-run and --execute cannot be used together')
  }
  if (action === 'deleteOffsets' && f.topic.length === 0) throw new UsageError('--delete-offsets needs --topic')
  for (const t of f.topic) parseTopicSpec(t) // validates the form early
  return action
}

function scenarioOf(f: GroupsFlags): Scenario {
  const given: Scenario[] = []
  if (f.toEarliest) given.push({ kind: 'to-earliest' })
  if (f.toLatest) given.push({ kind: 'to-latest' })
  if (f.toCurrent) given.push({ kind: 'to-current' })
  if (f.toOffset !== undefined) given.push({ kind: 'to-offset', offset: f.toOffset })
  if (f.shiftBy !== undefined) given.push({ kind: 'shift-by', delta: f.shiftBy })
  if (f.toDatetime !== undefined) given.push({ kind: 'to-datetime', timestamp: parseDateTime(f.toDatetime) })
  if (given.length !== 1) {
    throw new UsageError(given.length === 0
      ? '--reset-offsets needs one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime'
      : `only one reset scenario at a time, got ${given.map((s) => `--${s.kind}`).join(' and ')}`)
  }
  return given[0]!
}

async function reset(client: KafkaClient, groups: GroupAdmin, groupIds: readonly string[], f: GroupsFlags, scenario: Scenario): Promise<void> {
  if (!f.dryRun && !f.execute) {
    process.stderr.write('WARN: No action will be performed as the --execute option is missing. Add --execute to reset the offsets, or --dry-run to only show them without this warning.\n')
  }
  // Every group is checked before any is changed: with --all-groups, one active group stops it all.
  for (const groupId of groupIds) await requireInactive(groups, groupId)
  for (const groupId of groupIds) {
    const partitions = await resolvePartitions(client, groups, groupId, f.topic, f.allTopics)
    const plan = await planReset(client, groups, groupId, partitions, scenario)
    if (f.execute) await groups.alterOffsets(groupId, plan)
    process.stdout.write(resetTable(groupId, plan))
  }
}

/** --list: group ids; with --state, Kafka's GROUP/STATE table, filtered by the states given (case-insensitive). */
function listing(all: readonly { groupId: string; state: string }[], state: boolean | string): string {
  if (state === false) return all.map((g) => `${g.groupId}\n`).join('')
  const wanted = typeof state === 'string' ? new Set(state.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) : null
  const shown = wanted === null ? all : all.filter((g) => wanted.has(g.state.toLowerCase()))
  const width = Math.max(15, ...shown.map((g) => g.groupId.length))
  return [['GROUP', 'STATE'], ...shown.map((g) => [g.groupId, g.state])].map(([a, b]) => `${a!.padEnd(width)} ${b}\n`).join('')
}

async function remove(groups: GroupAdmin, groupIds: readonly string[]): Promise<void> {
  const results = await groups.deleteGroups(groupIds)
  const ok = [...results].filter(([, e]) => e === null).map(([g]) => `'${g}'`)
  const failed = [...results].filter(([, e]) => e !== null)
  if (failed.length === 0) {
    process.stdout.write(`Deletion of requested consumer groups (${ok.join(', ')}) was successful.\n`)
    return
  }
  process.stderr.write('\nError: Deletion of some consumer groups failed:\n')
  for (const [g, e] of failed) {
    const why = e!.code === 68 ? 'the group is not empty: it has active members (stop its consumers first) (NON_EMPTY_GROUP)'
      : e!.code === 69 ? 'the group does not exist (GROUP_ID_NOT_FOUND)' : e!.message
    process.stdout.write(`* Group '${g}' could not be deleted due to: ${why}\n`)
  }
  if (ok.length > 0) process.stdout.write(`\nThese consumer groups were deleted successfully: ${ok.join(', ')}\n`)
  process.exitCode = 1
}

interface Row {
  topic: string
  partition: number
  offset: number | null
  logEnd: number | null
  consumerId: string
  host: string
  clientId: string
}

/** Kafka's describe rows: owned partitions (members with most partitions first), then unowned ones with offsets. */
async function describeRows(client: KafkaClient, groups: GroupAdmin, d: GroupDescription): Promise<Row[]> {
  const committed = new Map((await groups.committedOffsets(d.groupId)).filter((c) => c.offset >= 0).map((c) => [`${c.topic}\0${c.partition}`, c.offset]))
  const owned: { p: TopicPartition; m: GroupDescription['members'][number] | null }[] = []
  const seen = new Set<string>()
  for (const m of [...d.members].sort((a, b) => b.assignment.length - a.assignment.length)) {
    for (const p of sortPartitions(m.assignment)) {
      owned.push({ p, m })
      seen.add(`${p.topic}\0${p.partition}`)
    }
  }
  const unowned = [...committed.keys()].filter((k) => !seen.has(k)).map((k) => {
    const [topic, partition] = k.split('\0')
    return { p: { topic: topic!, partition: Number(partition) }, m: null }
  })
  const all = [...owned, ...unowned.sort((a, b) => comparePartitions(a.p, b.p))]
  const logEnd = await logEndOffsets(client, all.map((x) => x.p))
  return all.map(({ p, m }) => {
    const k = `${p.topic}\0${p.partition}`
    return {
      topic: p.topic, partition: p.partition, offset: committed.get(k) ?? null, logEnd: logEnd.get(k) ?? null,
      consumerId: m?.memberId ?? '-', host: m?.host ?? '-', clientId: m?.clientId ?? '-',
    }
  })
}

/** Log end offsets of the partitions that still exist (a deleted topic's rows show '-'). */
async function logEndOffsets(client: KafkaClient, partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (partitions.length === 0) return out
  const md = await client.metadata([...new Set(partitions.map((p) => p.topic))])
  const live = partitions.filter((p) => md.topics.get(p.topic)?.partitions.some((x) => x.partition === p.partition))
  for (const o of await new Admin(client).listOffsets(live, LATEST)) if (!o.error) out.set(`${o.topic}\0${o.partition}`, o.offset)
  return out
}

const comparePartitions = (a: TopicPartition, b: TopicPartition): number => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1)
const sortPartitions = (list: readonly TopicPartition[]): TopicPartition[] => [...list].sort(comparePartitions)

type View = 'offsets' | 'members' | 'state'
const f2view = (f: GroupsFlags): View => (f.members ? 'members' : f.state !== false ? 'state' : 'offsets')

async function describe(client: KafkaClient, groups: GroupAdmin, groupIds: readonly string[], view: View): Promise<void> {
  for (const groupId of groupIds) {
    const d = await groups.describeGroup(groupId)
    const rows = view === 'offsets' ? await describeRows(client, groups, d) : []
    if (d.state === 'Dead' && (view !== 'offsets' || rows.length === 0)) {
      process.stderr.write(`\nError: Consumer group '${groupId}' does not exist.\n`)
      process.exitCode = 1
      continue
    }
    if (d.state === 'Empty') process.stderr.write(`\nConsumer group '${groupId}' has no active members.\n`)
    if (d.state === 'PreparingRebalance' || d.state === 'CompletingRebalance') process.stderr.write(`\nWarning: Consumer group '${groupId}' is rebalancing.\n`)
    if (view === 'members') process.stdout.write(membersTable(d))
    else if (view === 'state') process.stdout.write(stateTable(client, d))
    else if (rows.length > 0) process.stdout.write(describeTable(groupId, rows))
  }
}

/** Kafka's --members view: one row per member, columns at least 15 wide. */
function membersTable(d: GroupDescription): string {
  if (d.members.length === 0) return ''
  const w = (values: string[]): number => Math.max(15, ...values.map((v) => v.length))
  const gw = w([d.groupId])
  const cw = w(d.members.map((m) => m.memberId))
  const hw = w(d.members.map((m) => m.host))
  const kw = w(d.members.map((m) => m.clientId))
  const line = (c: string[]): string => `${c[0]!.padEnd(gw)} ${c[1]!.padEnd(cw)} ${c[2]!.padEnd(hw)} ${c[3]!.padEnd(kw)} ${c[4]!.padEnd(15)}`
  const out = [line(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'])]
  for (const m of d.members) out.push(line([d.groupId, m.memberId, m.host, m.clientId, String(m.assignment.length)]))
  return `\n${out.join('\n')}\n`
}

/** Kafka's --state view: coordinator as host:port (id), the assignor, the state and the member count. */
function stateTable(client: KafkaClient, d: GroupDescription): string {
  const b = client.cachedMetadata?.brokers.get(d.coordinator)
  const coordinator = `${b ? `${b.host}:${b.port}` : '?'}  (${d.coordinator})`
  const gw = Math.max(25, d.groupId.length)
  const cw = Math.max(25, coordinator.length)
  const line = (c: string[]): string => `${c[0]!.padEnd(gw)} ${c[1]!.padEnd(cw)} ${c[2]!.padEnd(20)} ${c[3]!.padEnd(15)} ${c[4]}`
  return `\n${line(['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'])}\n${line([d.groupId, coordinator, d.protocol, d.state, String(d.members.length)])}\n`
}

/** Kafka's layout: columns padded to their widest value (15 at least), a blank line before the header. */
export function describeTable(groupId: string, rows: readonly Row[]): string {
  const w = (values: string[]): number => Math.max(15, ...values.map((v) => v.length))
  const gw = w([groupId])
  const tw = w(rows.map((r) => r.topic))
  const cw = w(rows.map((r) => r.consumerId))
  const hw = w(rows.map((r) => r.host))
  const line = (c: string[]): string =>
    `${c[0]!.padEnd(gw)} ${c[1]!.padEnd(tw)} ${c[2]!.padEnd(10)} ${c[3]!.padEnd(15)} ${c[4]!.padEnd(15)} ${c[5]!.padEnd(15)} ${c[6]!.padEnd(cw)} ${c[7]!.padEnd(hw)} ${c[8]}`
  const dash = (n: number | null): string => (n === null ? '-' : String(n))
  const out = [line(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'])]
  for (const r of rows) {
    const lag = r.offset !== null && r.logEnd !== null ? String(r.logEnd - r.offset) : '-'
    out.push(line([groupId, r.topic, String(r.partition), dash(r.offset), dash(r.logEnd), lag, r.consumerId, r.host, r.clientId]))
  }
  return `\n${out.join('\n')}\n`
}
