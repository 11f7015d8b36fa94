/**
 * Library mode as a test suite uses it: `Broker.start()` / `broker.stop()` many times in one
 * process, several brokers at once, bad configuration — and nothing may be left behind
 * (temporary folders, threads, file descriptors, a process that does not exit).
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Broker, ConfigError } from '../../src/index.ts'

t.setTimeout(240_000)

const fds = (): number => readdirSync('/proc/self/fd').length
const threads = (): number => readdirSync('/proc/self/task').length

/** Runs `fn` with os.tmpdir() pointing at a fresh folder (library mode puts its data folders there). */
async function withTmpdir<T>(t: Test, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-lib-test-'))
  const saved = process.env.TMPDIR
  process.env.TMPDIR = dir
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  try {
    return await fn(dir)
  } finally {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
  }
}

t.test('a bad configuration value: a ConfigError naming the key, and no temporary folder left behind', async (t) => {
  await withTmpdir(t, async (dir) => {
    const bad: Record<string, string | number>[] = [{ 'num.partitions': 'abc' }, { 'log.segment.bytes': -1 }, { listeners: 'foo' }, { 'auto.create.topics.enable': 'yes' }]
    for (const config of bad) {
      const key = Object.keys(config)[0]!
      await t.rejects(Broker.start({ config }), { name: 'ConfigError', message: new RegExp(`^${key.replace(/\./g, '\\.')}: `) }, key)
    }
    t.same(readdirSync(dir), [], 'no samsa-* folder created for a configuration that was refused')
    t.ok(new ConfigError('x') instanceof Error)
  })
})

t.test('a listener port already in use: an error naming the listener and `listeners`, nothing left behind', async (t) => {
  const first = await Broker.start()
  t.teardown(() => first.stop())
  await withTmpdir(t, async (dir) => {
    await t.rejects(Broker.start({ config: { listeners: `PLAINTEXT://127.0.0.1:${first.port}` } }),
      { message: new RegExp(`^listener PLAINTEXT cannot bind 127\\.0\\.0\\.1:${first.port}: the address is already in use .*change it in \`listeners\`$`) })
    t.same(readdirSync(dir), [], 'the temporary data folder of the broker that failed is removed')
  })
})

t.test('log.dirs naming a file: an error naming log.dirs', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a directory' })
  await t.rejects(Broker.start({ config: { 'log.dirs': join(dir, 'a-file') } }), { message: /^log\.dirs: cannot create the log directory .*a-file: a file is in the way$/ })
  await t.rejects(Broker.start({ config: { 'log.dirs': join(dir, 'a-file', 'below') } }), { message: /^log\.dirs: cannot create the log directory .*below: a file is in the way$/ })
})

t.test('a misspelt key in library mode (silent by default) is reported as a process warning, once', async (t) => {
  const seen: Error[] = []
  const onWarning = (w: Error): void => {
    if (w.name === 'SamsaConfigWarning') seen.push(w)
  }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  for (let i = 0; i < 2; i++) {
    const broker = await Broker.start({ config: { 'num.partitons': 3 } })
    t.equal(broker.config.numPartitions, 1, 'the misspelt key is ignored')
    await broker.stop()
  }
  await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
  t.equal(seen.length, 1, 'one warning for two brokers with the same typo')
  t.match(seen[0]?.message, /num\.partitons: unknown setting, ignored \(did you mean num\.partitions\?\)/)
  const quiet = await Broker.start({ config: { 'num.partitonz': 3 }, logger: false })
  await quiet.stop()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(seen.length, 1, 'logger: false keeps it quiet')
})

t.test('advertised.listeners: an empty host means the default one; a wildcard address is refused, as in Kafka', async (t) => {
  const broker = await Broker.start({ config: { listeners: 'PLAINTEXT://127.0.0.1:0', 'advertised.listeners': 'PLAINTEXT://:0' } })
  t.teardown(() => broker.stop())
  t.equal(broker.bootstrap, `127.0.0.1:${broker.port}`, 'clients are not told to connect to an empty host')
  const wildcard = await Broker.start({ config: { listeners: 'PLAINTEXT://[::]:0' } })
  t.teardown(() => wildcard.stop())
  t.equal(wildcard.bootstrap, `127.0.0.1:${wildcard.port}`, 'a listener on :: is advertised as 127.0.0.1, as one on 0.0.0.0')
  for (const host of ['0.0.0.0', '[::]']) {
    await t.rejects(Broker.start({ config: { 'advertised.listeners': `PLAINTEXT://${host}:9092` } }),
      { name: 'ConfigError', message: /^advertised\.listeners: cannot use the nonroutable meta-address/ }, host)
  }
})

t.test('stop() called twice at once: both callers wait until the broker is really stopped', async (t) => {
  await withTmpdir(t, async (dir) => {
    const broker = await Broker.start()
    const [data] = readdirSync(dir)
    t.ok(data, 'the broker made its data folder in tmpdir')
    const first = broker.stop()
    const second = broker.stop()
    await second
    t.notOk(existsSync(join(dir, data!)), 'the second stop() resolved after the data folder was removed')
    await first
    await broker.stop() // and once more, after the fact
  })
})

t.test('five brokers at once, stopped in another order, many times: threads, descriptors and folders come back', async (t) => {
  await withTmpdir(t, async (dir) => {
    // One round first: lazily created process-wide resources (libuv pool, compile caches) are not leaks.
    await Promise.all((await Promise.all([0, 1].map(() => Broker.start()))).map((b) => b.stop()))
    const before = { fds: fds(), threads: threads() }
    for (let round = 0; round < 6; round++) {
      const brokers = await Promise.all([0, 1, 2, 3, 4].map(() => Broker.start()))
      t.equal(new Set(brokers.map((b) => b.port)).size, 5, 'five ports')
      const order = round % 2 === 0 ? [3, 0, 4, 1, 2] : [4, 3, 2, 1, 0]
      if (round % 3 === 0) await Promise.all(order.map((i) => brokers[i]!.stop()))
      else for (const i of order) await brokers[i]!.stop()
    }
    t.same(readdirSync(dir), [], 'every data folder removed')
    t.equal(threads(), before.threads, 'no thread left running')
    t.equal(fds(), before.fds, 'no file descriptor left open')
  })
})

t.test('two brokers on the same log.dirs: the second is refused, the first keeps working', async (t) => {
  await withTmpdir(t, async (dir) => {
    const logDirs = join(dir, 'shared')
    const first = await Broker.start({ config: { 'log.dirs': logDirs } })
    t.teardown(() => first.stop())
    const threadsBefore = threads()
    await t.rejects(Broker.start({ config: { 'log.dirs': logDirs } }), /log dir .*shared.* is already open in this process/)
    t.equal(threads(), threadsBefore, 'the refused broker left no thread behind')
    t.ok(first.port > 0)
  })
})

t.test('a process that started brokers with consumer groups exits by itself after stop()', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-lib-exit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const src = fileURLToPath(new URL('../../src/', import.meta.url))
  const script = join(dir, 'exit.ts')
  writeFileSync(script, `
import { Broker } from '${src}index.ts'
import { KafkaClient } from '${src}client/client.ts'
import { GroupConsumer } from '${src}client/consumer.ts'
import { Producer } from '${src}client/producer.ts'
const brokers = await Promise.all([0, 1].map(() => Broker.start()))
for (const b of brokers) {
  const client = new KafkaClient({ bootstrap: b.bootstrap, clientId: 'exit-test' })
  await client.connect()
  const producer = new Producer(client, {})
  await producer.send({ topic: 't', value: Buffer.from('x') })
  await producer.close()
  const consumer = new GroupConsumer(client, { groupId: 'g', topics: ['t'], offsetReset: 'earliest' })
  let n = 0
  while (n === 0) n += (await consumer.poll()).length
  await consumer.close()
  client.close()
}
await brokers[1].stop()
await brokers[0].stop()
process.stdout.write('stopped\\n')
`)
  const result = await new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: dir } })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000) // a safety net, not an assertion on time
    child.on('close', (code, signal) => {
      clearTimeout(kill)
      resolve({ code, signal, out })
    })
  })
  t.equal(result.out, 'stopped\n')
  t.same({ code: result.code, signal: result.signal }, { code: 0, signal: null }, 'exited on its own')
  t.same(readdirSync(dir).filter((n) => n.startsWith('samsa-')), [], 'no data folder left behind')
})
