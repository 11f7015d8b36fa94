/**
 * Emits the index modules: the API_KEYS table pairing every request with its response,
 * and the METADATA_RECORDS table with the KRaft metadata record framing helpers.
 */
import { BANNER, kebabCase, upperSnake } from './emit-file.ts'
import type { MessageSchema } from './schema.ts'

function importFrom(schema: MessageSchema, names: string[]): string {
  return `import { ${names.join(', ')} } from './${kebabCase(schema.fileName)}.ts'`
}

function typeImport(schema: MessageSchema): string {
  return `import type { ${schema.name} } from './${kebabCase(schema.fileName)}.ts'`
}

export function emitMessagesIndex(schemas: MessageSchema[]): string {
  const requests = schemas.filter((s) => s.type === 'request').sort((a, b) => a.apiKey! - b.apiKey!)
  const responses = new Map(schemas.filter((s) => s.type === 'response').map((s) => [s.apiKey!, s]))
  const imports: string[] = []
  const entries: string[] = []
  for (const req of requests) {
    const res = responses.get(req.apiKey!)
    if (!res) throw new Error(`no response schema for ${req.name}`)
    const fns = (s: MessageSchema) => [`decode${s.name}`, `encode${s.name}`, `default${s.name}`]
    imports.push(importFrom(req, [upperSnake(req.name), ...fns(req)]), typeImport(req))
    imports.push(importFrom(res, fns(res)), typeImport(res))
    const resFlex = res.flexibleVersions ? res.flexibleVersions.lo : null
    entries.push(
      `  ${req.apiKey}: codec<${req.name}, ${res.name}>({`,
      `    ...${upperSnake(req.name)},`,
      `    responseFlexibleFrom: ${resFlex},`,
      `    decodeRequest: decode${req.name},`,
      `    encodeRequest: encode${req.name},`,
      `    defaultRequest: default${req.name},`,
      `    decodeResponse: decode${res.name},`,
      `    encodeResponse: encode${res.name},`,
      `    defaultResponse: default${res.name},`,
      `  }),`,
    )
  }
  return [
    BANNER,
    "import type { Reader } from '../primitives/reader.ts'",
    "import type { Writer } from '../primitives/writer.ts'",
    ...imports,
    '',
    '/** Codecs of one API (request + response). Methods, so that a typed codec is assignable to ApiCodec<unknown, unknown>. */',
    'export interface ApiCodec<Req = unknown, Res = unknown> {',
    '  readonly apiKey: number',
    '  readonly name: string',
    '  readonly minVersion: number',
    '  readonly maxVersion: number',
    '  /** First flexible request version (header v2), or null. */',
    '  readonly flexibleFrom: number | null',
    '  /** First flexible response version (header v1 except ApiVersions), or null. */',
    '  readonly responseFlexibleFrom: number | null',
    '  decodeRequest(r: Reader, version: number): Req',
    '  encodeRequest(w: Writer, version: number, m: Req): void',
    '  defaultRequest(): Req',
    '  decodeResponse(r: Reader, version: number): Res',
    '  encodeResponse(w: Writer, version: number, m: Res): void',
    '  defaultResponse(): Res',
    '}',
    '',
    'function codec<Req, Res>(c: ApiCodec<Req, Res>): ApiCodec<Req, Res> {',
    '  return c',
    '}',
    '',
    'export const API_KEYS = {',
    ...entries,
    '} as const',
    '',
    '/** The codec for an API key, or undefined for a key this build does not know. */',
    'export function apiCodec(apiKey: number): ApiCodec | undefined {',
    '  return Object.hasOwn(API_KEYS, apiKey) ? (API_KEYS as Record<number, ApiCodec>)[apiKey] : undefined',
    '}',
    '',
  ].join('\n')
}

export function emitMetadataIndex(schemas: MessageSchema[]): string {
  const records = schemas.filter((s) => s.type === 'metadata').sort((a, b) => a.apiKey! - b.apiKey!)
  const imports: string[] = []
  const entries: string[] = []
  for (const s of records) {
    imports.push(importFrom(s, [upperSnake(s.name), `decode${s.name}`, `encode${s.name}`, `default${s.name}`]), typeImport(s))
    entries.push(
      `  ${s.apiKey}: record<${s.name}>({ ...${upperSnake(s.name)}, decode: decode${s.name}, encode: encode${s.name}, default: default${s.name} }),`,
    )
  }
  return [
    BANNER,
    "import { DecodeError, Reader } from '../primitives/reader.ts'",
    "import { Writer } from '../primitives/writer.ts'",
    ...imports,
    '',
    'export interface MetadataRecordCodec<T = unknown> {',
    '  readonly apiKey: number',
    '  readonly name: string',
    '  readonly minVersion: number',
    '  readonly maxVersion: number',
    '  readonly flexibleFrom: number | null',
    '  decode(r: Reader, version: number): T',
    '  encode(w: Writer, version: number, m: T): void',
    '  default(): T',
    '}',
    '',
    'function record<T>(c: MetadataRecordCodec<T>): MetadataRecordCodec<T> {',
    '  return c',
    '}',
    '',
    'export const METADATA_RECORDS = {',
    ...entries,
    '} as const',
    '',
    'export function metadataRecordCodec(apiKey: number): MetadataRecordCodec | undefined {',
    '  return Object.hasOwn(METADATA_RECORDS, apiKey) ? (METADATA_RECORDS as Record<number, MetadataRecordCodec>)[apiKey] : undefined',
    '}',
    '',
    '/** Frame version of metadata record values (AbstractApiMessageSerde). */',
    'export const METADATA_FRAME_VERSION = 1',
    '',
    '/** A metadata record value: `uvarint frameVersion=1, uvarint apiKey, uvarint version`, then the body. */',
    'export function encodeMetadataRecordValue(apiKey: number, version: number, record: unknown): Buffer {',
    '  const codec = metadataRecordCodec(apiKey)',
    '  if (!codec) throw new RangeError(`unknown metadata record type ${apiKey}`)',
    '  if (version < codec.minVersion || version > codec.maxVersion) throw new RangeError(`${codec.name} has no version ${version}`)',
    '  const w = new Writer()',
    '  w.uvarint(METADATA_FRAME_VERSION)',
    '  w.uvarint(apiKey)',
    '  w.uvarint(version)',
    '  codec.encode(w, version, record)',
    '  return w.toBuffer()',
    '}',
    '',
    'export interface DecodedMetadataRecord {',
    '  apiKey: number',
    '  version: number',
    '  record: unknown',
    '}',
    '',
    '/** Decodes a metadata record value; unknown types, versions or trailing bytes are a DecodeError. */',
    'export function decodeMetadataRecordValue(value: Buffer): DecodedMetadataRecord {',
    '  const r = new Reader(value)',
    '  const frameVersion = r.uvarint()',
    '  if (frameVersion !== METADATA_FRAME_VERSION) throw new DecodeError(`unsupported metadata frame version ${frameVersion}`)',
    '  const apiKey = r.uvarint()',
    '  const version = r.uvarint()',
    '  const codec = metadataRecordCodec(apiKey)',
    '  if (!codec) throw new DecodeError(`unknown metadata record type ${apiKey}`)',
    '  if (version < codec.minVersion || version > codec.maxVersion) throw new DecodeError(`${codec.name} has no version ${version}`)',
    '  const record = codec.decode(r, version)',
    '  if (r.remaining() !== 0) throw new DecodeError(`${r.remaining()} trailing bytes after ${codec.name}`)',
    '  return { apiKey, version, record }',
    '}',
    '',
  ].join('\n')
}
