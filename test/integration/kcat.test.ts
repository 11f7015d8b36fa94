/**
 * kcat (librdkafka 2.0.2) against a real broker: metadata listing, produce with keys, headers
 * and every codec librdkafka offers, idempotent produce, consume from the beginning, from an
 * offset, and by timestamp (kcat -C assigns partitions; no group).
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { hasKcat, runProcess } from '../helpers/external.ts'

if (!hasKcat()) {
  t.plan(0, 'kcat is not installed (apt-get install kcat)')
} else {
  const broker = await startBroker(t, { config: { 'num.partitions': 1 } })
  const b = broker.bootstrap

  const kcat = (args: string[], input?: string) => runProcess('kcat', ['-b', b, ...args], { input: input ?? '', timeoutMs: 30_000 })

  t.test('produce with every codec, consume everything back in order', async (t) => {
    const expected: string[] = []
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const lines = [0, 1, 2].map((i) => `${codec}-key-${i}:${codec}-value-${i}`)
      const r = await kcat(['-P', '-t', 'kcat-codecs', '-K:', '-H', `codec=${codec}`, '-z', codec, '-X', 'enable.idempotence=true'], lines.join('\n') + '\n')
      t.equal(r.code, 0, `${codec}: ${r.stderr}`)
      expected.push(...lines)
    }
    const r = await kcat(['-C', '-t', 'kcat-codecs', '-o', 'beginning', '-e', '-f', '%k:%s\n'])
    t.equal(r.code, 0, r.stderr)
    t.same(r.stdout.trim().split('\n'), expected)
    const headers = await kcat(['-C', '-t', 'kcat-codecs', '-o', '3', '-c', '1', '-e', '-f', '%h %o\n'])
    t.equal(headers.stdout.trim(), 'codec=gzip 3', 'headers and offsets survive')
  })

  t.test('metadata listing names the broker and the topic', async (t) => {
    const r = await kcat(['-L', '-t', 'kcat-codecs'])
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /1 brokers:/)
    t.match(r.stdout, new RegExp(`broker ${broker.nodeId} at ${b.replace('.', '\\.')}`))
    t.match(r.stdout, /topic "kcat-codecs" with 1 partitions/)
  })

  t.test('consume from an offset and by timestamp', async (t) => {
    const base = Date.now() - 60_000
    for (let i = 0; i < 5; i++) {
      const r = await kcat(['-P', '-t', 'kcat-time', '-p', '0'], `t${i}\n`)
      t.equal(r.code, 0, r.stderr)
    }
    const fromOffset = await kcat(['-C', '-t', 'kcat-time', '-o', '3', '-e', '-f', '%s\n'])
    t.same(fromOffset.stdout.trim().split('\n'), ['t3', 't4'])
    const byTime = await kcat(['-C', '-t', 'kcat-time', '-o', `s@${base}`, '-e', '-f', '%s\n'])
    t.same(byTime.stdout.trim().split('\n'), ['t0', 't1', 't2', 't3', 't4'])
    const future = await kcat(['-C', '-t', 'kcat-time', '-o', `s@${Date.now() + 3_600_000}`, '-e', '-f', '%s\n'])
    t.equal(future.stdout.trim(), '', 'nothing at or after a future timestamp')
  })
}
