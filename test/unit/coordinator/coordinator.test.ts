/**
 * The group coordinator's state machine without sockets: a manual clock, an in-memory group
 * log. Joins, syncs, heartbeats, leaves, timeouts, static members, fencing, offsets, deletion,
 * retention, replay of the log, and the __consumer_offsets record formats.
 */
import t, { type Test } from 'tap'
import { GroupCoordinator, type JoinRequest, type JoinResult } from '../../../src/coordinator/coordinator.ts'
import type { CoordinatorClock, CoordinatorConfig, GroupLog, GroupRecord } from '../../../src/coordinator/context.ts'
import type { CoordinatorError } from '../../../src/coordinator/errors.ts'
import { decodeGroupRecord, encodeGroupRecord, partitionForGroup } from '../../../src/coordinator/records.ts'
import { silentLogger } from '../../../src/lib/logger.ts'

class ManualClock implements CoordinatorClock {
  t = 1_700_000_000_000
  #timers: { at: number; fn: () => void; cancelled: boolean }[] = []
  now(): number {
    return this.t
  }
  schedule(fn: () => void, delayMs: number) {
    const timer = { at: this.t + delayMs, fn, cancelled: false }
    this.#timers.push(timer)
    return { cancel: () => { timer.cancelled = true } }
  }
  /** Moves time forward, firing due timers in deadline order. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      const due = this.#timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      this.#timers.splice(this.#timers.indexOf(due), 1)
      this.t = Math.max(this.t, due.at)
      due.fn()
    }
    this.t = end
  }
}

class MemoryLog implements GroupLog {
  readonly records: GroupRecord[] = []
  failWith: CoordinatorError | null = null
  async append(_groupId: string, records: readonly GroupRecord[]): Promise<CoordinatorError | null> {
    await Promise.resolve()
    if (this.failWith) return this.failWith
    this.records.push(...records)
    return null
  }
}

const CONFIG: CoordinatorConfig = {
  initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60_000,
  offsetsRetentionMs: 7 * 24 * 3_600_000, offsetMetadataMaxBytes: 100, maxMemberMetadataBytes: 1000,
}

function setup(config: Partial<CoordinatorConfig> = {}) {
  const clock = new ManualClock()
  const log = new MemoryLog()
  let n = 0
  const coordinator = new GroupCoordinator({ clock, log, config: { ...CONFIG, ...config }, logger: silentLogger(), newMemberId: (c) => `${c}-${++n}` })
  return { clock, log, coordinator }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

function joinReq(o: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g', memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }], requireKnownMemberId: true, reason: null, ...o,
  }
}

/** The v4+ join: MEMBER_ID_REQUIRED first, then the join with the given id (a promise until the phase completes). */
async function join(c: GroupCoordinator, o: Partial<JoinRequest> = {}): Promise<{ memberId: string; result: Promise<JoinResult> }> {
  const first = await c.joinGroup(joinReq(o))
  if (first.error !== 'member_id_required') return { memberId: first.memberId, result: Promise.resolve(first) }
  return { memberId: first.memberId, result: Promise.resolve(c.joinGroup(joinReq({ ...o, memberId: first.memberId }))) }
}

/** Two members through a full rebalance to Stable; returns their ids and the generation. */
async function stableGroupOfTwo(c: GroupCoordinator, t: Test) {
  const a = await join(c)
  const ra = await a.result
  const b = await join(c)
  t.equal(c.heartbeat({ groupId: 'g', generationId: ra.generationId, memberId: a.memberId, groupInstanceId: null }), 'rebalance_in_progress')
  const ra2 = c.joinGroup(joinReq({ memberId: a.memberId }))
  const [x, y] = await Promise.all([ra2, b.result])
  const leader = x.leaderId === a.memberId ? x : y
  const syncs = [a.memberId, b.memberId].map((memberId) => c.syncGroup({
    groupId: 'g', generationId: x.generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range',
    assignments: memberId === leader.memberId ? [{ memberId: a.memberId, assignment: Buffer.from('A') }, { memberId: b.memberId, assignment: Buffer.from('B') }] : [],
  }))
  const [sa, sb] = await Promise.all(syncs)
  return { a: a.memberId, b: b.memberId, generation: x.generationId, sa: sa!, sb: sb! }
}

t.test('members join, the leader assigns, every member gets its part; the group is Stable', async (t) => {
  const { coordinator: c } = setup()
  const { a, b, generation, sa, sb } = await stableGroupOfTwo(c, t)
  t.equal(generation, 2, 'one generation per completed join phase')
  t.same([sa.error, sa.assignment.toString(), sb.error, sb.assignment.toString()], [null, 'A', null, 'B'])
  t.equal(c.group('g')!.state, 'Stable')
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), null)
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation - 1, memberId: b, groupInstanceId: null }), 'illegal_generation')
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: 'nobody', groupInstanceId: null }), 'unknown_member_id')
  t.equal(c.heartbeat({ groupId: 'nope', generationId: 1, memberId: a, groupInstanceId: null }), 'unknown_member_id')
  const [described] = c.describeGroups(['g', 'unknown'])
  t.same([described!.state, described!.protocolName, described!.members.length], ['Stable', 'range', 2])
  t.equal(c.describeGroups(['unknown'])[0]!.state, 'Dead')
  t.same(c.listGroups([], []).groups, [{ groupId: 'g', protocolType: 'consumer', state: 'Stable' }])
  t.same(c.listGroups(['empty'], []).groups, [])
})

t.test('a member that stops heartbeating is evicted after its session timeout and the others rebalance', async (t) => {
  const { coordinator: c, clock } = setup()
  const { a, b, generation } = await stableGroupOfTwo(c, t)
  clock.advance(6_000)
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), null)
  clock.advance(6_000) // b silent for 12 s > 10 s session
  t.notOk(c.group('g')!.has(b), 'b evicted')
  t.equal(c.group('g')!.state, 'PreparingRebalance')
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), 'rebalance_in_progress')
  const rejoin = await c.joinGroup(joinReq({ memberId: a }))
  t.same([rejoin.error, rejoin.generationId, rejoin.members.length], [null, generation + 1, 1])
})

t.test('a member that does not rejoin within the rebalance timeout is dropped', async (t) => {
  const { coordinator: c, clock } = setup()
  const { a, b, generation } = await stableGroupOfTwo(c, t)
  const third = await join(c)
  let done = false
  const p = Promise.all([c.joinGroup(joinReq({ memberId: a })), third.result]).then((r) => { done = true; return r })
  // b keeps heartbeating (so its session holds) but never rejoins.
  for (let i = 0; i < 3; i++) {
    clock.advance(5_000)
    c.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null })
    await flush()
  }
  t.notOk(done, 'the join phase waits for b')
  clock.advance(6_000)
  const [ra, rc] = await p
  t.same([ra.error, rc.error, ra.generationId], [null, null, generation + 1])
  t.notOk(c.group('g')!.has(b), 'b dropped at the rebalance timeout')
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), 'unknown_member_id')
})

t.test('a member that gets its JoinGroup answer but never sends SyncGroup is removed after the rebalance timeout', async (t) => {
  const { coordinator: c, clock } = setup()
  const a = await join(c)
  const ra = await a.result
  const b = await join(c)
  const [x] = await Promise.all([c.joinGroup(joinReq({ memberId: a.memberId })), b.result])
  t.equal(x.generationId, ra.generationId + 1)
  const leader = x.leaderId
  const follower = leader === a.memberId ? b.memberId : a.memberId
  const s = await c.syncGroup({ groupId: 'g', generationId: x.generationId, memberId: leader, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
  t.equal(s.error, null)
  // Both keep their sessions alive; only the follower's missing SyncGroup gets it removed.
  for (let i = 0; i < 4; i++) {
    clock.advance(4_500)
    t.equal(c.heartbeat({ groupId: 'g', generationId: x.generationId, memberId: leader, groupInstanceId: null }), null)
    t.equal(c.heartbeat({ groupId: 'g', generationId: x.generationId, memberId: follower, groupInstanceId: null }), null)
  }
  clock.advance(2_500)
  t.notOk(c.group('g')!.has(follower), 'removed at the rebalance timeout')
  t.equal(c.group('g')!.state, 'PreparingRebalance')
})

t.test('leaving triggers a rebalance; leaving twice or as a stranger gets UNKNOWN_MEMBER_ID', async (t) => {
  const { coordinator: c, clock, log } = setup()
  const { a, b } = await stableGroupOfTwo(c, t)
  const r = c.leaveGroup('g', [{ memberId: b, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }])
  t.same(r.members.map((m) => m.error), [null, 'unknown_member_id'])
  t.equal(c.group('g')!.state, 'PreparingRebalance')
  t.same(c.leaveGroup('nope', [{ memberId: a, groupInstanceId: null }]).members[0]!.error, 'unknown_member_id')
  c.leaveGroup('g', [{ memberId: a, groupInstanceId: null }])
  await flush()
  t.equal(c.group('g')!.state, 'Empty', 'the last member left')
  clock.advance(600_001)
  await flush()
  t.equal(c.group('g'), undefined, 'an Empty group without offsets is cleaned up')
  t.ok(log.records.some((r) => r.type === 'group' && r.groupId === 'g' && r.value === null), 'with a tombstone')
})

t.test('static membership: a restarted instance takes its place without a rebalance; the old id is fenced', async (t) => {
  const { coordinator: c } = setup()
  const first = await c.joinGroup(joinReq({ groupInstanceId: 'i1' }))
  t.equal(first.error, null, 'static members skip MEMBER_ID_REQUIRED')
  const s = await c.syncGroup({ groupId: 'g', generationId: first.generationId, memberId: first.memberId, groupInstanceId: 'i1', protocolType: null, protocolName: null, assignments: [{ memberId: first.memberId, assignment: Buffer.from('X') }] })
  t.equal(s.assignment.toString(), 'X')
  const second = await c.joinGroup(joinReq({ groupInstanceId: 'i1', memberId: '' }))
  t.not(second.memberId, first.memberId)
  t.equal(c.heartbeat({ groupId: 'g', generationId: first.generationId, memberId: first.memberId, groupInstanceId: 'i1' }), 'fenced_instance_id')
  t.equal(c.leaveGroup('g', [{ memberId: first.memberId, groupInstanceId: 'i1' }]).members[0]!.error, 'fenced_instance_id')
  t.same([second.error, second.generationId, c.group('g')!.generationId, c.group('g')!.size], [null, first.generationId, first.generationId, 1], 'no new generation')
  t.same([second.leaderId, second.members.length, second.skipAssignment], [first.memberId, 0, false],
    'below v9 the restarted leader is told the old leader id and no members: a Stable group takes no new assignment')
  const again = await c.syncGroup({ groupId: 'g', generationId: second.generationId, memberId: second.memberId, groupInstanceId: 'i1', protocolType: null, protocolName: null, assignments: [] })
  t.equal(again.assignment.toString(), 'X', 'and its assignment')
  const third = await c.joinGroup(joinReq({ groupInstanceId: 'i1', memberId: '', supportsSkipAssignment: true }))
  t.same([third.leaderId, third.members.length, third.skipAssignment], [third.memberId, 1, true], 'from v9 it is the leader with the members, told to skip the assignment (KIP-814)')
  const changed = await c.joinGroup(joinReq({ groupInstanceId: 'i1', memberId: '', protocols: [{ name: 'range', metadata: Buffer.from('other topics') }] }))
  t.same([changed.error, changed.generationId, c.group('g')!.state], [null, first.generationId, 'Stable'], 'a new subscription with the same protocol: no rebalance (Kafka compares the selected protocol only)')
  t.equal(c.group('g')!.members.get(changed.memberId)!.metadataFor('range').toString(), 'other topics', 'the member\'s metadata is updated')
})

t.test('fencing of joins and syncs: wrong protocol type, no common protocol, bad session timeout, oversized metadata', async (t) => {
  const { coordinator: c } = setup()
  const { a, generation } = await stableGroupOfTwo(c, t)
  t.equal((await c.joinGroup(joinReq({ protocolType: 'connect' }))).error, 'inconsistent_group_protocol')
  t.equal((await c.joinGroup(joinReq({ protocols: [{ name: 'other', metadata: Buffer.alloc(1) }] }))).error, 'inconsistent_group_protocol')
  t.equal((await c.joinGroup(joinReq({ groupId: 'h', sessionTimeoutMs: 10 }))).error, 'invalid_session_timeout')
  t.equal((await c.joinGroup(joinReq({ groupId: 'h', protocols: [{ name: 'range', metadata: Buffer.alloc(5000) }] }))).error, 'invalid_request')
  t.equal((await c.joinGroup(joinReq({ groupId: '' }))).error, 'invalid_group_id')
  t.equal((await c.joinGroup(joinReq({ groupId: 'h', memberId: 'made-up' }))).error, 'unknown_member_id')
  t.equal((await c.joinGroup(joinReq({ groupId: 'h', protocols: [] }))).error, 'inconsistent_group_protocol')
  t.equal(c.group('h'), undefined, 'failed joins leave no group behind')
  const sync = (o: object) => c.syncGroup({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [], ...o })
  t.equal((await sync({ generationId: generation + 5 })).error, 'illegal_generation')
  t.equal((await sync({ memberId: 'x' })).error, 'unknown_member_id')
  t.equal((await sync({ protocolName: 'roundrobin' })).error, 'inconsistent_group_protocol')
  t.equal((await sync({ groupId: 'nope' })).error, 'unknown_member_id')
  t.equal(c.group('g')!.state, 'Stable', 'bad requests leave the group as it was')
})

t.test('offsets: member commits are fenced by generation; admin commits (generation -1) work on Empty groups', async (t) => {
  const { coordinator: c, log } = setup()
  const commit = (o: object) => c.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: 0, metadata: 'm' }], ...o })
  t.same((await commit({})).map((r) => r.error), [null], 'generation -1 on a new group')
  t.equal(c.group('g')!.state, 'Empty')
  t.same(c.fetchOffsets('g', [{ name: 't', partitions: [0, 1] }]).offsets.map((o) => o.offset), [5, -1])
  t.same(c.fetchOffsets('g', null).offsets.map((o) => [o.topic, o.partition, o.offset]), [['t', 0, 5]])
  t.same((await commit({ groupId: 'other', generationId: 3, memberId: 'm' })).map((r) => r.error), ['illegal_generation'])
  t.same((await commit({ offsets: [{ topic: 't', partition: 1, offset: 1, leaderEpoch: -1, metadata: 'x'.repeat(101) }] })).map((r) => r.error), ['offset_metadata_too_large'])
  t.same((await commit({ offsets: [{ topic: 't', partition: 1, offset: 1, leaderEpoch: -1, metadata: '€'.repeat(100) }] })).map((r) => r.error), [null],
    'the limit counts characters (UTF-16 units, as Kafka\'s String.length), not UTF-8 bytes')
  t.same((await commit({ memberId: 'some-id', groupInstanceId: 'inst-1' })).map((r) => r.error), [null],
    'generation -1 on an Empty group is taken with any member or instance id (KAFKA-14201; librdkafka with group.instance.id and assign())')
  t.same((await commit({ groupId: 'fresh', memberId: 'x' })).map((r) => r.error), [null], 'and on a group that does not exist yet')
  const { a, b, generation } = await stableGroupOfTwo(c, t)
  t.same((await commit({})).map((r) => r.error), ['unknown_member_id'], 'generation -1 is refused once the group has members')
  t.same((await commit({ generationId: generation - 1, memberId: a })).map((r) => r.error), ['illegal_generation'])
  t.same((await commit({ generationId: generation, memberId: 'zzz' })).map((r) => r.error), ['unknown_member_id'])
  t.same((await commit({ generationId: generation, memberId: b, offsets: [{ topic: 't', partition: 0, offset: 9, leaderEpoch: 0, metadata: null }] })).map((r) => r.error), [null])
  t.equal(c.fetchOffsets('g', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, 9)
  void join(c) // a new member: the group goes back to PreparingRebalance
  await flush()
  t.same((await commit({ generationId: generation, memberId: b, offsets: [{ topic: 't', partition: 0, offset: 10, leaderEpoch: 0, metadata: null }] })).map((r) => r.error), [null], 'commits still allowed while preparing')
  log.failWith = 'not_coordinator'
  t.same((await commit({ generationId: generation, memberId: b })).map((r) => r.error), ['not_coordinator'])
  t.equal(c.fetchOffsets('g', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, 10, 'a failed write changes nothing')
})

t.test('delete groups and offsets; retention expires the offsets of an Empty group', async (t) => {
  const { coordinator: c, clock, log } = setup()
  const commit = (groupId: string) => c.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '' }] })
  await commit('e1')
  await commit('e2')
  await stableGroupOfTwo(c, t)
  const deleted = await c.deleteGroups(['e1', 'g', 'missing'])
  t.same(deleted.map((d) => d.error), [null, 'non_empty_group', 'group_id_not_found'])
  t.ok(log.records.some((r) => r.type === 'group' && r.groupId === 'e1' && r.value === null), 'group tombstone written')
  t.ok(log.records.some((r) => r.type === 'offset' && r.groupId === 'e1' && r.value === null), 'offset tombstone written')
  t.same(c.fetchOffsets('e1', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, -1)
  const del = await c.deleteOffsets('e2', [{ topic: 't', partition: 0 }])
  t.same([del.error, del.partitions[0]!.error], [null, null])
  t.equal(c.fetchOffsets('e2', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, -1)
  t.equal((await c.deleteOffsets('missing', [])).error, 'group_id_not_found')
  // 'g' is a Stable consumer group whose members' metadata is not a readable subscription: every
  // topic counts as subscribed (Kafka's isSubscribedToTopic with an unknown subscription).
  const unknown = await c.deleteOffsets('g', [{ topic: 't', partition: 0 }, { topic: 'other', partition: 1 }])
  t.same([unknown.error, unknown.partitions.map((p) => p.error)], [null, ['group_subscribed_to_topic', 'group_subscribed_to_topic']])
  const other = setup().coordinator
  const joined = await join(other, { groupId: 'connectors', protocolType: 'connect' })
  await joined.result
  t.equal((await other.deleteOffsets('connectors', [{ topic: 't', partition: 0 }])).error, 'non_empty_group', 'a non-consumer group with members: NON_EMPTY_GROUP')
  await commit('e3')
  clock.advance(CONFIG.offsetsRetentionMs - 1)
  t.equal(c.fetchOffsets('e3', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, 1, 'kept until the retention passes')
  clock.advance(2)
  await flush()
  t.equal(c.group('e3'), undefined, 'expired and removed')
  t.ok(log.records.some((r) => r.type === 'offset' && r.groupId === 'e3' && r.value === null), 'expired offsets are tombstoned')
})

t.test('the initial rebalance delay gathers members that start together into one generation', async (t) => {
  const { coordinator: c, clock } = setup({ initialRebalanceDelayMs: 3000 })
  const a = c.joinGroup(joinReq({ requireKnownMemberId: false }))
  clock.advance(1000)
  const b = c.joinGroup(joinReq({ requireKnownMemberId: false }))
  clock.advance(2500)
  await flush()
  clock.advance(3000)
  const [ra, rb] = await Promise.all([a, b])
  t.same([ra.generationId, rb.generationId], [1, 1])
  t.equal([ra, rb].filter((r) => r.members.length === 2).length, 1, 'the leader sees both members')
})

t.test('replaying the log restores offsets and groups; members that do not return are evicted', async (t) => {
  const { coordinator: c, log } = setup()
  const { a, b, generation } = await stableGroupOfTwo(c, t)
  await c.commitOffsets({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null, offsets: [{ topic: 't', partition: 3, offset: 42, leaderEpoch: 1, metadata: 'x' }] })
  await c.commitOffsets({ groupId: 'solo', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 7, leaderEpoch: -1, metadata: '' }] })
  const restarted = setup()
  restarted.coordinator.setAvailability('coordinator_load_in_progress')
  t.equal(restarted.coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), null, 'heartbeats are answered blindly while loading, as Kafka does')
  t.match(restarted.coordinator.syncGroup({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] } as never), { error: 'coordinator_load_in_progress' }, 'SyncGroup still says the coordinator is loading')
  // Through the byte format, as the broker reads __consumer_offsets.
  for (const r of log.records) {
    const { key, value } = encodeGroupRecord(r)
    restarted.coordinator.replay(decodeGroupRecord(key, value)!)
  }
  restarted.coordinator.finishLoading()
  restarted.coordinator.setAvailability(null)
  const rc = restarted.coordinator
  t.equal(rc.fetchOffsets('g', [{ name: 't', partitions: [3] }]).offsets[0]!.offset, 42)
  t.equal(rc.fetchOffsets('solo', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, 7)
  t.same([rc.group('g')!.state, rc.group('g')!.generationId, rc.group('g')!.size], ['Stable', generation, 2])
  const sync = await rc.syncGroup({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
  t.equal(sync.assignment.toString(), 'B', 'assignments survive')
  restarted.clock.advance(11_000)
  t.same([rc.group('g')!.state, rc.group('g')!.size], ['Empty', 0], 'members that never came back are evicted')
  t.equal(rc.fetchOffsets('g', [{ name: 't', partitions: [3] }]).offsets[0]!.offset, 42, 'offsets outlive the members')
})

t.test('after a restart, a group known only by its offsets expires one retention period after its last commit, not after the load', async (t) => {
  const { coordinator: c, log, clock } = setup()
  await c.commitOffsets({ groupId: 'solo', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 7, leaderEpoch: -1, metadata: '' }] })
  const restarted = setup()
  restarted.clock.t = clock.t + CONFIG.offsetsRetentionMs - 1000 // the broker restarts almost a retention period later
  for (const r of log.records) {
    const { key, value } = encodeGroupRecord(r)
    restarted.coordinator.replay(decodeGroupRecord(key, value)!)
  }
  restarted.coordinator.finishLoading()
  restarted.coordinator.setAvailability(null)
  t.equal(restarted.coordinator.fetchOffsets('solo', [{ name: 't', partitions: [0] }]).offsets[0]!.offset, 7, 'loaded')
  restarted.clock.advance(2000)
  await flush()
  t.equal(restarted.coordinator.group('solo'), undefined, 'expired on time: a restart does not extend the retention')
})

t.test('record formats and the group-to-partition mapping are Kafka\'s', async (t) => {
  const offset: GroupRecord = { type: 'offset', groupId: 'g', topic: 't', partition: 2, value: { offset: 10, leaderEpoch: 3, metadata: 'meta', commitTimestamp: 1234 } }
  const enc = encodeGroupRecord(offset)
  t.equal(enc.key.readInt16BE(0), 1, 'offset key version 1')
  t.equal(enc.value!.readInt16BE(0), 3, 'offset value version 3')
  t.same(decodeGroupRecord(enc.key, enc.value), offset)
  t.same(decodeGroupRecord(enc.key, null), { ...offset, value: null })
  const group: GroupRecord = { type: 'group', groupId: 'g', value: { protocolType: 'consumer', generationId: 4, protocolName: 'range', leaderId: 'm1', currentStateTimestamp: 99,
    members: [{ memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: Buffer.from('s'), assignment: Buffer.from('a') }] } }
  const genc = encodeGroupRecord(group)
  t.equal(genc.key.readInt16BE(0), 2, 'group key version 2')
  t.same(decodeGroupRecord(genc.key, genc.value), group)
  t.equal(decodeGroupRecord(Buffer.from([0, 9, 0, 0]), null), null, 'unknown record kinds are skipped')
  // Java: "hello".hashCode() == 99162322; a negative hash takes its absolute value (Kafka's Utils.abs).
  t.equal(partitionForGroup('hello', 50), 99162322 % 50)
  t.equal(partitionForGroup('polygenelubricants', 50), ((-2147483648) & 0x7fffffff) % 50)
})

t.test('a new member\'s parked join times out after 5 minutes in any generation (Kafka\'s new-member join timeout)', async (t) => {
  const { coordinator: c, clock } = setup()
  const a = await join(c, { rebalanceTimeoutMs: 600_000 })
  const ra = await a.result
  await c.syncGroup({ groupId: 'g', generationId: ra.generationId, memberId: a.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: a.memberId, assignment: Buffer.from('A') }] })
  t.equal(c.group('g')!.state, 'Stable')
  // b joins; a keeps heartbeating but never rejoins, so the join phase waits for a's 10-minute rebalance timeout.
  const b = await join(c, { rebalanceTimeoutMs: 600_000 })
  let answered: JoinResult | null = null
  void b.result.then((r) => { answered = r })
  for (let elapsed = 0; elapsed <= 5 * 60_000; elapsed += 5_000) {
    clock.advance(5_000)
    c.heartbeat({ groupId: 'g', generationId: ra.generationId, memberId: a.memberId, groupInstanceId: null })
    await flush()
  }
  t.equal((answered as JoinResult | null)?.error, 'unknown_member_id', 'b\'s join is answered UNKNOWN_MEMBER_ID; it rejoins if it is still there')
  t.notOk(c.group('g')!.members.has(b.memberId), 'and b is no longer a member')
})

t.test('an instance id that is not registered makes the member unknown, whatever its member id (Kafka\'s validateCurrentMember)', async (t) => {
  const { coordinator: c } = setup()
  const { a, generation } = await stableGroupOfTwo(c, t)
  const ghost = 'not-registered'
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: ghost }), 'unknown_member_id', 'Heartbeat')
  t.equal((await c.syncGroup({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: ghost, protocolType: 'consumer', protocolName: 'range', assignments: [] })).error, 'unknown_member_id', 'SyncGroup')
  t.same((await c.commitOffsets({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: ghost, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '' }] })).map((r) => r.error), ['unknown_member_id'], 'OffsetCommit')
  t.equal((await c.joinGroup(joinReq({ memberId: a, groupInstanceId: ghost }))).error, 'unknown_member_id', 'JoinGroup')
  t.equal(c.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), null, 'without the instance id the member is fine')
})

t.test('group.max.size: a member beyond the limit gets GROUP_MAX_SIZE_REACHED and the group is left as it was', async (t) => {
  const { coordinator: c } = setup({ maxGroupSize: 2 })
  const { a, b } = await stableGroupOfTwo(c, t)
  const third = await c.joinGroup(joinReq())
  t.same([third.error, third.memberId], ['group_max_size_reached', ''])
  t.equal(c.group('g')!.state, 'Stable', 'no rebalance for a refused member')
  t.same([...c.group('g')!.members.keys()].sort(), [a, b].sort())
  const { coordinator: unlimited } = setup()
  await stableGroupOfTwo(unlimited, t)
  t.equal((await unlimited.joinGroup(joinReq())).error, 'member_id_required', 'without the setting there is no limit')
})
