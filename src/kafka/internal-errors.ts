/** Append failures reported by the storage engine (src/storage), by name. */
export type AppendErrorName =
  | 'corrupt_message' | 'invalid_record' | 'message_too_large' | 'record_list_too_large' | 'unsupported_for_message_format'
  | 'invalid_timestamp' | 'out_of_order_sequence_number' | 'invalid_producer_epoch' | 'invalid_txn_state' | 'kafka_storage_error'
