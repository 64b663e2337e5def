/**
 * Consumer-group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups. The coordinator of a group
 * is the live gateway a stable hash of the group id picks (gateway.coordinatorOf); group requests
 * sent to any other gateway get NOT_COORDINATOR, so clients look it up again. The state machine is
 * group-coordinator.ts; this file only translates versions and wires replies.
 *
 * Committed offsets are appended to `__consumer_offsets` and the commit is answered once the
 * record is applied here; every gateway applies that stream, so OffsetFetch works on any of them
 * and a gateway that takes a group over already has its offsets.
 */
import { encodeOffsetsRecord } from '../../control/offsets-records.ts';
import { offsetCommit, type OffsetCommitRequest, type OffsetCommitResponse } from '../../kafka/api/08-offset-commit.ts';
import { offsetFetch, type OffsetFetchRequest, type OffsetFetchResponse } from '../../kafka/api/09-offset-fetch.ts';
import { findCoordinator, type FindCoordinatorRequest } from '../../kafka/api/10-find-coordinator.ts';
import { joinGroup, type JoinGroupRequest } from '../../kafka/api/11-join-group.ts';
import { heartbeat, type HeartbeatRequest } from '../../kafka/api/12-heartbeat.ts';
import { leaveGroup, type LeaveGroupRequest } from '../../kafka/api/13-leave-group.ts';
import { syncGroup, type SyncGroupRequest } from '../../kafka/api/14-sync-group.ts';
import { describeGroups, type DescribeGroupsRequest } from '../../kafka/api/15-describe-groups.ts';
import { listGroups } from '../../kafka/api/16-list-groups.ts';
import { deleteGroups, type DeleteGroupsRequest } from '../../kafka/api/42-delete-groups.ts';
import { KAFKA_ERROR } from '../../kafka/kafka-errors.ts';
import type { RequestContext } from './connection.ts';
import { OFFSETS_STREAM_ID } from './gateway-state.ts';
import type { Gateway } from './gateway.ts';

const KEY_TYPE_GROUP = 0;

/** Handles the request if it is a group API; false otherwise. */
export function dispatchGroups(gateway: Gateway, context: RequestContext, request: unknown): boolean {
  switch (context.apiKey) {
    case 10: handleFindCoordinator(gateway, context, request as FindCoordinatorRequest); return true;
    case 11: handleJoinGroup(gateway, context, request as JoinGroupRequest); return true;
    case 14: handleSyncGroup(gateway, context, request as SyncGroupRequest); return true;
    case 12: handleHeartbeat(gateway, context, request as HeartbeatRequest); return true;
    case 13: handleLeaveGroup(gateway, context, request as LeaveGroupRequest); return true;
    case 8: void handleOffsetCommit(gateway, context, request as OffsetCommitRequest); return true;
    case 9: handleOffsetFetch(gateway, context, request as OffsetFetchRequest); return true;
    case 15: handleDescribeGroups(gateway, context, request as DescribeGroupsRequest); return true;
    case 16: handleListGroups(gateway, context); return true;
    case 42: void handleDeleteGroups(gateway, context, request as DeleteGroupsRequest); return true;
    default: return false;
  }
}

function isCoordinator(gateway: Gateway, groupId: string): boolean {
  return gateway.coordinatorOf(groupId).nodeId === gateway.self.nodeId;
}

function handleFindCoordinator(gateway: Gateway, context: RequestContext, request: FindCoordinatorRequest): void {
  if (context.apiVersion >= 1 && request.keyType !== KEY_TYPE_GROUP) {
    context.respond(findCoordinator, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'transactions are not offered by x2', nodeId: -1, host: '', port: -1 });
    return;
  }
  const node = gateway.coordinatorOf(request.key);
  context.respond(findCoordinator, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NONE, errorMessage: null,
    nodeId: node.nodeId, host: node.host, port: node.port });
}

function handleJoinGroup(gateway: Gateway, context: RequestContext, request: JoinGroupRequest): void {
  if (!isCoordinator(gateway, request.groupId)) {
    context.respond(joinGroup, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NOT_COORDINATOR, generationId: -1,
      protocolName: '', leader: '', memberId: request.memberId, members: [] });
    return;
  }
  gateway.groups.joinGroup({
    apiVersion: context.apiVersion, groupId: request.groupId, memberId: request.memberId,
    groupInstanceId: request.groupInstanceId, clientId: context.clientId, clientHost: context.connection.clientHost,
    sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs: context.apiVersion === 0 ? -1
      : request.rebalanceTimeoutMs,
    protocolType: request.protocolType, protocols: request.protocols.map((protocol) => ({ name: protocol.name,
      metadata: protocol.metadata })),
  }, Date.now(), (result) => {
    context.respond(joinGroup, {
      throttleTimeMs: 0, errorCode: result.errorCode, generationId: result.generationId,
      protocolName: result.protocolName ?? '', leader: result.leaderId, memberId: result.memberId,
      members: result.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId,
        metadata: Buffer.from(member.metadata.buffer, member.metadata.byteOffset, member.metadata.length) })),
    });
  });
}

function handleSyncGroup(gateway: Gateway, context: RequestContext, request: SyncGroupRequest): void {
  if (!isCoordinator(gateway, request.groupId)) {
    context.respond(syncGroup, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NOT_COORDINATOR,
      assignment: Buffer.alloc(0) });
    return;
  }
  gateway.groups.syncGroup({
    groupId: request.groupId, memberId: request.memberId, generationId: request.generationId,
    groupInstanceId: request.groupInstanceId, assignments: request.assignments,
  }, Date.now(), (result) => {
    context.respond(syncGroup, { throttleTimeMs: 0, errorCode: result.errorCode,
      assignment: Buffer.from(result.assignment.buffer, result.assignment.byteOffset, result.assignment.length) });
  });
}

function handleHeartbeat(gateway: Gateway, context: RequestContext, request: HeartbeatRequest): void {
  const errorCode = isCoordinator(gateway, request.groupId)
    ? gateway.groups.heartbeat({ groupId: request.groupId, memberId: request.memberId,
      generationId: request.generationId,
      groupInstanceId: request.groupInstanceId }, Date.now())
    : KAFKA_ERROR.NOT_COORDINATOR;
  context.respond(heartbeat, { throttleTimeMs: 0, errorCode });
}

function handleLeaveGroup(gateway: Gateway, context: RequestContext, request: LeaveGroupRequest): void {
  const members = context.apiVersion >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
  if (!isCoordinator(gateway, request.groupId)) {
    context.respond(leaveGroup, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NOT_COORDINATOR, members: [] });
    return;
  }
  const result = gateway.groups.leaveGroup({ groupId: request.groupId, members }, Date.now());
  context.respond(leaveGroup, { throttleTimeMs: 0, errorCode: result.errorCode, members: [...result.members] });
}

async function handleOffsetCommit(gateway: Gateway, context: RequestContext,
  request: OffsetCommitRequest): Promise<void> {
  const answer = (errorOf: (topic: string, partition: number) => number): void => {
    const response: OffsetCommitResponse = {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partitionIndex: partition.partitionIndex, errorCode: errorOf(topic.name, partition.partitionIndex),
        })),
      })),
    };
    context.respond(offsetCommit, response);
  };
  if (!isCoordinator(gateway, request.groupId)) return answer(() => KAFKA_ERROR.NOT_COORDINATOR);
  const groupError = gateway.groups.validateOffsetCommit({ groupId: request.groupId, memberId: request.memberId,
    generationId: request.generationId, groupInstanceId: request.groupInstanceId }, Date.now());
  if (groupError !== KAFKA_ERROR.NONE) return answer(() => groupError);
  const control = gateway.state.control;
  const nowMs = Date.now();
  const values: Buffer[] = [];
  for (const topic of request.topics) {
    for (const partition of topic.partitions) {
      if (control.streamIdOf(topic.name, partition.partitionIndex) === undefined) continue;
      values.push(encodeOffsetsRecord({
        kind: 'offset-committed', group: request.groupId, topic: topic.name, partition: partition.partitionIndex,
        offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch,
        metadata: partition.committedMetadata, commitTimeMs: nowMs,
      }));
    }
  }
  let appendError: number = KAFKA_ERROR.NONE;
  if (values.length > 0) {
    try {
      await gateway.appendInternal(OFFSETS_STREAM_ID, values);
    } catch {
      appendError = KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE;
    }
  }
  answer((topic, partition) => control.streamIdOf(topic, partition) === undefined
    ? KAFKA_ERROR.UNKNOWN_TOPIC_OR_PARTITION : appendError);
}

function handleOffsetFetch(gateway: Gateway, context: RequestContext, request: OffsetFetchRequest): void {
  const offsets = gateway.state.offsets;
  const topics: OffsetFetchResponse['topics'] = [];
  if (request.topics === null) {
    const byTopic = new Map<string, OffsetFetchResponse['topics'][number]['partitions']>();
    for (const committed of offsets.fetchAll(request.groupId)) {
      let partitions = byTopic.get(committed.topic);
      if (!partitions) { partitions = []; byTopic.set(committed.topic,
        partitions); topics.push({ name: committed.topic, partitions }); }
      partitions.push({ partitionIndex: committed.partition, committedOffset: committed.offset,
        committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata ?? '', errorCode: KAFKA_ERROR.NONE });
    }
  } else {
    for (const topic of request.topics) {
      topics.push({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => {
          const committed = offsets.fetch(request.groupId, topic.name, partitionIndex);
          return { partitionIndex, committedOffset: committed?.offset ?? -1,
            committedLeaderEpoch: committed?.leaderEpoch ?? -1,
            metadata: committed?.metadata ?? '', errorCode: KAFKA_ERROR.NONE };
        }),
      });
    }
  }
  context.respond(offsetFetch, { throttleTimeMs: 0, topics, errorCode: KAFKA_ERROR.NONE });
}

function handleDescribeGroups(gateway: Gateway, context: RequestContext, request: DescribeGroupsRequest): void {
  const described = gateway.groups.describeGroups(request.groups, new Set(gateway.state.offsets.groupIds()));
  context.respond(describeGroups, {
    throttleTimeMs: 0,
    groups: described.map((group) => ({
      errorCode: isCoordinator(gateway, group.groupId) ? group.errorCode : KAFKA_ERROR.NOT_COORDINATOR,
      groupId: group.groupId, groupState: group.state, protocolType: group.protocolType,
        protocolData: group.protocolName,
      members: group.members.map((member) => ({
        memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: Buffer.from(member.metadata.buffer, member.metadata.byteOffset, member.metadata.length),
        memberAssignment: Buffer.from(member.assignment.buffer, member.assignment.byteOffset, member.assignment.length),
      })),
      authorizedOperations: -2147483648,
    })),
  });
}

function handleListGroups(gateway: Gateway, context: RequestContext): void {
  const listed = gateway.groups.listGroups(gateway.state.offsets.groupIds()
    .filter((groupId) => isCoordinator(gateway, groupId)));
  context.respond(listGroups, { throttleTimeMs: 0, errorCode: KAFKA_ERROR.NONE,
    groups: listed.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType })) });
}

/**
 * DeleteGroups: each group on its coordinator (NOT_COORDINATOR elsewhere), only without members
 * (NON_EMPTY_GROUP), GROUP_ID_NOT_FOUND for a group with neither members nor offsets. A deleted
 * group's offsets go with a group-deleted record in `__consumer_offsets`, so every gateway drops
 * them; the answer waits until that record is applied here.
 */
async function handleDeleteGroups(gateway: Gateway, context: RequestContext,
  request: DeleteGroupsRequest): Promise<void> {
  const errors = new Map<string, number>();
  const mine = request.groupsNames.filter((groupId) => isCoordinator(gateway, groupId));
  const offsetGroupIds = new Set(gateway.state.offsets.groupIds());
  const deleted: string[] = [];
  for (const result of gateway.groups.deleteGroups(mine, offsetGroupIds)) {
    errors.set(result.groupId, result.errorCode);
    if (result.errorCode === KAFKA_ERROR.NONE && offsetGroupIds.has(result.groupId)) deleted.push(result.groupId);
  }
  if (deleted.length > 0) {
    try {
      await gateway.appendInternal(OFFSETS_STREAM_ID,
        deleted.map((group) => encodeOffsetsRecord({ kind: 'group-deleted', group })));
    } catch {
      for (const groupId of deleted) errors.set(groupId, KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE);
    }
  }
  context.respond(deleteGroups, { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({
    groupId, errorCode: errors.get(groupId) ?? KAFKA_ERROR.NOT_COORDINATOR })) });
}
