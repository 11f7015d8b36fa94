/**
 * Test helper: builds populated values for any generated message, driven by the JSON
 * schema (through the generator's own loader), so round-trip tests reach every field,
 * every version, nullable nulls, tagged fields and nested arrays.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kebabCase } from '../../../src/protocol/codegen/emit-file.ts'
import { OUTPUT_DIRS } from '../../../src/protocol/codegen/generate.ts'
import { loadSchema, type Field, type MessageSchema, type Struct, type VersionRange } from '../../../src/protocol/codegen/schema.ts'
import type { Reader } from '../../../src/protocol/primitives/reader.ts'
import { uuidFromBytes } from '../../../src/protocol/primitives/uuid.ts'
import type { Writer } from '../../../src/protocol/primitives/writer.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const SPEC_DIR = join(repoRoot, '../shared/kafka-spec')

export interface GeneratedModule {
  schema: MessageSchema
  decode: (r: Reader, version: number) => unknown
  encode: (w: Writer, version: number, m: unknown) => void
  defaults: (structName: string) => Record<string, unknown>
}

/** Every schema file with its generated module (empty when the spec folder is absent). */
export async function loadGeneratedModules(): Promise<GeneratedModule[]> {
  const out: GeneratedModule[] = []
  for (const [specSub, outSub] of Object.entries(OUTPUT_DIRS)) {
    const dir = join(SPEC_DIR, specSub)
    if (!existsSync(dir)) continue
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const schema = loadSchema(join(dir, file))
      const mod = (await import(`../../../src/protocol/${outSub}/${kebabCase(schema.fileName)}.ts`)) as Record<string, unknown>
      out.push({
        schema,
        decode: mod[`decode${schema.name}`] as GeneratedModule['decode'],
        encode: mod[`encode${schema.name}`] as GeneratedModule['encode'],
        defaults: (structName) => (mod[`default${structName}`] as () => Record<string, unknown>)(),
      })
    }
  }
  return out
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function inRange(r: VersionRange | null, v: number): boolean {
  return r !== null && v >= r.lo && v <= r.hi
}

const ALPHABET = ['a', 'b', 'Z', '0', '-', '_', '.', 'é', '€', '🦀', ' ']

export class ValueBuilder {
  private readonly rand: () => number
  private readonly mod: GeneratedModule
  /** Probability of choosing null where the version allows it. */
  nullChance = 0.25
  /** Allow occasional payloads above the writer's zero-copy threshold. */
  bigPayloads = true

  constructor(mod: GeneratedModule, seed: number) {
    this.mod = mod
    this.rand = prng(seed)
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1))
  }

  message(version: number): Record<string, unknown> {
    return this.struct(this.mod.schema.root, version)
  }

  struct(s: Struct, version: number): Record<string, unknown> {
    const m = this.mod.defaults(s.name)
    const flexible = inRange(this.mod.schema.flexibleVersions, version)
    for (const f of s.fields) {
      const present = f.taggedVersions ? flexible && inRange(f.taggedVersions, version) : inRange(f.versions, version)
      // Tagged fields are left at their default half of the time, so both paths are exercised.
      if (!present || (f.taggedVersions && this.rand() < 0.5)) continue
      m[f.name] = this.field(f, version)
    }
    return m
  }

  private field(f: Field, version: number): unknown {
    if (inRange(f.nullableVersions, version) && this.rand() < this.nullChance) return null
    const t = f.type
    if (t.kind === 'array') {
      const n = this.int(0, 3)
      const items: unknown[] = []
      for (let i = 0; i < n; i++) items.push(t.element.kind === 'struct' ? this.struct(this.mod.schema.structs.get(t.element.name)!, version) : this.primitive(t.element.name))
      return items
    }
    if (t.kind === 'struct') return this.struct(this.mod.schema.structs.get(t.name)!, version)
    return this.primitive(t.name)
  }

  primitive(name: string): unknown {
    switch (name) {
      case 'int8':
        return this.int(-128, 127)
      case 'int16':
        return this.int(-32768, 32767)
      case 'uint16':
        return this.int(0, 65535)
      case 'int32':
        return this.int(-(2 ** 31), 2 ** 31 - 1)
      case 'int64':
        return this.rand() < 0.5 ? this.int(-1, 1000) : Math.floor((this.rand() - 0.5) * 2 * Number.MAX_SAFE_INTEGER)
      case 'float64':
        return (this.rand() - 0.5) * 1e6
      case 'bool':
        return this.rand() < 0.5
      case 'uuid': {
        const b = Buffer.alloc(16)
        for (let i = 0; i < 16; i++) b[i] = this.int(0, 255)
        return uuidFromBytes(b)
      }
      case 'string': {
        let s = ''
        for (let i = this.int(0, 8); i > 0; i--) s += ALPHABET[this.int(0, ALPHABET.length - 1)]
        return s
      }
      case 'bytes':
      case 'records': {
        const len = this.bigPayloads && this.rand() < 0.05 ? 5000 : this.int(0, 24)
        const b = Buffer.alloc(len)
        for (let i = 0; i < len; i++) b[i] = this.int(0, 255)
        return b
      }
      default:
        throw new Error(`unknown primitive ${name}`)
    }
  }
}
