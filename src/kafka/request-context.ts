/**
 * What a handler sees: the request header, the connection, and the broker's services behind
 * narrow interfaces (so a handler never reaches into threads, sockets or files directly).
 */
import type { BrokerConfig } from '../config/broker-config.ts'
import type { Logger } from '../lib/logger.ts'
import type { MetadataImage } from '../metadata/image.ts'
import type { ConnectionInfo } from './connection.ts'
import type { Handler } from './handler.ts'
import type { ControllerService } from '../broker/controller-service.ts'
import type { ReplicaService } from '../broker/replica-service.ts'
import type { WatermarkWaiters } from './watermark-waiters.ts'
import type { ProducerIdService } from '../broker/producer-ids.ts'
import type { GroupCoordinatorService } from '../coordinator/service.ts'
import type { BrokerMetrics } from '../metrics/broker-metrics.ts'

export interface RequestContext {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly conn: ConnectionInfo
  readonly broker: BrokerServices
  readonly log: Logger
  /** Runs `cb` once this request's response has been handed to the socket (or the connection closed). */
  onResponseWritten(cb: () => void): void
}

export interface BrokerServices {
  readonly nodeId: number
  readonly clusterId: string
  readonly config: BrokerConfig
  /** The latest metadata image this broker has applied. */
  image(): MetadataImage
  readonly controller: ControllerService
  readonly replicas: ReplicaService
  readonly waiters: WatermarkWaiters
  readonly producerIds: ProducerIdService
  /** The group coordinator (this node coordinates every group on a single node). */
  readonly groups: GroupCoordinatorService
  /** Every handler, for ApiVersions (advertise exactly what is implemented). */
  readonly handlers: ReadonlyMap<number, Handler>
  /** Quota plumbing: the throttle a response should carry (0 until quotas exist). */
  throttleTimeMs(ctx: RequestContext): number
  /** Prometheus metrics; null when `samsa.metrics.listener` is off (nothing is counted then). */
  readonly metrics: BrokerMetrics | null
}
