import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { API_KEYS, apiCodec } from '../../../src/protocol/messages/index.ts'
import {
  METADATA_RECORDS,
  decodeMetadataRecordValue,
  encodeMetadataRecordValue,
  metadataRecordCodec,
} from '../../../src/protocol/metadata-records/index.ts'
import { DecodeError, Reader } from '../../../src/protocol/primitives/reader.ts'
import { Writer } from '../../../src/protocol/primitives/writer.ts'
import { ValueBuilder, loadGeneratedModules, prng, type GeneratedModule } from './schema-values.ts'

const modules = await loadGeneratedModules()
const haveSpec = modules.length > 0
const noSpec = haveSpec ? false : 'Kafka schemas (../shared/kafka-spec) not found: populated round trips skipped'

function versionsOf(mod: GeneratedModule): number[] {
  const out: number[] = []
  for (let v = mod.schema.validVersions.lo; v <= mod.schema.validVersions.hi; v++) out.push(v)
  return out
}

function encode(mod: GeneratedModule, version: number, m: unknown): Buffer {
  const w = new Writer()
  mod.encode(w, version, m)
  return w.toBuffer()
}

/** Decodes buf completely; returns the value or the error thrown. */
function tryDecode(mod: GeneratedModule, version: number, buf: Buffer): { value?: unknown; rest?: number; error?: unknown } {
  try {
    const r = new Reader(buf)
    const value = mod.decode(r, version)
    return { value, rest: r.remaining() }
  } catch (error) {
    return { error }
  }
}

t.test('every API, every version: defaults round-trip through the API_KEYS table', async (t) => {
  let count = 0
  for (const codec of Object.values(API_KEYS)) {
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
      for (const [enc, dec, dflt] of [
        [codec.encodeRequest, codec.decodeRequest, codec.defaultRequest],
        [codec.encodeResponse, codec.decodeResponse, codec.defaultResponse],
      ] as const) {
        const w = new Writer()
        const m = dflt()
        ;(enc as (w: Writer, v: number, m: unknown) => void)(w, v, m)
        const r = new Reader(w.toBuffer())
        const back = dec(r, v)
        if (!isDeepStrictEqual(back, m) || r.remaining() !== 0) t.fail(`${codec.name} v${v} default round trip`)
        count++
      }
    }
  }
  t.ok(count > 600, `${count} request/response versions checked`)
  t.equal(apiCodec(0)?.name, 'Produce')
  t.equal(apiCodec(18)?.flexibleFrom, 3)
  t.equal(apiCodec(9999), undefined)
  t.equal(apiCodec(-1), undefined)
})

t.test('populated values round-trip for every schema and version', { skip: noSpec }, async (t) => {
  let checked = 0
  for (const mod of modules) {
    const failures: string[] = []
    for (const v of versionsOf(mod)) {
      for (let seed = 1; seed <= 6; seed++) {
        const builder = new ValueBuilder(mod, seed * 1000 + v)
        builder.nullChance = seed % 3 === 0 ? 0.9 : seed % 3 === 1 ? 0 : 0.25
        const m = builder.message(v)
        const buf = encode(mod, v, m)
        const got = tryDecode(mod, v, buf)
        if (got.error) failures.push(`v${v} seed ${seed}: ${String(got.error)}`)
        else if (got.rest !== 0) failures.push(`v${v} seed ${seed}: ${got.rest} bytes left`)
        else if (!isDeepStrictEqual(got.value, m)) failures.push(`v${v} seed ${seed}: value differs`)
        checked++
      }
    }
    t.same(failures, [], `${mod.schema.name}`)
  }
  t.ok(checked > 2000, `${checked} round trips`)
})

t.test('a truncated encoding always throws DecodeError', { skip: noSpec }, async (t) => {
  for (const mod of modules) {
    const failures: string[] = []
    for (const v of versionsOf(mod)) {
      const builder = new ValueBuilder(mod, 77 + v)
      builder.nullChance = 0.1
      const buf = encode(mod, v, builder.message(v))
      const cuts = buf.length <= 256 ? [...Array(buf.length).keys()] : [...Array(64).keys()].map((i) => Math.floor((i * buf.length) / 64)).concat([buf.length - 1])
      for (const cut of cuts) {
        const got = tryDecode(mod, v, buf.subarray(0, cut))
        if (!(got.error instanceof DecodeError)) failures.push(`v${v} cut at ${cut}/${buf.length}: ${got.error ? String(got.error) : 'decoded'}`)
      }
    }
    t.same(failures.slice(0, 5), [], `${mod.schema.name}`)
  }
})

t.test('random and mutated input throws DecodeError or decodes, nothing else', { skip: noSpec }, async (t) => {
  const rand = prng(20240611)
  let decoded = 0
  let rejected = 0
  for (const mod of modules) {
    const failures: string[] = []
    for (const v of versionsOf(mod)) {
      const builder = new ValueBuilder(mod, 4242 + v)
      builder.bigPayloads = false
      const valid = encode(mod, v, builder.message(v))
      for (let i = 0; i < 24; i++) {
        let input: Buffer
        if (i < 8) {
          input = Buffer.alloc(Math.floor(rand() * 64))
          for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256)
        } else {
          input = Buffer.from(valid)
          for (let k = 0; k < 1 + (i % 3) && input.length > 0; k++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256)
        }
        const got = tryDecode(mod, v, input)
        if (got.error === undefined) decoded++
        else if (got.error instanceof DecodeError) rejected++
        else failures.push(`v${v}: ${String(got.error)} on ${input.toString('hex')}`)
      }
    }
    t.same(failures.slice(0, 3), [], `${mod.schema.name}`)
  }
  t.ok(decoded > 0 && rejected > 0, `${decoded} decoded, ${rejected} rejected`)
})

t.test('metadata record values carry the KRaft frame', { skip: noSpec }, async (t) => {
  for (const mod of modules.filter((m) => m.schema.type === 'metadata')) {
    const codec = metadataRecordCodec(mod.schema.apiKey!)
    t.ok(codec, `${mod.schema.name} is in METADATA_RECORDS`)
    for (const v of versionsOf(mod)) {
      const record = new ValueBuilder(mod, v + 5).message(v)
      const value = encodeMetadataRecordValue(mod.schema.apiKey!, v, record)
      t.same([...value.subarray(0, 3)], [1, mod.schema.apiKey!, v], `${mod.schema.name} v${v} frame header`)
      t.same(decodeMetadataRecordValue(value), { apiKey: mod.schema.apiKey, version: v, record })
    }
  }
})

t.test('metadata record framing rejects bad frames', async (t) => {
  const topic = encodeMetadataRecordValue(2, 0, { ...METADATA_RECORDS[2].default(), name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' })
  t.same(decodeMetadataRecordValue(topic).record, { name: 'orders', topicId: 'AAAAAAAAAAAAAAAAAAAAAg' })
  t.throws(() => decodeMetadataRecordValue(Buffer.concat([Buffer.from([2]), topic.subarray(1)])), DecodeError, 'frame version 2')
  t.throws(() => decodeMetadataRecordValue(Buffer.from([1, 99, 0])), DecodeError, 'unknown record type')
  t.throws(() => decodeMetadataRecordValue(Buffer.from([1, 2, 9])), DecodeError, 'unknown version')
  t.throws(() => decodeMetadataRecordValue(Buffer.concat([topic, Buffer.from([0])])), DecodeError, 'trailing bytes')
  t.throws(() => encodeMetadataRecordValue(99, 0, {}), RangeError)
  t.throws(() => encodeMetadataRecordValue(2, 5, {}), RangeError)
})
