/**
 * Loads Kafka's JSON message schemas into a normalised model for the emitter.
 *
 * The schema files are "JSON with // comments" and have a few quirks (string tags,
 * string defaults such as "0x7fffffff" or "null", flexibleVersions "none", structs
 * shared through commonStructs). All of that is resolved here, so the emitter only
 * sees version ranges, parsed types and parsed defaults.
 */
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/** An inclusive version range; hi is Infinity for "N+". */
export interface VersionRange {
  lo: number
  hi: number
}

export type Primitive = 'int8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'float64' | 'bool' | 'string' | 'bytes' | 'records' | 'uuid'

export type FieldType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'struct'; name: string }
  | { kind: 'array'; element: { kind: 'primitive'; name: Primitive } | { kind: 'struct'; name: string } }

export interface Field {
  /** JSON name, e.g. "TopicData". */
  jsonName: string
  /** TypeScript property name, e.g. "topicData". */
  name: string
  type: FieldType
  versions: VersionRange | null
  nullableVersions: VersionRange | null
  /** Set for tagged fields (taggedVersions). */
  taggedVersions: VersionRange | null
  tag: number | null
  /** Field-level override of the message's flexible versions (RequestHeader.ClientId: "none"). */
  flexibleVersions: VersionRange | null | undefined
  /** The raw "default" value from the schema, if any. */
  rawDefault: string | number | boolean | undefined
}

export interface Struct {
  name: string
  fields: Field[]
}

export interface MessageSchema {
  /** File stem, e.g. "ProduceRequest". */
  fileName: string
  name: string
  type: 'request' | 'response' | 'data' | 'header' | 'metadata'
  apiKey: number | null
  validVersions: VersionRange
  flexibleVersions: VersionRange | null
  /** The top-level struct (name = message name). */
  root: Struct
  /** Every named struct in the file, top-level first, in definition order. */
  structs: Map<string, Struct>
}

const PRIMITIVES = new Set<string>(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid'])

/** Removes // comments (outside string literals) so the text parses as JSON. */
export function stripComments(text: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === '\\') out += text[++i] ?? ''
      else if (c === '"') inString = false
    } else if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else {
      out += c
    }
  }
  return out
}

export function parseVersions(spec: unknown, what: string): VersionRange | null {
  if (spec === undefined || spec === 'none') return null
  const s = String(spec).trim()
  let m = /^(\d+)\+$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Infinity }
  m = /^(\d+)-(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) }
  m = /^(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) }
  throw new Error(`${what}: unparseable version range ${JSON.stringify(spec)}`)
}

function parseType(type: string, what: string): FieldType {
  const isArray = type.startsWith('[]')
  const base = isArray ? type.slice(2) : type
  const element = PRIMITIVES.has(base)
    ? { kind: 'primitive' as const, name: base as Primitive }
    : { kind: 'struct' as const, name: base }
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(base)) throw new Error(`${what}: bad type ${type}`)
  return isArray ? { kind: 'array', element } : element
}

export function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}

interface RawField {
  name: string
  type: string
  versions?: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number | string
  default?: string | number | boolean
  flexibleVersions?: string
  fields?: RawField[]
}

function parseField(raw: RawField, structs: Map<string, Struct>, file: string): Field {
  const what = `${file}: field ${raw.name}`
  const type = parseType(raw.type, what)
  if (raw.fields) {
    const structName = type.kind === 'array' ? type.element.name : type.name
    defineStruct(structName, raw.fields, structs, file)
  }
  return {
    jsonName: raw.name,
    name: lowerFirst(raw.name),
    type,
    versions: parseVersions(raw.versions, what),
    nullableVersions: parseVersions(raw.nullableVersions, what),
    taggedVersions: parseVersions(raw.taggedVersions, what),
    tag: raw.tag === undefined ? null : Number(raw.tag),
    flexibleVersions: raw.flexibleVersions === undefined ? undefined : parseVersions(raw.flexibleVersions, what),
    rawDefault: raw.default,
  }
}

function defineStruct(name: string, rawFields: RawField[], structs: Map<string, Struct>, file: string): Struct {
  if (structs.has(name)) throw new Error(`${file}: struct ${name} defined twice`)
  // Register before parsing children so definition order is parent-first.
  const struct: Struct = { name, fields: [] }
  structs.set(name, struct)
  struct.fields = rawFields.map((f) => parseField(f, structs, file))
  return struct
}

export function loadSchema(path: string): MessageSchema {
  const fileName = basename(path, '.json')
  const json = JSON.parse(stripComments(readFileSync(path, 'utf8'))) as {
    name: string
    type: MessageSchema['type']
    apiKey?: number
    validVersions: string
    flexibleVersions: string
    fields: RawField[]
    commonStructs?: { name: string; fields: RawField[] }[]
  }
  const structs = new Map<string, Struct>()
  const root = defineStruct(json.name, json.fields, structs, fileName)
  for (const common of json.commonStructs ?? []) defineStruct(common.name, common.fields, structs, fileName)
  const validVersions = parseVersions(json.validVersions, fileName)
  if (!validVersions) throw new Error(`${fileName}: no validVersions`)
  const schema: MessageSchema = {
    fileName,
    name: json.name,
    type: json.type,
    apiKey: json.apiKey ?? null,
    validVersions,
    flexibleVersions: parseVersions(json.flexibleVersions, fileName),
    root,
    structs,
  }
  for (const s of structs.values()) {
    for (const f of s.fields) {
      const ref = f.type.kind === 'array' ? f.type.element : f.type
      if (ref.kind === 'struct' && !structs.has(ref.name)) throw new Error(`${fileName}: unknown struct ${ref.name}`)
    }
  }
  return schema
}
