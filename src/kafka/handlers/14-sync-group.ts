/**
 * SyncGroup (key 14), versions 0–5: the leader sends the assignment, every member gets its
 * own part once the group record is stored. v5 checks the protocol type and name.
 */
import { decodeSyncGroupRequest, type SyncGroupRequest } from '../../protocol/messages/sync-group-request.ts'
import { encodeSyncGroupResponse, type SyncGroupResponse } from '../../protocol/messages/sync-group-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<SyncGroupRequest, SyncGroupResponse>({
  apiKey: 14, name: 'SyncGroup', minVersion: 0, maxVersion: 5,
  decode: decodeSyncGroupRequest,
  encode: encodeSyncGroupResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.coordinator.syncGroup({
      groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType, protocolName: req.protocolName, assignments: req.assignments,
    })
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx),
      errorCode: r.error ? errorCode(r.error) : ErrorCode.NONE,
      protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment,
    }
  },
})
