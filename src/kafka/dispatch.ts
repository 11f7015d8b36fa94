/**
 * Turns a request frame into an Outcome: header → handler → response frame.
 *
 * Runs synchronously up to the handler call, so requests reach handlers (and through them the
 * partition mailboxes) in arrival order. Unknown API keys and versions, and requests that do
 * not decode, close the connection as Kafka does — except a too-new ApiVersions, which gets
 * UNSUPPORTED_VERSION and the supported range so the client can retry lower (KIP-511).
 */
import { Reader, DecodeError } from '../protocol/primitives/reader.ts'
import { Writer } from '../protocol/primitives/writer.ts'
import { decodeRequestHeader, encodeResponseHeader } from '../protocol/headers.ts'
import { encodeApiVersionsResponse } from '../protocol/messages/api-versions-response.ts'
import type { Logger } from '../lib/logger.ts'
import type { ConnectionInfo, FrameDispatcher, Outcome } from './connection.ts'
import { RequestFailure, type Handler } from './handler.ts'
import type { BrokerServices, RequestContext } from './request-context.ts'
import { apiVersionsBody } from './handlers/18-api-versions.ts'
import { ErrorCode } from './error-map.ts'

const API_VERSIONS_KEY = 18

export class Dispatcher implements FrameDispatcher {
  readonly #broker: BrokerServices
  readonly #log: Logger

  constructor(broker: BrokerServices, log: Logger) {
    this.#broker = broker
    this.#log = log
  }

  dispatch(frame: Buffer, conn: ConnectionInfo): Outcome | Promise<Outcome> {
    if (frame.length < 8) return { kind: 'close', reason: `request of ${frame.length} bytes is too short for a header` }
    const apiKey = frame.readInt16BE(0)
    const apiVersion = frame.readInt16BE(2)
    const correlationId = frame.readInt32BE(4)
    const handler = this.#broker.handlers.get(apiKey)
    const metrics = this.#broker.metrics
    if (!handler) {
      metrics?.rejected('unknown_api')
      return { kind: 'close', reason: `unknown API key ${apiKey}` }
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY && apiVersion > handler.maxVersion) return this.#apiVersionsTooNew(correlationId)
      metrics?.rejected('unsupported_version')
      return { kind: 'close', reason: `unsupported version ${apiVersion} of ${handler.name} (supported: ${handler.minVersion}–${handler.maxVersion})` }
    }
    const r = new Reader(frame)
    let request: unknown
    let clientId: string | null
    try {
      clientId = decodeRequestHeader(r, apiKey, apiVersion).clientId
      request = handler.decode(r, apiVersion)
    } catch (err) {
      if (err instanceof DecodeError) {
        metrics?.rejected('malformed')
        return { kind: 'close', reason: `malformed ${handler.name} v${apiVersion} request: ${err.message}` }
      }
      throw err
    }
    const written: (() => void)[] = []
    const ctx: RequestContext = {
      apiKey, apiVersion, correlationId, clientId, conn, broker: this.#broker, log: this.#log,
      onResponseWritten: (cb) => written.push(cb),
    }
    const finished = metrics?.requestStarted(handler.name)
    const done = finished === undefined ? (o: Outcome): Outcome => o : (o: Outcome): Outcome => {
      finished(o.kind === 'close')
      return o
    }
    let result: unknown
    try {
      result = handler.handle(ctx, request)
    } catch (err) {
      return done(this.#failure(handler, ctx, err))
    }
    if (result instanceof Promise) {
      return result.then((res) => done(this.#respond(handler, ctx, res, written)), (err: unknown) => done(this.#failure(handler, ctx, err)))
    }
    return done(this.#respond(handler, ctx, result, written))
  }

  #respond(handler: Handler, ctx: RequestContext, response: unknown, written: readonly (() => void)[] = []): Outcome {
    const done = written.length === 0 ? undefined : (): void => { for (const cb of written) cb() }
    if (response === null) {
      done?.()
      return { kind: 'none' }
    }
    const w = new Writer()
    const size = w.reserveInt32()
    encodeResponseHeader(w, ctx.apiKey, ctx.apiVersion, ctx.correlationId)
    handler.encode(w, ctx.apiVersion, response)
    w.setInt32(size, w.length - 4)
    return done ? { kind: 'respond', chunks: w.chunks(), written: done } : { kind: 'respond', chunks: w.chunks() }
  }

  #failure(handler: Handler, ctx: RequestContext, err: unknown): Outcome {
    if (err instanceof RequestFailure) return { kind: 'close', reason: `${handler.name}: ${err.message}` }
    this.#log.error({ err, api: handler.name, version: ctx.apiVersion, client: ctx.clientId }, 'handler failed')
    return { kind: 'close', reason: `internal error in ${handler.name}` }
  }

  /** KIP-511: answer with a v0 body holding UNSUPPORTED_VERSION and the ApiVersions range. */
  #apiVersionsTooNew(correlationId: number): Outcome {
    const body = apiVersionsBody(this.#broker, ErrorCode.UNSUPPORTED_VERSION, 0)
    body.apiKeys = body.apiKeys.filter((k) => k.apiKey === API_VERSIONS_KEY)
    const w = new Writer()
    const size = w.reserveInt32()
    w.int32(correlationId)
    encodeApiVersionsResponse(w, 0, body)
    w.setInt32(size, w.length - 4)
    return { kind: 'respond', chunks: w.chunks() }
  }
}
