/**
 * __consumer_offsets records in Kafka's formats, so Kafka's own tools can read Samsa's log and
 * the other way round. Key and value are each an int16 schema version followed by the
 * generated struct (src/protocol/group-records/):
 *   key v0/v1 OffsetCommitKey (group, topic, partition) → OffsetCommitValue (written as v3)
 *   key v2    GroupMetadataKey (group)                  → GroupMetadataValue (written as v3)
 * A null value is a tombstone (offset or group deleted).
 */
import { Reader } from '../protocol/primitives/reader.ts'
import { Writer } from '../protocol/primitives/writer.ts'
import { decodeOffsetCommitKey, encodeOffsetCommitKey } from '../protocol/group-records/offset-commit-key.ts'
import { decodeOffsetCommitValue, encodeOffsetCommitValue } from '../protocol/group-records/offset-commit-value.ts'
import { decodeGroupMetadataKey, encodeGroupMetadataKey } from '../protocol/group-records/group-metadata-key.ts'
import { decodeGroupMetadataValue, encodeGroupMetadataValue } from '../protocol/group-records/group-metadata-value.ts'
import type { GroupRecord } from './context.ts'

const OFFSET_KEY_VERSION = 1
const OFFSET_VALUE_VERSION = 3
const GROUP_KEY_VERSION = 2
const GROUP_VALUE_VERSION = 3

export function encodeGroupRecord(record: GroupRecord): { key: Buffer; value: Buffer | null } {
  const key = new Writer()
  if (record.type === 'offset') {
    key.int16(OFFSET_KEY_VERSION)
    encodeOffsetCommitKey(key, OFFSET_KEY_VERSION, { group: record.groupId, topic: record.topic, partition: record.partition })
    if (record.value === null) return { key: key.toBuffer(), value: null }
    const value = new Writer()
    value.int16(OFFSET_VALUE_VERSION)
    const v = record.value
    encodeOffsetCommitValue(value, OFFSET_VALUE_VERSION, {
      offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp, expireTimestamp: -1,
    })
    return { key: key.toBuffer(), value: value.toBuffer() }
  }
  key.int16(GROUP_KEY_VERSION)
  encodeGroupMetadataKey(key, GROUP_KEY_VERSION, { group: record.groupId })
  if (record.value === null) return { key: key.toBuffer(), value: null }
  const value = new Writer()
  value.int16(GROUP_VALUE_VERSION)
  const g = record.value
  encodeGroupMetadataValue(value, GROUP_VALUE_VERSION, {
    protocolType: g.protocolType, generation: g.generationId, protocol: g.protocolName, leader: g.leaderId,
    currentStateTimestamp: g.currentStateTimestamp,
    members: g.members.map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs, sessionTimeout: m.sessionTimeoutMs, subscription: m.subscription, assignment: m.assignment,
    })),
  })
  return { key: key.toBuffer(), value: value.toBuffer() }
}

/** Decodes one record; null for keys of other kinds (Kafka's newer consumer-group records), which are skipped. */
export function decodeGroupRecord(key: Buffer, value: Buffer | null): GroupRecord | null {
  const kr = new Reader(key)
  const keyVersion = kr.int16()
  if (keyVersion === 0 || keyVersion === 1) {
    const k = decodeOffsetCommitKey(kr, keyVersion)
    if (value === null) return { type: 'offset', groupId: k.group, topic: k.topic, partition: k.partition, value: null }
    const vr = new Reader(value)
    const valueVersion = vr.int16()
    const v = decodeOffsetCommitValue(vr, Math.min(valueVersion, 4))
    return {
      type: 'offset', groupId: k.group, topic: k.topic, partition: k.partition,
      value: { offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp },
    }
  }
  if (keyVersion === 2) {
    const k = decodeGroupMetadataKey(kr, keyVersion)
    if (value === null) return { type: 'group', groupId: k.group, value: null }
    const vr = new Reader(value)
    const valueVersion = vr.int16()
    const v = decodeGroupMetadataValue(vr, Math.min(valueVersion, 4))
    return {
      type: 'group', groupId: k.group,
      value: {
        protocolType: v.protocolType, generationId: v.generation, protocolName: v.protocol, leaderId: v.leader,
        currentStateTimestamp: v.currentStateTimestamp,
        members: v.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeout, sessionTimeoutMs: m.sessionTimeout,
          subscription: Buffer.from(m.subscription), assignment: Buffer.from(m.assignment),
        })),
      },
    }
  }
  return null
}

/** Kafka's partition for a group: abs(Java String.hashCode(groupId)) mod the partition count. */
export function partitionForGroup(groupId: string, partitions: number): number {
  let h = 0
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(h, 31) + groupId.charCodeAt(i)) | 0
  return (h & 0x7fffffff) % partitions
}
