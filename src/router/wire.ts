/**
 * Envelopes between nodes, one per frame (frames.ts). Bodies between nodes are bytes, so the
 * encoding is a small header followed by the body as is:
 *
 *   u8 version (1) | u8 kind (0 tell, 1 ask, 2 reply, 3 fail) | u32 id | u32 ttlMs
 *   | i32 to.node | u16 length + UTF-8 to.actor | i32 from.node | u16 length + UTF-8 from.actor
 *   | body: the rest of the frame (for `fail`: UTF-8 JSON {code, message})
 *
 * Big-endian, like Kafka. A decoded body is a view into the frame (no copy).
 */
import { isRouterFailure, type Envelope, type EnvelopeKind } from './envelope.ts'

const VERSION = 1
const KINDS: readonly EnvelopeKind[] = ['tell', 'ask', 'reply', 'fail']
const MAX_ACTOR_NAME = 0xffff

export function encodeEnvelope(env: Envelope): Buffer {
  const to = Buffer.from(env.to.actor, 'utf8')
  const from = Buffer.from(env.from.actor, 'utf8')
  if (to.length > MAX_ACTOR_NAME || from.length > MAX_ACTOR_NAME) throw new Error('actor name longer than 65535 bytes')
  const body = env.kind === 'fail' ? Buffer.from(JSON.stringify(env.body), 'utf8') : (env.body as Uint8Array)
  const out = Buffer.allocUnsafe(2 + 4 + 4 + 4 + 2 + to.length + 4 + 2 + from.length + body.byteLength)
  let o = out.writeUInt8(VERSION, 0)
  o = out.writeUInt8(KINDS.indexOf(env.kind), o)
  o = out.writeUInt32BE(env.id >>> 0, o)
  o = out.writeUInt32BE(Math.min(Math.max(0, Math.ceil(env.ttlMs)), 0xffffffff), o)
  o = out.writeInt32BE(env.to.node, o)
  o = out.writeUInt16BE(to.length, o)
  o += to.copy(out, o)
  o = out.writeInt32BE(env.from.node, o)
  o = out.writeUInt16BE(from.length, o)
  o += from.copy(out, o)
  out.set(body, o)
  return out
}

/** Throws on anything malformed (the caller drops the connection). */
export function decodeEnvelope(b: Buffer): Envelope {
  if (b.length < 22) throw new Error(`envelope of ${b.length} bytes is shorter than its header`)
  if (b.readUInt8(0) !== VERSION) throw new Error(`envelope version ${b.readUInt8(0)} is not ${VERSION}`)
  const kind = KINDS[b.readUInt8(1)]
  if (kind === undefined) throw new Error(`unknown envelope kind ${b.readUInt8(1)}`)
  const id = b.readUInt32BE(2)
  const ttlMs = b.readUInt32BE(6)
  let o = 10
  const str = (): string => {
    const n = b.readUInt16BE(o)
    if (o + 2 + n > b.length) throw new Error('actor name runs past the envelope')
    const s = b.toString('utf8', o + 2, o + 2 + n)
    o += 2 + n
    return s
  }
  const toNode = b.readInt32BE(o); o += 4
  const toActor = str()
  if (o + 6 > b.length) throw new Error('envelope truncated')
  const fromNode = b.readInt32BE(o); o += 4
  const fromActor = str()
  const raw = b.subarray(o)
  let body: unknown = raw
  if (kind === 'fail') {
    body = JSON.parse(raw.toString('utf8'))
    if (!isRouterFailure(body)) throw new Error('a fail envelope without code and message')
  }
  return { kind, id, ttlMs, to: { node: toNode, actor: toActor }, from: { node: fromNode, actor: fromActor }, body }
}
