/**
 * One TCP connection to one broker, with pipelining: any number of requests may be in flight;
 * responses are matched to their request by correlation id (Kafka answers in order on a
 * connection, but nothing here depends on it).
 *
 * On open the connection negotiates versions with ApiVersions (KIP-511: v3 first, v0 if the
 * broker refuses it) and from then on uses, for each API, the highest version both this build's
 * codecs (`API_KEYS`) and the broker support. Writes issued in the same tick are corked into one
 * `writev`, so a burst of pipelined requests costs one syscall.
 */
import { connect, type Socket } from 'node:net'
import { API_KEYS, apiCodec, type ApiCodec } from '../protocol/messages/index.ts'
import { Writer } from '../protocol/primitives/writer.ts'
import { Reader } from '../protocol/primitives/reader.ts'
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/headers.ts'
import { ConnectionError, KafkaError, TimeoutError, UnsupportedVersionError } from './errors.ts'

type Apis = typeof API_KEYS
export type ApiKey = keyof Apis
export type RequestOf<K extends ApiKey> = Apis[K] extends ApiCodec<infer Q, infer _R> ? Q : never
export type ResponseOf<K extends ApiKey> = Apis[K] extends ApiCodec<infer _Q, infer R> ? R : never

const API_VERSIONS = 18
const UNSUPPORTED_VERSION = 35
export const CLIENT_SOFTWARE_NAME = 'samsa-client'
export const CLIENT_SOFTWARE_VERSION = '0.1.0'

export interface ConnectionOptions {
  host: string
  port: number
  clientId?: string
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number
  /** Fail a request that got no answer after this long (default 30 s). */
  requestTimeoutMs?: number
  /** Upper bounds on negotiated versions, by API key (to pin a version in tests or tools). */
  maxVersions?: Readonly<Record<number, number>>
}

interface Pending {
  apiKey: number
  version: number
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout | null
}

export interface VersionRange {
  minVersion: number
  maxVersion: number
}

/** Host and port of `host:port` (or `[v6]:port`); the port defaults to Kafka's 9092. */
export function parseHostPort(address: string, defaultPort = 9092): { host: string; port: number } {
  const s = address.trim()
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defaultPort }
  const colon = s.lastIndexOf(':')
  if (colon < 0) return { host: s, port: defaultPort }
  const port = Number(s.slice(colon + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConnectionError(s, `'${s}' is not a valid host:port`)
  return { host: s.slice(0, colon), port }
}

/** Why a socket failed, in words (ECONNREFUSED → "connection refused"). */
export function describeSocketError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] }
  const code = e.code ?? e.errors?.find((x) => x.code)?.code
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused'
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return 'unknown host'
    case 'ETIMEDOUT': return 'connection timed out'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable'
    case 'ECONNRESET': return 'connection reset by the broker'
    case 'EPIPE': return 'connection closed by the broker'
    default: return code ?? (e.message || 'connection failed')
  }
}

export class Connection {
  readonly host: string
  readonly port: number
  readonly address: string
  readonly clientId: string
  readonly #socket: Socket
  readonly #requestTimeoutMs: number
  readonly #pending = new Map<number, Pending>()
  /** Negotiated version per API key. */
  readonly #versions = new Map<number, number>()
  /** What the broker advertised. */
  readonly #brokerVersions = new Map<number, VersionRange>()
  #nextCorrelationId = 1
  #chunks: Buffer[] = []
  #buffered = 0
  #corked = false
  #closedError: ConnectionError | null = null
  #closeListeners: (() => void)[] = []

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.host = options.host
    this.port = options.port
    this.address = `${options.host}:${options.port}`
    this.clientId = options.clientId ?? 'samsa'
    this.#socket = socket
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err) => {
      this.#closedError ??= new ConnectionError(this.address, `connection to ${this.address} failed: ${describeSocketError(err)}`)
    })
    socket.on('close', () => this.#onClose())
  }

  /** Connects (one attempt) and negotiates API versions. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    const address = `${options.host}:${options.port}`
    const timeoutMs = options.connectTimeoutMs ?? 10_000
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: options.host, port: options.port })
      const timer = setTimeout(() => {
        s.destroy()
        reject(new ConnectionError(address, `timed out after ${timeoutMs} ms connecting to ${address}`))
      }, timeoutMs)
      s.once('connect', () => {
        clearTimeout(timer)
        s.removeAllListeners('error')
        resolve(s)
      })
      s.once('error', (err) => {
        clearTimeout(timer)
        s.destroy()
        reject(new ConnectionError(address, `cannot connect to ${address}: ${describeSocketError(err)}`))
      })
    })
    const conn = new Connection(socket, options)
    try {
      await conn.#negotiate(options.maxVersions ?? {}, timeoutMs)
    } catch (err) {
      conn.close()
      throw err
    }
    return conn
  }

  async #negotiate(caps: Readonly<Record<number, number>>, timeoutMs: number): Promise<void> {
    const body = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }
    let res = await this.request(API_VERSIONS, body, { version: 3, timeoutMs })
    if (res.errorCode === UNSUPPORTED_VERSION) res = await this.request(API_VERSIONS, body, { version: 0, timeoutMs })
    if (res.errorCode !== 0) throw new KafkaError(res.errorCode, `ApiVersions from ${this.address}`)
    for (const k of res.apiKeys) {
      this.#brokerVersions.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion })
      const ours = apiCodec(k.apiKey)
      if (!ours) continue
      const max = Math.min(ours.maxVersion, k.maxVersion, caps[k.apiKey] ?? Infinity)
      const min = Math.max(ours.minVersion, k.minVersion)
      if (max >= min) this.#versions.set(k.apiKey, max)
    }
  }

  /** The version this connection uses for an API; throws UnsupportedVersionError if none fits. */
  versionOf(apiKey: number): number {
    const v = this.#versions.get(apiKey)
    if (v === undefined) {
      const name = apiCodec(apiKey)?.name ?? `API ${apiKey}`
      const theirs = this.#brokerVersions.get(apiKey)
      throw new UnsupportedVersionError(theirs
        ? `the broker at ${this.address} supports ${name} v${theirs.minVersion}–${theirs.maxVersion}, none of which this client speaks`
        : `the broker at ${this.address} does not support ${name} (API key ${apiKey})`)
    }
    return v
  }

  supports(apiKey: number): boolean {
    return this.#versions.has(apiKey)
  }

  /** What the broker advertised for an API, if anything. */
  brokerVersions(apiKey: number): VersionRange | undefined {
    return this.#brokerVersions.get(apiKey)
  }

  get inFlight(): number {
    return this.#pending.size
  }

  get closed(): boolean {
    return this.#closedError !== null || this.#socket.destroyed
  }

  /** Sends a request and resolves with the decoded response. */
  request<K extends ApiKey>(apiKey: K, body: RequestOf<K>, options: { version?: number; timeoutMs?: number } = {}): Promise<ResponseOf<K>> {
    const version = options.version ?? this.versionOf(apiKey)
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      if (this.#closedError) return reject(this.#closedError)
      const correlationId = this.#nextCorrelationId++
      if (this.#nextCorrelationId > 0x7fffffff) this.#nextCorrelationId = 1
      const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs
      const pending: Pending = { apiKey, version, resolve: resolve as (v: unknown) => void, reject, timer: null }
      pending.timer = setTimeout(() => {
        this.#pending.delete(correlationId)
        reject(new TimeoutError(`${API_KEYS[apiKey].name} request to ${this.address} got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(correlationId, pending)
      this.#write(this.#frame(apiKey, version, correlationId, body))
    })
  }

  /** Sends a request that gets no response (Produce with acks=0); resolves once handed to the socket. */
  sendOnly<K extends ApiKey>(apiKey: K, body: RequestOf<K>, options: { version?: number } = {}): Promise<void> {
    const version = options.version ?? this.versionOf(apiKey)
    if (this.#closedError) return Promise.reject(this.#closedError)
    const correlationId = this.#nextCorrelationId++
    return new Promise((resolve, reject) => {
      this.#write(this.#frame(apiKey, version, correlationId, body), (err) => (err ? reject(this.#closedError ?? new ConnectionError(this.address, err.message)) : resolve()))
    })
  }

  #frame<K extends ApiKey>(apiKey: K, version: number, correlationId: number, body: RequestOf<K>): Buffer[] {
    const codec = API_KEYS[apiKey] as unknown as ApiCodec<RequestOf<K>, unknown>
    const w = new Writer()
    const size = w.reserveInt32()
    encodeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: this.clientId })
    codec.encodeRequest(w, version, body)
    w.setInt32(size, w.length - 4)
    return w.chunks()
  }

  #write(chunks: Buffer[], callback?: (err?: Error | null) => void): void {
    if (!this.#corked) {
      this.#corked = true
      this.#socket.cork()
      process.nextTick(() => {
        this.#corked = false
        this.#socket.uncork()
      })
    }
    for (let i = 0; i < chunks.length; i++) {
      this.#socket.write(chunks[i]!, i === chunks.length - 1 ? callback : undefined)
    }
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    while (this.#buffered >= 4) {
      if (this.#chunks[0]!.length < 4) this.#chunks = [Buffer.concat(this.#chunks)]
      const size = this.#chunks[0]!.readInt32BE(0)
      if (this.#buffered < 4 + size) return
      const frame = this.#take(4 + size).subarray(4)
      this.#onFrame(frame)
    }
  }

  /** Removes and returns the first n buffered bytes (no copy when they sit in one chunk). */
  #take(n: number): Buffer {
    this.#buffered -= n
    const head = this.#chunks[0]!
    if (head.length >= n) {
      if (head.length === n) this.#chunks.shift()
      else this.#chunks[0] = head.subarray(n)
      return head.subarray(0, n)
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const c = this.#chunks[0]!
      const take = Math.min(c.length, n - filled)
      c.copy(out, filled, 0, take)
      filled += take
      if (take === c.length) this.#chunks.shift()
      else this.#chunks[0] = c.subarray(take)
    }
    return out
  }

  #onFrame(frame: Buffer): void {
    if (frame.length < 4) return
    const correlationId = frame.readInt32BE(0)
    const pending = this.#pending.get(correlationId)
    if (!pending) return // timed out earlier, or a response to a sendOnly request
    this.#pending.delete(correlationId)
    if (pending.timer) clearTimeout(pending.timer)
    try {
      const r = new Reader(frame)
      decodeResponseHeader(r, pending.apiKey, pending.version)
      // KIP-511: a broker that does not support our ApiVersions version answers in v0.
      const version = pending.apiKey === API_VERSIONS && frame.length >= 6 && frame.readInt16BE(4) === UNSUPPORTED_VERSION ? 0 : pending.version
      pending.resolve(apiCodec(pending.apiKey)!.decodeResponse(r, version))
    } catch (err) {
      pending.reject(new ConnectionError(this.address, `cannot decode a ${apiCodec(pending.apiKey)?.name} v${pending.version} response from ${this.address}: ${(err as Error).message}`))
    }
  }

  #onClose(): void {
    this.#closedError ??= new ConnectionError(this.address, `the broker at ${this.address} closed the connection`)
    for (const p of this.#pending.values()) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(this.#closedError)
    }
    this.#pending.clear()
    for (const l of this.#closeListeners) l()
    this.#closeListeners = []
  }

  onClose(listener: () => void): void {
    if (this.#socket.destroyed) listener()
    else this.#closeListeners.push(listener)
  }

  close(): void {
    this.#closedError ??= new ConnectionError(this.address, `connection to ${this.address} was closed`)
    this.#socket.destroy()
  }
}
