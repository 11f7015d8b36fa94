/**
 * Reads a whole partition with raw Fetch v11 requests (by topic name), batch by batch, so tests
 * can check what is stored — each batch's codec, offsets and records — independently of the
 * client that produced it. Compressed batches are decompressed here to list their records.
 */
import { RawClient } from './raw-client.ts'
import { encodeFetchRequest } from '../../src/protocol/messages/fetch-request.ts'
import { decodeFetchResponse } from '../../src/protocol/messages/fetch-response.ts'
import { decodeRecordBatches, type DecodedBatch } from '../../src/storage/record-batch-reader.ts'
import { recompressBatch } from '../../src/storage/recompress.ts'
import { batchSizeOf, compressionOf } from '../../src/storage/record-batch.ts'

export interface StoredBatch {
  readonly codec: string
  readonly baseOffset: number
  readonly lastOffset: number
  readonly producerId: number
  readonly baseSequence: number
  readonly records: DecodedBatch['records']
}

export async function readPartition(bootstrap: string, topic: string, partition: number): Promise<StoredBatch[]> {
  const c = await RawClient.connect(bootstrap)
  const out: StoredBatch[] = []
  let offset = 0
  let correlationId = 1
  try {
    for (;;) {
      const id = correlationId++
      c.send(RawClient.frame(1, 11, id, (w) => encodeFetchRequest(w, 11, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
      })))
      const p = decodeFetchResponse((await c.response(1, 11)).body, 11).responses[0]!.partitions[0]!
      if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`)
      const buf = p.records ?? Buffer.alloc(0)
      let pos = 0
      let n = 0
      while (buf.length - pos >= 12 && pos + batchSizeOf(buf, pos) <= buf.length) {
        const raw = buf.subarray(pos, pos + batchSizeOf(buf, pos))
        pos += raw.length
        const codec = compressionOf(raw, 0) ?? 'unknown'
        const [b] = decodeRecordBatches(codec === 'none' ? raw : recompressBatch(Buffer.from(raw), 'none'))
        out.push({ codec, baseOffset: b!.baseOffset, lastOffset: b!.baseOffset + b!.lastOffsetDelta, producerId: b!.producerId, baseSequence: b!.baseSequence, records: b!.records })
        offset = b!.baseOffset + b!.lastOffsetDelta + 1
        n++
      }
      if (n === 0) break
    }
  } finally {
    c.close()
  }
  return out
}
