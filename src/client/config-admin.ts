/**
 * Admin calls on configs (what kafka-configs.sh uses through Kafka's AdminClient):
 * DescribeConfigs with synonyms, and IncrementalAlterConfigs (SET / DELETE / APPEND / SUBTRACT
 * of single keys). Routing follows Kafka's AdminClient: a resource naming one broker goes to
 * that broker (only it knows its own configs); topic changes go to the controller, which
 * commits them; everything else to any broker. Per-resource failures come back as values,
 * like Admin's per-topic results.
 */
import type { KafkaClient } from './client.ts'
import type { Connection } from './connection.ts'
import { CONFIG_SOURCE, type ConfigEntry } from './admin.ts'
import { KafkaError } from './errors.ts'
import { ERROR } from '../protocol/errors.ts'

/** Kafka's ConfigResource.Type ids. */
export const RESOURCE_TYPE = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const

/** IncrementalAlterConfigs operations. */
export const CONFIG_OPERATION = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const

/** Kafka's names of config sources (ConfigEntry.ConfigSource), as the tools print them. */
const SOURCE_NAMES: Record<number, string> = {
  [CONFIG_SOURCE.UNKNOWN]: 'UNKNOWN',
  [CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG]: 'DYNAMIC_TOPIC_CONFIG',
  [CONFIG_SOURCE.DYNAMIC_BROKER_CONFIG]: 'DYNAMIC_BROKER_CONFIG',
  [CONFIG_SOURCE.DYNAMIC_DEFAULT_BROKER_CONFIG]: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  [CONFIG_SOURCE.STATIC_BROKER_CONFIG]: 'STATIC_BROKER_CONFIG',
  [CONFIG_SOURCE.DEFAULT_CONFIG]: 'DEFAULT_CONFIG',
  [CONFIG_SOURCE.DYNAMIC_BROKER_LOGGER_CONFIG]: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'DYNAMIC_CLIENT_METRICS_CONFIG',
  8: 'DYNAMIC_GROUP_CONFIG',
}

export function configSourceName(source: number): string {
  return SOURCE_NAMES[source] ?? 'UNKNOWN'
}

export interface ConfigResource {
  type: number
  /** A topic name, a broker id, or '' for the cluster-wide broker defaults. */
  name: string
}

export interface ConfigSynonym {
  name: string
  value: string | null
  source: number
}

export interface DescribedConfig extends ConfigEntry {
  /** Where the value could come from, most specific first (empty unless asked for). */
  synonyms: ConfigSynonym[]
}

export interface DescribedResource {
  resource: ConfigResource
  configs: DescribedConfig[]
  error: KafkaError | null
}

export interface ConfigOp {
  name: string
  /** One of CONFIG_OPERATION. */
  op: number
  /** Ignored by the broker for DELETE. */
  value: string | null
}

export interface AlterResult {
  resource: ConfigResource
  error: KafkaError | null
}

/** How error messages name a resource. */
export function describeResource(r: ConfigResource): string {
  if (r.type === RESOURCE_TYPE.TOPIC) return `topic '${r.name}'`
  if (r.type === RESOURCE_TYPE.BROKER) return r.name === '' ? 'the default broker configs' : `broker ${r.name}`
  return `resource ${r.type}:'${r.name}'`
}

/** A broker's own configs (a numeric name) can only be read or changed on that broker. */
function brokerIdOf(r: ConfigResource): number | null {
  if (r.type !== RESOURCE_TYPE.BROKER && r.type !== RESOURCE_TYPE.BROKER_LOGGER) return null
  return /^\d+$/.test(r.name) ? Number(r.name) : null
}

/** Resources grouped by the broker that must answer for them (null: any broker will do). */
function byTarget<T extends { resource: ConfigResource }>(items: readonly T[]): Map<number | null, T[]> {
  const groups = new Map<number | null, T[]>()
  for (const item of items) {
    const id = brokerIdOf(item.resource)
    groups.set(id, [...(groups.get(id) ?? []), item])
  }
  return groups
}

export class ConfigAdmin {
  readonly client: KafkaClient

  constructor(client: KafkaClient) {
    this.client = client
  }

  /** Every config of each resource (or only `keys`), with its source and, if asked, its synonyms. */
  async describeConfigs(resources: readonly ConfigResource[], options: { includeSynonyms?: boolean; keys?: readonly string[] } = {}): Promise<DescribedResource[]> {
    const results = new Map<ConfigResource, DescribedResource>()
    await Promise.all([...byTarget(resources.map((resource) => ({ resource })))].map(async ([target, list]) => {
      const conn = target === null ? await this.client.connect() : await this.client.brokerConnection(target)
      const version = conn.versionOf(32)
      const res = await conn.request(32, {
        resources: list.map(({ resource }) => ({ resourceType: resource.type, resourceName: resource.name, configurationKeys: options.keys ? [...options.keys] : null })),
        includeSynonyms: options.includeSynonyms ?? false,
        includeDocumentation: false,
      })
      // Results come back in request order; matching by type and name guards against a broker that reorders.
      for (const { resource } of list) {
        const r = res.results.find((x) => x.resourceType === resource.type && x.resourceName === resource.name)
        if (!r) {
          results.set(resource, { resource, configs: [], error: new KafkaError(ERROR.UNKNOWN_SERVER_ERROR, `configs of ${describeResource(resource)}`, 'missing from the broker\'s answer') })
          continue
        }
        results.set(resource, {
          resource,
          error: r.errorCode === 0 ? null : new KafkaError(r.errorCode, `configs of ${describeResource(resource)}`, r.errorMessage),
          configs: r.configs.map((c) => {
            // v0 has no config source, only "is it the default".
            const source = version === 0 ? (c.isDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG) : c.configSource
            return {
              name: c.name, value: c.value, source, isDefault: source === CONFIG_SOURCE.DEFAULT_CONFIG, readOnly: c.readOnly,
              isSensitive: c.isSensitive, synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
            }
          }),
        })
      }
    }))
    return resources.map((r) => results.get(r)!)
  }

  /** Changes single keys of each resource; keys not named keep their values. */
  async incrementalAlterConfigs(changes: readonly { resource: ConfigResource; ops: readonly ConfigOp[] }[], options: { validateOnly?: boolean } = {}): Promise<AlterResult[]> {
    const results = new Map<ConfigResource, AlterResult>()
    await Promise.all([...byTarget(changes)].map(async ([target, list]) => {
      const conn: Connection = target === null ? await this.client.controllerConnection() : await this.client.brokerConnection(target)
      const res = await conn.request(44, {
        resources: list.map(({ resource, ops }) => ({
          resourceType: resource.type, resourceName: resource.name,
          configs: ops.map((o) => ({ name: o.name, configOperation: o.op, value: o.value })),
        })),
        validateOnly: options.validateOnly ?? false,
      })
      for (const { resource } of list) {
        const r = res.responses.find((x) => x.resourceType === resource.type && x.resourceName === resource.name)
        const context = `altering configs of ${describeResource(resource)}`
        results.set(resource, {
          resource,
          error: !r ? new KafkaError(ERROR.UNKNOWN_SERVER_ERROR, context, 'missing from the broker\'s answer')
            : r.errorCode === 0 ? null : new KafkaError(r.errorCode, context, r.errorMessage),
        })
      }
    }))
    return changes.map((c) => results.get(c.resource)!)
  }
}
