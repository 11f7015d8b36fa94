/**
 * FindCoordinator (key 10), versions 0–6; v4+ is batched (coordinator_keys). On a single node
 * this node coordinates every group; the first group lookup creates __consumer_offsets (as
 * Kafka does) and answers once it exists. Transaction coordinators (key type 1) come with
 * transactions: until then COORDINATOR_NOT_AVAILABLE.
 */
import { decodeFindCoordinatorRequest, type FindCoordinatorRequest } from '../../protocol/messages/find-coordinator-request.ts'
import { encodeFindCoordinatorResponse, type FindCoordinatorResponse, type Coordinator } from '../../protocol/messages/find-coordinator-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'
import { brokersFor } from './03-metadata.ts'
import type { RequestContext } from '../request-context.ts'
import type { CoordinatorError } from '../../coordinator/errors.ts'

const GROUP_KEY = 0
const TRANSACTION_KEY = 1

async function findOne(ctx: RequestContext, key: string, keyType: number): Promise<Coordinator> {
  let error: CoordinatorError | null = null
  if (keyType === GROUP_KEY) error = await ctx.broker.groups.findCoordinator()
  else if (keyType === TRANSACTION_KEY) error = 'coordinator_not_available'
  else error = 'invalid_request'
  const self = brokersFor(ctx.broker.image(), ctx.conn.listenerName).find((b) => b.nodeId === ctx.broker.nodeId)
  if (!error && !self) error = 'coordinator_not_available'
  if (error) return { key, nodeId: -1, host: '', port: -1, errorCode: errorCode(error), errorMessage: error === 'invalid_request' ? `Unknown key type ${keyType}` : null }
  return { key, nodeId: self!.nodeId, host: self!.host, port: self!.port, errorCode: ErrorCode.NONE, errorMessage: null }
}

export default defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  apiKey: 10, name: 'FindCoordinator', minVersion: 0, maxVersion: 6,
  decode: decodeFindCoordinatorRequest,
  encode: encodeFindCoordinatorResponse,
  async handle(ctx, req) {
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (ctx.apiVersion >= 4) {
      const coordinators = await Promise.all(req.coordinatorKeys.map((key) => findOne(ctx, key, req.keyType)))
      return { throttleTimeMs, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators }
    }
    const c = await findOne(ctx, req.key, req.keyType)
    return { throttleTimeMs, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port, coordinators: [] }
  },
})
