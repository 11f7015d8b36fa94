/**
 * Library mode: time from `Broker.start()` to the first acknowledged produce (acks=1), in a
 * fresh process each run (cold worker start included), as a test suite would see it.
 *
 *   node bench/startup.bench.ts [runs=5]
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

if (process.argv[2] === '--child') {
  const { Broker } = await import('../src/index.ts')
  const { RawClient } = await import('../test/helpers/raw-client.ts')
  const { encodeProduceRequest } = await import('../src/protocol/messages/produce-request.ts')
  const { decodeProduceResponse } = await import('../src/protocol/messages/produce-response.ts')
  const { buildRecordBatch } = await import('../src/storage/record-batch-builder.ts')
  const started = performance.now()
  const broker = await Broker.start({ config: { 'auto.create.topics.enable': true } })
  const startedMs = performance.now() - started
  const c = await RawClient.connect(broker.bootstrap)
  // Produce to an auto-created topic: Metadata creates it, then the first produce is acknowledged.
  const { encodeMetadataRequest, defaultMetadataRequest } = await import('../src/protocol/messages/metadata-request.ts')
  c.send(RawClient.frame(3, 12, 1, (w) => encodeMetadataRequest(w, 12, { ...defaultMetadataRequest(), topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'first' }] })))
  await c.response(3, 12)
  c.send(RawClient.frame(0, 9, 2, (w) => encodeProduceRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'first', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'hello' }] }) }] }] })))
  const res = decodeProduceResponse((await c.response(0, 9)).body, 9)
  const totalMs = performance.now() - started
  if (res.responses[0]!.partitionResponses[0]!.errorCode !== 0) throw new Error('produce failed')
  c.close()
  await broker.stop()
  console.log(JSON.stringify({ startedMs, totalMs }))
} else {
  const runs = Number(process.argv[2] ?? 5)
  const results: { startedMs: number; totalMs: number }[] = []
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(r.stderr)
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!))
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log(`library mode, ${runs} cold runs: Broker.start() median ${median(results.map((r) => r.startedMs)).toFixed(0)} ms; start → first acknowledged produce median ${median(results.map((r) => r.totalMs)).toFixed(0)} ms`)
}
