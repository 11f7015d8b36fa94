/**
 * InitProducerId (key 22), versions 0–5, for idempotent (non-transactional) producers: a new
 * producer id with epoch 0, from a block recorded in the metadata log. A transactional id
 * needs the transaction coordinator, which comes later: until then such requests get
 * INVALID_REQUEST and a warning in the log.
 */
import { decodeInitProducerIdRequest, type InitProducerIdRequest } from '../../protocol/messages/init-producer-id-request.ts'
import { encodeInitProducerIdResponse, type InitProducerIdResponse } from '../../protocol/messages/init-producer-id-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  apiKey: 22, name: 'InitProducerId', minVersion: 0, maxVersion: 5,
  decode: decodeInitProducerIdRequest,
  encode: encodeInitProducerIdResponse,
  async handle(ctx, req) {
    const throttleTimeMs = ctx.broker.throttleTimeMs(ctx)
    if (req.transactionalId !== null) {
      ctx.log.warn({ client: ctx.clientId, transactionalId: req.transactionalId }, 'InitProducerId: transactions are not supported yet')
      return { throttleTimeMs, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 }
    }
    const result = await ctx.broker.producerIds.allocate()
    if ('error' in result) return { throttleTimeMs, errorCode: errorCode(result.error), producerId: -1, producerEpoch: -1 }
    return { throttleTimeMs, errorCode: ErrorCode.NONE, producerId: result.producerId, producerEpoch: 0 }
  },
})
