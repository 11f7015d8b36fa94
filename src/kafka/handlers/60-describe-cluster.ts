/**
 * DescribeCluster (key 60), versions 0–1: cluster id, controller, brokers. Endpoint type 2
 * (controllers) is answered with this node's listeners, as this node is its own controller.
 */
import { decodeDescribeClusterRequest, type DescribeClusterRequest } from '../../protocol/messages/describe-cluster-request.ts'
import { encodeDescribeClusterResponse, type DescribeClusterResponse } from '../../protocol/messages/describe-cluster-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode } from '../error-map.ts'
import { brokersFor, CLUSTER_OPERATIONS } from './03-metadata.ts'

export default defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  apiKey: 60, name: 'DescribeCluster', minVersion: 0, maxVersion: 1,
  decode: decodeDescribeClusterRequest,
  encode: encodeDescribeClusterResponse,
  handle(ctx, req) {
    const brokers = brokersFor(ctx.broker.image(), ctx.conn.listenerName)
    return {
      throttleTimeMs: ctx.broker.throttleTimeMs(ctx), errorCode: ErrorCode.NONE, errorMessage: null,
      endpointType: req.endpointType, clusterId: ctx.broker.clusterId, controllerId: ctx.broker.nodeId,
      brokers: brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      // Without an authorizer: every cluster operation (Kafka's AuthHelper); the schema default when not asked.
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : -2147483648,
    }
  },
})
