/**
 * Raft core throughput in one process: a 3-voter group over an in-memory
 * "network" (a queue) and MemoryStorage, so this measures the core's own
 * cost per committed entry — no sockets, no fsync. The loopback benchmark
 * with real sockets and fsync is a separate piece of work.
 *
 *   node bench/raft-inprocess.bench.ts
 */
import { RaftNode } from '../src/raft/raft-node.ts'
import { MemoryStorage } from '../src/raft/storage.ts'
import type { Message } from '../src/raft/types.ts'

function run(entryBytes: number, entries: number, batch: number): void {
  const ids = [1, 2, 3]
  const storages = new Map(ids.map((id) => [id, new MemoryStorage(ids)]))
  const nodes = new Map(ids.map((id) => [id, new RaftNode({
    id, voters: ids, storage: storages.get(id)!, random: { int: () => id }, electionTicks: 10, heartbeatTicks: 1,
    maxInflightMessages: 256, maxBytesPerMessage: 1 << 20,
  })]))
  const queue: Message[] = []
  let applied = 0
  const drain = (id: number): void => {
    const node = nodes.get(id)!
    while (node.hasReady()) {
      const rd = node.ready()
      const s = storages.get(id)!
      if (rd.snapshot) s.applySnapshot(rd.snapshot)
      s.append(rd.entries)
      if (rd.hardState) s.setHardState(rd.hardState)
      queue.push(...rd.messages)
      if (id === 1) applied += rd.committedEntries.length
      node.advance()
    }
  }
  const pump = (): void => {
    while (queue.length > 0) {
      const m = queue.shift()!
      nodes.get(m.to)!.step(m)
      drain(m.to)
    }
  }
  nodes.get(1)!.campaign()
  drain(1)
  pump()
  const payload = new Uint8Array(entryBytes)
  const t0 = performance.now()
  const target = applied + entries
  while (applied < target) {
    for (let i = 0; i < batch; i++) nodes.get(1)!.propose(payload)
    drain(1)
    pump()
  }
  const ms = performance.now() - t0
  const rate = entries / (ms / 1000)
  console.log(`${entryBytes} B entries, ${batch} per batch: ${rate.toFixed(0)} commits/s, ${(rate * entryBytes / 1e6).toFixed(1)} MB/s (${ms.toFixed(0)} ms)`)
}

for (const [bytes, n] of [[100, 50_000], [10_240, 50_000]] as const) {
  run(bytes, n, 1)
  run(bytes, n, 64)
}
