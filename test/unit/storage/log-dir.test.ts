import t from 'tap'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  formatOffsetCheckpoint, parseOffsetCheckpoint, readOffsetCheckpoint, writeOffsetCheckpoint,
} from '../../../src/storage/checkpoint-file.ts'
import { FileHandleCache } from '../../../src/storage/file-handles.ts'
import { CLEAN_SHUTDOWN_FILE, LogDir, META_PROPERTIES } from '../../../src/storage/log-dir.ts'
import { DEFAULT_LOG_CONFIG, PartitionLog, deleteDirName } from '../../../src/storage/partition-log.ts'
import { TOPIC_ID, batchOf, tempDir } from './helpers.ts'

t.test('offset checkpoint files: format, atomic write, malformed input', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'recovery-point-offset-checkpoint')
  t.same(readOffsetCheckpoint(path), { entries: [] }, 'missing file = empty')
  const entries = [{ topic: 'a.b-c', partition: 0, offset: 42 }, { topic: 'x', partition: 12, offset: 2 ** 40 }]
  writeOffsetCheckpoint(path, entries)
  t.equal(readFileSync(path, 'utf8'), `0\n2\na.b-c 0 42\nx 12 ${2 ** 40}\n`)
  t.same(readOffsetCheckpoint(path), { entries })
  t.notOk(existsSync(`${path}.tmp`), 'no temp file left')
  t.equal(formatOffsetCheckpoint([]), '0\n0\n')
  t.match(parseOffsetCheckpoint('1\n0\n'), { error: 'malformed' })
  t.match(parseOffsetCheckpoint('0\n2\na 0 1\n'), { error: 'malformed' })
  t.match(parseOffsetCheckpoint('0\n1\na zero 1\n'), { error: 'malformed' })
  t.throws(() => formatOffsetCheckpoint([{ topic: 'a', partition: 0, offset: 2 ** 60 }]))
})

t.test('meta.properties: written on first start, mismatches refused', async (t) => {
  const dir = join(tempDir(t), 'data')
  const first = LogDir.open(dir, { nodeId: 3 })
  t.equal(first.clusterId.length, 22)
  t.equal(first.directoryId.length, 22)
  t.notOk(first.cleanShutdown, 'a new dir has no clean-shutdown marker')
  const props = readFileSync(join(dir, META_PROPERTIES), 'utf8')
  t.match(props, /^version=1$/m)
  t.match(props, new RegExp(`^cluster.id=${first.clusterId}$`, 'm'))
  t.match(props, /^node.id=3$/m)
  t.match(props, new RegExp(`^directory.id=${first.directoryId}$`, 'm'))
  t.throws(() => LogDir.open(dir, { nodeId: 3 }), /already open/, 'the lock is held')
  first.close()
  t.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)))
  t.notOk(existsSync(join(dir, '.lock')))

  const second = LogDir.open(dir, { nodeId: 3, clusterId: first.clusterId })
  t.ok(second.cleanShutdown)
  t.equal(second.directoryId, first.directoryId, 'directory id is stable')
  t.notOk(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), 'marker consumed while running')
  second.close({ clean: false })
  t.notOk(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), 'unclean close leaves no marker')

  t.throws(() => LogDir.open(dir, { nodeId: 4 }), /node.id 3/)
  t.throws(() => LogDir.open(dir, { nodeId: 3, clusterId: 'AAAAAAAAAAAAAAAAAAAAAA' }), /cluster/)
  const third = LogDir.open(dir, { nodeId: 3 })
  t.notOk(third.cleanShutdown)
  third.close()
})

t.test('a stale lock of a dead process is taken over; a live one is refused', async (t) => {
  const dir = join(tempDir(t), 'data')
  mkdirSync(dir)
  writeFileSync(join(dir, '.lock'), '999999999\n')
  const a = LogDir.open(dir, { nodeId: 1 })
  a.close()
  writeFileSync(join(dir, '.lock'), `${process.ppid}\n`)
  t.throws(() => LogDir.open(dir, { nodeId: 1 }), /locked by process/)
})

t.test('listing partitions and the checkpoint files of a log dir', async (t) => {
  const dir = join(tempDir(t), 'data')
  const logDir = LogDir.open(dir, { nodeId: 1 })
  for (const name of ['orders-0', 'orders-1', 'a.b-c-10', 'my-topic-3.0123456789abcdef0123456789abcdef-delete', '.tmp-1', 'not_a_partition']) {
    mkdirSync(join(dir, name))
  }
  writeFileSync(join(dir, 'file-7'), '')
  t.same(logDir.listPartitions().map((p) => [p.topic, p.partition]), [['a.b-c', 10], ['orders', 0], ['orders', 1]])
  t.same(logDir.listDeletedPartitionDirs(), [join(logDir.path, 'my-topic-3.0123456789abcdef0123456789abcdef-delete')], 'deleted partitions waiting for removal')
  logDir.writeCheckpoints({
    recoveryPoints: [{ topic: 'orders', partition: 0, offset: 10 }],
    highWatermarks: [{ topic: 'orders', partition: 0, offset: 9 }],
    logStartOffsets: [{ topic: 'orders', partition: 1, offset: 4 }],
  })
  const c = logDir.startupCheckpoints()
  t.equal(c.recoveryPoint('orders', 0), 10)
  t.equal(c.recoveryPoint('orders', 1), 0, 'unknown partition recovers from 0')
  t.equal(c.highWatermark('orders', 0), 9)
  t.equal(c.logStartOffset('orders', 1), 4)
  t.equal(c.logStartOffset('orders', 0), undefined)
  writeFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'garbage')
  t.equal(logDir.startupCheckpoints().recoveryPoint('orders', 0), 0, 'a malformed checkpoint means full recovery')
  logDir.close()
})

t.test('renameForDelete closes the partition and renames it the way Kafka does', async (t) => {
  const root = tempDir(t)
  const fds = new FileHandleCache(8)
  t.teardown(() => fds.closeAll())
  const dir = join(root, 'my.topic-with-dashes-7')
  const log = PartitionLog.open({ dir, topic: 'my.topic-with-dashes', partition: 7, topicId: TOPIC_ID, config: DEFAULT_LOG_CONFIG, now: () => 0, recoveryPoint: 0, cleanShutdown: true, fds })
  log.append(batchOf(2, 'gone'), 0)
  const target = log.renameForDelete()
  t.match(target, /\/my\.topic-with-dashes-7\.[0-9a-f]{32}-delete$/)
  t.notOk(existsSync(dir))
  t.ok(existsSync(join(target, '00000000000000000000.log')))
  t.equal(fds.size, 0, 'no fd of the partition left open')
  t.same(readdirSync(root), [target.split('/').at(-1)])
  const long = deleteDirName(`${'t'.repeat(249)}-0`, 0)
  t.equal(long.length, 255, 'capped at 255 characters')
  t.match(long, /^t+-0\.[0-9a-f]{32}-delete$/)
})

t.test('the fd LRU closes the least recently used file', async (t) => {
  const dir = tempDir(t)
  const fds = new FileHandleCache(2)
  t.teardown(() => fds.closeAll())
  const paths = ['a', 'b', 'c'].map((n) => join(dir, n))
  for (const p of paths) writeFileSync(p, p)
  const a = fds.get(paths[0]!)
  fds.get(paths[1]!)
  t.equal(fds.get(paths[0]!), a, 'cached')
  fds.get(paths[2]!) // evicts b, the least recently used
  t.equal(fds.size, 2)
  const opens = fds.openCount
  fds.get(paths[0]!)
  t.equal(fds.openCount, opens, 'a still open')
  fds.get(paths[1]!)
  t.equal(fds.openCount, opens + 1, 'b had to be reopened')
  t.throws(() => fds.get(join(dir, 'missing')), /ENOENT/)
  fds.closeUnder(`${dir}/`)
  t.equal(fds.size, 0)
})
