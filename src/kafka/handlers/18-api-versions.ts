/**
 * ApiVersions (key 18), versions 0–4. Lists exactly the APIs and versions this broker
 * implements: the handler table is the single source of truth.
 * Quirks: the response always uses header v0 (KIP-511, handled by the dispatcher), and a
 * request newer than v4 is answered by the dispatcher with UNSUPPORTED_VERSION in a v0 body.
 */
import { decodeApiVersionsRequest, type ApiVersionsRequest } from '../../protocol/messages/api-versions-request.ts'
import { encodeApiVersionsResponse, type ApiVersionsResponse } from '../../protocol/messages/api-versions-response.ts'
import { defineHandler } from '../handler.ts'
import { ErrorCode } from '../error-map.ts'
import type { BrokerServices } from '../request-context.ts'

/** KIP-511: client software names and versions must look like this. */
const SOFTWARE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/

export function apiVersionsBody(broker: BrokerServices, errorCode: number, throttleTimeMs: number): ApiVersionsResponse {
  const apiKeys = [...broker.handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
  return {
    errorCode, apiKeys, throttleTimeMs,
    supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
  }
}

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18, name: 'ApiVersions', minVersion: 0, maxVersion: 4,
  decode: decodeApiVersionsRequest,
  encode: encodeApiVersionsResponse,
  handle(ctx, req) {
    if (ctx.apiVersion >= 3 && (!SOFTWARE.test(req.clientSoftwareName) || !SOFTWARE.test(req.clientSoftwareVersion))) {
      ctx.log.warn({ conn: ctx.conn.id, name: req.clientSoftwareName, version: req.clientSoftwareVersion }, 'ApiVersions: invalid client software name or version')
      return apiVersionsBody(ctx.broker, ErrorCode.INVALID_REQUEST, 0)
    }
    return apiVersionsBody(ctx.broker, ErrorCode.NONE, ctx.broker.throttleTimeMs(ctx))
  },
})
