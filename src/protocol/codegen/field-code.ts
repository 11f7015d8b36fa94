/**
 * Per-field code fragments: the TypeScript type, the default value, and the read/write
 * code for one field under a known (flexible, nullable) combination. The struct emitter
 * chooses between combinations with version tests.
 */
import type { Field, FieldType, Primitive } from './schema.ts'

/** Names the generated file must import, collected while emitting. */
export class Imports {
  reader = new Set<string>()
  writer = new Set<string>()
  uuid = new Set<string>()
}

const NUMERIC = new Set<Primitive>(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64'])

const METHOD: Record<Primitive, string> = {
  int8: 'Int8',
  int16: 'Int16',
  uint16: 'Uint16',
  int32: 'Int32',
  int64: 'Int64',
  float64: 'Float64',
  bool: 'Bool',
  uuid: 'Uuid',
  string: 'String',
  bytes: 'Bytes',
  records: 'Bytes',
}

export function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

export function isNullable(f: Field): boolean {
  return f.nullableVersions !== null
}

function primitiveTsType(p: Primitive): string {
  if (NUMERIC.has(p)) return 'number'
  if (p === 'bool') return 'boolean'
  if (p === 'bytes' || p === 'records') return 'Buffer'
  return 'string'
}

export function tsType(f: Field): string {
  const t = f.type
  let base: string
  if (t.kind === 'array') base = `${t.element.kind === 'struct' ? t.element.name : primitiveTsType(t.element.name)}[]`
  else if (t.kind === 'struct') base = t.name
  else base = primitiveTsType(t.name)
  const nullable = isNullable(f) || (t.kind === 'primitive' && t.name === 'records')
  return nullable ? `${base} | null` : base
}

/** The value a field has when it is absent from the decoded version (or not yet set). */
export function defaultExpr(f: Field, imports: Imports): string {
  const t = f.type
  const raw = f.rawDefault
  const nullDefault = isNullable(f) && raw === 'null'
  if (t.kind === 'array') return nullDefault ? 'null' : '[]'
  if (t.kind === 'struct') return nullDefault ? 'null' : `default${t.name}()`
  switch (t.name) {
    case 'bool':
      return raw === true || raw === 'true' ? 'true' : 'false'
    case 'string':
      return nullDefault ? 'null' : quote(raw === undefined ? '' : String(raw))
    case 'uuid':
      imports.uuid.add('ZERO_UUID')
      return 'ZERO_UUID'
    case 'bytes':
      return nullDefault ? 'null' : 'Buffer.alloc(0)'
    case 'records':
      return isNullable(f) ? 'null' : 'Buffer.alloc(0)'
    default: {
      const n = raw === undefined ? 0 : Number(raw)
      if (!Number.isFinite(n)) throw new Error(`field ${f.jsonName}: bad default ${JSON.stringify(raw)}`)
      return String(n)
    }
  }
}

/** Whether a value that is null in the TS type needs `required(...)` before a non-null write. */
function mayBeNull(f: Field): boolean {
  return tsType(f).endsWith('| null')
}

function elementReader(el: Exclude<FieldType, { kind: 'array' }>, flexible: string, imports: Imports): string {
  if (el.kind === 'struct') return `decode${el.name}`
  const compact = flexible === 'true' && (el.name === 'string' || el.name === 'bytes')
  const name = `read${compact ? 'Compact' : ''}${METHOD[el.name]}`
  imports.reader.add(name)
  return name
}

function elementWriter(el: Exclude<FieldType, { kind: 'array' }>, flexible: string, imports: Imports): string {
  if (el.kind === 'struct') return `encode${el.name}`
  const compact = flexible === 'true' && (el.name === 'string' || el.name === 'bytes')
  const name = `write${compact ? 'Compact' : ''}${METHOD[el.name]}`
  imports.writer.add(name)
  return name
}

/**
 * Expression reading field f with the given encoding choices. `flexible` is 'true',
 * 'false', or (arrays of structs/numbers only) a version test used as the compact flag.
 */
export function readLeaf(f: Field, flexible: string, nullable: boolean, imports: Imports): string {
  const t = f.type
  if (t.kind === 'array') {
    const versionArg = t.element.kind === 'struct' ? ', version' : ''
    return `r.${nullable ? 'nullableArray' : 'array'}(${flexible}, ${elementReader(t.element, flexible, imports)}${versionArg})`
  }
  if (t.kind === 'struct') return nullable ? `r.int8() < 0 ? null : decode${t.name}(r, version)` : `decode${t.name}(r, version)`
  if (t.name === 'string' || t.name === 'bytes' || t.name === 'records') {
    const kind = t.name === 'string' ? 'String' : 'Bytes'
    if (flexible === 'true') return nullable ? `r.compactNullable${kind}()` : `r.compact${kind}()`
    return nullable ? `r.nullable${kind}()` : `r.${kind.toLowerCase()}()`
  }
  return `r.${t.name}()`
}

/** Statements writing value v of field f with the given encoding choices. */
export function writeLeaf(f: Field, v: string, flexible: string, nullable: boolean, imports: Imports): string[] {
  const t = f.type
  let nonNull = v
  if (!nullable && mayBeNull(f)) {
    imports.writer.add('required')
    nonNull = `required(${v}, ${quote(f.name)})`
  }
  if (t.kind === 'array') {
    const versionArg = t.element.kind === 'struct' ? ', version' : ''
    const writer = elementWriter(t.element, flexible, imports)
    return nullable
      ? [`w.nullableArray(${flexible}, ${v}, ${writer}${versionArg})`]
      : [`w.array(${flexible}, ${nonNull}, ${writer}${versionArg})`]
  }
  if (t.kind === 'struct') {
    if (!nullable) return [`encode${t.name}(w, version, ${nonNull})`]
    return [`if (${v} === null) w.int8(-1)`, 'else {', '  w.int8(1)', `  encode${t.name}(w, version, ${v})`, '}']
  }
  if (t.name === 'string' || t.name === 'bytes' || t.name === 'records') {
    const kind = t.name === 'string' ? 'String' : 'Bytes'
    if (flexible === 'true') return nullable ? [`w.compactNullable${kind}(${v})`] : [`w.compact${kind}(${nonNull})`]
    return nullable ? [`w.nullable${kind}(${v})`] : [`w.${kind.toLowerCase()}(${nonNull})`]
  }
  return [`w.${t.name}(${v})`]
}

/** Expression that is true when value v of field f differs from its default (tagged fields are written only then). */
export function differsFromDefault(f: Field, v: string, imports: Imports): string {
  const d = defaultExpr(f, imports)
  const t = f.type
  const canBeNull = mayBeNull(f)
  if (d === 'null') return `${v} !== null`
  if (t.kind === 'array' || (t.kind === 'primitive' && (t.name === 'bytes' || t.name === 'records'))) {
    return canBeNull ? `(${v} === null || ${v}.length !== 0)` : `${v}.length !== 0`
  }
  if (t.kind === 'struct') return canBeNull ? `(${v} === null || !isDefault${t.name}(${v}))` : `!isDefault${t.name}(${v})`
  return `${v} !== ${d}`
}
