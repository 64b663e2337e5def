/**
 * The Kafka error table: every code named in research/kafka-protocol.md §5 is present with
 * its protocol number and Kafka's retriable flag, codes are unique, and lookups by code name
 * the error for logs. Method: compare against the list as written in the research note.
 */
import { describe, expect, it } from 'vitest';
import { KAFKA_ERROR, KAFKA_ERRORS, kafkaError, kafkaErrorName } from './kafka-errors.ts';

const RESEARCH_LIST: Record<string, number> = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
};

describe('Kafka error table', () => {
  it('holds every code of the research list under its protocol name', () => {
    for (const [name, code] of Object.entries(RESEARCH_LIST)) {
      expect(KAFKA_ERROR[name as keyof typeof KAFKA_ERROR], name).toBe(code);
    }
  });

  it('has unique codes and a message for each', () => {
    const codes = Object.values(KAFKA_ERRORS).map((spec) => spec.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const spec of Object.values(KAFKA_ERRORS)) expect(spec.message.length).toBeGreaterThan(5);
  });

  it("marks Kafka's retriable errors retriable", () => {
    for (const name of [
      'CORRUPT_MESSAGE',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'LEADER_NOT_AVAILABLE',
      'NOT_LEADER_OR_FOLLOWER',
      'REQUEST_TIMED_OUT',
      'COORDINATOR_LOAD_IN_PROGRESS',
      'COORDINATOR_NOT_AVAILABLE',
      'NOT_COORDINATOR',
      'NOT_CONTROLLER',
    ] as const) {
      expect(KAFKA_ERRORS[name].retriable, name).toBe(true);
    }
    for (const name of [
      'OFFSET_OUT_OF_RANGE',
      'MESSAGE_TOO_LARGE',
      'UNSUPPORTED_VERSION',
      'REBALANCE_IN_PROGRESS',
      'INVALID_RECORD',
      'MEMBER_ID_REQUIRED',
    ] as const) {
      expect(KAFKA_ERRORS[name].retriable, name).toBe(false);
    }
  });

  it('names codes for logs, including unknown ones', () => {
    expect(kafkaErrorName(2)).toBe('CORRUPT_MESSAGE (2)');
    expect(kafkaErrorName(9999)).toBe('code 9999');
    expect(kafkaError(79)?.name).toBe('MEMBER_ID_REQUIRED');
    expect(kafkaError(9999)).toBeUndefined();
  });
});
