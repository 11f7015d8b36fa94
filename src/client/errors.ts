/**
 * Errors of the client library. Every failure a user can cause or meet (a broker that cannot be
 * reached, a request that timed out, a Kafka error code in a response) is one of these, with a
 * message that reads well on one line; the command-line tools print `err.message` and nothing else.
 */
import { errorName, isRetriable } from '../protocol/errors.ts'

/** Base class: anything the tools may print as a one-line message instead of a stack trace. */
export class ClientError extends Error {
  override name = 'ClientError'
}

/** A broker could not be reached, or the connection broke. */
export class ConnectionError extends ClientError {
  override name = 'ConnectionError'
  readonly address: string
  constructor(address: string, message: string) {
    super(message)
    this.address = address
  }
}

/** No answer within the deadline. */
export class TimeoutError extends ClientError {
  override name = 'TimeoutError'
}

/** The broker does not offer an API (or no version both sides speak). */
export class UnsupportedVersionError extends ClientError {
  override name = 'UnsupportedVersionError'
}

/** A Kafka error code returned by the broker, e.g. TOPIC_ALREADY_EXISTS. */
export class KafkaError extends ClientError {
  override name = 'KafkaError'
  readonly code: number
  readonly errorName: string
  readonly retriable: boolean
  /** The broker's own error message, when it sent one. */
  readonly brokerMessage: string | null

  constructor(code: number, context: string, brokerMessage: string | null = null) {
    super(`${context}: ${brokerMessage ?? describeError(code)} (${errorName(code)})`)
    this.code = code
    this.errorName = errorName(code)
    this.retriable = isRetriable(code)
    this.brokerMessage = brokerMessage
  }
}

/** Human wording for the error codes people meet with the tools; others fall back to the code name. */
const DESCRIPTIONS: Record<number, string> = {
  1: 'the requested offset is outside the range of offsets held for this partition',
  2: 'the record batch failed its CRC or size check',
  3: 'this topic or partition does not exist on the broker',
  5: 'no leader is available for this partition yet',
  6: 'this broker is not the leader for the partition',
  7: 'the request timed out on the broker',
  10: 'the record batch is larger than the topic accepts (max.message.bytes)',
  14: 'the group coordinator is still loading its groups',
  15: 'the group coordinator is not available yet',
  16: 'this broker is not the coordinator of the group',
  17: 'the topic name is not valid',
  19: 'not enough in-sync replicas to accept the write (min.insync.replicas)',
  22: 'the group has moved on to a newer generation',
  23: 'the group\'s members use a different protocol or assignor',
  25: 'the group does not know this member (it was removed, e.g. after its session timed out)',
  26: 'the session timeout is outside the broker\'s group.min.session.timeout.ms..group.max.session.timeout.ms',
  27: 'the group is rebalancing',
  35: 'the broker does not support this request version',
  36: 'the topic already exists',
  37: 'the number of partitions is not valid',
  38: 'the replication factor is not valid',
  40: 'the configuration is not valid',
  42: 'the broker found the request invalid',
  68: 'the group is not empty: it has active members',
  69: 'the group does not exist',
  82: 'another member uses the same group.instance.id',
  86: 'the group subscribes to this topic',
  87: 'the record is not valid',
}

export function describeError(code: number): string {
  return DESCRIPTIONS[code] ?? errorName(code).toLowerCase().replaceAll('_', ' ')
}

/** Throws a KafkaError when `code` is not NONE. */
export function throwIfError(code: number, context: string, brokerMessage?: string | null): void {
  if (code !== 0) throw new KafkaError(code, context, brokerMessage ?? null)
}

/** A blocking call (a rebalance, a wait) was interrupted by `wakeup()` or `close()`. */
export class WakeupError extends ClientError {
  override name = 'WakeupError'
}
