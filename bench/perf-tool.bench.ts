/**
 * Does `samsa perf produce` measure the broker rather than itself? It runs against the same
 * broker (server mode, this process) as bench/loadgen.ts — the bare load generator of
 * bench/throughput.bench.ts (raw frames, one pre-built batch) — with the same shape of load:
 * 1 KiB records in ~1 MiB batches, acks=1, 4 requests in flight, one partition. Runs alternate
 * so both meet the same page-cache state. A ratio near 1 means the tool is not the bottleneck.
 *
 *   node bench/perf-tool.bench.ts [--bytes 536870912] [--rounds 2]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Broker } from '../src/index.ts'
import { Admin, KafkaClient } from '../src/client/index.ts'

const { values } = parseArgs({ options: { bytes: { type: 'string', default: String(512 * 1024 * 1024) }, rounds: { type: 'string', default: '2' } } })
const BYTES = Number(values.bytes)
const ROUNDS = Number(values.rounds)
const RECORD = 1024
const PER_BATCH = 1000
const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url))
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop()!) : reject(new Error(`${args[0]} exited ${code}`))))
  })
}

const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-'))
const broker = await Broker.start({ server: true, logger: false, config: { 'log.dirs': join(dir, 'data'), listeners: 'PLAINTEXT://127.0.0.1:0' } })
const client = new KafkaClient({ bootstrap: broker.bootstrap })
try {
  const admin = new Admin(client)
  const mbps = { loadgen: [] as number[], samsa: [] as number[] }
  for (let round = 0; round < ROUNDS; round++) {
    const topics = [`loadgen-${round}`, `samsa-${round}`]
    for (const r of await admin.createTopics(topics.map((name) => ({ name, numPartitions: 1 })))) if (r.error) throw r.error
    const lg = JSON.parse(await run([LOADGEN, 'produce', broker.bootstrap, topics[0]!, '1', String(BYTES), '4'])) as { bytes: number; seconds: number }
    mbps.loadgen.push(lg.bytes / 1048576 / lg.seconds)
    const records = Math.ceil(BYTES / (RECORD * PER_BATCH)) * PER_BATCH
    const sp = JSON.parse(await run([CLI, 'perf', 'produce', '--topic', topics[1]!, '--num-records', String(records), '--record-size', String(RECORD),
      '--batch-size', String(RECORD * PER_BATCH), '--max-in-flight', '4', '--acks', '1', '--json', '--bootstrap-server', broker.bootstrap])) as { mbPerSec: number }
    mbps.samsa.push(sp.mbPerSec)
    console.log(`round ${round + 1}: loadgen ${mbps.loadgen[round]!.toFixed(1)} MB/s, samsa perf produce ${sp.mbPerSec.toFixed(1)} MB/s`)
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const lg = median(mbps.loadgen)
  const sp = median(mbps.samsa)
  console.log(JSON.stringify({ bytesPerRun: BYTES, loadgenMBps: +lg.toFixed(1), samsaPerfMBps: +sp.toFixed(1), ratio: +(sp / lg).toFixed(3) }))
} finally {
  client.close()
  await broker.stop()
  rmSync(dir, { recursive: true, force: true })
}
