/**
 * Unit tests of the core's building blocks (storage, log, progress, quorum)
 * and of its purity: src/raft must not reach for I/O, clocks or randomness.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { RaftLog } from '../../src/raft/log.ts'
import { Inflights, Progress } from '../../src/raft/progress.ts'
import { committedIndex, voteResult } from '../../src/raft/quorum.ts'
import { MemoryStorage } from '../../src/raft/storage.ts'
import type { Entry } from '../../src/raft/types.ts'
import { RaftNode } from '../../src/raft/raft-node.ts'

const e = (index: number, term: number): Entry => ({ index, term, kind: 'data', data: new Uint8Array(8) })

t.test('src/raft is pure: no Node modules, timers, clock or Math.random', async (t) => {
  const dir = join(import.meta.dirname, '../../src/raft')
  // The I/O edge lives in these subfolders (durable storage, transports, the worker host) and is
  // exempt; any other subfolder would have to be pure and must be added to the check.
  const ioFolders = ['host', 'storage', 'transport']
  const folders = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  t.same(folders, ioFolders, 'the only subfolders of src/raft are the exempt I/O folders')
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
  t.ok(files.length >= 8)
  const forbidden = [/from ['"]node:/, /\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, /\bDate\b/, /Math\.random/, /\bprocess\./, /performance\.now/]
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8')
    for (const re of forbidden) t.notMatch(src, re, `${f} does not use ${re}`)
    for (const m of src.matchAll(/from '([^']+)'/g)) {
      const sibling = m[1]!.startsWith('./') && !m[1]!.slice(2).includes('/')
      t.ok(sibling || m[1] === '../lib/assert.ts', `${f} imports only the core and assert: ${m[1]}`)
    }
  }
})

t.test('MemoryStorage: append truncates, snapshots compact', async (t) => {
  const s = new MemoryStorage([1])
  s.append([e(1, 1), e(2, 1), e(3, 2)])
  t.equal(s.lastIndex(), 3)
  s.append([e(3, 3), e(4, 3)])
  t.same([s.term(3), s.term(4)], [3, 3], 'the conflicting suffix was replaced')
  t.equal(s.entries(1, 5, 20).length, 1, 'maxBytes limits, but at least one entry comes back')
  s.createSnapshot(2, new Uint8Array([7]), [1])
  t.equal(s.firstIndex(), 3)
  t.equal(s.term(2), 1, 'the snapshot answers for its own index')
  t.throws(() => s.term(1), 'a compacted index is out of range')
  s.applySnapshot({ meta: { index: 10, term: 4, voters: [1] }, data: new Uint8Array(0) })
  t.equal(s.lastIndex(), 10)
  t.equal(s.firstIndex(), 11)
})

t.test('RaftLog: maybeAppend finds conflicts and caps the commit at the last new entry', async (t) => {
  const s = new MemoryStorage([1])
  s.append([e(1, 1), e(2, 1), e(3, 1)])
  const log = new RaftLog(s, 0, { voters: [1], learners: [] })
  t.equal(log.maybeAppend(1, 2, 3, [e(2, 2)]), undefined, 'prev term mismatch is refused')
  t.equal(log.maybeAppend(1, 1, 5, [e(2, 2)]), 2, 'accepted up to index 2')
  t.equal(log.lastIndex(), 2, 'index 3 (stale, term 1) was truncated with the conflict')
  t.equal(log.committed, 2, 'commit is min(leader commit, last new index)')
  t.equal(log.maybeAppend(0, 0, 2, [e(1, 1)]), 1, 'an old duplicate append is harmless')
  t.equal(log.lastIndex(), 2, 'and does not truncate matching entries')
  t.throws(() => log.append([e(2, 3)]), 'committed entries are never truncated')
})

t.test('RaftLog: findConflictByTerm skips a diverging term', async (t) => {
  const s = new MemoryStorage([1])
  s.append([e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 3)])
  const log = new RaftLog(s, 0, { voters: [1], learners: [] })
  t.equal(log.findConflictByTerm(5, 2), 2)
  t.equal(log.findConflictByTerm(5, 3), 5)
  t.equal(log.findConflictByTerm(5, 0), 0)
  t.ok(log.isUpToDate(5, 3) && log.isUpToDate(1, 4) && !log.isUpToDate(9, 2), '§5.4.1 comparison')
})

t.test('Progress and Inflights: the replication window', async (t) => {
  const inf = new Inflights(2)
  inf.add(3)
  inf.add(5)
  t.ok(inf.full())
  inf.freeLE(4)
  t.equal(inf.count, 1)
  const pr = new Progress(6, 2)
  t.ok(!pr.isPaused())
  pr.sentEntries(6, 1)
  t.ok(pr.isPaused(), 'a probe waits for its answer')
  t.notOk(pr.maybeDecrTo(2, 2), 'a rejection of something we did not send is stale')
  t.ok(pr.maybeDecrTo(5, 3), 'the answer to our probe moves next back')
  t.equal(pr.next, 3)
  t.ok(pr.maybeUpdate(4))
  pr.becomeReplicate()
  t.equal(pr.next, 5)
  pr.sentEntries(6, 2)
  pr.sentEntries(8, 2)
  t.ok(pr.isPaused(), 'replicate state stops at maxInflight')
  t.notOk(pr.maybeDecrTo(3, 1), 'a rejection below match is stale')
})

t.test('quorum arithmetic', async (t) => {
  t.equal(committedIndex([1, 2, 3], (id) => [0, 5, 3, 1][id]!), 3)
  t.equal(committedIndex([1, 2, 3, 4], (id) => [0, 5, 3, 1, 9][id]!), 3)
  t.equal(voteResult([1, 2, 3], new Map([[1, true], [2, true]])), 'won')
  t.equal(voteResult([1, 2, 3], new Map([[1, true], [2, false]])), 'pending')
  t.equal(voteResult([1, 2, 3, 4], new Map([[1, false], [2, false], [3, true]])), 'pending')
  t.equal(voteResult([1, 2, 3], new Map([[2, false], [3, false]])), 'lost')
})

t.test('a single-voter group commits on its own', async (t) => {
  const storage = new MemoryStorage([1])
  const node = new RaftNode({ id: 1, voters: [1], storage, random: { int: () => 0 }, electionTicks: 10, heartbeatTicks: 1 })
  for (let i = 0; i < 10; i++) node.tick()
  t.equal(node.status().role, 'leader')
  const res = node.propose(new Uint8Array([1]))
  t.same(res, { index: 2, term: 1 })
  const rd = node.ready()
  t.same(rd.committedEntries.map((x) => x.index), [1, 2])
  t.same(rd.proposalOutcomes, [{ index: 2, term: 1, outcome: 'committed' }])
  t.same(rd.messages, [])
  storage.append(rd.entries)
  t.throws(() => node.ready(), 'a second ready() before advance() is a programmer error')
  node.advance()
  t.equal(node.readIndex('r'), null)
  t.same(node.ready().readStates, [{ index: 2, context: 'r' }], 'a single voter confirms reads alone')
})

t.test('config is validated once', async (t) => {
  const base = { id: 1, voters: [1], storage: new MemoryStorage(), random: { int: () => 0 }, electionTicks: 10, heartbeatTicks: 1 }
  t.throws(() => new RaftNode({ ...base, heartbeatTicks: 10 }), 'election must exceed heartbeat')
  t.throws(() => new RaftNode({ ...base, id: 0 }), 'id 0 is reserved')
  t.throws(() => new RaftNode({ ...base, voters: [1, 1] }), 'duplicate voters')
})
