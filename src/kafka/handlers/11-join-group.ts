/**
 * JoinGroup (key 11), versions 0–9. From v4 a new member first gets MEMBER_ID_REQUIRED with
 * its id (KIP-394); v5 adds static membership (group.instance.id). The answer waits for the
 * join phase to complete (src/coordinator/membership.ts); the leader gets every member's
 * metadata for the chosen protocol.
 */
import { decodeJoinGroupRequest, type JoinGroupRequest } from '../../protocol/messages/join-group-request.ts'
import { encodeJoinGroupResponse, type JoinGroupResponse } from '../../protocol/messages/join-group-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<JoinGroupRequest, JoinGroupResponse>({
  apiKey: 11, name: 'JoinGroup', minVersion: 0, maxVersion: 9,
  decode: decodeJoinGroupRequest,
  encode: encodeJoinGroupResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.coordinator.joinGroup({
      groupId: req.groupId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      clientId: ctx.clientId ?? '', clientHost: `/${ctx.conn.remoteAddress.replace(/:\d+$/, '')}`,
      sessionTimeoutMs: req.sessionTimeoutMs,
      // v0 has no rebalance timeout: Kafka uses the session timeout.
      rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType, protocols: req.protocols,
      requireKnownMemberId: ctx.apiVersion >= 4, reason: req.reason, supportsSkipAssignment: ctx.apiVersion >= 9,
    })
    if (r.error) ctx.log.debug({ group: req.groupId, member: req.memberId, error: r.error }, 'JoinGroup failed')
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx),
      errorCode: r.error ? errorCode(r.error) : ErrorCode.NONE,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Nullable only from v7.
      protocolName: r.protocolName ?? (ctx.apiVersion >= 7 ? null : ''),
      leader: r.leaderId,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    }
  },
})
