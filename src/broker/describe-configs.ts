/**
 * Describes topic and broker configuration the way DescribeConfigs and CreateTopics (v5+)
 * report it: each key's effective value and where it came from (topic override, the broker's
 * static file, or the built-in default), with the broker-level synonym chain when asked.
 */
import type { BrokerConfig } from '../config/broker-config.ts'
import { CONFIG_KEYS } from '../config/keys.ts'
import { TOPIC_CONFIG_KEYS } from '../metadata/topic-config.ts'

/** Kafka's DescribeConfigs config sources. */
export const ConfigSource = { TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const
/** Kafka's DescribeConfigs config types (v3+). */
const ConfigType: Record<string, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7, password: 9 }

export interface DescribedConfig {
  name: string
  value: string | null
  readOnly: boolean
  configSource: number
  isSensitive: boolean
  configType: number
  synonyms: { name: string; value: string | null; source: number }[]
}

function brokerSynonym(config: BrokerConfig, brokerKey: string | null): { name: string; value: string | null; source: number } | null {
  if (brokerKey === null) return null
  const value = config.raw.get(brokerKey)
  if (value === undefined) return null
  return { name: brokerKey, value, source: config.explicitKeys.has(brokerKey) ? ConfigSource.STATIC_BROKER : ConfigSource.DEFAULT }
}

export function describeTopicConfigs(config: BrokerConfig, overrides: ReadonlyMap<string, string> | undefined, keys: readonly string[] | null): DescribedConfig[] {
  const names = keys ?? Object.keys(TOPIC_CONFIG_KEYS).sort()
  const out: DescribedConfig[] = []
  for (const name of names) {
    const key = TOPIC_CONFIG_KEYS[name]
    if (!key) continue
    const synonyms: DescribedConfig['synonyms'] = []
    const override = overrides?.get(name)
    if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSource.TOPIC })
    const broker = brokerSynonym(config, key.brokerKey)
    if (broker) synonyms.push(broker)
    const effective = synonyms[0] ?? { name, value: key.fallback ?? null, source: ConfigSource.DEFAULT }
    out.push({
      name, value: effective.value, readOnly: false, configSource: effective.source, isSensitive: false,
      configType: ConfigType[key.kind] ?? 0, synonyms,
    })
  }
  return out
}

export function describeBrokerConfigs(config: BrokerConfig, keys: readonly string[] | null): DescribedConfig[] {
  const names = keys ?? Object.keys(CONFIG_KEYS).sort()
  const out: DescribedConfig[] = []
  for (const name of names) {
    const def = CONFIG_KEYS[name]
    if (!def) continue
    const value = config.raw.get(name) ?? null
    const source = config.explicitKeys.has(name) ? ConfigSource.STATIC_BROKER : ConfigSource.DEFAULT
    out.push({
      name, value, readOnly: true, configSource: source, isSensitive: def.type === 'password',
      configType: ConfigType[def.type] ?? 0, synonyms: value === null ? [] : [{ name, value, source }],
    })
  }
  return out
}
