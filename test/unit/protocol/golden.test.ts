/**
 * Byte-level checks against what real clients send and expect: captured bytes from
 * librdkafka (reference notes §1.0), and the request encoders / response decoders of
 * kafkajs 2.2.4 and @platformatic/kafka 2.x (installed as dev dependencies).
 */
import t from 'tap'
import { createRequire } from 'node:module'
import { ERROR, ERRORS, errorName, isRetriable } from '../../../src/protocol/errors.ts'
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../src/protocol/headers.ts'
import { decodeApiVersionsRequest, encodeApiVersionsRequest } from '../../../src/protocol/messages/api-versions-request.ts'
import { defaultApiVersionsResponse, encodeApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts'
import { decodeFetchRequest, encodeFetchRequest } from '../../../src/protocol/messages/fetch-request.ts'
import { decodeMetadataRequest, defaultMetadataRequest, encodeMetadataRequest } from '../../../src/protocol/messages/metadata-request.ts'
import { encodeMetadataResponse, type MetadataResponse } from '../../../src/protocol/messages/metadata-response.ts'
import { decodeProduceRequest, encodeProduceRequest } from '../../../src/protocol/messages/produce-request.ts'
import { encodeProduceResponse, type ProduceResponse } from '../../../src/protocol/messages/produce-response.ts'
import { DecodeError, Reader } from '../../../src/protocol/primitives/reader.ts'
import { ZERO_UUID, randomUuid, uuidToHex } from '../../../src/protocol/primitives/uuid.ts'
import { Writer } from '../../../src/protocol/primitives/writer.ts'
import { AssertionError } from '../../../src/lib/assert.ts'

const require = createRequire(import.meta.url)
const kafkajs = (path: string) => require(`kafkajs/src/protocol/requests/${path}`)
const platformatic = (path: string) => import(new URL(`../../../node_modules/@platformatic/kafka/dist/apis/${path}`, import.meta.url).href)

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex')
}

function out(fn: (w: Writer) => void): Buffer {
  const w = new Writer()
  fn(w)
  return w.toBuffer()
}

t.test('kcat (librdkafka 2.0.2) ApiVersions v3 request', async (t) => {
  const captured = Buffer.concat([
    hex('0012 0003 00000001 0007'),
    Buffer.from('rdkafka'),
    hex('00 0b'),
    Buffer.from('librdkafka'),
    hex('06'),
    Buffer.from('2.0.2'),
    hex('00'),
  ])
  const r = new Reader(captured)
  t.same(decodeRequestHeader(r), { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'rdkafka' })
  t.same(decodeApiVersionsRequest(r, 3), { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' })
  t.equal(r.remaining(), 0)
  const again = out((w) => {
    encodeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'rdkafka' })
    encodeApiVersionsRequest(w, 3, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' })
  })
  t.same(again, captured)
})

t.test('Metadata v1 request with a null topic array (all topics)', async (t) => {
  const m = { ...defaultMetadataRequest(), topics: null }
  t.same(out((w) => encodeMetadataRequest(w, 1, m)), hex('ffffffff'))
  t.equal(decodeMetadataRequest(new Reader(hex('ffffffff')), 1).topics, null)
  t.throws(() => out((w) => encodeMetadataRequest(w, 0, m)), AssertionError, 'v0 cannot express null')
  t.throws(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0), DecodeError)
  t.same(out((w) => encodeMetadataRequest(w, 0, { ...m, topics: [] })), hex('00000000'))
})

t.test('header versions', async (t) => {
  t.equal(requestHeaderVersion(0, 8), 1, 'Produce v8 is not flexible')
  t.equal(requestHeaderVersion(0, 9), 2, 'Produce v9 is flexible')
  t.equal(requestHeaderVersion(18, 2), 1)
  t.equal(requestHeaderVersion(18, 3), 2)
  t.equal(requestHeaderVersion(18, 99), 2, 'too-new ApiVersions still parses as flexible')
  t.equal(requestHeaderVersion(7, 0), 0, 'ControlledShutdown v0 has no client id')
  t.equal(requestHeaderVersion(7, 1), 1)
  t.equal(requestHeaderVersion(4242, 0), 1, 'unknown API key')
  t.equal(responseHeaderVersion(18, 3), 0, 'ApiVersions responses always use header v0 (KIP-511)')
  t.equal(responseHeaderVersion(3, 8), 0)
  t.equal(responseHeaderVersion(3, 9), 1)
  t.equal(responseHeaderVersion(0, 9), 1)
})

t.test('request header v2 and v0 bytes, response headers', async (t) => {
  const v2 = out((w) => encodeRequestHeader(w, { requestApiKey: 0, requestApiVersion: 9, correlationId: 7, clientId: 'c' }))
  t.same(v2, hex('0000 0009 00000007 0001 63 00'), 'client id keeps its int16 length; a tag buffer follows')
  const nullClient = out((w) => encodeRequestHeader(w, { requestApiKey: 3, requestApiVersion: 1, correlationId: 2, clientId: null }))
  t.same(nullClient, hex('0003 0001 00000002 ffff'))
  const v0 = hex('0007 0000 0000002a')
  const r = new Reader(Buffer.concat([v0, hex('00000001')]))
  t.same(decodeRequestHeader(r), { requestApiKey: 7, requestApiVersion: 0, correlationId: 42, clientId: '' })
  t.equal(r.remaining(), 4, 'the body starts right after the 8-byte v0 header')
  t.throws(() => decodeRequestHeader(new Reader(hex('0000 0009 00000007 0001 63'))), DecodeError, 'missing tag buffer')
  t.throws(() => decodeRequestHeader(new Reader(hex('0000 0009 00000007')), 0, 8), DecodeError)
  t.same(out((w) => encodeResponseHeader(w, 18, 3, 5)), hex('00000005'))
  t.same(out((w) => encodeResponseHeader(w, 3, 12, 5)), hex('00000005 00'))
  t.equal(decodeResponseHeader(new Reader(hex('00000005 00')), 3, 12), 5)
})

t.test('kafkajs 2.2.4 requests are byte-identical to ours', async (t) => {
  const metadata = await kafkajs('metadata/v6/request')({ topics: ['a', 'bb'], allowAutoTopicCreation: false }).encode()
  const m = decodeMetadataRequest(new Reader(metadata.buffer), 6)
  t.same(m.topics?.map((x) => x.name), ['a', 'bb'])
  t.equal(m.allowAutoTopicCreation, false)
  t.same(out((w) => encodeMetadataRequest(w, 6, m)), metadata.buffer)

  const allTopics = await kafkajs('metadata/v6/request')({ topics: [] }).encode()
  t.equal(decodeMetadataRequest(new Reader(allTopics.buffer), 6).topics, null, 'kafkajs sends [] as a null array')

  const fetch = await kafkajs('fetch/v11/request')({
    replicaId: -1,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 10485760,
    topics: [{ topic: 't', partitions: [{ partition: 3, fetchOffset: '12345678901', maxBytes: 1048576 }] }],
  }).encode()
  const f = decodeFetchRequest(new Reader(fetch.buffer), 11)
  t.equal(f.isolationLevel, 1)
  t.equal(f.sessionEpoch, -1)
  t.equal(f.topics[0]!.partitions[0]!.fetchOffset, 12345678901)
  t.equal(f.topics[0]!.partitions[0]!.currentLeaderEpoch, -1)
  t.same(out((w) => encodeFetchRequest(w, 11, f)), fetch.buffer)

  const produce = await kafkajs('produce/v7/request')({
    acks: -1,
    timeout: 30000,
    topicData: [{ topic: 'orders', partitions: [{ partition: 0, firstSequence: 0, messages: [{ key: 'k', value: 'v', timestamp: 1700000000000 }] }] }],
  }).encode()
  const p = decodeProduceRequest(new Reader(produce.buffer), 7)
  t.equal(p.transactionalId, null)
  t.equal(p.acks, -1)
  const records = p.topicData[0]!.partitionData[0]!.records!
  t.equal(records.readInt8(16), 2, 'a magic-2 record batch')
  t.equal(records.buffer, produce.buffer.buffer, 'records are a view into the request, not a copy')
  t.same(out((w) => encodeProduceRequest(w, 7, p)), produce.buffer)
})

t.test('kafkajs 2.2.4 decodes our responses', async (t) => {
  const apiVersions = { ...defaultApiVersionsResponse(), apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0 }
  const av = kafkajs('apiVersions/v2/response')
  const decodedAv = await av.parse(await av.decode(out((w) => encodeApiVersionsResponse(w, 2, apiVersions))))
  t.same(decodedAv.apiVersions, [{ apiKey: 0, minVersion: 3, maxVersion: 11 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }])

  const meta: MetadataResponse = {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
    clusterId: 'c1',
    controllerId: 1,
    topics: [
      {
        errorCode: 0,
        name: 'orders',
        topicId: ZERO_UUID,
        isInternal: false,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
        topicAuthorizedOperations: -2147483648,
      },
    ],
    clusterAuthorizedOperations: -2147483648,
  }
  const md = kafkajs('metadata/v6/response')
  const decodedMd = await md.parse(await md.decode(out((w) => encodeMetadataResponse(w, 6, meta))))
  t.equal(decodedMd.controllerId, 1)
  t.same(decodedMd.brokers, [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }])
  t.equal(decodedMd.topicMetadata[0].topic, 'orders')
  t.same(decodedMd.topicMetadata[0].partitionMetadata[0].isr, [1])

  const produced: ProduceResponse = {
    responses: [
      {
        name: 'orders',
        partitionResponses: [
          { index: 0, errorCode: 0, baseOffset: 2 ** 40, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } },
        ],
      },
    ],
    throttleTimeMs: 0,
    nodeEndpoints: [],
  }
  const pr = kafkajs('produce/v7/response')
  const decodedPr = await pr.parse(await pr.decode(out((w) => encodeProduceResponse(w, 7, produced))))
  t.equal(decodedPr.topics[0].partitions[0].baseOffset, String(2 ** 40))
})

t.test('@platformatic/kafka requests are byte-identical to ours', async (t) => {
  const av = (await platformatic('metadata/api-versions-v3.js')).createRequest('platformatic-kafka', '2.12.1').buffer as Buffer
  t.same(decodeApiVersionsRequest(new Reader(av), 3), { clientSoftwareName: 'platformatic-kafka', clientSoftwareVersion: '2.12.1' })

  const topicId = randomUuid()
  const md = (await platformatic('metadata/metadata-v12.js')).createRequest(['orders']).buffer as Buffer
  const m = decodeMetadataRequest(new Reader(md), 12)
  t.same(m.topics, [{ topicId: ZERO_UUID, name: 'orders' }])
  t.same(out((w) => encodeMetadataRequest(w, 12, m)), md)

  const dirId = randomUuid()
  const fetch = (await platformatic('consumer/fetch-v17.js')).createRequest(500, 1, 1048576, 0, 0, 0, [
    // platformatic carries UUIDs in their dashed hex form; the wire bytes are the same.
    { topicId: uuidToHex(topicId), partitions: [{ partition: 2, currentLeaderEpoch: 5, fetchOffset: 10n, lastFetchedEpoch: -1, partitionMaxBytes: 65536, replicaDirectoryId: uuidToHex(dirId) }] },
  ], [], '').buffer as Buffer
  const f = decodeFetchRequest(new Reader(fetch), 17)
  t.equal(f.topics[0]!.topicId, topicId)
  t.equal(f.topics[0]!.partitions[0]!.fetchOffset, 10)
  t.equal(f.topics[0]!.partitions[0]!.replicaDirectoryId, dirId, 'a tagged field decoded into its named field')
  t.same(out((w) => encodeFetchRequest(w, 17, f)), fetch)
})

t.test('error codes', async (t) => {
  t.equal(ERROR.NONE, 0)
  t.equal(ERROR.OFFSET_OUT_OF_RANGE, 1)
  t.equal(ERROR.CORRUPT_MESSAGE, 2)
  t.equal(ERROR.UNKNOWN_TOPIC_OR_PARTITION, 3)
  t.equal(ERROR.NOT_LEADER_OR_FOLLOWER, 6)
  t.equal(ERROR.UNSUPPORTED_VERSION, 35)
  t.equal(ERROR.INVALID_REQUEST, 42)
  t.equal(ERROR.MEMBER_ID_REQUIRED, 79)
  t.equal(ERROR.PRODUCER_FENCED, 90)
  t.equal(ERROR.INELIGIBLE_REPLICA, 107)
  t.equal(ERROR.TRANSACTION_ABORTABLE, 120)
  t.equal(errorName(-1), 'UNKNOWN_SERVER_ERROR')
  t.equal(errorName(19), 'NOT_ENOUGH_REPLICAS')
  t.equal(errorName(5000), 'UNKNOWN_ERROR_5000')
  t.ok(isRetriable(ERROR.NOT_LEADER_OR_FOLLOWER))
  t.ok(isRetriable(ERROR.CONCURRENT_TRANSACTIONS))
  t.notOk(isRetriable(ERROR.TOPIC_ALREADY_EXISTS))
  t.notOk(isRetriable(ERROR.OFFSET_OUT_OF_RANGE))
  const codes = ERRORS.map((e) => e.code)
  t.same(codes, [...new Set(codes)], 'codes are unique')
  for (let c = -1; c <= 120; c++) t.ok(codes.includes(c), `code ${c} is defined`)
})
