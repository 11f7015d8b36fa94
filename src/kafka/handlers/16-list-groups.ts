/**
 * ListGroups (key 16), versions 0–5: every group this node coordinates, filtered by state
 * (v4+, case-insensitive) and type (v5+; every group here is "classic").
 */
import { decodeListGroupsRequest, type ListGroupsRequest } from '../../protocol/messages/list-groups-request.ts'
import { encodeListGroupsResponse, type ListGroupsResponse } from '../../protocol/messages/list-groups-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<ListGroupsRequest, ListGroupsResponse>({
  apiKey: 16, name: 'ListGroups', minVersion: 0, maxVersion: 5,
  decode: decodeListGroupsRequest,
  encode: encodeListGroupsResponse,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.coordinator.listGroups(req.statesFilter, req.typesFilter)
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx),
      errorCode: r.error ? errorCode(r.error) : ErrorCode.NONE,
      groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' })),
    }
  },
})
