/**
 * Durability with the real server process: everything acknowledged (acks=1 and acks=all)
 * survives kill -9 — the bytes are in the file before the answer, whatever the flush settings
 * — and a clean restart keeps data and offsets. A recovered log continues at the right offset.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { encodeFetchRequest } from '../../src/protocol/messages/fetch-request.ts'
import { decodeFetchResponse } from '../../src/protocol/messages/fetch-response.ts'
import { decodeRecordBatches } from '../../src/storage/record-batch-reader.ts'

const dir = mkdtempSync(join(tmpdir(), 'samsa-durability-'))
let server: ServerProcess | null = null
t.teardown(() => {
  server?.child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

async function produce(bootstrap: string, topic: string, from: number, count: number, acks: number): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  for (let i = from; i < from + count; i += 10) {
    await producer.send({ topic, acks, messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}` })) })
  }
  await producer.disconnect()
}

async function readAll(bootstrap: string, topic: string): Promise<string[]> {
  const c = await RawClient.connect(bootstrap)
  const values: string[] = []
  let offset = 0
  for (;;) {
    c.send(RawClient.frame(1, 11, offset, (w) => encodeFetchRequest(w, 11, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' }] }],
    })))
    const p = decodeFetchResponse((await c.response(1, 11)).body, 11).responses[0]!.partitions[0]!
    if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`)
    const batches = decodeRecordBatches(p.records ?? Buffer.alloc(0))
    for (const b of batches) {
      for (const r of b.records) if (r.offset >= offset) values.push(r.value!.toString())
    }
    if (batches.length === 0) break
    const last = batches[batches.length - 1]!
    offset = last.baseOffset + last.lastOffsetDelta + 1
  }
  c.close()
  return values
}

const expected = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${i}`)

t.test('acknowledged records survive kill -9; a clean restart keeps everything', async (t) => {
  server = await startServerProcess(dir, { 'num.partitions': 1 })
  await produce(server.bootstrap, 'durable', 0, 200, 1)
  await produce(server.bootstrap, 'durable', 200, 100, -1)
  server.child.kill('SIGKILL')
  await server.exited
  t.notOk(existsSync(join(dir, 'data', '.kafka_cleanshutdown')), 'no clean-shutdown marker after kill -9')

  server = await startServerProcess(dir, { 'num.partitions': 1 })
  t.same(await readAll(server.bootstrap, 'durable'), expected(300), 'every acknowledged record is there after recovery')
  await produce(server.bootstrap, 'durable', 300, 50, 1)
  t.same(await readAll(server.bootstrap, 'durable'), expected(350), 'offsets continue after recovery')

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, 'SIGTERM stops the broker cleanly')
  t.ok(existsSync(join(dir, 'data', '.kafka_cleanshutdown')), 'clean-shutdown marker written')
  // As Kafka: the shutdown flush moves the recovery point to the log end, so a later unclean
  // start has nothing flushed to scan again.
  t.match(readFileSync(join(dir, 'data', 'recovery-point-offset-checkpoint'), 'utf8'), /^durable 0 350$/m, 'recovery point = log end after a clean stop')
  server = await startServerProcess(dir, { 'num.partitions': 1 })
  t.same(await readAll(server.bootstrap, 'durable'), expected(350), 'data intact after a clean restart')
  server.child.kill('SIGTERM')
  await server.exited
  server = null
})

t.test('a bad configuration stops start-up with a message naming the key', async (t) => {
  const bad = mkdtempSync(join(tmpdir(), 'samsa-badconf-'))
  t.teardown(() => rmSync(bad, { recursive: true, force: true }))
  await t.rejects(startServerProcess(bad, { 'num.partitions': 'many' }), /num\.partitions: 'many' is not an integer/)
})
