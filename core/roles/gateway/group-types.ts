/**
 * The inputs and outputs of the consumer-group coordinator, in the coordinator's own small
 * types: the gateway decodes a Kafka request (any supported version) into one of these and
 * encodes the result into the response of the version asked for. Byte fields (protocol
 * metadata, assignments) are opaque to the coordinator: stored as copies and returned verbatim.
 */
import type { KafkaErrorCode } from '../../control/kafka-error-codes.ts';

/** Kafka's group state strings, as DescribeGroups and ListGroups show them. */
export const GROUP_STATE = {
  empty: 'Empty',
  preparingRebalance: 'PreparingRebalance',
  completingRebalance: 'CompletingRebalance',
  stable: 'Stable',
  dead: 'Dead',
} as const;
export type GroupState = (typeof GROUP_STATE)[keyof typeof GROUP_STATE];

/** A pending reply: called exactly once, possibly later, from another call or from tick(). */
export type Reply<T> = (result: T) => void;

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface JoinGroupRequest {
  /** The JoinGroup version (0-5): decides the MEMBER_ID_REQUIRED step (v4+). */
  readonly apiVersion: number;
  readonly groupId: string;
  /** "" for a member joining for the first time. */
  readonly memberId: string;
  /** Static membership (v5+); null when absent. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  /** -1 for v0, which has none: the session timeout is used instead. */
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
}

export interface JoinGroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface JoinGroupResult {
  readonly errorCode: KafkaErrorCode;
  /** -1 with an error. */
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leaderId: string;
  readonly memberId: string;
  /** Only the leader's reply lists the members; followers get an empty list. */
  readonly members: readonly JoinGroupMember[];
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string | null;
  /** The leader sends every member's assignment; followers send none. */
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Uint8Array }>;
}

export interface SyncGroupResult {
  readonly errorCode: KafkaErrorCode;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** Empty (0 bytes) with an error, or when the leader left this member out. */
  readonly assignment: Uint8Array;
}

export interface MemberIdentity {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string | null;
}

export type HeartbeatRequest = MemberIdentity;
/** OffsetCommit's group fields: generation -1 and member "" for a simple (non-group) commit. */
export type OffsetCommitRequest = MemberIdentity;

export interface LeaveGroupRequest {
  readonly groupId: string;
  /** v0-2 send one member (groupInstanceId null); v3 a batch. */
  readonly members: ReadonlyArray<{ readonly memberId: string; readonly groupInstanceId: string | null }>;
}

export interface LeaveGroupResult {
  readonly errorCode: KafkaErrorCode;
  readonly members: ReadonlyArray<{
    readonly memberId: string; readonly groupInstanceId: string | null; readonly errorCode: KafkaErrorCode;
  }>;
}

/**
 * The top-level error a LeaveGroup response of `apiVersion` carries: v3+ report per member and
 * keep the top level for the group; v0-2 have no member list, so the one member's error moves up.
 */
export function leaveGroupTopLevelError(result: LeaveGroupResult, apiVersion: number): KafkaErrorCode {
  if (apiVersion >= 3 || result.errorCode !== 0) return result.errorCode;
  return result.members[0]?.errorCode ?? result.errorCode;
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The chosen protocol's metadata; empty unless the group is Stable (as in Kafka). */
  readonly metadata: Uint8Array;
  /** Empty unless the group is Stable. */
  readonly assignment: Uint8Array;
}

export interface DescribedGroup {
  readonly errorCode: KafkaErrorCode;
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  /** The chosen protocol, only while Stable (Kafka shows "" otherwise). */
  readonly protocolName: string;
  readonly members: readonly DescribedMember[];
}

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
}

export interface DeletedGroup {
  readonly groupId: string;
  readonly errorCode: KafkaErrorCode;
}

/** A read-only picture of one group for tests, metrics and `x2 top`. */
export interface GroupView {
  readonly groupId: string;
  readonly state: GroupState;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  readonly memberIds: readonly string[];
  readonly pendingMemberIds: readonly string[];
  readonly assignments: ReadonlyMap<string, Uint8Array>;
}
