/**
 * A broker killed (SIGKILL) while the cleaner compacts loses nothing: with a tiny dirty-ratio
 * threshold and a 50 ms check interval, compaction passes run back to back on the piscina pool.
 * Each round produces keyed records (acks=all), waits until a pass has removed superseded
 * records (the pool is warm), makes the log dirty again and kills the server process 0, 40 or
 * 120 ms after the last acknowledgement — before, during or after the next pass. Restarted on
 * the same directory, every key's last acknowledged value is read back at the offset it was
 * acknowledged at, and offsets still increase.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel } from 'kafkajs'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts'
import { readPartition } from '../helpers/read-partition.ts'

const dir = mkdtempSync(join(tmpdir(), 'samsa-compaction-crash-'))
let server: ServerProcess | null = null
t.teardown(() => {
  server?.child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})
const PROPS = {
  'num.partitions': 1, 'log.cleanup.policy': 'compact', 'log.segment.bytes': 4096,
  'log.retention.check.interval.ms': 50, 'log.cleaner.min.cleanable.ratio': '0.01',
}
const KEYS = 25

/** Every record of partition 0 from offset 0, as [offset, key, value]. */
async function readAll(bootstrap: string, topic: string): Promise<Array<[number, string, string]>> {
  const batches = await readPartition(bootstrap, topic, 0)
  return batches.flatMap((b) => b.records.map((r): [number, string, string] => [r.offset, r.key!.toString(), r.value!.toString()]))
}

t.test('kill -9 while compaction runs: every key keeps its last acknowledged value and offset', async (t) => {
  /** key → [offset, value] of its last acknowledged write. */
  const latest = new Map<string, [number, string]>()
  for (const [round, killAfterMs] of [[0, 0], [1, 40], [2, 120]] as const) {
    server = await startServerProcess(dir, PROPS)
    const kafka = new Kafka({ brokers: [server.bootstrap], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ idempotent: true })
    await producer.connect()
    const produce = async (steps: number, tag: string): Promise<void> => {
      for (let step = 0; step < steps; step++) {
        const messages = Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: `r${round}-${tag}${step}-k${k}-`.padEnd(60, '.') }))
        const [meta] = await producer.send({ topic: 'compact-crash', acks: -1, messages })
        const base = Number(meta!.baseOffset)
        messages.forEach((m, i) => latest.set(m.key, [base + i, m.value]))
      }
    }
    await produce(30, 'a')
    // The cleaner's pool starts with its first job: wait for a pass, so the kill below meets a warm cleaner.
    const produced = [...latest.values()].reduce((n, [offset]) => Math.max(n, offset + 1), 0)
    const deadline = Date.now() + 20_000
    while ((await readAll(server.bootstrap, 'compact-crash')).length >= produced) {
      if (Date.now() > deadline) throw new Error('no compaction pass within 20 s')
      await sleep(100)
    }
    t.pass(`round ${round}: the cleaner removed superseded records`)
    await produce(10, 'b') // dirty again: the next pass starts within a check interval
    await producer.disconnect()
    await sleep(killAfterMs)
    server.child.kill('SIGKILL')
    await server.exited

    server = await startServerProcess(dir, PROPS)
    const records = await readAll(server.bootstrap, 'compact-crash')
    const lastSeen = new Map<string, [number, string]>()
    let previous = -1
    let ordered = true
    for (const [offset, key, value] of records) {
      if (offset <= previous) ordered = false
      previous = offset
      lastSeen.set(key, [offset, value])
    }
    t.ok(ordered, `round ${round}: offsets strictly increase`)
    t.same(Object.fromEntries(lastSeen), Object.fromEntries(latest), `round ${round} (killed ${killAfterMs} ms after the last ack): the last value of every key, at its offset`)
    server.child.kill('SIGTERM')
    await server.exited
    server = null
  }
})
