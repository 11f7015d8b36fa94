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
  /** What the key does (DescribeConfigs v3+ include_documentation); null when Samsa has no text for it. */
  documentation: string | null
}

type Synonym = DescribedConfig['synonyms'][number]

/**
 * The broker-level synonyms of a topic key, as Kafka lists them: every key of the chain set in
 * server.properties (static), then the one that supplies the built-in default.
 */
function brokerSynonyms(config: BrokerConfig, keys: readonly string[], fallback: string | undefined): Synonym[] {
  const out: Synonym[] = keys.filter((k) => config.explicitKeys.has(k)).map((k) => ({ name: k, value: config.raw.get(k) ?? null, source: ConfigSource.STATIC_BROKER }))
  const withDefault = keys.find((k) => CONFIG_KEYS[k]?.default != null)
  if (withDefault !== undefined) out.push({ name: withDefault, value: CONFIG_KEYS[withDefault]!.default, source: ConfigSource.DEFAULT })
  else if (fallback !== undefined && keys.length > 0) out.push({ name: keys.at(-1)!, value: fallback, source: ConfigSource.DEFAULT })
  return out
}

const LONG_MAX = '9223372036854775807'

/** A topic key's value when the topic does not override it, in the topic key's own unit. */
function brokerDefault(config: BrokerConfig, name: string, fallback: string | undefined): string | null {
  const d = config.topicDefaults
  const ms = (n: number, never: string): string => (n === Infinity ? never : String(n))
  switch (name) {
    case 'retention.ms': return ms(d.retentionMs, '-1')
    case 'retention.bytes': return ms(d.retentionBytes, '-1')
    case 'segment.ms': return ms(d.segmentMs, LONG_MAX)
    case 'flush.ms': return ms(d.flushMs, LONG_MAX)
    case 'flush.messages': return ms(d.flushMessages, LONG_MAX)
    case 'file.delete.delay.ms': return ms(d.fileDeleteDelayMs, LONG_MAX)
    default: {
      const key = TOPIC_CONFIG_KEYS[name]!.brokerKeys.find((k) => config.raw.has(k))
      return key === undefined ? (fallback ?? null) : config.raw.get(key)!
    }
  }
}

export function describeTopicConfigs(config: BrokerConfig, overrides: ReadonlyMap<string, string> | undefined, keys: readonly string[] | null): DescribedConfig[] {
  const names = keys ?? Object.keys(TOPIC_CONFIG_KEYS).sort()
  const out: DescribedConfig[] = []
  for (const name of names) {
    const key = TOPIC_CONFIG_KEYS[name]
    if (!key) continue
    const synonyms: Synonym[] = []
    const override = overrides?.get(name)
    if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSource.TOPIC })
    synonyms.push(...brokerSynonyms(config, key.brokerKeys, key.fallback))
    const value = override ?? brokerDefault(config, name, key.fallback)
    out.push({
      name, value, readOnly: false, configSource: synonyms[0]?.source ?? ConfigSource.DEFAULT, isSensitive: false,
      configType: ConfigType[key.kind] ?? 0, synonyms,
      // A topic key is documented by the broker key that supplies its default (same meaning, per topic).
      documentation: key.brokerKeys.map((k) => CONFIG_KEYS[k]?.doc).find((d) => d !== undefined) ?? null,
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
    // Sensitive values never leave the broker (Kafka sends null for them).
    const value = def.type === 'password' ? null : (config.raw.get(name) ?? null)
    const source = config.explicitKeys.has(name) ? ConfigSource.STATIC_BROKER : ConfigSource.DEFAULT
    out.push({
      name, value, readOnly: true, configSource: source, isSensitive: def.type === 'password',
      configType: ConfigType[def.type] ?? 0, synonyms: value === null ? [] : [{ name, value, source }], documentation: def.doc,
    })
  }
  return out
}
