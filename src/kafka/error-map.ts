/**
 * The one place where internal errors become Kafka wire error codes.
 *
 * Every layer below the Kafka API (storage, actors, metadata, controller) reports failures as
 * string values from its own closed set; handlers pass them through `errorCode()`. A new
 * internal error that is not listed here is a type error, so no failure leaves the broker
 * without a deliberate code.
 */
import { ERROR } from '../protocol/errors.ts'
import type { AppendErrorName } from './internal-errors.ts'
import type { CoordinatorError } from '../coordinator/errors.ts'

/**
 * Kafka's error codes by name. The one table is the protocol's (src/protocol/errors.ts, which
 * also knows which are retriable); handlers use this alias for codes they set directly.
 */
export const ErrorCode = ERROR

export type InternalError =
  | AppendErrorName
  | 'offset_out_of_range' | 'not_leader_or_follower' | 'fenced_leader_epoch' | 'unknown_leader_epoch'
  | 'shard_unavailable' | 'request_timed_out' | 'unknown_topic_or_partition' | 'unknown_topic_id'
  | 'leader_not_available' | 'not_enough_replicas'
  // controller
  | 'topic_already_exists' | 'invalid_topic_exception' | 'invalid_partitions' | 'invalid_replication_factor'
  | 'invalid_replica_assignment' | 'invalid_config' | 'topic_deletion_disabled' | 'policy_violation'
  | 'invalid_request' | 'not_controller' | 'invalid_required_acks' | 'unknown_server_error'
  // group coordinator (src/coordinator/errors.ts)
  | CoordinatorError

const MAP: Record<InternalError, number> = {
  corrupt_message: ErrorCode.CORRUPT_MESSAGE,
  invalid_record: ErrorCode.INVALID_RECORD,
  message_too_large: ErrorCode.MESSAGE_TOO_LARGE,
  record_list_too_large: ErrorCode.RECORD_LIST_TOO_LARGE,
  unsupported_for_message_format: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  invalid_timestamp: ErrorCode.INVALID_TIMESTAMP,
  out_of_order_sequence_number: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  invalid_producer_epoch: ErrorCode.INVALID_PRODUCER_EPOCH,
  invalid_txn_state: ErrorCode.INVALID_TXN_STATE,
  kafka_storage_error: ErrorCode.KAFKA_STORAGE_ERROR,
  offset_out_of_range: ErrorCode.OFFSET_OUT_OF_RANGE,
  not_leader_or_follower: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  fenced_leader_epoch: ErrorCode.FENCED_LEADER_EPOCH,
  unknown_leader_epoch: ErrorCode.UNKNOWN_LEADER_EPOCH,
  // A shard worker that died is being restarted: the client should refresh metadata and retry,
  // which NOT_LEADER_OR_FOLLOWER makes every client do.
  shard_unavailable: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  request_timed_out: ErrorCode.REQUEST_TIMED_OUT,
  unknown_topic_or_partition: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  unknown_topic_id: ErrorCode.UNKNOWN_TOPIC_ID,
  leader_not_available: ErrorCode.LEADER_NOT_AVAILABLE,
  not_enough_replicas: ErrorCode.NOT_ENOUGH_REPLICAS,
  topic_already_exists: ErrorCode.TOPIC_ALREADY_EXISTS,
  invalid_topic_exception: ErrorCode.INVALID_TOPIC_EXCEPTION,
  invalid_partitions: ErrorCode.INVALID_PARTITIONS,
  invalid_replication_factor: ErrorCode.INVALID_REPLICATION_FACTOR,
  invalid_replica_assignment: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  invalid_config: ErrorCode.INVALID_CONFIG,
  topic_deletion_disabled: ErrorCode.TOPIC_DELETION_DISABLED,
  policy_violation: ErrorCode.POLICY_VIOLATION,
  invalid_request: ErrorCode.INVALID_REQUEST,
  not_controller: ErrorCode.NOT_CONTROLLER,
  invalid_required_acks: ErrorCode.INVALID_REQUIRED_ACKS,
  unknown_server_error: ErrorCode.UNKNOWN_SERVER_ERROR,
  coordinator_load_in_progress: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  coordinator_not_available: ErrorCode.COORDINATOR_NOT_AVAILABLE,
  not_coordinator: ErrorCode.NOT_COORDINATOR,
  invalid_group_id: ErrorCode.INVALID_GROUP_ID,
  group_id_not_found: ErrorCode.GROUP_ID_NOT_FOUND,
  non_empty_group: ErrorCode.NON_EMPTY_GROUP,
  group_max_size_reached: ErrorCode.GROUP_MAX_SIZE_REACHED,
  unknown_member_id: ErrorCode.UNKNOWN_MEMBER_ID,
  member_id_required: ErrorCode.MEMBER_ID_REQUIRED,
  fenced_instance_id: ErrorCode.FENCED_INSTANCE_ID,
  illegal_generation: ErrorCode.ILLEGAL_GENERATION,
  rebalance_in_progress: ErrorCode.REBALANCE_IN_PROGRESS,
  inconsistent_group_protocol: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  invalid_session_timeout: ErrorCode.INVALID_SESSION_TIMEOUT,
  offset_metadata_too_large: ErrorCode.OFFSET_METADATA_TOO_LARGE,
  invalid_commit_offset_size: ErrorCode.INVALID_COMMIT_OFFSET_SIZE,
  group_subscribed_to_topic: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
}

export function errorCode(error: InternalError): number {
  return MAP[error]
}
