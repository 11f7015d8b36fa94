/**
 * kcat (librdkafka 2.0.2) against a real broker: metadata listing, produce with keys, headers
 * and every codec librdkafka offers, idempotent produce, consume from the beginning, from an
 * offset, and by timestamp (kcat -C assigns partitions; no group); acks 0/1/all and
 * idempotence, each checked by reading back what was stored.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { hasKcat, runProcess } from '../helpers/external.ts'
import { readPartition } from '../helpers/read-partition.ts'

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

  t.test('acks 0, 1, all and idempotence, read back from the beginning and by timestamp', async (t) => {
    const modes = [['acks=0'], ['acks=1'], ['acks=all'], ['acks=all', 'enable.idempotence=true', 'max.in.flight.requests.per.connection=5', 'batch.num.messages=3', 'linger.ms=0']]
    const expected: string[] = []
    const firstTimestamps: number[] = []
    for (const [m, props] of modes.entries()) {
      const lines = Array.from({ length: 12 }, (_, i) => `m${m}-k${i}:m${m}-v${i}`)
      const before = Date.now()
      await new Promise((resolve) => setTimeout(resolve, 5))
      const r = await kcat(['-P', '-t', 'kcat-acks', '-p', '0', '-K:', '-H', `mode=${props.join(',')}`, ...props.flatMap((p) => ['-X', p])], lines.join('\n') + '\n')
      t.equal(r.code, 0, `${props.join(' ')}: ${r.stderr}`)
      firstTimestamps.push(before)
      expected.push(...lines)
    }
    // acks=0 gets no answer: kcat exits once the request is sent, so wait for it to be stored
    const deadline = Date.now() + 10_000
    let stored = await readPartition(b, 'kcat-acks', 0)
    while (stored.reduce((n, x) => n + x.records.length, 0) < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      stored = await readPartition(b, 'kcat-acks', 0)
    }
    t.same(stored.flatMap((x) => x.records.map((r) => `${r.key}:${r.value}`)), expected, 'every record stored once, in order, acks=0 included')
    t.same(stored.flatMap((x) => x.records.map((r) => r.offset)), expected.map((_, i) => i), 'offsets 0..n-1')
    const idem = stored.filter((x) => x.baseOffset >= 36)
    t.ok(idem.length >= 4 && idem.every((x) => x.producerId >= 0), `the idempotent run's ${idem.length} batches carry a producer id`)
    t.ok(stored.filter((x) => x.baseOffset < 36).every((x) => x.producerId === -1), 'the others do not')

    const all = await kcat(['-C', '-t', 'kcat-acks', '-o', 'beginning', '-e', '-f', '%k:%s|%h\n'])
    t.equal(all.code, 0, all.stderr)
    t.same(all.stdout.trim().split('\n').map((l) => l.split('|')[0]), expected)
    t.match(all.stdout.trim().split('\n')[40], /\|mode=acks=all,enable\.idempotence=true/, 'headers of the idempotent run')

    const ts = await kcat(['-C', '-t', 'kcat-acks', '-o', 'beginning', '-e', '-f', '%T\n'])
    const stamps = ts.stdout.trim().split('\n').map(Number)
    for (const [m, from] of firstTimestamps.entries()) {
      t.ok(stamps.slice(m * 12, m * 12 + 12).every((x) => x >= from), `run ${m}: CreateTime after its start`)
      if (m > 0) t.ok(stamps.slice(0, m * 12).every((x) => x < from), `runs before ${m}: CreateTime before its start`)
    }
    for (const m of [1, 3]) {
      const byTime = await kcat(['-C', '-t', 'kcat-acks', '-o', `s@${firstTimestamps[m]}`, '-e', '-f', '%o %k:%s\n'])
      t.equal(byTime.code, 0, byTime.stderr)
      t.same(byTime.stdout.trim().split('\n'), expected.slice(m * 12).map((l, i) => `${m * 12 + i} ${l}`), `-o s@<start of run ${m}>: from offset ${m * 12}`)
    }
  })
}
