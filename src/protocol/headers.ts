/**
 * Request and response headers, and which header version goes with which request.
 *
 * Request header v1 = apiKey, apiVersion, correlationId, clientId (int16-length nullable
 * string even in flexible versions); v2 adds a tag buffer and is used exactly when the
 * request version is flexible. v0 (no clientId) is only ControlledShutdown v0.
 * Response header v0 = correlationId; v1 adds a tag buffer for flexible responses —
 * except ApiVersions, whose response header is always v0 (KIP-511: a client that does
 * not yet know the broker's versions must be able to read it).
 */
import { apiCodec } from './messages/index.ts'
import {
  decodeRequestHeader as decodeRequestHeaderBody,
  encodeRequestHeader as encodeRequestHeaderBody,
  type RequestHeader,
} from './messages/request-header.ts'
import { decodeResponseHeader as decodeResponseHeaderBody, encodeResponseHeader as encodeResponseHeaderBody } from './messages/response-header.ts'
import { DecodeError, type Reader } from './primitives/reader.ts'
import type { Writer } from './primitives/writer.ts'

export type { RequestHeader }

const API_VERSIONS = 18
const CONTROLLED_SHUTDOWN = 7

/** Request header version for a request; unknown API keys get v1 (enough to read the correlation id and answer or close). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === CONTROLLED_SHUTDOWN && apiVersion === 0) return 0
  const codec = apiCodec(apiKey)
  if (!codec || codec.flexibleFrom === null) return 1
  return apiVersion >= codec.flexibleFrom ? 2 : 1
}

/** Response header version for a response to (apiKey, apiVersion). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === API_VERSIONS) return 0
  const codec = apiCodec(apiKey)
  if (!codec || codec.responseFlexibleFrom === null) return 0
  return apiVersion >= codec.responseFlexibleFrom ? 1 : 0
}

/**
 * Decodes the request header at r.offset. The header version follows from the apiKey and
 * apiVersion at the start of the header; callers that already peeked them may pass them.
 * Leaves r at the start of the request body.
 */
export function decodeRequestHeader(r: Reader, apiKey?: number, apiVersion?: number): RequestHeader {
  if (r.remaining() < 4) throw new DecodeError('request header is truncated')
  const key = apiKey ?? r.buf.readInt16BE(r.offset)
  const version = apiVersion ?? r.buf.readInt16BE(r.offset + 2)
  const header = decodeRequestHeaderBody(r, requestHeaderVersion(key, version))
  if (header.requestApiKey !== key || header.requestApiVersion !== version) {
    throw new DecodeError('request header does not match the peeked api key/version')
  }
  return header
}

/** Encodes a request header (client direction), choosing the header version from the request. */
export function encodeRequestHeader(w: Writer, header: RequestHeader): void {
  encodeRequestHeaderBody(w, requestHeaderVersion(header.requestApiKey, header.requestApiVersion), header)
}

/** Encodes the response header for a response to (apiKey, apiVersion). */
export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  encodeResponseHeaderBody(w, responseHeaderVersion(apiKey, apiVersion), { correlationId })
}

/** Decodes a response header (client direction); returns the correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  return decodeResponseHeaderBody(r, responseHeaderVersion(apiKey, apiVersion)).correlationId
}
