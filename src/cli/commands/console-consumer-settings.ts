/**
 * The console consumer's options and consumer properties, checked and turned into settings
 * before anything connects (so wrong usage is one line and exit code 2).
 *
 * Group rules follow Kafka's ConsoleConsumerOptions: the group may come from `--group`,
 * `--consumer-property group.id=` or `--consumer.config`, and they must agree; `--group` and
 * `--partition` exclude each other; without either a `console-consumer-NNNNN` group is
 * generated with auto-commit off (its offsets are not meant to be reused).
 */
import type { Command } from 'commander'
import type { StartOffset } from '../../client/fetcher.ts'
import { assignorByName, type Assignor } from '../../client/assignors.ts'
import { UsageError, keyValues, readPropertiesFile, type ConnectionFlags } from '../common.ts'

export interface ConsumerFlags extends ConnectionFlags {
  topic?: string
  partition?: number
  offset: string
  fromBeginning: boolean
  maxMessages?: number
  timeoutMs?: number
  property: string[]
  consumerProperty: string[]
  /** Commander keeps the dot of `--consumer.config` in the key (it camel-cases dashes only). */
  'consumer.config'?: string
  group?: string
  isolationLevel: string
  formatter?: string
  skipMessageOnError: boolean
}

export interface GroupSettings {
  groupId: string
  /** True when the group was generated (no --group / group.id). */
  generated: boolean
  autoCommit: boolean
  autoCommitIntervalMs: number
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number | undefined
  groupInstanceId: string | null
  assignors: Assignor[]
}

export interface ConsumerSettings {
  topic: string
  /** Null: read through the group. */
  partition: number | null
  /** Where an assigned partition starts (--partition mode). */
  start: StartOffset
  /** auto.offset.reset: where to start without a committed offset, and after OFFSET_OUT_OF_RANGE. */
  offsetReset: 'earliest' | 'latest' | 'none'
  group: GroupSettings | null
  clientId: string
  fetch: { maxWaitMs: number; minBytes: number; maxBytes: number; partitionMaxBytes: number; isolationLevel: number }
}

export const CONSUMER_PROPERTIES = ['group.id', 'group.instance.id', 'enable.auto.commit', 'auto.commit.interval.ms', 'session.timeout.ms',
  'heartbeat.interval.ms', 'max.poll.interval.ms', 'partition.assignment.strategy', 'auto.offset.reset', 'isolation.level',
  'fetch.max.wait.ms', 'fetch.min.bytes', 'fetch.max.bytes', 'max.partition.fetch.bytes', 'client.id']

function parseOffset(value: string): StartOffset {
  const v = value.trim().toLowerCase()
  if (v === 'earliest' || v === 'latest') return v
  const n = Number(v)
  if (v === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--offset expects earliest, latest or a non-negative offset, got '${value}'`)
  return n
}

/** The consumer properties: --consumer.config first, --consumer-property overriding it. */
function consumerProperties(flags: ConsumerFlags): Map<string, string> {
  const props = flags['consumer.config'] !== undefined ? readPropertiesFile(flags['consumer.config'], '--consumer.config') : new Map<string, string>()
  for (const [k, v] of keyValues(flags.consumerProperty, '--consumer-property')) props.set(k, v)
  return props
}

export function consumerSettings(flags: ConsumerFlags, command: Command): ConsumerSettings {
  if (!flags.topic) throw new UsageError('--topic is required')
  const explicitOffset = command.getOptionValueSource('offset') !== 'default'
  if (explicitOffset && flags.partition === undefined) throw new UsageError('--offset needs --partition (the partition the offset belongs to)')
  if (explicitOffset && flags.fromBeginning) throw new UsageError('--offset and --from-beginning cannot be used together')
  if (!['read_uncommitted', 'read_committed'].includes(flags.isolationLevel)) throw new UsageError(`--isolation-level expects read_uncommitted or read_committed, got '${flags.isolationLevel}'`)
  const props = consumerProperties(flags)
  const num = (k: string, dflt: number, min = 0): number => {
    const v = props.get(k)
    if (v === undefined) return dflt
    const n = Number(v)
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new UsageError(`consumer property ${k} expects a number of at least ${min}, got '${v}'`)
    return n
  }
  const isolation = props.get('isolation.level') ?? flags.isolationLevel
  if (!['read_uncommitted', 'read_committed'].includes(isolation)) throw new UsageError(`consumer property isolation.level expects read_uncommitted or read_committed, got '${isolation}'`)
  const givenReset = props.get('auto.offset.reset')
  if (givenReset !== undefined && !['earliest', 'latest', 'none'].includes(givenReset)) throw new UsageError(`consumer property auto.offset.reset expects earliest, latest or none, got '${givenReset}'`)
  if (flags.fromBeginning && givenReset !== undefined && givenReset !== 'earliest') throw new UsageError(`can't use --from-beginning with auto.offset.reset=${givenReset}`)
  const partition = flags.partition ?? null
  const group = groupSettings(flags, props, partition, num)
  return {
    topic: flags.topic,
    partition,
    start: flags.fromBeginning ? 'earliest' : explicitOffset ? parseOffset(flags.offset) : 'latest',
    // A group starts where auto.offset.reset says (Kafka's default: latest; --from-beginning: earliest);
    // by assignment the start is explicit and only an out-of-range position falls back to it.
    offsetReset: (givenReset ?? (group && !flags.fromBeginning ? 'latest' : 'earliest')) as ConsumerSettings['offsetReset'],
    group,
    clientId: props.get('client.id') ?? 'console-consumer',
    fetch: {
      maxWaitMs: num('fetch.max.wait.ms', 500), minBytes: num('fetch.min.bytes', 1),
      maxBytes: num('fetch.max.bytes', 50 * 1024 * 1024), partitionMaxBytes: num('max.partition.fetch.bytes', 1024 * 1024),
      isolationLevel: isolation === 'read_committed' ? 1 : 0,
    },
  }
}

function groupSettings(flags: ConsumerFlags, props: Map<string, string>, partition: number | null, num: (k: string, d: number, min?: number) => number): GroupSettings | null {
  const ids = [...new Set([flags.group, props.get('group.id')].filter((g): g is string => g !== undefined))]
  if (ids.length > 1) throw new UsageError(`the group ids given with --group and group.id do not match: ${ids.map((g) => `'${g}'`).join(', ')}`)
  if (ids.length > 0 && partition !== null) throw new UsageError('--group and --partition cannot be used together (a group assigns partitions itself)')
  if (ids[0] === '') throw new UsageError('--group: the group id must not be empty')
  if (partition !== null) return null
  const autoCommit = props.get('enable.auto.commit')
  if (autoCommit !== undefined && !/^(true|false)$/i.test(autoCommit.trim())) throw new UsageError(`consumer property enable.auto.commit expects true or false, got '${autoCommit}'`)
  const strategies = (props.get('partition.assignment.strategy') ?? 'range,roundrobin').split(',').filter((s) => s.trim() !== '')
  const assignors = strategies.map((s) => {
    const a = assignorByName(s)
    if (!a) throw new UsageError(`consumer property partition.assignment.strategy: unknown assignor '${s.trim()}' (available: range, roundrobin)`)
    return a
  })
  const generated = ids.length === 0
  const sessionTimeoutMs = num('session.timeout.ms', 45_000, 1)
  const heartbeat = props.has('heartbeat.interval.ms') ? num('heartbeat.interval.ms', 3000, 1) : undefined
  if (heartbeat !== undefined && heartbeat >= sessionTimeoutMs) throw new UsageError('consumer property heartbeat.interval.ms must be lower than session.timeout.ms')
  return {
    // Kafka's tool: "console-consumer-" + a random number below 100000.
    groupId: ids[0] ?? `console-consumer-${Math.floor(Math.random() * 100_000)}`,
    generated,
    autoCommit: autoCommit === undefined ? !generated : autoCommit.trim().toLowerCase() === 'true',
    autoCommitIntervalMs: num('auto.commit.interval.ms', 5000),
    sessionTimeoutMs,
    rebalanceTimeoutMs: num('max.poll.interval.ms', 300_000, 1),
    heartbeatIntervalMs: heartbeat,
    groupInstanceId: props.get('group.instance.id') ?? null,
    assignors,
  }
}
