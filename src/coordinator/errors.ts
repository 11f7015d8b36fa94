/**
 * Failures the group coordinator reports, by name. They become Kafka error codes only in
 * src/kafka/error-map.ts, like every other layer's errors.
 */
export type CoordinatorError =
  | 'coordinator_load_in_progress' | 'coordinator_not_available' | 'not_coordinator'
  | 'invalid_group_id' | 'group_id_not_found' | 'non_empty_group' | 'group_max_size_reached'
  | 'unknown_member_id' | 'member_id_required' | 'fenced_instance_id' | 'illegal_generation'
  | 'rebalance_in_progress' | 'inconsistent_group_protocol' | 'invalid_session_timeout'
  | 'offset_metadata_too_large' | 'invalid_commit_offset_size' | 'group_subscribed_to_topic'
  | 'unknown_topic_or_partition' | 'invalid_request' | 'unknown_server_error'
