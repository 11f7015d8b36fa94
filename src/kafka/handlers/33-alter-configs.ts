/**
 * AlterConfigs (key 33), versions 0–2: replaces a topic's whole set of config overrides (keys
 * not named in the request go back to their defaults), as Kafka does. Validated per key
 * (INVALID_CONFIG with a message); `validate_only` checks without committing. Changes are
 * ConfigRecords in the metadata log, so they apply to hosted partitions at once and survive
 * restarts.
 */
import { decodeAlterConfigsRequest, type AlterConfigsRequest } from '../../protocol/messages/alter-configs-request.ts'
import { encodeAlterConfigsResponse, type AlterConfigsResponse } from '../../protocol/messages/alter-configs-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode } from '../error-map.ts'
import { alterEachResource, replaceConfigs } from '../../broker/alter-configs.ts'

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  apiKey: 33, name: 'AlterConfigs', minVersion: 0, maxVersion: 2,
  decode: decodeAlterConfigsRequest,
  encode: encodeAlterConfigsResponse,
  async handle(ctx, req) {
    const responses = await alterEachResource(req.resources, async (res) => {
      const outcome = await replaceConfigs(ctx.broker, res, res.configs, req.validateOnly)
      if (outcome.errorCode === ErrorCode.NONE && !req.validateOnly) ctx.log.info({ resource: res.resourceName, configs: res.configs }, 'configs replaced')
      return outcome
    })
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), responses }
  },
})
