/**
 * CreatePartitions (key 37), versions 0–3: grows a topic's partition count, never shrinks it.
 */
import { decodeCreatePartitionsRequest, type CreatePartitionsRequest } from '../../protocol/messages/create-partitions-request.ts'
import { encodeCreatePartitionsResponse, type CreatePartitionsResponse, type CreatePartitionsTopicResult } from '../../protocol/messages/create-partitions-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode, errorCode } from '../error-map.ts'

export default defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  apiKey: 37, name: 'CreatePartitions', minVersion: 0, maxVersion: 3,
  decode: decodeCreatePartitionsRequest,
  encode: encodeCreatePartitionsResponse,
  async handle(ctx, req) {
    const results: CreatePartitionsTopicResult[] = []
    // A topic named more than once gets one INVALID_REQUEST result and is left as it is (Kafka's
    // ControllerApis.createPartitions); the response lists each name once.
    const count = new Map<string, number>()
    for (const t of req.topics) count.set(t.name, (count.get(t.name) ?? 0) + 1)
    const answered = new Set<string>()
    for (const t of req.topics) {
      if (answered.has(t.name)) continue
      answered.add(t.name)
      if (count.get(t.name)! > 1) {
        results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' })
        continue
      }
      const outcome = await ctx.broker.controller.createPartitions(t.name, t.count, t.assignments?.map((a) => a.brokerIds) ?? null, req.validateOnly)
      if ('error' in outcome) {
        results.push({ name: t.name, errorCode: errorCode(outcome.error), errorMessage: outcome.message })
      } else {
        if (!req.validateOnly) ctx.log.info({ topic: t.name, count: t.count }, 'partitions created')
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null })
      }
    }
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), results }
  },
})
