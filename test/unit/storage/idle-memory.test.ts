/**
 * An idle partition must cost at most 50 KiB: 2,000 partitions are opened in one process
 * (fresh, then reopened after a clean close with some data) and the heap + external memory
 * growth per partition is measured after forced GCs.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import { FileHandleCache } from '../../../src/storage/file-handles.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../../../src/storage/partition-log.ts'
import { TOPIC_ID, batchOf, tempDir } from './helpers.ts'

const PARTITIONS = 2000
const BUDGET_BYTES = 50 * 1024

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function usedBytes(): number {
  for (let i = 0; i < 3; i++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

t.test(`${PARTITIONS} idle partitions stay under ${BUDGET_BYTES / 1024} KiB each`, async (t) => {
  const root = tempDir(t)
  const fds = new FileHandleCache(256)
  t.teardown(() => fds.closeAll())
  const open = (i: number, cleanShutdown: boolean) => PartitionLog.open({
    dir: join(root, `topic-${i}`), topic: 'topic', partition: i, topicId: TOPIC_ID, config: DEFAULT_LOG_CONFIG,
    now: () => 1_700_000_000_000, recoveryPoint: 0, cleanShutdown, fds,
  })
  // Warm up module state (scratch buffers, JIT) so it is not charged to the partitions.
  open(-1, true).close()

  const before = usedBytes()
  const logs: PartitionLog[] = []
  for (let i = 0; i < PARTITIONS; i++) {
    const log = open(i, true)
    if (i % 2 === 0) log.append(batchOf(10, `p${i}`, { valueBytes: 100 }), 0)
    logs.push(log)
  }
  const perPartition = (usedBytes() - before) / PARTITIONS
  t.ok(perPartition < BUDGET_BYTES, `fresh: ${Math.round(perPartition)} bytes per partition`)
  t.ok(fds.size <= 256, `fds bounded by the LRU (${fds.size} open)`)

  for (const log of logs) log.close()
  logs.length = 0
  const beforeReopen = usedBytes()
  for (let i = 0; i < PARTITIONS; i++) logs.push(open(i, true))
  const perReopened = (usedBytes() - beforeReopen) / PARTITIONS
  t.ok(perReopened < BUDGET_BYTES, `reopened after a clean close: ${Math.round(perReopened)} bytes per partition`)
  t.equal(logs[0]!.logEndOffset, 10)
  t.equal(logs[1]!.logEndOffset, 0)
  for (const log of logs) log.close()
})
