/**
 * DescribeGroups (key 15), versions 0–5: state, protocol and members; member metadata and
 * assignments only while the group is Stable (as Kafka). An unknown group is "Dead" with no
 * error, as Kafka answers.
 */
import { decodeDescribeGroupsRequest, type DescribeGroupsRequest } from '../../protocol/messages/describe-groups-request.ts'
import { encodeDescribeGroupsResponse, type DescribeGroupsResponse } from '../../protocol/messages/describe-groups-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { GROUP_OPERATIONS } from './03-metadata.ts'

const UNKNOWN_AUTHORIZED_OPERATIONS = -2147483648

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  apiKey: 15, name: 'DescribeGroups', minVersion: 0, maxVersion: 5,
  decode: decodeDescribeGroupsRequest,
  encode: encodeDescribeGroupsResponse,
  async handle(ctx, req) {
    const groups = (await ctx.broker.groups.coordinator.describeGroups(req.groups)).map((g) => ({
      errorCode: g.error ? errorCode(g.error) : ErrorCode.NONE,
      groupId: g.groupId, groupState: g.state, protocolType: g.protocolType, protocolData: g.protocolName,
      members: g.members.map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        memberMetadata: m.metadata, memberAssignment: m.assignment,
      })),
      // Without an authorizer: every group operation (Kafka's AuthHelper), for groups described without error.
      authorizedOperations: req.includeAuthorizedOperations && !g.error ? GROUP_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS,
    }))
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), groups }
  },
})
