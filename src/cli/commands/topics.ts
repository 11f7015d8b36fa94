/**
 * `samsa topics`, as kafka-topics.sh: --create, --list, --describe, --delete, --alter.
 *
 * Output and rules follow Kafka's TopicCommand: `Created topic T.`; `--describe` prints a topic
 * line (TopicId, PartitionCount, ReplicationFactor, non-default Configs) and one tab-indented
 * line per partition (Leader, Replicas, Isr, Elr, LastKnownElr); `--topic` is a regular
 * expression for everything but --create; a missing topic is an error unless --if-exists;
 * broker errors print `Error while executing topic command : <reason>` and exit 1.
 */
import type { Command } from 'commander'
import { Admin, type ConfigEntry } from '../../client/admin.ts'
import type { TopicInfo } from '../../client/client.ts'
import { KafkaError } from '../../client/errors.ts'
import {
  UsageError, addConnectionOptions, collect, configureTool, createClient, intArg, keyValues, runAction, type ConnectionFlags,
} from '../common.ts'

const TOOL = 'samsa topics'

interface TopicsFlags extends ConnectionFlags {
  create: boolean
  list: boolean
  describe: boolean
  delete: boolean
  alter: boolean
  topic?: string
  partitions?: number
  replicationFactor?: number
  config: string[]
  ifExists: boolean
  ifNotExists: boolean
  excludeInternal: boolean
  underReplicatedPartitions: boolean
  unavailablePartitions: boolean
  topicsWithOverrides: boolean
}

/** A failure Kafka's tool reports as "Error while executing topic command : ...". */
class TopicCommandError extends Error {}

export function registerTopics(program: Command): void {
  const cmd = program
    .command('topics')
    .description('create, delete, describe, or change a topic (as kafka-topics.sh)')
    .option('--create', 'create a new topic', false)
    .option('--list', 'list all available topics', false)
    .option('--describe', 'list details for the given topics (all topics without --topic)', false)
    .option('--delete', 'delete a topic', false)
    .option('--alter', 'alter the number of partitions of a topic', false)
    .option('--topic <topic>', 'the topic to create, alter, describe or delete; a regular expression except with --create')
    .option('--partitions <n>', 'number of partitions for --create or --alter (default: the broker\'s num.partitions)', intArg('a number of partitions', 1))
    .option('--replication-factor <n>', 'replication factor for --create (default: the broker\'s default.replication.factor)', intArg('a replication factor', 1))
    .option('--config <name=value>', 'a topic configuration override for --create (repeatable)', collect, [])
    .option('--if-exists', 'with --alter, --delete or --describe: do nothing if the topic does not exist', false)
    .option('--if-not-exists', 'with --create: do nothing if the topic already exists', false)
    .option('--exclude-internal', 'exclude internal topics with --list or --describe', false)
    .option('--under-replicated-partitions', 'with --describe: only show under-replicated partitions', false)
    .option('--unavailable-partitions', 'with --describe: only show partitions whose leader is not available', false)
    .option('--topics-with-overrides', 'with --describe: only show topics that have overridden configs', false)
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: TopicsFlags, command: Command) => {
    const action = checkUsage(flags)
    const client = createClient(command, flags, TOOL, 'samsa-topics')
    try {
      await client.connect()
      const admin = new Admin(client)
      switch (action) {
        case 'create': return await create(admin, flags)
        case 'list': return await list(admin, flags)
        case 'describe': return await describe(admin, flags)
        case 'delete': return await remove(admin, flags)
        case 'alter': return await alter(admin, flags)
      }
    } catch (err) {
      if (err instanceof TopicCommandError) {
        process.stdout.write(`Error while executing topic command : ${err.message}\n`)
        process.exitCode = 1
        return
      }
      throw err
    } finally {
      client.close()
    }
  }))
}

type Action = 'create' | 'list' | 'describe' | 'delete' | 'alter'

function checkUsage(f: TopicsFlags): Action {
  const actions = (['create', 'list', 'describe', 'delete', 'alter'] as const).filter((a) => f[a])
  if (actions.length !== 1) {
    throw new UsageError(actions.length === 0
      ? 'one action is required: --list, --describe, --create, --alter or --delete'
      : `only one action at a time, got ${actions.map((a) => `--${a}`).join(' and ')}`)
  }
  const action = actions[0]!
  const onlyWith = (flag: string, given: boolean, allowed: Action[]): void => {
    if (given && !allowed.includes(action)) throw new UsageError(`${flag} can only be used with ${allowed.map((a) => `--${a}`).join(' or ')}`)
  }
  onlyWith('--partitions', f.partitions !== undefined, ['create', 'alter'])
  onlyWith('--replication-factor', f.replicationFactor !== undefined, ['create'])
  onlyWith('--config', f.config.length > 0, ['create'])
  onlyWith('--if-exists', f.ifExists, ['alter', 'delete', 'describe'])
  onlyWith('--if-not-exists', f.ifNotExists, ['create'])
  onlyWith('--exclude-internal', f.excludeInternal, ['list', 'describe'])
  onlyWith('--under-replicated-partitions', f.underReplicatedPartitions, ['describe'])
  onlyWith('--unavailable-partitions', f.unavailablePartitions, ['describe'])
  onlyWith('--topics-with-overrides', f.topicsWithOverrides, ['describe'])
  if ((action === 'create' || action === 'delete' || action === 'alter') && !f.topic) throw new UsageError(`--${action} needs --topic`)
  if (action === 'alter' && f.partitions === undefined) throw new UsageError('--alter needs --partitions (the new, larger partition count)')
  if (action === 'describe' && f.ifExists && !f.topic) throw new UsageError('--describe --if-exists needs --topic')
  keyValues(f.config, '--config') // validates the form early
  return action
}

function brokerError(err: KafkaError | null): never | void {
  if (err) throw new TopicCommandError(err.brokerMessage ?? err.message)
}

async function create(admin: Admin, f: TopicsFlags): Promise<void> {
  const name = f.topic!
  if (name.includes('.') && name.includes('_')) {
    process.stdout.write("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n")
  }
  const [result] = await admin.createTopics([{
    name, numPartitions: f.partitions ?? -1, replicationFactor: f.replicationFactor ?? -1,
    configs: Object.fromEntries(keyValues(f.config, '--config')),
  }])
  if (result?.error) {
    if (result.error.code === 36 && f.ifNotExists) return // TOPIC_ALREADY_EXISTS
    brokerError(result.error)
  }
  process.stdout.write(`Created topic ${name}.\n`)
}

/** Kafka's IncludeList: commas mean "or", the whole name must match. */
function topicMatcher(pattern: string): (name: string) => boolean {
  const source = pattern.trim().replaceAll(',', '|').replaceAll(' ', '').replace(/^["']+/, '').replace(/["']+$/, '')
  let re: RegExp
  try {
    re = new RegExp(`^(?:${source})$`)
  } catch {
    throw new UsageError(`--topic: '${pattern}' is not a valid regular expression`)
  }
  return (name) => re.test(name)
}

async function matchingTopics(admin: Admin, f: TopicsFlags): Promise<string[]> {
  const all = await admin.listTopics({ excludeInternal: f.excludeInternal })
  if (!f.topic) return all
  const match = topicMatcher(f.topic)
  const found = all.filter(match)
  if (found.length === 0 && !f.ifExists) throw new TopicCommandError(`Topic '${f.topic}' does not exist as expected`)
  return found
}

async function list(admin: Admin, f: TopicsFlags): Promise<void> {
  const names = await matchingTopics(admin, { ...f, ifExists: true })
  if (names.length > 0) process.stdout.write(names.join('\n') + '\n')
}

async function remove(admin: Admin, f: TopicsFlags): Promise<void> {
  const names = await matchingTopics(admin, f)
  if (names.length === 0) return
  for (const r of await admin.deleteTopics(names)) brokerError(r.error)
}

async function alter(admin: Admin, f: TopicsFlags): Promise<void> {
  const names = await matchingTopics(admin, f)
  if (names.length === 0) return
  for (const r of await admin.createPartitions(names.map((name) => ({ name, count: f.partitions! })))) brokerError(r.error)
}

async function describe(admin: Admin, f: TopicsFlags): Promise<void> {
  const names = await matchingTopics(admin, f)
  if (names.length === 0) return
  const topics = await admin.describeTopics(names)
  const configs = await admin.describeTopicConfigs(names)
  const liveBrokers = new Set((admin.client.cachedMetadata?.brokers ?? new Map()).keys())
  const partitionFilter = f.underReplicatedPartitions || f.unavailablePartitions
  for (const t of topics) {
    const entries = configs.get(t.name) ?? []
    const overridden = entries.filter((e) => !e.isDefault)
    if (f.topicsWithOverrides && overridden.length === 0) continue
    if (!partitionFilter) process.stdout.write(topicLine(t, overridden))
    if (f.topicsWithOverrides) continue
    for (const p of t.partitions) {
      const underReplicated = p.isr.length < p.replicas.length
      const unavailable = p.leader < 0 || !liveBrokers.has(p.leader)
      if (partitionFilter && !((f.underReplicatedPartitions && underReplicated) || (f.unavailablePartitions && unavailable))) continue
      process.stdout.write(
        `\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${p.leader >= 0 ? p.leader : 'none'}` +
        `\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\tElr: N/A\tLastKnownElr: N/A\n`)
    }
  }
}

function topicLine(t: TopicInfo, overridden: ConfigEntry[]): string {
  const configs = overridden.map((e) => `${e.name}=${e.isSensitive ? '<sensitive>' : e.value}`).join(',')
  const id = t.topicId !== 'AAAAAAAAAAAAAAAAAAAAAA' ? `\tTopicId: ${t.topicId}` : ''
  const rf = t.partitions[0]?.replicas.length ?? 0
  return `Topic: ${t.name}${id}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${configs}\n`
}
