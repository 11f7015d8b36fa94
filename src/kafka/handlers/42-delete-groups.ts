/**
 * DeleteGroups (key 42), versions 0–2: only Empty groups (NON_EMPTY_GROUP otherwise); the
 * group and its offsets are tombstoned in __consumer_offsets.
 */
import { decodeDeleteGroupsRequest, type DeleteGroupsRequest } from '../../protocol/messages/delete-groups-request.ts'
import { encodeDeleteGroupsResponse, type DeleteGroupsResponse } from '../../protocol/messages/delete-groups-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  apiKey: 42, name: 'DeleteGroups', minVersion: 0, maxVersion: 2,
  decode: decodeDeleteGroupsRequest,
  encode: encodeDeleteGroupsResponse,
  async handle(ctx, req) {
    const results = await ctx.broker.groups.coordinator.deleteGroups([...new Set(req.groupsNames)])
    for (const r of results) if (!r.error) ctx.log.info({ group: r.groupId }, 'group deleted')
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx),
      results: results.map((r) => ({ groupId: r.groupId, errorCode: r.error ? errorCode(r.error) : ErrorCode.NONE })),
    }
  },
})
