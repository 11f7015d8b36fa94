/**
 * `samsa configs`, as kafka-configs.sh: --describe [--all] and --alter --add-config/--delete-config
 * of topic configs, and --describe of broker configs (Samsa has no dynamic broker configs, so
 * the broker refuses to alter them with its own message).
 *
 * Output and rules follow Kafka's ConfigCommand (3.x/4.x, --bootstrap-server mode):
 * `Dynamic configs for topic T are:` (only the topic's overrides) or, with --all, `All configs
 * for topic T are:`, then one `  k=v sensitive=false synonyms={SOURCE:k=v, ...}` line per key,
 * sorted by name; `--alter` sends one IncrementalAlterConfigs request (DELETEs, then SETs),
 * refuses to delete keys that are not overridden (`Invalid config(s): k`), and prints
 * `Completed updating config for topic T.`. Broker errors are one line and exit code 1.
 */
import type { Command } from 'commander'
import { CONFIG_SOURCE } from '../../client/admin.ts'
import {
  CONFIG_OPERATION, ConfigAdmin, RESOURCE_TYPE, configSourceName, type ConfigOp, type ConfigResource, type DescribedConfig,
} from '../../client/config-admin.ts'
import { ClientError } from '../../client/errors.ts'
import { validateTopicName } from '../../metadata/topic-names.ts'
import {
  UsageError, addConnectionOptions, collect, configureTool, createClient, readPropertiesFile, runAction, type ConnectionFlags,
} from '../common.ts'

const TOOL = 'samsa configs'

interface ConfigsFlags extends ConnectionFlags {
  describe: boolean
  alter: boolean
  all: boolean
  entityType: string[]
  entityName: string[]
  entityDefault: boolean
  topic?: string
  broker?: string
  brokerDefaults: boolean
  addConfig?: string
  addConfigFile?: string
  deleteConfig: string[]
}

type EntityType = 'topics' | 'brokers'

/** What the command acts on; name '' is the cluster-wide broker default, null every entity of the type. */
interface Entity {
  type: EntityType
  name: string | null
}

/** Kafka's other entity types: named as unsupported rather than unknown. */
const KAFKA_ONLY_TYPES = new Set(['clients', 'users', 'ips', 'broker-loggers', 'client-metrics', 'groups'])

export function registerConfigs(program: Command): void {
  const cmd = program
    .command('configs')
    .description('describe or change topic configs, describe broker configs (as kafka-configs.sh)')
    .option('--describe', 'list the configs of the entity (its dynamic overrides; all configs with --all)', false)
    .option('--alter', 'change the configs of the entity (with --add-config and/or --delete-config)', false)
    .option('--all', 'with --describe: list every config, including defaults and static broker configs', false)
    .option('--entity-type <type>', 'type of entity: topics or brokers', collect, [])
    .option('--entity-name <name>', 'name of the entity: a topic name or a broker id', collect, [])
    .option('--entity-default', 'with --entity-type brokers: the cluster-wide broker defaults', false)
    .option('--topic <topic>', 'shortcut for --entity-type topics --entity-name <topic>')
    .option('--broker <id>', 'shortcut for --entity-type brokers --entity-name <id>')
    .option('--broker-defaults', 'shortcut for --entity-type brokers --entity-default', false)
    .option('--add-config <k=v,...>', "configs to set, comma-separated; square brackets group values that contain commas: 'k1=v1,k2=[a,b],k3=v3'")
    .option('--add-config-file <file>', 'a properties file of configs to set')
    .option('--delete-config <k,...>', 'config keys to remove (back to their defaults), comma-separated (repeatable)', collect, [])
  addConnectionOptions(cmd)
  configureTool(cmd, TOOL)
  cmd.action(runAction(TOOL, async (flags: ConfigsFlags, command: Command) => {
    const usage = checkUsage(flags)
    const client = createClient(command, flags, TOOL, 'samsa-configs')
    try {
      await client.connect()
      const admin = new ConfigAdmin(client)
      if (usage.action === 'describe') await describe(admin, usage.entity, flags.all)
      else await alter(admin, usage.entity as Entity & { name: string }, usage.toSet, usage.toDelete)
    } finally {
      client.close()
    }
  }))
}

interface Usage {
  action: 'describe' | 'alter'
  entity: Entity
  toSet: Map<string, string>
  toDelete: string[]
}

function checkUsage(f: ConfigsFlags): Usage {
  if (f.describe === f.alter) {
    throw new UsageError(f.describe ? 'only one action at a time, got --describe and --alter' : 'one action is required: --describe or --alter')
  }
  const action = f.describe ? 'describe' : 'alter'
  if (action === 'describe') {
    for (const [flag, given] of [['--add-config', f.addConfig !== undefined], ['--add-config-file', f.addConfigFile !== undefined], ['--delete-config', f.deleteConfig.length > 0]] as const) {
      if (given) throw new UsageError(`${flag} can only be used with --alter`)
    }
  } else if (f.all) {
    throw new UsageError('--all can only be used with --describe')
  }
  const entity = checkEntity(f, action)
  if (action === 'describe') return { action, entity, toSet: new Map(), toDelete: [] }

  if (f.addConfig !== undefined && f.addConfigFile !== undefined) throw new UsageError('only one of --add-config or --add-config-file may be given')
  const toSet = f.addConfigFile !== undefined ? readPropertiesFile(f.addConfigFile, '--add-config-file') : parseAddConfig(f.addConfig)
  for (const key of toSet.keys()) {
    if (!/^[$a-zA-Z0-9._-]*$/.test(key)) throw new UsageError(`invalid character found for config key: '${key}'`)
  }
  const toDelete = [...new Set(f.deleteConfig.flatMap((v) => v.split(',')).map((k) => k.trim()).filter((k) => k !== ''))]
  if (toSet.size === 0 && toDelete.length === 0) throw new UsageError('--alter needs --add-config, --add-config-file or --delete-config')
  return { action, entity, toSet, toDelete }
}

/** The entity from --entity-type/--entity-name/--entity-default or a shortcut (--topic, --broker, --broker-defaults). */
function checkEntity(f: ConfigsFlags, action: Usage['action']): Entity {
  const shortcuts: [EntityType, string][] = []
  if (f.topic !== undefined) shortcuts.push(['topics', f.topic])
  if (f.broker !== undefined) shortcuts.push(['brokers', f.broker])
  if (f.brokerDefaults) shortcuts.push(['brokers', ''])
  const generic = f.entityType.length > 0 || f.entityName.length > 0 || f.entityDefault
  if (generic && shortcuts.length > 0) throw new UsageError('--entity-type, --entity-name and --entity-default cannot be combined with --topic, --broker or --broker-defaults')
  if (shortcuts.length > 1) throw new UsageError('only one entity at a time: give one of --topic, --broker or --broker-defaults')

  let entity: Entity
  if (shortcuts.length === 1) {
    entity = { type: shortcuts[0]![0], name: shortcuts[0]![1] }
  } else {
    if (f.entityType.length === 0) throw new UsageError('an entity type is required: --entity-type topics|brokers (or --topic, --broker)')
    if (f.entityType.length > 1) throw new UsageError(`only one --entity-type at a time, got ${f.entityType.join(' and ')}`)
    const type = f.entityType[0]!
    if (KAFKA_ONLY_TYPES.has(type)) throw new UsageError(`--entity-type ${type} is not supported by Samsa: only topics and brokers have configs`)
    if (type !== 'topics' && type !== 'brokers') throw new UsageError(`invalid entity type '${type}': expected topics or brokers`)
    if (f.entityName.length > 1) throw new UsageError(`only one --entity-name at a time, got ${f.entityName.join(' and ')}`)
    if (f.entityName.length === 1 && f.entityDefault) throw new UsageError('give either --entity-name or --entity-default, not both')
    if (f.entityDefault && type === 'topics') throw new UsageError('--entity-default can only be used with --entity-type brokers')
    entity = { type, name: f.entityDefault ? '' : (f.entityName[0] ?? null) }
  }

  if (entity.name === null && action === 'alter') {
    throw new UsageError(entity.type === 'topics' ? '--alter needs --entity-name (the topic)' : '--alter needs --entity-name (the broker id) or --entity-default')
  }
  if (entity.type === 'topics' && entity.name !== null) {
    const problem = validateTopicName(entity.name)
    if (problem) throw new UsageError(problem)
  }
  if (entity.type === 'brokers' && entity.name !== null && entity.name !== '' && !/^\d+$/.test(entity.name)) {
    throw new UsageError(`the entity name for brokers must be a broker id (an integer), got '${entity.name}'`)
  }
  return entity
}

/**
 * `k1=v1,k2=[a,b]` as Kafka reads it: commas and '=' inside square brackets belong to the value,
 * each pair must have exactly one '=' outside them, and the brackets themselves are dropped.
 */
export function parseAddConfig(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  if (text === undefined) return out
  // A separator counts only if the next bracket after it opens one (or there is none).
  const outsideBrackets = '(?=[^\\]]*(?:\\[|$))'
  for (const pair of text.split(new RegExp(`,${outsideBrackets}`))) {
    const parts = pair.split(new RegExp(`\\s*=\\s*${outsideBrackets}`))
    if (parts.length !== 2) {
      throw new UsageError(`invalid --add-config '${pair}': every config must be key=val, or key=[val1,val2] to group values that contain commas`)
    }
    out.set(parts[0]!.trim(), parts[1]!.replace(/[[\]]/g, '').trim())
  }
  return out
}

/** The source of the entity's own (dynamic) settings: all that --describe shows without --all. */
function dynamicSource(entity: Entity): number {
  if (entity.type === 'topics') return CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG
  return entity.name === '' ? CONFIG_SOURCE.DYNAMIC_DEFAULT_BROKER_CONFIG : CONFIG_SOURCE.DYNAMIC_BROKER_CONFIG
}

function resourceOf(entity: Entity & { name: string }): ConfigResource {
  return { type: entity.type === 'topics' ? RESOURCE_TYPE.TOPIC : RESOURCE_TYPE.BROKER, name: entity.name }
}

const singular = (type: EntityType): string => type.slice(0, -1)

async function describe(admin: ConfigAdmin, entity: Entity, all: boolean): Promise<void> {
  // Brokers come with any metadata answer; topics only when asked for.
  const md = await admin.client.metadata(entity.type === 'brokers' ? [] : entity.name === null ? null : [entity.name])
  let names: string[]
  if (entity.name === null) {
    // Every topic (internal ones included), or every broker and then the cluster defaults.
    names = entity.type === 'topics'
      ? [...md.topics.values()].filter((t) => t.errorCode === 0).map((t) => t.name).sort()
      : [...[...md.brokers.keys()].sort((a, b) => a - b).map(String), '']
  } else {
    const exists = entity.type === 'topics'
      ? md.topics.get(entity.name)?.errorCode === 0
      : entity.name === '' || md.brokers.has(Number(entity.name))
    // As Kafka: only the dynamic view answers for a missing entity; --all asks the broker, which says why.
    if (!exists && !all) {
      process.stdout.write(`The ${singular(entity.type)} '${entity.name}' doesn't exist and doesn't have dynamic config.\n`)
      return
    }
    names = [entity.name]
  }
  const results = await admin.describeConfigs(names.map((name) => resourceOf({ type: entity.type, name })), { includeSynonyms: true })
  for (const r of results) {
    if (r.error) throw r.error
    const header = r.resource.name === ''
      ? `Default configs for ${entity.type} in the cluster are:`
      : `${all ? 'All' : 'Dynamic'} configs for ${singular(entity.type)} ${r.resource.name} are:`
    const wanted = dynamicSource({ type: entity.type, name: r.resource.name })
    const lines = r.configs
      .filter((c) => all || c.source === wanted)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(configLine)
    process.stdout.write([header, ...lines].join('\n') + '\n')
  }
}

/** Kafka prints a sensitive value as null (its broker never sends it); so do we, whatever the broker sent. */
const shown = (value: string | null, sensitive: boolean): string => (sensitive || value === null ? 'null' : value)

function configLine(c: DescribedConfig): string {
  const synonyms = c.synonyms.map((s) => `${configSourceName(s.source)}:${s.name}=${shown(s.value, c.isSensitive)}`).join(', ')
  return `  ${c.name}=${shown(c.value, c.isSensitive)} sensitive=${c.isSensitive} synonyms={${synonyms}}`
}

async function alter(admin: ConfigAdmin, entity: Entity & { name: string }, toSet: ReadonlyMap<string, string>, toDelete: readonly string[]): Promise<void> {
  const resource = resourceOf(entity)
  // As Kafka: deleting a key the entity does not override is a mistake worth reporting.
  if (toDelete.length > 0) {
    const [current] = await admin.describeConfigs([resource])
    if (current!.error) throw current!.error
    const overridden = new Set(current!.configs.filter((c) => c.source === dynamicSource(entity)).map((c) => c.name))
    const invalid = toDelete.filter((k) => !overridden.has(k))
    if (invalid.length > 0) throw new ClientError(`Invalid config(s): ${invalid.join(',')}`)
  }
  const ops: ConfigOp[] = [
    ...toDelete.map((name) => ({ name, op: CONFIG_OPERATION.DELETE, value: null })),
    ...[...toSet].map(([name, value]) => ({ name, op: CONFIG_OPERATION.SET, value })),
  ]
  const [result] = await admin.incrementalAlterConfigs([{ resource, ops }])
  if (result!.error) throw result!.error
  process.stdout.write(entity.name === ''
    ? `Completed updating default config for ${entity.type} in the cluster.\n`
    : `Completed updating config for ${singular(entity.type)} ${entity.name}.\n`)
}
