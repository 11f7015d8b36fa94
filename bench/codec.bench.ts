/**
 * Protocol codec throughput: `node bench/codec.bench.ts`
 *
 *  - decode a Produce v7 (classic) and v11 (flexible) request, 8 partitions × 64 KiB records
 *  - encode a Fetch v11 response with the same payload (records kept by reference)
 *
 * Record data is never copied: decode returns subarray views, encode keeps ≥ 4 KiB buffers
 * as separate chunks, so these numbers measure per-message structure work only.
 */
import { decodeProduceRequest, encodeProduceRequest, type ProduceRequest } from '../src/protocol/messages/produce-request.ts'
import { defaultFetchResponse, encodeFetchResponse, type FetchResponse } from '../src/protocol/messages/fetch-response.ts'
import { defaultPartitionData } from '../src/protocol/messages/fetch-response.ts'
import { Reader } from '../src/protocol/primitives/reader.ts'
import { Writer } from '../src/protocol/primitives/writer.ts'

const PARTITIONS = 8
const RECORD_BYTES = 64 * 1024

function payloads(): Buffer[] {
  return Array.from({ length: PARTITIONS }, (_, i) => Buffer.alloc(RECORD_BYTES, i))
}

function produceRequest(): ProduceRequest {
  const records = payloads()
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 'bench-topic', partitionData: records.map((r, index) => ({ index, records: r })) }],
  }
}

function fetchResponse(): FetchResponse {
  const records = payloads()
  return {
    ...defaultFetchResponse(),
    responses: [
      {
        topic: 'bench-topic',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: records.map((r, partitionIndex) => ({ ...defaultPartitionData(), partitionIndex, highWatermark: 1_000_000, lastStableOffset: 1_000_000, logStartOffset: 0, records: r })),
      },
    ],
  }
}

/** Runs fn repeatedly for ~durationMs after a warm-up; returns operations per second. */
function measure(fn: () => unknown, durationMs = 1000): number {
  for (let i = 0; i < 2000; i++) fn()
  let ops = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(durationMs) * 1_000_000n
  let elapsed = 0n
  while (elapsed < budget) {
    for (let i = 0; i < 500; i++) fn()
    ops += 500
    elapsed = process.hrtime.bigint() - start
  }
  return ops / (Number(elapsed) / 1e9)
}

function report(name: string, opsPerSec: number, payloadBytes: number): void {
  const gbps = (opsPerSec * payloadBytes) / 1e9
  console.log(`${name.padEnd(44)} ${Math.round(opsPerSec).toLocaleString('en-US').padStart(12)} ops/s  (${gbps.toFixed(1)} GB/s of record data)`)
}

const payloadBytes = PARTITIONS * RECORD_BYTES
let sink = 0

for (const version of [7, 11]) {
  const w = new Writer()
  encodeProduceRequest(w, version, produceRequest())
  const body = w.toBuffer()
  report(`decode Produce v${version} (8 × 64 KiB)`, measure(() => {
    const m = decodeProduceRequest(new Reader(body), version)
    sink += m.topicData[0]!.partitionData.length
  }), payloadBytes)
}

const fetch = fetchResponse()
report('encode Fetch v11 response (8 × 64 KiB)', measure(() => {
  const w = new Writer()
  encodeFetchResponse(w, 11, fetch)
  sink += w.chunks().length
}), payloadBytes)

if (sink === 0) console.log('unreachable')
