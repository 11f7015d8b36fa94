/**
 * Heartbeat (key 12), versions 0–4: keeps a member's session alive; REBALANCE_IN_PROGRESS
 * tells it to rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it was
 * fenced out.
 */
import { decodeHeartbeatRequest, type HeartbeatRequest } from '../../protocol/messages/heartbeat-request.ts'
import { encodeHeartbeatResponse, type HeartbeatResponse } from '../../protocol/messages/heartbeat-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<HeartbeatRequest, HeartbeatResponse>({
  apiKey: 12, name: 'Heartbeat', minVersion: 0, maxVersion: 4,
  decode: decodeHeartbeatRequest,
  encode: encodeHeartbeatResponse,
  async handle(ctx, req) {
    const error = await ctx.broker.groups.coordinator.heartbeat(req)
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), errorCode: error ? errorCode(error) : ErrorCode.NONE }
  },
})
