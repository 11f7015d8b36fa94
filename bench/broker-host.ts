/**
 * A broker in its own process for bench/throughput.bench.ts, so the bench can measure the
 * broker's threads alone and compare two source trees (A/B) in one run.
 *
 *   node bench/broker-host.ts <tree root> <log dir>     (forked with an IPC channel)
 *
 * Messages from the parent: 'sample' → { elu, threads } (cumulative: the parent takes deltas),
 * 'stop' → stops the broker and exits. On start it sends { bootstrap }.
 *
 * Per-thread CPU comes from /proc/self/task/<tid>/stat (utime + stime, clock ticks), grouped by
 * thread name: the main (network) thread, the shard workers (named samsa-shard-N), and
 * everything else (V8's GC and compiler helpers, libuv's pool, native add-ons' threads).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'

const [root, logDir] = process.argv.slice(2)
const { Broker } = (await import(pathToFileURL(join(root!, 'src/index.ts')).href)) as typeof import('../src/index.ts')

export interface ThreadTicks { main: number; shards: number; other: number; byName: Record<string, number> }
export interface HostSample { elu: ReturnType<typeof performance.eventLoopUtilization>; threads: ThreadTicks }

function threadTicks(): ThreadTicks {
  const t: ThreadTicks = { main: 0, shards: 0, other: 0, byName: {} }
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of stat)
    t.byName[name] = (t.byName[name] ?? 0) + ticks
    if (tid === String(process.pid)) t.main += ticks
    else if (name.startsWith('samsa-shard')) t.shards += ticks
    else t.other += ticks
  }
  return t
}

const broker = await Broker.start({ server: true, logger: false, config: { 'log.dirs': logDir!, listeners: 'PLAINTEXT://127.0.0.1:0' } })
process.on('message', (msg: string) => {
  if (msg === 'sample') process.send!({ elu: performance.eventLoopUtilization(), threads: threadTicks() } satisfies HostSample)
  else if (msg === 'stop') void broker.stop().then(() => process.exit(0))
})
process.send!({ bootstrap: broker.bootstrap })
