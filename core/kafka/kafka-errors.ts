/**
 * The Kafka error-code table: every code x2 answers to Kafka clients, with its protocol name,
 * whether clients retry it, and a one-line meaning (wording ours). Handlers use the names
 * (`KAFKA_ERROR.CORRUPT_MESSAGE`), never bare numbers; logs use `kafkaErrorName(code)`.
 * The numbers and retriable flags are Kafka's protocol constants and must never change.
 */

type KafkaErrorSpec = {
  readonly code: number;
  readonly retriable: boolean;
  readonly message: string;
};

function entry<C extends number, R extends boolean>(code: C, retriable: R, message: string) {
  return { code, retriable, message } as const;
}

export const KAFKA_ERRORS = {
  UNKNOWN_SERVER_ERROR: entry(-1, false, 'unexpected error on the server'),
  NONE: entry(0, false, 'no error'),
  OFFSET_OUT_OF_RANGE: entry(1, false, 'offset is outside the partition range'),
  CORRUPT_MESSAGE: entry(2, true, 'record batch failed its CRC or is malformed'),
  UNKNOWN_TOPIC_OR_PARTITION: entry(3, true, 'topic or partition does not exist'),
  LEADER_NOT_AVAILABLE: entry(5, true, 'partition has no leader yet'),
  NOT_LEADER_OR_FOLLOWER: entry(6, true, 'this node does not lead the partition'),
  REQUEST_TIMED_OUT: entry(7, true, 'request timed out'),
  MESSAGE_TOO_LARGE: entry(10, false, 'record batch is larger than allowed'),
  OFFSET_METADATA_TOO_LARGE: entry(12, false, 'offset commit metadata too large'),
  COORDINATOR_LOAD_IN_PROGRESS: entry(14, true, 'coordinator is loading its state'),
  COORDINATOR_NOT_AVAILABLE: entry(15, true, 'coordinator is not available'),
  NOT_COORDINATOR: entry(16, true, 'this node is not the coordinator'),
  INVALID_TOPIC_EXCEPTION: entry(17, false, 'topic name is invalid'),
  RECORD_LIST_TOO_LARGE: entry(18, false, 'produce request is too large'),
  NOT_ENOUGH_REPLICAS: entry(19, true, 'too few replicas to accept the write'),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: entry(20, true, 'written to too few replicas'),
  INVALID_REQUIRED_ACKS: entry(21, false, 'acks must be -1, 0 or 1'),
  ILLEGAL_GENERATION: entry(22, false, 'group generation is not current'),
  INCONSISTENT_GROUP_PROTOCOL: entry(23, false, 'no protocol shared with the group'),
  INVALID_GROUP_ID: entry(24, false, 'group id is invalid'),
  UNKNOWN_MEMBER_ID: entry(25, false, 'member id is not in the group'),
  INVALID_SESSION_TIMEOUT: entry(26, false, 'session timeout is out of range'),
  REBALANCE_IN_PROGRESS: entry(27, false, 'group is rebalancing; rejoin'),
  INVALID_COMMIT_OFFSET_SIZE: entry(28, false, 'committed offset is invalid'),
  UNSUPPORTED_SASL_MECHANISM: entry(33, false, 'SASL mechanism is not enabled on this listener'),
  ILLEGAL_SASL_STATE: entry(34, false, 'SASL request out of sequence'),
  UNSUPPORTED_VERSION: entry(35, false, 'api version is not supported'),
  TOPIC_ALREADY_EXISTS: entry(36, false, 'topic already exists'),
  INVALID_PARTITIONS: entry(37, false, 'partition count is invalid'),
  INVALID_REPLICATION_FACTOR: entry(38, false, 'replication factor is invalid'),
  INVALID_REPLICA_ASSIGNMENT: entry(39, false, 'replica assignment is invalid'),
  INVALID_CONFIG: entry(40, false, 'configuration is invalid'),
  NOT_CONTROLLER: entry(41, true, 'this node is not the controller'),
  INVALID_REQUEST: entry(42, false, 'request is malformed or inconsistent'),
  UNSUPPORTED_FOR_MESSAGE_FORMAT: entry(43, false, 'message format is not supported'),
  OUT_OF_ORDER_SEQUENCE_NUMBER: entry(45, false, 'producer sequence has a gap'),
  DUPLICATE_SEQUENCE_NUMBER: entry(46, false, 'producer sequence is a duplicate'),
  INVALID_PRODUCER_EPOCH: entry(47, false, 'producer epoch is fenced'),
  SASL_AUTHENTICATION_FAILED: entry(58, false, 'SASL authentication failed'),
  UNKNOWN_PRODUCER_ID: entry(59, false, 'producer id is unknown'),
  NON_EMPTY_GROUP: entry(68, false, 'group still has members'),
  GROUP_ID_NOT_FOUND: entry(69, false, 'group does not exist'),
  UNSUPPORTED_COMPRESSION_TYPE: entry(76, false, 'compression codec is not supported'),
  MEMBER_ID_REQUIRED: entry(79, false, 'rejoin with the member id given'),
  GROUP_MAX_SIZE_REACHED: entry(81, false, 'group is at its maximum size'),
  FENCED_INSTANCE_ID: entry(82, false, 'static member instance is fenced'),
  INVALID_RECORD: entry(87, false, 'record batch fails validation'),
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
