/**
 * LeaveGroup (key 13), versions 0–5; v3+ carries a batch of members (by member id or
 * group.instance.id). Below v3 the one member's error is the response's error, as in Kafka.
 */
import { decodeLeaveGroupRequest, type LeaveGroupRequest } from '../../protocol/messages/leave-group-request.ts'
import { encodeLeaveGroupResponse, type LeaveGroupResponse } from '../../protocol/messages/leave-group-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import type { CoordinatorError } from '../../coordinator/errors.ts'

const code = (e: CoordinatorError | null): number => (e ? errorCode(e) : ErrorCode.NONE)

export default defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  apiKey: 13, name: 'LeaveGroup', minVersion: 0, maxVersion: 5,
  decode: decodeLeaveGroupRequest,
  encode: encodeLeaveGroupResponse,
  async handle(ctx, req) {
    const batched = ctx.apiVersion >= 3
    const members = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: req.memberId, groupInstanceId: null }]
    const r = await ctx.broker.groups.coordinator.leaveGroup(req.groupId, members)
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (!batched) return { throttleTimeMs, errorCode: code(r.error ?? r.members[0]?.error ?? null), members: [] }
    return {
      throttleTimeMs, errorCode: code(r.error),
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: code(m.error) })),
    }
  },
})
