/**
 * Settings and limits of the consumer-group coordinator. Every collection the coordinator holds
 * is bounded by one of these, with the reason beside it; member metadata and assignment bytes
 * are bounded per request by the gateway's request size limit, so groups x members x that limit
 * bounds the memory of all groups.
 */
import { randomUUID } from 'node:crypto';

/** Groups one coordinator keeps; Empty groups are evicted first when it is reached. */
export const GROUP_COUNT_MAX = 100_000;
/** Kafka clients list 1-3 assignment protocols; anything near this is a broken client. */
export const PROTOCOLS_PER_MEMBER_MAX = 64;

export interface GroupCoordinatorConfig {
  /** JoinGroup session timeouts outside [min, max] get INVALID_SESSION_TIMEOUT (26). */
  readonly sessionTimeoutMsMin: number;
  readonly sessionTimeoutMsMax: number;
  /** Wait before the first rebalance of an Empty group, so a starting fleet joins at once. */
  readonly initialRebalanceDelayMs: number;
  /** Members plus parked (MEMBER_ID_REQUIRED) members per group; GROUP_MAX_SIZE_REACHED (81) past it. */
  readonly groupMemberCountMax: number;
  /** New member ids; Kafka's form is `clientId-<uuid>`. Tests pass a deterministic one. */
  readonly newMemberId: (clientId: string) => string;
}

export const GROUP_COORDINATOR_DEFAULTS: GroupCoordinatorConfig = {
  // Kafka's group.min.session.timeout.ms is 6000, but librdkafka's tests use 5000 and kafkajs
  // tests go lower; 1000 still stops a client from expiring itself by accident.
  sessionTimeoutMsMin: 1_000,
  sessionTimeoutMsMax: 1_800_000,
  // Kafka defaults to 3000; 0 lets a single consumer start at once (kafkajs's test cluster does so).
  initialRebalanceDelayMs: 0,
  // A consumer group larger than this is almost surely a bug (members leaking ids).
  groupMemberCountMax: 1_000,
  newMemberId: (clientId) => `${clientId}-${randomUUID()}`,
};
