/**
 * Fuzzing the request path with fixed seeds. The seeds are real client requests
 * (fixtures/captured/, recorded from kafkajs, @platformatic/kafka, kcat and confluent-kafka-python
 * by fixtures/capture-requests.ts); advertised (apiKey, version) pairs no client sends are seeded
 * by a captured request of the same API re-encoded at that version, else by codec defaults. Each
 * seed is mutated (bit flips, boundary bytes, truncation, junk, inflated ints, corrupted string
 * lengths and array counts, huge compact lengths, varint garbage, duplicated fields, another
 * version in the header, record batches with a recomputed CRC, size prefixes above the limit)
 * and sent to a real broker, 16 connections at a time. Every frame must be answered or its
 * connection closed within 10 s (acks=0 produce, long-poll fetch and group joins may wait), a
 * well-formed request on another connection is answered after each round, nothing is logged as
 * an internal error, and the stored data of a topic nobody targets is byte-for-byte unchanged.
 * FUZZ_SEED=n and FUZZ_PER_SEED=n run other or more mutations; FUZZ_DEBUG=1 lists each round.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crc32c } from '@node-rs/crc32'
import { pino } from 'pino'
import { startBroker } from '../helpers/broker.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { apiCodec } from '../../src/protocol/messages/index.ts'
import { handlerTable } from '../../src/kafka/handlers/index.ts'
import { Writer } from '../../src/protocol/primitives/writer.ts'
import { Reader } from '../../src/protocol/primitives/reader.ts'
import { encodeRequestHeader, decodeRequestHeader } from '../../src/protocol/headers.ts'
import { buildRecordBatch } from '../../src/storage/record-batch-builder.ts'
import { encodeFetchRequest } from '../../src/protocol/messages/fetch-request.ts'
import { decodeFetchResponse } from '../../src/protocol/messages/fetch-response.ts'
import { encodeProduceRequest } from '../../src/protocol/messages/produce-request.ts'
import { encodeCreateTopicsRequest } from '../../src/protocol/messages/create-topics-request.ts'
import { decodeCreateTopicsResponse } from '../../src/protocol/messages/create-topics-response.ts'

/** Errors the broker logs (a handler that failed on input it should have rejected cleanly). */
const brokerErrors: string[] = []
const logger = pino({ level: 'error' }, { write: (line: string) => { brokerErrors.push(line.trim()) } })
const broker = await startBroker(t, { config: { 'auto.create.topics.enable': false }, logger })
const DATA = 'fuzz-data' // never targeted by fuzzed requests
const TARGET = 'zz-target'

/** sfc32: a small seeded PRNG, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    const r = (a + b + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + r) >>> 0
    return r / 4294967296
  }
}

/** A realistic request body for each implemented API (what clients send, with real names). */
function sample(apiKey: number, version: number): unknown {
  const codec = apiCodec(apiKey)!
  const base = codec.defaultRequest() as Record<string, unknown>
  const records = buildRecordBatch({ records: [{ key: 'k', value: 'fuzz', headers: [{ key: 'h', value: 'v' }] }] })
  switch (apiKey) {
    case 0: return { ...base, acks: 1, timeoutMs: 1000, topicData: [{ name: TARGET, partitionData: [{ index: 0, records }] }] }
    case 1: return { ...base, maxWaitMs: 10, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: TARGET, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }] }
    case 2: return { ...base, replicaId: -1, topics: [{ name: TARGET, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] }
    case 3: return { ...base, topics: version >= 1 ? [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: TARGET }] : [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: TARGET }], allowAutoTopicCreation: false }
    case 18: return { ...base, clientSoftwareName: 'fuzzer', clientSoftwareVersion: '1.0' }
    case 19: return { ...base, topics: [{ name: 'zz-new', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }], timeoutMs: 1000 }
    case 20: return { ...base, topicNames: ['zz-gone'], topics: [{ name: 'zz-gone', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 1000 }
    case 22: return { ...base, transactionalId: null, transactionTimeoutMs: 1000 }
    case 23: return { ...base, topics: [{ topic: TARGET, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }
    case 32: return { ...base, resources: [{ resourceType: 2, resourceName: TARGET, configurationKeys: null }] }
    case 37: return { ...base, topics: [{ name: TARGET, count: 3, assignments: null }], timeoutMs: 1000 }
    case 8: return { ...base, groupId: 'zz-group', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: TARGET, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' }] }] }
    case 9: return { ...base, groupId: 'zz-group', topics: null, groups: [{ groupId: 'zz-group', memberId: null, memberEpoch: -1, topics: null }] }
    case 10: return { ...base, key: 'zz-group', keyType: 0, coordinatorKeys: ['zz-group'] }
    case 12: return { ...base, groupId: 'zz-group', generationId: 1, memberId: 'm' }
    case 13: return { ...base, groupId: 'zz-group', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] }
    case 15: return { ...base, groups: ['zz-group'] }
    case 21: return { ...base, topics: [{ name: TARGET, partitions: [{ partitionIndex: 0, offset: 0 }] }], timeoutMs: 1000 }
    case 33: return { ...base, resources: [{ resourceType: 2, resourceName: TARGET, configs: [{ name: 'retention.ms', value: '100000' }] }] }
    case 42: return { ...base, groupsNames: ['zz-group'] }
    case 44: return { ...base, resources: [{ resourceType: 2, resourceName: TARGET, configs: [{ name: 'retention.ms', configOperation: 0, value: '100000' }] }] }
    case 47: return { ...base, groupId: 'zz-group', topics: [{ name: TARGET, partitions: [{ partitionIndex: 0 }] }] }
    default: return base
  }
}

function frame(apiKey: number, version: number, correlationId: number, body: unknown): Buffer {
  const codec = apiCodec(apiKey)!
  const w = new Writer()
  const size = w.reserveInt32()
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'fuzz' })
  codec.encodeRequest(w, version, body as never)
  w.setInt32(size, w.length - 4)
  return w.toBuffer()
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!

/** A frame whose size prefix again matches its length. */
function sized(buf: Buffer): Buffer {
  buf.writeInt32BE(buf.length - 4, 0)
  return buf
}

/** Where the body starts: after size, api key, version, correlation id and client id. */
function bodyStart(buf: Buffer): number {
  const len = buf.length >= 14 ? buf.readInt16BE(12) : -1
  return Math.min(buf.length, 14 + Math.max(0, len))
}

const printable = (buf: Buffer, from: number, n: number): boolean => {
  if (from + n > buf.length) return false
  for (let i = from; i < from + n; i++) if (buf[i]! < 0x20 || buf[i]! > 0x7e) return false
  return true
}

/** Likely string fields: [prefix position, prefix width (2 = int16, 1 = compact varint), length]. */
function stringFields(buf: Buffer): [number, 1 | 2, number][] {
  const out: [number, 1 | 2, number][] = []
  for (let i = 4; i < buf.length - 2; i++) {
    const l16 = buf.readInt16BE(i)
    if (l16 >= 1 && l16 <= 249 && printable(buf, i + 2, l16)) out.push([i, 2, l16])
    const lc = buf[i]! - 1
    if (lc >= 1 && lc <= 126 && printable(buf, i + 1, lc)) out.push([i, 1, lc])
  }
  return out
}

/** A record batch (magic 2) inside a produce frame: its start, or -1. */
function findBatch(buf: Buffer): number {
  for (let i = 4; i + 61 <= buf.length; i++) {
    if (buf[i + 16] !== 2 || buf.readBigInt64BE(i) !== 0n) continue
    const len = buf.readInt32BE(i + 8)
    if (len >= 49 && i + 12 + len <= buf.length) return i
  }
  return -1
}

const MUTATIONS = [
  'bit-flip', 'boundary-bytes', 'truncate', 'extend', 'inflate-int', 'string-length', 'array-count',
  'varint-garbage', 'duplicate-field', 'header-version', 'record-batch', 'size-prefix',
] as const
type Mutation = typeof MUTATIONS[number]

/**
 * One mutation of a frame (size prefix included), chosen and placed by `rand`. Structure-aware
 * ones look for what the frame's bytes suggest (printable strings behind their length
 * prefixes, small int32 counts, a magic-2 record batch) and fall back to a bit flip.
 */
function mutate(original: Buffer, rand: () => number, versions: readonly number[]): { bytes: Buffer; kind: Mutation } {
  const buf = Buffer.from(original)
  const start = bodyStart(buf)
  const at = (from: number, n: number): number => from + Math.floor(rand() * Math.max(1, buf.length - from - n))
  const kind = pick(rand, MUTATIONS)
  const flip = (): { bytes: Buffer; kind: Mutation } => {
    for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) buf[at(4, 0)]! ^= 1 << Math.floor(rand() * 8)
    return { bytes: buf, kind: 'bit-flip' }
  }
  switch (kind) {
    case 'bit-flip': return flip()
    case 'boundary-bytes': {
      for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) buf[at(4, 0)] = pick(rand, [0x00, 0xff, 0x7f, 0x80])
      return { bytes: buf, kind }
    }
    case 'truncate': return { bytes: sized(Buffer.from(buf.subarray(0, 4 + Math.floor(rand() * (buf.length - 4))))), kind }
    case 'extend': return { bytes: sized(Buffer.concat([buf, Buffer.alloc(1 + Math.floor(rand() * 64), Math.floor(rand() * 256))])), kind }
    case 'inflate-int': {
      const p = at(4, 4)
      if (rand() < 0.5) buf.writeInt16BE(0x7fff, p)
      else buf.writeInt32BE(0x7ffffff0, p)
      return { bytes: buf, kind }
    }
    case 'string-length': {
      const fields = stringFields(buf)
      if (fields.length === 0) return flip()
      const [p, width, len] = pick(rand, fields)
      if (width === 2) {
        buf.writeInt16BE(pick(rand, [len + 1, len - 1, 0, -1, -2, 0x7fff]), p)
        return { bytes: buf, kind }
      }
      if (rand() < 0.5) {
        buf[p] = pick(rand, [len + 2, len, 0, 0x7f, 1])
        return { bytes: buf, kind }
      }
      // a huge declared compact length: a 5-byte varint in place of the 1-byte one
      return { bytes: sized(Buffer.concat([buf.subarray(0, p), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), buf.subarray(p + 1)])), kind }
    }
    case 'array-count': {
      const counts: number[] = []
      for (let i = start; i + 4 <= buf.length; i++) { const v = buf.readInt32BE(i); if (v >= 1 && v <= 16) counts.push(i) }
      const compact: number[] = []
      for (let i = start; i < buf.length; i++) if (buf[i]! >= 2 && buf[i]! <= 17) compact.push(i)
      if (counts.length > 0 && (compact.length === 0 || rand() < 0.6)) {
        buf.writeInt32BE(pick(rand, [0x7fffffff, -1, -2, 0, 0x10000, 1 << 24]), pick(rand, counts))
        return { bytes: buf, kind }
      }
      if (compact.length === 0) return flip()
      const p = pick(rand, compact)
      const huge = pick(rand, [[0xff, 0xff, 0xff, 0xff, 0x07], [0x80, 0x80, 0x80, 0x80, 0x10], [0xff, 0xff, 0x7f]])
      return { bytes: sized(Buffer.concat([buf.subarray(0, p), Buffer.from(huge), buf.subarray(p + 1)])), kind }
    }
    case 'varint-garbage': {
      // continuation bytes (unterminated/overlong varints), at the tagged fields (the end) or anywhere
      const n = 1 + Math.floor(rand() * 6)
      const garbage = Buffer.from(Array.from({ length: n }, () => 0x80 | Math.floor(rand() * 128)))
      if (rand() < 0.5) {
        if (rand() < 0.5) garbage[n - 1]! &= 0x7f
        return { bytes: sized(Buffer.concat([buf.subarray(0, buf.length - 1), Buffer.from([1 + Math.floor(rand() * 3)]), garbage])), kind }
      }
      const p = at(start, n)
      garbage.copy(buf, p, 0, Math.min(n, buf.length - p))
      return { bytes: buf, kind }
    }
    case 'duplicate-field': {
      const fields = stringFields(buf).filter(([p]) => p >= start)
      let from: number, to: number
      if (fields.length > 0 && rand() < 0.7) {
        const [p, width, len] = pick(rand, fields)
        from = p; to = p + width + len
      } else {
        from = at(start, 2); to = Math.min(buf.length, from + 2 + Math.floor(rand() * 30))
      }
      return { bytes: sized(Buffer.concat([buf.subarray(0, to), buf.subarray(from, to), buf.subarray(to)])), kind }
    }
    case 'header-version': {
      // the body decoded as another version (or an unsupported one)
      buf.writeInt16BE(rand() < 0.8 ? pick(rand, versions) : pick(rand, [-1, 0x7fff, versions.at(-1)! + 1]), 6)
      return { bytes: buf, kind }
    }
    case 'record-batch': {
      const b = findBatch(buf)
      if (b < 0) return flip()
      const end = b + 12 + buf.readInt32BE(b + 8)
      const field = pick(rand, ['length', 'count', 'lastOffsetDelta', 'record-byte', 'record-byte'])
      if (field === 'length') buf.writeInt32BE(pick(rand, [0, 1, 49, 0x7fffffff, buf.readInt32BE(b + 8) - 1]), b + 8)
      else if (field === 'count') buf.writeInt32BE(pick(rand, [0, -1, 0x7fffffff, buf.readInt32BE(b + 57) + 1]), b + 57)
      else if (field === 'lastOffsetDelta') buf.writeInt32BE(pick(rand, [0, -1, 0x7fffffff, buf.readInt32BE(b + 23) + 1]), b + 23)
      else buf[b + 61 + Math.floor(rand() * Math.max(1, end - b - 61))] ^= 1 << Math.floor(rand() * 8)
      // a valid CRC, so the broker's own checks of the batch framing run
      if (field !== 'length') buf.writeUInt32BE(crc32c(buf.subarray(b + 21, end)) >>> 0, b + 17)
      return { bytes: buf, kind }
    }
    case 'size-prefix': {
      // above socket.request.max.bytes, negative, or zero: the connection must be closed
      buf.writeInt32BE(pick(rand, [0x7fffffff, -1, -0x80000000, 200 * 1024 * 1024]), 0)
      return { bytes: buf, kind }
    }
  }
}

async function dataChecksum(): Promise<string> {
  const c = await RawClient.connect(broker.bootstrap)
  c.send(RawClient.frame(1, 11, 1, (w) => encodeFetchRequest(w, 11, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 24,
    isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
    topics: [{ topic: DATA, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 24, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
  })))
  const res = decodeFetchResponse((await c.response(1, 11)).body, 11)
  c.close()
  const p = res.responses[0]!.partitions[0]!
  return createHash('sha256').update(p.records ?? Buffer.alloc(0)).update(String(p.highWatermark)).digest('hex')
}

async function setUp(): Promise<void> {
  const c = await RawClient.connect(broker.bootstrap)
  for (const [i, name] of [DATA, TARGET].entries()) {
    c.send(RawClient.frame(19, 7, i, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false })))
    await c.response(19, 7)
  }
  for (let i = 0; i < 20; i++) {
    c.send(RawClient.frame(0, 9, 100 + i, (w) => encodeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: DATA, partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ key: `k${i}`, value: `stored-${i}` }] }) }] }] })))
    await c.response(0, 9)
  }
  c.close()
}

/** Sends one frame on a fresh connection; resolves when answered or closed, or after `deadlineMs`. */
async function probe(bytes: Buffer, deadlineMs = 10_000): Promise<'answered' | 'closed' | 'pending'> {
  const c = await RawClient.connect(broker.bootstrap)
  c.send(bytes)
  const outcome = await Promise.race([
    c.next().then(() => 'answered' as const),
    c.closed(deadlineMs).then((closed) => (closed ? 'closed' as const : 'pending' as const)),
  ])
  c.close()
  return outcome
}

interface Seed {
  readonly apiKey: number
  readonly version: number
  readonly origin: 'captured' | 'derived' | 'default'
  readonly name: string
  readonly bytes: Buffer
}

/** Real client requests (test/integration/fixtures/captured, made by fixtures/capture-requests.ts). */
function loadCaptured(): Seed[] {
  const dir = fileURLToPath(new URL('./fixtures/captured/', import.meta.url))
  return readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().map((name) => {
    const bytes = readFileSync(dir + name)
    return { apiKey: bytes.readInt16BE(4), version: bytes.readInt16BE(6), origin: 'captured' as const, name, bytes }
  })
}

/** A captured request of the same API re-encoded at `version` (real names, configs and batches). */
function derive(from: Seed, version: number): Buffer {
  const codec = apiCodec(from.apiKey)!
  const r = new Reader(from.bytes.subarray(4))
  const header = decodeRequestHeader(r)
  const body = codec.decodeRequest(r, from.version)
  const w = new Writer()
  const size = w.reserveInt32()
  encodeRequestHeader(w, { requestApiKey: from.apiKey, requestApiVersion: version, correlationId: header.correlationId, clientId: header.clientId })
  codec.encodeRequest(w, version, body as never)
  w.setInt32(size, w.length - 4)
  return w.toBuffer()
}

/**
 * Seeds for every advertised (apiKey, version): the captured frames; where no client sent that
 * version, the nearest captured request of the API re-encoded at it; else the codec default.
 */
function seeds(): { seeds: Seed[]; coverage: Record<Seed['origin'], string[]> } {
  const captured = loadCaptured()
  const out: Seed[] = []
  const coverage: Record<Seed['origin'], string[]> = { captured: [], derived: [], default: [] }
  for (const h of [...handlerTable().values()].sort((a, b) => a.apiKey - b.apiKey)) {
    const ofApi = captured.filter((s) => s.apiKey === h.apiKey)
    for (let version = h.minVersion; version <= h.maxVersion; version++) {
      const pair = `${h.name} v${version}`
      const exact = ofApi.filter((s) => s.version === version)
      if (exact.length > 0) {
        out.push(...exact)
        coverage.captured.push(pair)
        continue
      }
      const nearest = [...ofApi].sort((a, b) => Math.abs(a.version - version) - Math.abs(b.version - version))
      let seed: Seed | null = null
      for (const from of nearest) {
        try {
          seed = { apiKey: h.apiKey, version, origin: 'derived', name: `${from.name}@v${version}`, bytes: derive(from, version) }
          break
        } catch {
          // a field this version cannot carry; try the next capture
        }
      }
      if (!seed) {
        try {
          seed = { apiKey: h.apiKey, version, origin: 'default', name: `default@v${version}`, bytes: frame(h.apiKey, version, 7, sample(h.apiKey, version)) }
        } catch {
          continue
        }
      }
      out.push(seed)
      coverage[seed.origin].push(pair)
    }
  }
  return { seeds: out, coverage }
}

/** Topics the captured requests name, so their handlers get past "unknown topic". */
async function createCaptureTopics(): Promise<void> {
  const c = await RawClient.connect(broker.bootstrap)
  let id = 500
  for (const name of ['cap-kjs', 'cap-plt', 'cap-py', 'cap-kjs-del', 'cap-plt-del', 'cap-py-del']) {
    c.send(RawClient.frame(19, 7, id, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false })))
    await c.response(19, 7)
    id++
  }
  c.close()
}

await setUp()
await createCaptureTopics()
const before = await dataChecksum()

t.test('oversized partition counts are refused, not built', async (t) => {
  // found by this fuzzer: CreatePartitions with count 2^31-1 exhausted the heap building records
  const c = await RawClient.connect(broker.bootstrap)
  c.send(RawClient.frame(19, 7, 1, (w) => encodeCreateTopicsRequest(w, 7, { topics: [{ name: 'zz-huge', numPartitions: 0x7fffffff, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false })))
  const res = decodeCreateTopicsResponse((await c.response(19, 7)).body, 7)
  t.equal(res.topics[0]!.errorCode, 44, 'POLICY_VIOLATION, as Kafka answers above 10,000 partitions per request')
  c.close()
})

/**
 * APIs that may legitimately not answer within the deadline: acks=0 produce, long-poll fetch, a
 * join waiting out a rebalance, and topic/partition creation queued behind a mutated request that
 * creates thousands of partitions (up to Kafka's 10,000 per request; seconds on a busy CI box).
 * Each round's ApiVersions probe still shows the broker serving everyone else.
 */
const MAY_WAIT = new Set([0, 1, 11, 14, 19, 37])
const SEED = Number(process.env.FUZZ_SEED ?? 20240601)
const PER_SEED = Number(process.env.FUZZ_PER_SEED ?? 5)
const PARALLEL = 16
const HEALTHY = frame(18, 3, 1, sample(18, 3))

t.test('mutated real client requests of every API and version: no crash, no hang, stored data unchanged', async (t) => {
  // Rounds with a frame that may legitimately wait (MAY_WAIT) last 2 s; a loaded machine needs room.
  t.setTimeout(300_000)
  const { seeds: all, coverage } = seeds()
  const advertised = coverage.captured.length + coverage.derived.length + coverage.default.length
  t.comment(`seed ${SEED}; ${all.length} seed frames for ${advertised} advertised (api, version) pairs: ${coverage.captured.length} captured from clients, ${coverage.derived.length} derived from captures, ${coverage.default.length} codec defaults`)
  t.comment(`codec defaults: ${coverage.default.join(', ') || 'none'}`)
  t.ok(coverage.captured.length >= 50, 'at least 50 (api, version) pairs are covered by real client captures')
  t.ok(coverage.captured.length + coverage.derived.length >= advertised - 12, 'almost every pair is seeded from real client requests')

  const rand = prng(SEED)
  const cases = all.flatMap((s) => {
    const h = handlerTable().get(s.apiKey)!
    const versions = Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i)
    return Array.from({ length: PER_SEED }, (_, i) => ({ seed: s, n: i, ...mutate(s.bytes, rand, versions) }))
  })
  const outcomes = { answered: 0, closed: 0, pending: 0 }
  const failures: string[] = []
  for (let i = 0; i < cases.length; i += PARALLEL) {
    const batch = cases.slice(i, i + PARALLEL)
    if (process.env.FUZZ_DEBUG) console.error(`cases ${i}..: ${batch.map((c) => `${c.seed.name}#${c.n}:${c.kind}`).join(' ')}`)
    // A frame that may wait is allowed to stay pending: 2 s tell enough. Every other frame must be
    // answered or closed; 10 s leave room for a loaded machine.
    const mayWait = (c: (typeof batch)[number]): boolean => MAY_WAIT.has(c.seed.apiKey) || (c.bytes.length >= 6 && MAY_WAIT.has(c.bytes.readInt16BE(4)))
    const results = await Promise.all(batch.map((c) => probe(c.bytes, mayWait(c) ? 2000 : 10_000)))
    results.forEach((outcome, j) => {
      const c = batch[j]!
      outcomes[outcome]++
      if (outcome === 'pending' && !mayWait(c)) {
        failures.push(`${c.seed.name} #${c.n} (${c.kind}) neither answered nor closed in 10 s: ${c.bytes.subarray(0, 256).toString('hex')}`)
      }
    })
    // other clients keep being served while the fuzzing goes on
    const healthy = await probe(HEALTHY, 10_000)
    if (healthy !== 'answered') {
      failures.push(`after cases ${i}..${i + batch.length - 1} (${batch.map((c) => `${c.seed.name}#${c.n}:${c.kind}`).join(', ')}) a well-formed ApiVersions was ${healthy}`)
      break
    }
  }
  t.comment(`${cases.length} mutated frames: ${JSON.stringify(outcomes)}`)
  t.same(failures, [], `every mutated frame answered or closed (FUZZ_SEED=${SEED} reproduces)`)
  t.same(brokerErrors.slice(0, 5), [], `no internal errors logged: malformed input is rejected as such (FUZZ_SEED=${SEED})`)
  t.equal(await probe(HEALTHY), 'answered', 'the broker still serves')
  t.equal(await dataChecksum(), before, `stored data unchanged (FUZZ_SEED=${SEED})`)
})
