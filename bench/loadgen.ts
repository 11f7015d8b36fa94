/**
 * The load generator for bench/throughput.bench.ts, run as a separate process so the numbers
 * measure the broker, not a client sharing its event loop. Pre-built batches, pipelined
 * requests (acks=1, at most inFlight unanswered at a time), raw frames from the generated
 * codecs; produce cycles RING distinct pre-built batches (see below).
 *
 *   node bench/loadgen.ts produce <host:port> <topic> <partitions> <totalBytes> <inFlight>
 *   node bench/loadgen.ts consume <host:port> <topic> <partitions> <totalBytes>
 *   node bench/loadgen.ts relay   <host:port> <chunkBytes> <totalBytes>
 * Prints one JSON line: { bytes, records, seconds, cpu } (cpu: this process's CPU seconds while measuring).
 */
import { connect, type Socket } from 'node:net'
import { Writer } from '../src/protocol/primitives/writer.ts'
import { Reader } from '../src/protocol/primitives/reader.ts'
import { encodeRequestHeader, decodeResponseHeader } from '../src/protocol/headers.ts'
import { encodeProduceRequest } from '../src/protocol/messages/produce-request.ts'
import { decodeProduceResponse } from '../src/protocol/messages/produce-response.ts'
import { encodeFetchRequest } from '../src/protocol/messages/fetch-request.ts'
import { decodeFetchResponse } from '../src/protocol/messages/fetch-response.ts'
import { buildRecordBatch } from '../src/storage/record-batch-builder.ts'
import { batchSizeOf, lastOffsetDeltaOf, baseOffsetOf } from '../src/storage/record-batch.ts'

const RECORD_BYTES = 1024
const RECORDS_PER_BATCH = 1000

/** CPU seconds (user + system) this process used since `start`: the bench reports the load generator's cost per byte too. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start)
  return (u.user + u.system) / 1e6
}

function open(address: string): Promise<Socket> {
  const [host, port] = address.split(':')
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), host!, () => resolve(s))
    s.setNoDelay(true)
    s.once('error', reject)
  })
}

/**
 * Splits a socket's bytes into response frames, in one receive buffer that is reused (and grows
 * to the largest frame): a fresh buffer per 64 MiB response would cost page faults on every
 * byte and make the load generator, not the broker, the bottleneck. A frame is only valid until
 * `onFrame` returns.
 */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buf = Buffer.allocUnsafeSlow(1 << 20)
  let filled = 0
  socket.on('data', (chunk: Buffer) => {
    if (filled + chunk.length > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, filled + chunk.length))
      buf.copy(bigger, 0, 0, filled)
      buf = bigger
    }
    chunk.copy(buf, filled)
    filled += chunk.length
    let at = 0
    while (filled - at >= 4 && filled - at >= 4 + buf.readInt32BE(at)) {
      const size = buf.readInt32BE(at)
      onFrame(buf.subarray(at + 4, at + 4 + size))
      at += 4 + size
    }
    if (at > 0) {
      buf.copy(buf, 0, at, filled)
      filled -= at
    }
  })
}

function request(apiKey: number, version: number, correlationId: number, body: (w: Writer) => void): Buffer[] {
  const w = new Writer()
  const size = w.reserveInt32()
  encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'loadgen' })
  body(w)
  w.setInt32(size, w.length - 4)
  return w.chunks()
}

/**
 * Distinct pre-built batches, cycled: every batch the broker gets is a real one (its own bytes,
 * a valid CRC-32C the broker checks), while building them — a client's cost, not the broker's —
 * stays out of the measured loop. Consecutive requests never repeat a batch (RING > partitions).
 */
const RING = 16

async function produce(address: string, topic: string, partitions: number, totalBytes: number, inFlight: number): Promise<void> {
  const socket = await open(address)
  const ring = Array.from({ length: RING }, (_, b) => buildRecordBatch({
    records: Array.from({ length: RECORDS_PER_BATCH }, (_, r) => {
      const value = Buffer.alloc(RECORD_BYTES, 0x61 + (b % 26))
      value.writeUInt32BE(b, 0)
      value.writeUInt32BE(r, 4)
      return { key: null, value }
    }),
  }))
  const perRequest = ring[0]!.length * partitions
  const requests = Math.ceil(totalBytes / perRequest)
  const partitionData = (k: number) => Array.from({ length: partitions }, (_, index) => ({ index, records: ring[(k * partitions + index) % RING]! }))
  let sent = 0
  let done = 0
  const started = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  await new Promise<void>((resolve, reject) => {
    const send = (): void => {
      while (sent < requests && sent - done < inFlight) {
        const k = sent++
        // The Writer keeps the batches as their own chunks (no copy); cork makes the request one writev.
        const chunks = request(0, 9, k, (w) => encodeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: partitionData(k) }] }))
        socket.cork()
        for (const c of chunks) socket.write(c)
        socket.uncork()
      }
    }
    frames(socket, (frame) => {
      const r = new Reader(frame)
      decodeResponseHeader(r, 0, 9)
      for (const t of decodeProduceResponse(r, 9).responses) {
        for (const p of t.partitionResponses) if (p.errorCode !== 0) reject(new Error(`produce error ${p.errorCode}`))
      }
      if (++done === requests) resolve()
      else send()
    })
    socket.on('error', reject)
    send()
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  socket.destroy()
  console.log(JSON.stringify({ bytes: requests * perRequest, records: requests * partitions * RECORDS_PER_BATCH, seconds, cpu: cpuSeconds(cpuStart) }))
}

async function consume(address: string, topic: string, partitions: number, totalBytes: number): Promise<void> {
  const socket = await open(address)
  const offsets = new Array<number>(partitions).fill(0)
  let bytes = 0
  let records = 0
  let correlationId = 0
  const started = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  await new Promise<void>((resolve, reject) => {
    const send = (): void => {
      const chunks = request(1, 11, correlationId++, (w) => encodeFetchRequest(w, 11, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 500, minBytes: 1, maxBytes: 64 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: offsets.map((fetchOffset, partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 8 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' })) }],
      }))
      for (const c of chunks) socket.write(c)
    }
    frames(socket, (frame) => {
      const r = new Reader(frame)
      decodeResponseHeader(r, 1, 11)
      for (const p of decodeFetchResponse(r, 11).responses[0]!.partitions) {
        if (p.errorCode !== 0) return reject(new Error(`fetch error ${p.errorCode}`))
        const recs = p.records
        if (!recs) continue
        // Walk batch headers only: the consumer side of the bench measures the broker, not record decoding.
        for (let pos = 0; pos + 61 <= recs.length; pos += batchSizeOf(recs, pos)) {
          const last = baseOffsetOf(recs, pos) + lastOffsetDeltaOf(recs, pos)
          if (last >= offsets[p.partitionIndex]!) {
            records += lastOffsetDeltaOf(recs, pos) + 1
            offsets[p.partitionIndex] = last + 1
          }
        }
        bytes += recs.length
      }
      if (bytes >= totalBytes) resolve()
      else send()
    })
    socket.on('error', reject)
    send()
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  socket.destroy()
  console.log(JSON.stringify({ bytes, records, seconds, cpu: cpuSeconds(cpuStart) }))
}

async function relay(address: string, chunkBytes: number, totalBytes: number): Promise<void> {
  const socket = await open(address)
  const chunk = Buffer.alloc(chunkBytes, 0x61)
  let sent = 0
  const started = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < totalBytes) {
        sent += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', pump)
      }
      socket.end(resolve)
    }
    pump()
  })
  await new Promise((r) => socket.once('close', r))
  console.log(JSON.stringify({ bytes: sent, records: 0, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpu: cpuSeconds(cpuStart) }))
}

const [mode, address, ...rest] = process.argv.slice(2)
if (mode === 'produce') await produce(address!, rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3] ?? 4))
else if (mode === 'consume') await consume(address!, rest[0]!, Number(rest[1]), Number(rest[2]))
else if (mode === 'relay') await relay(address!, Number(rest[0]), Number(rest[1]))
else {
  console.error('usage: loadgen.ts produce|consume|relay ...')
  process.exit(2)
}
