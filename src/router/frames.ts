/**
 * Length-prefixed frames on a byte stream: u32 big-endian payload length, then the payload.
 * The decoder copies each payload into its own buffer (the codec keeps views into it).
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.byteLength)
  out.writeUInt32BE(payload.byteLength, 0)
  out.set(payload, 4)
  return out
}

export class FrameDecoder {
  #chunks: Buffer[] = []
  #buffered = 0

  /** Feeds bytes; returns the complete payloads, or throws on a frame over MAX_FRAME_BYTES (a broken or hostile peer). */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    const out: Buffer[] = []
    while (this.#buffered >= 4) {
      const head = this.#peek(4)
      const length = head.readUInt32BE(0)
      if (length > MAX_FRAME_BYTES) throw new Error(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`)
      if (this.#buffered < 4 + length) break
      out.push(this.#take(4 + length).subarray(4))
    }
    return out
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!
    if (first.length >= n) return first
    const all = Buffer.concat(this.#chunks)
    this.#chunks = [all]
    return all
  }

  /** Removes n bytes from the front into a fresh buffer. */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks)
    const out = Buffer.from(all.subarray(0, n)) // a copy: `all` may be a socket's pooled buffer
    const rest = all.subarray(n)
    this.#chunks = rest.length > 0 ? [rest] : []
    this.#buffered -= n
    return out
  }
}
