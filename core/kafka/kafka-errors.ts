/**
 * The Kafka error-code table: every code x2 answers to Kafka clients, with its protocol name,
 * whether clients retry it, and a one-line meaning (wording ours). Handlers use the names
 * (`KAFKA_ERROR.CORRUPT_MESSAGE`), never bare numbers; logs use `kafkaErrorName(code)`.
 * The numbers and retriable flags are Kafka's protocol constants and must never change.
 */

type KafkaErrorSpec = { readonly code: number; readonly retriable: boolean; readonly message: string };

export const KAFKA_ERRORS = {
  UNKNOWN_SERVER_ERROR: { code: -1, retriable: false, message: 'unexpected error on the server' },
  NONE: { code: 0, retriable: false, message: 'no error' },
  OFFSET_OUT_OF_RANGE: { code: 1, retriable: false, message: 'offset is outside the partition range' },
  CORRUPT_MESSAGE: { code: 2, retriable: true, message: 'record batch failed its CRC or is malformed' },
  UNKNOWN_TOPIC_OR_PARTITION: { code: 3, retriable: true, message: 'topic or partition does not exist' },
  LEADER_NOT_AVAILABLE: { code: 5, retriable: true, message: 'partition has no leader yet' },
  NOT_LEADER_OR_FOLLOWER: { code: 6, retriable: true, message: 'this node does not lead the partition' },
  REQUEST_TIMED_OUT: { code: 7, retriable: true, message: 'request timed out' },
  MESSAGE_TOO_LARGE: { code: 10, retriable: false, message: 'record batch is larger than allowed' },
  OFFSET_METADATA_TOO_LARGE: { code: 12, retriable: false, message: 'offset commit metadata too large' },
  COORDINATOR_LOAD_IN_PROGRESS: { code: 14, retriable: true, message: 'coordinator is loading its state' },
  COORDINATOR_NOT_AVAILABLE: { code: 15, retriable: true, message: 'coordinator is not available' },
  NOT_COORDINATOR: { code: 16, retriable: true, message: 'this node is not the coordinator' },
  INVALID_TOPIC_EXCEPTION: { code: 17, retriable: false, message: 'topic name is invalid' },
  RECORD_LIST_TOO_LARGE: { code: 18, retriable: false, message: 'produce request is too large' },
  NOT_ENOUGH_REPLICAS: { code: 19, retriable: true, message: 'too few replicas to accept the write' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { code: 20, retriable: true, message: 'written to too few replicas' },
  INVALID_REQUIRED_ACKS: { code: 21, retriable: false, message: 'acks must be -1, 0 or 1' },
  ILLEGAL_GENERATION: { code: 22, retriable: false, message: 'group generation is not current' },
  INCONSISTENT_GROUP_PROTOCOL: { code: 23, retriable: false, message: 'no protocol shared with the group' },
  INVALID_GROUP_ID: { code: 24, retriable: false, message: 'group id is invalid' },
  UNKNOWN_MEMBER_ID: { code: 25, retriable: false, message: 'member id is not in the group' },
  INVALID_SESSION_TIMEOUT: { code: 26, retriable: false, message: 'session timeout is out of range' },
  REBALANCE_IN_PROGRESS: { code: 27, retriable: false, message: 'group is rebalancing; rejoin' },
  INVALID_COMMIT_OFFSET_SIZE: { code: 28, retriable: false, message: 'committed offset is invalid' },
  UNSUPPORTED_VERSION: { code: 35, retriable: false, message: 'api version is not supported' },
  TOPIC_ALREADY_EXISTS: { code: 36, retriable: false, message: 'topic already exists' },
  INVALID_PARTITIONS: { code: 37, retriable: false, message: 'partition count is invalid' },
  INVALID_REPLICATION_FACTOR: { code: 38, retriable: false, message: 'replication factor is invalid' },
  INVALID_REPLICA_ASSIGNMENT: { code: 39, retriable: false, message: 'replica assignment is invalid' },
  INVALID_CONFIG: { code: 40, retriable: false, message: 'configuration is invalid' },
  NOT_CONTROLLER: { code: 41, retriable: true, message: 'this node is not the controller' },
  INVALID_REQUEST: { code: 42, retriable: false, message: 'request is malformed or inconsistent' },
  UNSUPPORTED_FOR_MESSAGE_FORMAT: { code: 43, retriable: false, message: 'message format is not supported' },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { code: 45, retriable: false, message: 'producer sequence has a gap' },
  DUPLICATE_SEQUENCE_NUMBER: { code: 46, retriable: false, message: 'producer sequence is a duplicate' },
  INVALID_PRODUCER_EPOCH: { code: 47, retriable: false, message: 'producer epoch is fenced' },
  UNKNOWN_PRODUCER_ID: { code: 59, retriable: false, message: 'producer id is unknown' },
  NON_EMPTY_GROUP: { code: 68, retriable: false, message: 'group still has members' },
  GROUP_ID_NOT_FOUND: { code: 69, retriable: false, message: 'group does not exist' },
  UNSUPPORTED_COMPRESSION_TYPE: { code: 76, retriable: false, message: 'compression codec is not supported' },
  MEMBER_ID_REQUIRED: { code: 79, retriable: false, message: 'rejoin with the member id given' },
  GROUP_MAX_SIZE_REACHED: { code: 81, retriable: false, message: 'group is at its maximum size' },
  FENCED_INSTANCE_ID: { code: 82, retriable: false, message: 'static member instance is fenced' },
  INVALID_RECORD: { code: 87, retriable: false, message: 'record batch fails validation' },
} as const satisfies Record<string, KafkaErrorSpec>;

export type KafkaErrorName = keyof typeof KAFKA_ERRORS;

/** Error codes by name, for handlers: `KAFKA_ERROR.NONE`, `KAFKA_ERROR.CORRUPT_MESSAGE`. */
export const KAFKA_ERROR = Object.fromEntries(
  Object.entries(KAFKA_ERRORS).map(([name, spec]) => [name, spec.code]),
) as { readonly [N in KafkaErrorName]: (typeof KAFKA_ERRORS)[N]['code'] };

export type KafkaErrorCode = (typeof KAFKA_ERRORS)[KafkaErrorName]['code'];

const BY_CODE = new Map<number, KafkaErrorSpec & { name: KafkaErrorName }>(
  (Object.entries(KAFKA_ERRORS) as [KafkaErrorName, KafkaErrorSpec][]).map(([name, spec]) => [
    spec.code,
    { ...spec, name },
  ]),
);

/** The table entry of a code, or undefined for a code x2 never sends. */
export function kafkaError(code: number): (KafkaErrorSpec & { name: KafkaErrorName }) | undefined {
  return BY_CODE.get(code);
}

/** `CORRUPT_MESSAGE (2)`, or `code 99` for a code outside the table. */
export function kafkaErrorName(code: number): string {
  const entry = BY_CODE.get(code);
  return entry ? `${entry.name} (${code})` : `code ${code}`;
}
