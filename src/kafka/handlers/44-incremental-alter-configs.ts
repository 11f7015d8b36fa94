/**
 * IncrementalAlterConfigs (key 44), versions 0–1: SET / DELETE single topic config keys, and
 * APPEND / SUBTRACT items of list keys (`cleanup.policy`), starting from the effective value.
 * Validated like AlterConfigs; `validate_only` checks without committing.
 */
import {
  decodeIncrementalAlterConfigsRequest, type IncrementalAlterConfigsRequest,
} from '../../protocol/messages/incremental-alter-configs-request.ts'
import {
  encodeIncrementalAlterConfigsResponse, type IncrementalAlterConfigsResponse,
} from '../../protocol/messages/incremental-alter-configs-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode } from '../error-map.ts'
import { alterEachResource, incrementalConfigs } from '../../broker/alter-configs.ts'

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  apiKey: 44, name: 'IncrementalAlterConfigs', minVersion: 0, maxVersion: 1,
  decode: decodeIncrementalAlterConfigsRequest,
  encode: encodeIncrementalAlterConfigsResponse,
  async handle(ctx, req) {
    const responses = await alterEachResource(req.resources, async (res) => {
      const ops = res.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }))
      const outcome = await incrementalConfigs(ctx.broker, res, ops, req.validateOnly)
      if (outcome.errorCode === ErrorCode.NONE && !req.validateOnly) ctx.log.info({ resource: res.resourceName, ops }, 'configs altered')
      return outcome
    })
    return { throttleTimeMs: ctx.broker.throttleTimeMs(ctx), responses }
  },
})
