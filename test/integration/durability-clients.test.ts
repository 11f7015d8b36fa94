/**
 * kill -9 and clean restarts of the real server process, driven by confluent-kafka-python
 * (librdkafka): an idempotent acks=all producer is writing flat out when the broker is killed
 * with SIGKILL; after a restart on the same data directory every acknowledged record is read
 * back (assign(), no group) exactly once, at the offset it was acknowledged with, nothing is
 * duplicated, and new records continue the offsets. A clean restart (SIGTERM) keeps all of it.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { confluentPython, runProcess } from '../helpers/external.ts'
import { startServerProcess, type ServerProcess } from '../helpers/server-process.ts'

const SCRIPT = fileURLToPath(new URL('./fixtures/confluent_durable.py', import.meta.url))
const python = confluentPython()

if (!python) {
  t.plan(0, 'confluent-kafka-python is not installed (apt-get install python3-confluent-kafka)')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-durability-clients-'))
  let server: ServerProcess | null = null
  t.teardown(() => {
    server?.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const start = async () => (server = await startServerProcess(dir, { 'num.partitions': 1 }))

  const read = async (bootstrap: string): Promise<[number, string][]> => {
    const r = await runProcess(python, [SCRIPT, bootstrap, 'durable-py', 'read'])
    if (r.code !== 0) throw new Error(r.stderr)
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as [number, string][]
  }

  t.test('kill -9 while librdkafka produces: every acknowledged record survives exactly once', async (t) => {
    const s = await start()
    const acked: [number, string][] = []
    const producer = spawn(python, ['-u', SCRIPT, s.bootstrap, 'durable-py', 'produce'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const producerExited = new Promise<void>((resolve) => producer.on('exit', () => resolve()))
    t.teardown(() => { if (producer.exitCode === null && producer.signalCode === null) producer.kill('SIGKILL') })
    let buffered = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${acked.length} acknowledgements in 30 s`)), 30_000)
      producer.stdout.on('data', (d: Buffer) => {
        buffered += d
        const lines = buffered.split('\n')
        buffered = lines.pop()!
        for (const line of lines) {
          const m = /^ACK (\d+) (\S+)$/.exec(line)
          if (m) acked.push([Number(m[1]), m[2]!])
        }
        if (acked.length >= 3000) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    s.child.kill('SIGKILL') // mid-stream: the producer still has requests in flight
    await s.exited
    producer.kill('SIGKILL')
    await producerExited
    t.notOk(existsSync(join(dir, 'data', '.kafka_cleanshutdown')), 'no clean-shutdown marker after kill -9')
    t.ok(acked.length >= 3000, `${acked.length} records acknowledged before the kill`)
    t.same(acked.map(([o]) => o), acked.map((_, i) => i), 'acknowledged offsets are 0..n-1 in order')

    const s2 = await start()
    const after = await read(s2.bootstrap)
    t.comment(`${acked.length} acknowledged before kill -9, ${after.length} in the log after recovery`)
    t.same(after.map(([o]) => o), after.map((_, i) => i), 'the recovered log is contiguous from 0')
    t.same(after.slice(0, acked.length), acked, 'every acknowledged record is there, at its acknowledged offset')
    t.same(after.map(([, v]) => v), after.map((_, i) => `v${i}`), 'nothing duplicated or reordered (unacknowledged tail included)')

    const more = await runProcess(python, [SCRIPT, s2.bootstrap, 'durable-py', `produce:${after.length}:100`])
    t.equal(more.code, 0, more.stderr)
    t.match(more.stdout, /DONE \[\]/, 'a new producer after recovery gets no errors')
    const firstNew = /^ACK (\d+) /m.exec(more.stdout)
    t.equal(Number(firstNew?.[1]), after.length, 'offsets continue after the recovered end')
    const total = after.length + 100
    t.same((await read(s2.bootstrap)).map(([, v]) => v), Array.from({ length: total }, (_, i) => `v${i}`))

    s2.child.kill('SIGTERM')
    t.equal(await s2.exited, 0, 'SIGTERM stops the broker cleanly')
    t.ok(existsSync(join(dir, 'data', '.kafka_cleanshutdown')), 'clean-shutdown marker written')
    const s3 = await start()
    const clean = await read(s3.bootstrap)
    t.same(clean.map(([, v]) => v), Array.from({ length: total }, (_, i) => `v${i}`), 'a clean restart keeps every record')
    t.same(clean.map(([o]) => o), clean.map((_, i) => i))
    s3.child.kill('SIGTERM')
    t.equal(await s3.exited, 0)
    server = null
  })
}
