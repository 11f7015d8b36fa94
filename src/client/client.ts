/**
 * A client for one Kafka cluster: bootstrap, metadata, and one connection per broker.
 *
 * `connect()` keeps trying the bootstrap servers (with backoff) until one answers or
 * `connectTimeoutMs` runs out, then fails with a single ConnectionError naming every address
 * tried and why — a broker that is still starting is waited for, a missing one is reported
 * within the timeout. Metadata answers say which broker leads which partition; requests for a
 * partition go to its leader (`leaderConnection`), admin requests to the controller.
 */
import { Connection, describeSocketError, parseHostPort, type ConnectionOptions } from './connection.ts'
import { ClientError, ConnectionError, KafkaError, TimeoutError } from './errors.ts'
import { ZERO_UUID } from '../protocol/primitives/uuid.ts'

export interface ClientOptions {
  /** Bootstrap servers: `host:port`, a comma-separated list, or an array. */
  bootstrap: string | readonly string[]
  clientId?: string
  /** How long to keep trying to reach the cluster (default 10 s). */
  connectTimeoutMs?: number
  /** How long a request may go unanswered (default 30 s). */
  requestTimeoutMs?: number
  maxVersions?: ConnectionOptions['maxVersions']
}

export interface BrokerInfo {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

export interface PartitionInfo {
  partition: number
  errorCode: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  offline: number[]
}

export interface TopicInfo {
  name: string
  topicId: string
  errorCode: number
  isInternal: boolean
  /** Sorted by partition id. */
  partitions: PartitionInfo[]
}

export interface ClusterMetadata {
  clusterId: string | null
  controllerId: number
  brokers: Map<number, BrokerInfo>
  topics: Map<string, TopicInfo>
}

export function parseBootstrap(bootstrap: string | readonly string[]): { host: string; port: number }[] {
  const list = (typeof bootstrap === 'string' ? bootstrap.split(',') : bootstrap).map((s) => s.trim()).filter(Boolean)
  if (list.length === 0) throw new ClientError('no bootstrap server given')
  return list.map((s) => parseHostPort(s))
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class KafkaClient {
  readonly options: Readonly<ClientOptions>
  readonly clientId: string
  readonly #bootstrap: { host: string; port: number }[]
  #bootstrapConnection: Connection | null = null
  /** Connections by broker address (`host:port`), shared by node ids that advertise the same address. */
  readonly #connections = new Map<string, Promise<Connection>>()
  #metadata: ClusterMetadata | null = null
  #closed = false

  constructor(options: ClientOptions) {
    this.options = options
    this.clientId = options.clientId ?? 'samsa'
    this.#bootstrap = parseBootstrap(options.bootstrap)
  }

  get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 10_000
  }

  #connectionOptions(host: string, port: number, timeoutMs: number): ConnectionOptions {
    return {
      host, port, clientId: this.clientId, connectTimeoutMs: timeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000, maxVersions: this.options.maxVersions,
    }
  }

  /** Connects to the first bootstrap server that answers, retrying until connectTimeoutMs. */
  async connect(): Promise<Connection> {
    if (this.#bootstrapConnection && !this.#bootstrapConnection.closed) return this.#bootstrapConnection
    const deadline = Date.now() + this.connectTimeoutMs
    const lastErrors = new Map<string, string>()
    let backoff = 50
    for (;;) {
      for (const { host, port } of this.#bootstrap) {
        const left = deadline - Date.now()
        if (left <= 0) break
        try {
          const conn = await Connection.open(this.#connectionOptions(host, port, left))
          this.#bootstrapConnection = conn
          this.#connections.set(conn.address, Promise.resolve(conn))
          return conn
        } catch (err) {
          // Refused, unknown host, or something that is not a Kafka broker (no ApiVersions answer).
          if (!(err instanceof ConnectionError) && !(err instanceof TimeoutError)) throw err
          lastErrors.set(`${host}:${port}`, err instanceof TimeoutError ? 'no answer to ApiVersions: is it a Kafka broker?' : reasonOf(err))
        }
      }
      const left = deadline - Date.now()
      if (left <= 0 || this.#closed) break
      await sleep(Math.min(backoff, left))
      backoff = Math.min(backoff * 2, 1000)
    }
    const tried = [...lastErrors].map(([a, why]) => `${a} (${why})`).join(', ')
    throw new ConnectionError(this.#bootstrap.map((b) => `${b.host}:${b.port}`).join(','),
      `cannot reach a broker at ${tried || this.#bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')} within ${this.connectTimeoutMs} ms — is the broker running?`)
  }

  /** Fetches metadata for some topics (null: all topics). */
  async metadata(topics: readonly string[] | null = null, options: { allowAutoTopicCreation?: boolean } = {}): Promise<ClusterMetadata> {
    const conn = await this.connect()
    const res = await conn.request(3, {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    const md: ClusterMetadata = {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: new Map(res.brokers.map((b) => [b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }])),
      topics: new Map(),
    }
    for (const t of res.topics) {
      if (t.name === null) continue
      md.topics.set(t.name, {
        name: t.name, topicId: t.topicId, errorCode: t.errorCode, isInternal: t.isInternal,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex, errorCode: p.errorCode, leader: p.leaderId, leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes, isr: p.isrNodes, offline: p.offlineReplicas,
        })).sort((a, b) => a.partition - b.partition),
      })
    }
    // A partial answer updates the cache without forgetting the other topics.
    if (topics !== null && this.#metadata) {
      for (const [name, t] of this.#metadata.topics) if (!md.topics.has(name)) md.topics.set(name, t)
    }
    this.#metadata = md
    return md
  }

  /** Metadata of one topic; throws KafkaError (e.g. UNKNOWN_TOPIC_OR_PARTITION) if the broker has none. */
  async topic(name: string, options: { allowAutoTopicCreation?: boolean; retryMs?: number } = {}): Promise<TopicInfo> {
    const deadline = Date.now() + (options.retryMs ?? 0)
    for (;;) {
      const md = await this.metadata([name], options)
      const t = md.topics.get(name)
      const code = t?.errorCode ?? 3
      // A topic just created (or auto-created) may have no leader yet: retry while allowed.
      const leaderless = t !== undefined && code === 0 && t.partitions.some((p) => p.leader < 0)
      if (code === 0 && !leaderless) return t!
      if (Date.now() >= deadline || (code !== 0 && code !== 5 && code !== 3)) {
        if (code !== 0) throw new KafkaError(code, `topic '${name}'`)
        return t!
      }
      await sleep(100)
    }
  }

  /** The last metadata fetched, if any. */
  get cachedMetadata(): ClusterMetadata | null {
    return this.#metadata
  }

  /** A connection to a broker by node id (opened on first use). */
  async brokerConnection(nodeId: number): Promise<Connection> {
    let broker = this.#metadata?.brokers.get(nodeId)
    if (!broker) broker = (await this.metadata([])).brokers.get(nodeId)
    if (!broker) throw new ClientError(`broker ${nodeId} is not in the cluster metadata`)
    return this.#connectionTo(broker.host, broker.port)
  }

  /** An extra, unshared connection to a broker (e.g. for a consumer next to a producer). */
  async dedicatedConnection(nodeId: number): Promise<Connection> {
    let broker = this.#metadata?.brokers.get(nodeId)
    if (!broker) broker = (await this.metadata([])).brokers.get(nodeId)
    if (!broker) throw new ClientError(`broker ${nodeId} is not in the cluster metadata`)
    return Connection.open(this.#connectionOptions(broker.host, broker.port, this.connectTimeoutMs))
  }

  #connectionTo(host: string, port: number): Promise<Connection> {
    const address = `${host}:${port}`
    const existing = this.#connections.get(address)
    if (existing) {
      return existing.then((c) => {
        if (!c.closed) return c
        this.#connections.delete(address)
        return this.#connectionTo(host, port)
      })
    }
    const opening = Connection.open(this.#connectionOptions(host, port, this.connectTimeoutMs)).catch((err: unknown) => {
      this.#connections.delete(address)
      if (err instanceof ConnectionError) {
        throw new ConnectionError(address, `cannot reach the broker at ${address} advertised in the cluster metadata: ${reasonOf(err)} (check advertised.listeners)`)
      }
      throw err
    })
    this.#connections.set(address, opening)
    return opening
  }

  /** A connection to the leader of a partition (from cached metadata, refreshed if missing). */
  async leaderConnection(topic: string, partition: number): Promise<{ connection: Connection; leaderEpoch: number; nodeId: number }> {
    let p = this.#metadata?.topics.get(topic)?.partitions.find((x) => x.partition === partition)
    if (!p || p.leader < 0) p = (await this.topic(topic, { retryMs: 5000 })).partitions.find((x) => x.partition === partition)
    if (!p) throw new KafkaError(3, `partition ${topic}-${partition}`)
    if (p.leader < 0) throw new KafkaError(5, `partition ${topic}-${partition}`)
    return { connection: await this.brokerConnection(p.leader), leaderEpoch: p.leaderEpoch, nodeId: p.leader }
  }

  /** A connection to the controller (admin requests); any broker when the controller is unknown. */
  async controllerConnection(): Promise<Connection> {
    const md = this.#metadata ?? (await this.metadata([]))
    if (md.controllerId >= 0 && md.brokers.has(md.controllerId)) return this.brokerConnection(md.controllerId)
    return this.connect()
  }

  close(): void {
    this.#closed = true
    for (const c of this.#connections.values()) c.then((conn) => conn.close(), () => {})
    this.#connections.clear()
    this.#bootstrapConnection?.close()
    this.#bootstrapConnection = null
  }
}

function reasonOf(err: ConnectionError): string {
  // "cannot connect to h:p: connection refused" → "connection refused"
  const m = /: ([^:]+)$/.exec(err.message)
  return m ? m[1]! : err.message
}

export { describeSocketError }
