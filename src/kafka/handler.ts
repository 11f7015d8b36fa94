/**
 * What every API handler declares: its key, the version range Samsa implements (and so
 * advertises in ApiVersions), the generated codec, and the function that answers.
 *
 * A handler answers every partition it was asked about; a failed partition is a value in the
 * response (an error code), never an exception. Returning null means "send no response"
 * (Produce with acks=0). Throwing RequestFailure closes the connection, as Kafka does for
 * requests it cannot answer.
 */
import type { Reader } from '../protocol/primitives/reader.ts'
import type { Writer } from '../protocol/primitives/writer.ts'
import type { RequestContext } from './request-context.ts'

export interface Handler<Req = any, Res = any> {
  readonly apiKey: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  readonly decode: (r: Reader, version: number) => Req
  readonly encode: (w: Writer, version: number, res: Res) => void
  handle(ctx: RequestContext, req: Req): Res | null | Promise<Res | null>
}

export function defineHandler<Req, Res>(h: Handler<Req, Res>): Handler<Req, Res> {
  return h
}

/** Thrown by a handler when Kafka would close the connection instead of answering. */
export class RequestFailure extends Error {
  override name = 'RequestFailure'
}
