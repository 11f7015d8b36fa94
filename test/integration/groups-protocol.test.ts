/**
 * The group APIs on the wire, byte by byte: the version forms clients use (FindCoordinator
 * batched, MEMBER_ID_REQUIRED from JoinGroup v4, OffsetFetch v1/v7/v8) and bad input —
 * unknown groups, stale generations, wrong protocol types, oversized member metadata, commits
 * to partitions that do not exist, fenced static members — each answered with Kafka's error
 * code while the connection and the group stay usable. The coordinator is an actor on its own
 * thread: when that thread dies, group requests get COORDINATOR_NOT_AVAILABLE and the next
 * FindCoordinator starts a new one that reloads the committed offsets.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { until } from '../helpers/wait.ts'
import type { Reader } from '../../src/protocol/primitives/reader.ts'
import { Writer, type Writer as W } from '../../src/protocol/primitives/writer.ts'
import { encodeCreateTopicsRequest } from '../../src/protocol/messages/create-topics-request.ts'
import { encodeFindCoordinatorRequest } from '../../src/protocol/messages/find-coordinator-request.ts'
import { decodeFindCoordinatorResponse } from '../../src/protocol/messages/find-coordinator-response.ts'
import { encodeJoinGroupRequest, type JoinGroupRequest } from '../../src/protocol/messages/join-group-request.ts'
import { decodeJoinGroupResponse } from '../../src/protocol/messages/join-group-response.ts'
import { encodeSyncGroupRequest, type SyncGroupRequest } from '../../src/protocol/messages/sync-group-request.ts'
import { decodeSyncGroupResponse } from '../../src/protocol/messages/sync-group-response.ts'
import { encodeHeartbeatRequest } from '../../src/protocol/messages/heartbeat-request.ts'
import { decodeHeartbeatResponse } from '../../src/protocol/messages/heartbeat-response.ts'
import { encodeLeaveGroupRequest } from '../../src/protocol/messages/leave-group-request.ts'
import { decodeLeaveGroupResponse } from '../../src/protocol/messages/leave-group-response.ts'
import { encodeOffsetCommitRequest, type OffsetCommitRequest } from '../../src/protocol/messages/offset-commit-request.ts'
import { decodeOffsetCommitResponse } from '../../src/protocol/messages/offset-commit-response.ts'
import { encodeOffsetFetchRequest } from '../../src/protocol/messages/offset-fetch-request.ts'
import { decodeOffsetFetchResponse } from '../../src/protocol/messages/offset-fetch-response.ts'
import { encodeDescribeGroupsRequest } from '../../src/protocol/messages/describe-groups-request.ts'
import { decodeDescribeGroupsResponse } from '../../src/protocol/messages/describe-groups-response.ts'
import { encodeListGroupsRequest } from '../../src/protocol/messages/list-groups-request.ts'
import { decodeListGroupsResponse } from '../../src/protocol/messages/list-groups-response.ts'
import { encodeDeleteGroupsRequest } from '../../src/protocol/messages/delete-groups-request.ts'
import { decodeDeleteGroupsResponse } from '../../src/protocol/messages/delete-groups-response.ts'
import { encodeOffsetDeleteRequest } from '../../src/protocol/messages/offset-delete-request.ts'
import { decodeOffsetDeleteResponse } from '../../src/protocol/messages/offset-delete-response.ts'
import { encodeConsumerProtocolSubscription } from '../../src/protocol/messages/consumer-protocol-subscription.ts'

const broker = await startBroker(t, { config: { 'offsets.topic.num.partitions': 3, 'group.min.session.timeout.ms': 1000 } })
const c = await RawClient.connect(broker.bootstrap)
t.teardown(() => c.close())
let correlation = 1

async function call<Res>(apiKey: number, version: number, body: (w: W) => void, decode: (r: Reader, v: number) => Res): Promise<Res> {
  const id = correlation++
  c.send(RawClient.frame(apiKey, version, id, body))
  const { correlationId, body: r } = await c.response(apiKey, version)
  if (correlationId !== id) throw new Error(`correlation ${correlationId} != ${id}`)
  return decode(r, version)
}

function subscription(topics: string[]): Buffer {
  const w = new Writer()
  w.int16(0)
  encodeConsumerProtocolSubscription(w, 0, { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null })
  return w.toBuffer()
}

const joinReq = (o: Partial<JoinGroupRequest>): JoinGroupRequest => ({
  groupId: 'wire', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: subscription(['wire-t']) }], reason: null, ...o,
})
const joinGroup = (version: number, o: Partial<JoinGroupRequest>) => call(11, version, (w) => encodeJoinGroupRequest(w, version, joinReq(o)), decodeJoinGroupResponse)
const syncGroup = (version: number, o: Partial<SyncGroupRequest>) => call(14, version, (w) => encodeSyncGroupRequest(w, version, {
  groupId: 'wire', generationId: 1, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [], ...o,
}), decodeSyncGroupResponse)
const heartbeat = (version: number, groupId: string, generationId: number, memberId: string, groupInstanceId: string | null = null) =>
  call(12, version, (w) => encodeHeartbeatRequest(w, version, { groupId, generationId, memberId, groupInstanceId }), decodeHeartbeatResponse)
const commit = (version: number, o: Partial<OffsetCommitRequest>) => call(8, version, (w) => encodeOffsetCommitRequest(w, version, {
  groupId: 'wire', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
  topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'meta' }] }], ...o,
}), decodeOffsetCommitResponse)

await call(19, 7, (w) => encodeCreateTopicsRequest(w, 7, {
  topics: [{ name: 'wire-t', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
}), (r) => r)

t.test('FindCoordinator: every version, the batched form, key types', async (t) => {
  for (let v = 0; v <= 3; v++) {
    const r = await call(10, v, (w) => encodeFindCoordinatorRequest(w, v, { key: 'wire', keyType: 0, coordinatorKeys: [] }), decodeFindCoordinatorResponse)
    t.same([r.errorCode, r.nodeId, r.port], [0, broker.nodeId, broker.port], `v${v}`)
  }
  for (const v of [4, 6]) {
    const r = await call(10, v, (w) => encodeFindCoordinatorRequest(w, v, { key: '', keyType: 0, coordinatorKeys: ['a', 'b'] }), decodeFindCoordinatorResponse)
    t.same(r.coordinators.map((x) => [x.key, x.errorCode, x.nodeId]), [['a', 0, broker.nodeId], ['b', 0, broker.nodeId]], `v${v} batched`)
  }
  const txn = await call(10, 3, (w) => encodeFindCoordinatorRequest(w, 3, { key: 'tx', keyType: 1, coordinatorKeys: [] }), decodeFindCoordinatorResponse)
  t.equal(txn.errorCode, 15, 'transaction coordinators: COORDINATOR_NOT_AVAILABLE until transactions exist')
  const bad = await call(10, 3, (w) => encodeFindCoordinatorRequest(w, 3, { key: 'x', keyType: 7, coordinatorKeys: [] }), decodeFindCoordinatorResponse)
  t.equal(bad.errorCode, 42, 'unknown key type: INVALID_REQUEST')
})

t.test('offsets outside group management: generation -1 commits, OffsetFetch v1, v7 and v8 (batched)', async (t) => {
  const r = await commit(2, {
    topics: [
      { name: 'wire-t', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'meta' }, { partitionIndex: 9, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] },
    ],
  })
  t.same(r.topics.map((x) => x.partitions.map((p) => p.errorCode)), [[0, 3], [3]], 'unknown partitions and topics: UNKNOWN_TOPIC_OR_PARTITION')
  const tooBig = await commit(9, { topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 1, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'x'.repeat(5000) }] }] })
  t.equal(tooBig.topics[0]!.partitions[0]!.errorCode, 12, 'OFFSET_METADATA_TOO_LARGE')
  const v1 = await call(9, 1, (w) => encodeOffsetFetchRequest(w, 1, { groupId: 'wire', topics: [{ name: 'wire-t', partitionIndexes: [0, 1] }], groups: [], requireStable: false }), decodeOffsetFetchResponse)
  t.same(v1.topics[0]!.partitions.map((p) => [p.committedOffset, p.metadata]), [[5, 'meta'], [-1, '']])
  const v7 = await call(9, 7, (w) => encodeOffsetFetchRequest(w, 7, { groupId: 'wire', topics: null, groups: [], requireStable: true }), decodeOffsetFetchResponse)
  t.same([v7.errorCode, v7.topics.map((x) => [x.name, x.partitions.map((p) => p.committedOffset)])], [0, [['wire-t', [5]]]], 'null topics: every committed partition')
  const v8 = await call(9, 8, (w) => encodeOffsetFetchRequest(w, 8, { groupId: '', topics: [], requireStable: false, groups: [
    { groupId: 'wire', memberId: null, memberEpoch: -1, topics: [{ name: 'wire-t', partitionIndexes: [0] }] },
    { groupId: 'nobody', memberId: null, memberEpoch: -1, topics: null },
  ] }), decodeOffsetFetchResponse)
  t.same(v8.groups.map((g) => [g.groupId, g.errorCode, g.topics.map((x) => x.partitions.map((p) => p.committedOffset))]), [['wire', 0, [[5]]], ['nobody', 0, []]])
})

t.test('membership on the wire: MEMBER_ID_REQUIRED, fencing, wrong protocol type, oversized metadata', async (t) => {
  const first = await joinGroup(5, {})
  t.equal(first.errorCode, 79, 'v4+: MEMBER_ID_REQUIRED with a member id')
  t.ok(first.memberId.startsWith('raw-'), 'the member id starts with the client id')
  const joined = await joinGroup(5, { memberId: first.memberId })
  t.same([joined.errorCode, joined.generationId, joined.leader, joined.members.length], [0, 1, first.memberId, 1])
  const synced = await syncGroup(3, { generationId: 1, memberId: first.memberId, assignments: [{ memberId: first.memberId, assignment: Buffer.from('assignment') }] })
  t.same([synced.errorCode, synced.assignment.toString()], [0, 'assignment'])
  t.equal((await heartbeat(4, 'wire', 1, first.memberId)).errorCode, 0)
  t.equal((await heartbeat(4, 'wire', 0, first.memberId)).errorCode, 22, 'stale generation: ILLEGAL_GENERATION')
  t.equal((await heartbeat(0, 'wire', 1, 'stranger')).errorCode, 25, 'UNKNOWN_MEMBER_ID')
  t.equal((await heartbeat(0, 'no-group', 1, 'x')).errorCode, 25, 'unknown group: UNKNOWN_MEMBER_ID')
  t.equal((await syncGroup(5, { generationId: 0, memberId: first.memberId })).errorCode, 22, 'SyncGroup with a stale generation')
  t.equal((await syncGroup(5, { generationId: 1, memberId: first.memberId, protocolType: 'connect' })).errorCode, 23, 'SyncGroup with another protocol type')
  t.equal((await joinGroup(5, { protocolType: 'connect' })).errorCode, 23, 'JoinGroup with another protocol type: INCONSISTENT_GROUP_PROTOCOL')
  t.equal((await joinGroup(2, { sessionTimeoutMs: 10 })).errorCode, 26, 'INVALID_SESSION_TIMEOUT')
  t.equal((await joinGroup(9, { groupId: '' })).errorCode, 24, 'INVALID_GROUP_ID')
  t.equal((await joinGroup(9, { groupId: 'other', protocols: [{ name: 'range', metadata: Buffer.alloc(2_000_000) }] })).errorCode, 42, 'oversized member metadata: INVALID_REQUEST')
  t.equal((await commit(9, { generationIdOrMemberEpoch: 0, memberId: first.memberId })).topics[0]!.partitions[0]!.errorCode, 22, 'a commit from an old generation: ILLEGAL_GENERATION')
  t.equal((await commit(9, { generationIdOrMemberEpoch: 1, memberId: 'stranger' })).topics[0]!.partitions[0]!.errorCode, 25, 'a commit from a stranger: UNKNOWN_MEMBER_ID')
  t.equal((await commit(9, { generationIdOrMemberEpoch: 1, memberId: first.memberId })).topics[0]!.partitions[0]!.errorCode, 0, 'a member\'s commit')
  const described = await call(15, 5, (w) => encodeDescribeGroupsRequest(w, 5, { groups: ['wire', 'ghost'], includeAuthorizedOperations: false }), decodeDescribeGroupsResponse)
  t.same(described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.protocolData, g.members.length]), [['wire', 0, 'Stable', 'range', 1], ['ghost', 0, 'Dead', '', 0]])
  t.equal(described.groups[0]!.members[0]!.memberAssignment.toString(), 'assignment', 'the group survived all the bad requests')
  const offsetDelete = await call(47, 0, (w) => encodeOffsetDeleteRequest(w, 0, { groupId: 'wire', topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 0 }] }] }), decodeOffsetDeleteResponse)
  t.equal(offsetDelete.topics[0]!.partitions[0]!.errorCode, 86, 'GROUP_SUBSCRIBED_TO_TOPIC')
  const del = await call(42, 2, (w) => encodeDeleteGroupsRequest(w, 2, { groupsNames: ['wire', 'ghost'] }), decodeDeleteGroupsResponse)
  t.same(del.results.map((r) => r.errorCode), [68, 69], 'NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND')
  const listed = await call(16, 4, (w) => encodeListGroupsRequest(w, 4, { statesFilter: ['Stable'], typesFilter: [] }), decodeListGroupsResponse)
  t.same(listed.groups.map((g) => [g.groupId, g.groupState, g.protocolType]), [['wire', 'Stable', 'consumer']])
  const leaveOld = await call(13, 0, (w) => encodeLeaveGroupRequest(w, 0, { groupId: 'wire', memberId: 'stranger', members: [] }), decodeLeaveGroupResponse)
  t.equal(leaveOld.errorCode, 25, 'LeaveGroup v0 of a stranger: UNKNOWN_MEMBER_ID')
  const leave = await call(13, 5, (w) => encodeLeaveGroupRequest(w, 5, { groupId: 'wire', memberId: '', members: [{ memberId: first.memberId, groupInstanceId: null, reason: 'done' }, { memberId: 'x', groupInstanceId: null, reason: null }] }), decodeLeaveGroupResponse)
  t.same([leave.errorCode, leave.members.map((m) => m.errorCode)], [0, [0, 25]])
  const afterDelete = await call(47, 0, (w) => encodeOffsetDeleteRequest(w, 0, { groupId: 'wire', topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 0 }] }, { name: 'gone', partitions: [{ partitionIndex: 0 }] }] }), decodeOffsetDeleteResponse)
  t.same(afterDelete.topics.map((x) => x.partitions[0]!.errorCode), [0, 3], 'Empty now: offsets deletable; unknown topic: UNKNOWN_TOPIC_OR_PARTITION')
  const del2 = await call(42, 0, (w) => encodeDeleteGroupsRequest(w, 0, { groupsNames: ['wire'] }), decodeDeleteGroupsResponse)
  t.same(del2.results.map((r) => r.errorCode), [0])
})

t.test('static members: a second instance fences the first', async (t) => {
  const a = await joinGroup(7, { groupId: 'static', groupInstanceId: 'i-1' })
  t.equal(a.errorCode, 0, 'static members join at once')
  t.equal((await syncGroup(5, { groupId: 'static', generationId: a.generationId, memberId: a.memberId, groupInstanceId: 'i-1', assignments: [{ memberId: a.memberId, assignment: Buffer.from('p0') }] })).errorCode, 0)
  const b = await joinGroup(7, { groupId: 'static', groupInstanceId: 'i-1' })
  t.same([b.errorCode, b.generationId], [0, a.generationId], 'the restarted instance takes over without a rebalance')
  t.equal((await heartbeat(4, 'static', a.generationId, a.memberId, 'i-1')).errorCode, 82, 'the old member id: FENCED_INSTANCE_ID')
  t.equal((await heartbeat(4, 'static', b.generationId, b.memberId, 'i-1')).errorCode, 0)
  const leave = await call(13, 4, (w) => encodeLeaveGroupRequest(w, 4, { groupId: 'static', memberId: '', members: [{ memberId: '', groupInstanceId: 'i-1', reason: null }] }), decodeLeaveGroupResponse)
  t.same(leave.members.map((m) => m.errorCode), [0], 'leave by instance id')
})

t.test('the coordinator thread dies: COORDINATOR_NOT_AVAILABLE, then FindCoordinator brings back a coordinator with the offsets', async (t) => {
  const c1 = await commit(8, { groupId: 'survivor', topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 1, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] })
  t.equal(c1.topics[0]!.partitions[0]!.errorCode, 0)
  const fetchV7 = () => call(9, 7, (w) => encodeOffsetFetchRequest(w, 7, { groupId: 'survivor', topics: [{ name: 'wire-t', partitionIndexes: [1] }], groups: [], requireStable: false }), decodeOffsetFetchResponse)
  t.ok(await broker.killGroupCoordinatorForTest(), 'a coordinator thread was running')
  t.equal((await fetchV7()).errorCode, 15, 'COORDINATOR_NOT_AVAILABLE: the client goes back to FindCoordinator')
  const found = await call(10, 3, (w) => encodeFindCoordinatorRequest(w, 3, { key: 'survivor', keyType: 0, coordinatorKeys: [] }), decodeFindCoordinatorResponse)
  t.equal(found.errorCode, 0)
  const after = await fetchV7()
  t.same([after.errorCode, after.topics[0]!.partitions[0]!.committedOffset], [0, 42], 'the new coordinator reloaded the commit from __consumer_offsets')
})

t.test('while the coordinator loads __consumer_offsets, group requests get COORDINATOR_LOAD_IN_PROGRESS; FindCoordinator answers once it is loaded', async (t) => {
  const c2 = await RawClient.connect(broker.bootstrap)
  t.teardown(() => c2.close())
  const c1 = await commit(8, { groupId: 'loading', topics: [{ name: 'wire-t', partitions: [{ partitionIndex: 0, committedOffset: 9, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] })
  t.equal(c1.topics[0]!.partitions[0]!.errorCode, 0)
  const release = broker.holdGroupLoadForTest()
  t.ok(await broker.killGroupCoordinatorForTest(), 'the coordinator thread is gone')
  // FindCoordinator starts a new coordinator, whose load is held: its answer waits for the load.
  let found: number | null = null
  const finding = call(10, 3, (w) => encodeFindCoordinatorRequest(w, 3, { key: 'loading', keyType: 0, coordinatorKeys: [] }), decodeFindCoordinatorResponse).then((r) => { found = r.errorCode })
  // Until the broker has handled that FindCoordinator (no fixed time on a loaded machine), an
  // OffsetFetch still finds no coordinator (COORDINATOR_NOT_AVAILABLE, 15): ask again, on another
  // connection, until the answer is something else.
  let c2Correlation = 77
  const fetchOnC2 = async (): Promise<number> => {
    const id = c2Correlation++
    c2.send(RawClient.frame(9, 7, id, (w) => encodeOffsetFetchRequest(w, 7, { groupId: 'loading', topics: [{ name: 'wire-t', partitionIndexes: [0] }], groups: [], requireStable: false })))
    const { correlationId, body } = await c2.response(9, 7)
    if (correlationId !== id) throw new Error(`correlation ${correlationId} != ${id}`)
    return decodeOffsetFetchResponse(body, 7).errorCode
  }
  const loading = await until(async () => {
    const errorCode = await fetchOnC2()
    return errorCode === 15 ? undefined : errorCode
  }, 'an OffsetFetch answer other than COORDINATOR_NOT_AVAILABLE')
  t.equal(loading, 14, 'COORDINATOR_LOAD_IN_PROGRESS on another connection meanwhile')
  t.equal(found, null, 'FindCoordinator has not answered yet')
  release()
  await finding
  t.equal(found, 0, 'FindCoordinator answers once the load is done')
  const after = await call(9, 7, (w) => encodeOffsetFetchRequest(w, 7, { groupId: 'loading', topics: [{ name: 'wire-t', partitionIndexes: [0] }], groups: [], requireStable: false }), decodeOffsetFetchResponse)
  t.same([after.errorCode, after.topics[0]!.partitions[0]!.committedOffset], [0, 9], 'then the group is served with its offsets')
})
