/**
 * Replay time of 100,000 metadata records: 20,000 topics × (1 TopicRecord + 4 PartitionRecords)
 * written to a one-voter metadata log in `__cluster_metadata-0/`, then read back, decoded and
 * applied to a fresh image, as a broker does at start-up.
 *
 *   node bench/metadata-replay.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SingleVoterLog } from '../src/metadata/single-voter-log.ts'
import { EMPTY_IMAGE, MetadataDelta } from '../src/metadata/image.ts'
import type { MetadataRecord } from '../src/metadata/records.ts'
import { silentLogger } from '../src/lib/logger.ts'
import { randomUuid } from '../src/protocol/primitives/uuid.ts'

const TOPICS = 20_000
const dir = mkdtempSync(join(tmpdir(), 'samsa-replay-'))
try {
  const writer = new SingleVoterLog({ metadataLogDir: dir, nodeId: 1, log: silentLogger() })
  await writer.start()
  let batch: MetadataRecord[] = []
  for (let i = 0; i < TOPICS; i++) {
    const topicId = randomUuid()
    batch.push({ type: 'Topic', name: `topic-${i}`, topicId })
    for (let p = 0; p < 4; p++) batch.push({ type: 'Partition', partitionId: p, topicId, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })
    if (batch.length >= 1000) {
      await writer.propose(batch)
      batch = []
    }
  }
  if (batch.length > 0) await writer.propose(batch)
  await writer.close()

  const runs: number[] = []
  for (let run = 0; run < 5; run++) {
    const reader = new SingleVoterLog({ metadataLogDir: dir, nodeId: 1, log: silentLogger() })
    // As the broker replays: every committed batch into one delta, one image at the end.
    const delta = new MetadataDelta(EMPTY_IMAGE)
    let count = 0
    reader.onCommit((b) => {
      count += b.records.length
      b.records.forEach((record, i) => delta.apply(b.baseOffset + i, record))
    })
    const started = process.hrtime.bigint()
    await reader.start()
    const image = delta.image()
    runs.push(Number(process.hrtime.bigint() - started) / 1e6)
    await reader.close()
    if (count !== TOPICS * 5 || image.topicsById.size !== TOPICS) throw new Error(`replayed ${count} records, ${image.topicsById.size} topics`)
  }
  runs.sort((a, b) => a - b)
  console.log(`replay of ${TOPICS * 5} metadata records: median ${runs[2]!.toFixed(0)} ms (min ${runs[0]!.toFixed(0)}, max ${runs[4]!.toFixed(0)}) — ${(TOPICS * 5 / runs[2]! * 1000).toFixed(0)} records/s`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
