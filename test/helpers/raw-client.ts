/**
 * A minimal Kafka wire client for protocol tests: sends frames built with the generated codecs
 * and reads length-prefixed responses, so tests can send exactly the bytes they mean to.
 */
import { connect, type Socket } from 'node:net'
import { Writer } from '../../src/protocol/primitives/writer.ts'
import { Reader } from '../../src/protocol/primitives/reader.ts'
import { encodeRequestHeader, decodeResponseHeader } from '../../src/protocol/headers.ts'

export class RawClient {
  readonly socket: Socket
  #buffer = Buffer.alloc(0)
  #waiters: ((frame: Buffer) => void)[] = []
  /** Frames that arrived before anyone asked for them. */
  #ready: Buffer[] = []
  #closed = false
  #closeWaiters: (() => void)[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk])
      while (this.#buffer.length >= 4 && this.#buffer.length >= 4 + this.#buffer.readInt32BE(0)) {
        const size = this.#buffer.readInt32BE(0)
        const frame = this.#buffer.subarray(4, 4 + size)
        this.#buffer = this.#buffer.subarray(4 + size)
        const waiter = this.#waiters.shift()
        if (waiter) waiter(frame)
        else this.#ready.push(frame)
      }
    })
    socket.on('close', () => {
      this.#closed = true
      for (const w of this.#closeWaiters) w()
    })
    socket.on('error', () => {})
  }

  static connect(bootstrap: string): Promise<RawClient> {
    const [host, port] = bootstrap.split(':')
    return new Promise((resolve, reject) => {
      const s = connect(Number(port), host!, () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  /** Builds a request frame: header for (apiKey, version) then the body written by `body`. */
  static frame(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void, clientId: string | null = 'raw'): Buffer {
    const w = new Writer()
    const size = w.reserveInt32()
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId })
    body(w)
    w.setInt32(size, w.length - 4)
    return w.toBuffer()
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** The next response frame (without its size prefix). */
  next(): Promise<Buffer> {
    const ready = this.#ready.shift()
    if (ready) return Promise.resolve(ready)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Reads a response: returns the correlation id and a reader positioned at the body. */
  async response(apiKey: number, apiVersion: number): Promise<{ correlationId: number; body: Reader }> {
    const frame = await this.next()
    const r = new Reader(frame)
    const correlationId = decodeResponseHeader(r, apiKey, apiVersion)
    return { correlationId, body: r }
  }

  closed(timeoutMs = 5000): Promise<boolean> {
    if (this.#closed) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.#closeWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  close(): void {
    this.socket.destroy()
  }
}
