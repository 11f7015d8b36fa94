/**
 * `samsa console-consumer --group G` when its broker goes away mid-way: one line saying so,
 * then the summary as the last line, exit code 1 — without first spending the commit and
 * LeaveGroup retries (tens of seconds) on a broker that is known to be gone.
 */
import t from 'tap'
import type { ChildProcess } from 'node:child_process'
import { Broker } from '../../src/index.ts'
import { KafkaClient, Producer } from '../../src/client/index.ts'
import { lines, samsa } from './run-cli.ts'

t.setTimeout(120_000)

t.test('the broker stops under a group console consumer', async (t) => {
  const broker = await Broker.start({ config: { 'group.initial.rebalance.delay.ms': 0 } })
  t.teardown(() => broker.stop())
  const client = new KafkaClient({ bootstrap: broker.bootstrap })
  const producer = new Producer(client, { lingerMs: 1 })
  await producer.send({ topic: 'gone', value: 'a' })
  await producer.send({ topic: 'gone', value: 'b' })
  await producer.close()
  client.close()

  let child: ChildProcess | null = null
  let out = ''
  let printed: () => void = () => {}
  const bothPrinted = new Promise<void>((resolve) => { printed = resolve })
  const result = samsa(['console-consumer', '--topic', 'gone', '--group', 'g', '--from-beginning', '--bootstrap-server', broker.bootstrap], {
    timeoutMs: 100_000,
    onSpawn: (c) => {
      child = c
      c.stdin!.end()
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (lines(out).length >= 2) printed()
      })
    },
  })
  t.teardown(() => {
    const c = child as ChildProcess | null
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  })
  await bothPrinted
  await broker.stop()
  const r = await result
  t.equal(r.stdout, 'a\nb\n')
  t.equal(r.code, 1, r.stderr)
  const err = lines(r.stderr)
  t.equal(err.length, 2, `one error line and the summary: ${r.stderr}`)
  t.match(err[0], /^samsa console-consumer: .*(closed the connection|connection reset|cannot reach)/, 'the broker is gone')
  t.equal(err[1], 'Processed a total of 2 messages', 'the summary is the last line')
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
})
