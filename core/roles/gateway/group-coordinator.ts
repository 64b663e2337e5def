/**
 * The consumer-group coordinator: Kafka's group state machine (Empty -> PreparingRebalance ->
 * CompletingRebalance -> Stable, and Dead), one instance per gateway for the groups whose
 * coordinator that gateway is. The gateway decodes JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit (its group checks), DescribeGroups, ListGroups and DeleteGroups into calls here
 * and writes the results back; JoinGroup and SyncGroup may be answered later (a Reply callback),
 * when the rebalance they wait for completes.
 *
 * Time: the coordinator has no timers. Every call takes `nowMs`, and the gateway's loop calls
 * tick(nowMs) to fire deadlines: parked member ids expire after one session timeout, a join
 * phase ends at the largest rebalance timeout of the members, members that do not sync within
 * it are removed, members whose session lapses are removed. So tests drive time exactly.
 *
 * Replies: every Reply is called exactly once: with the result, with an error when its member
 * is removed or the phase restarts, or by resign(). Replies are queued while state changes and
 * delivered when the public call returns, so a callback that calls back in sees a settled state.
 *
 * Rules (research/kafka-protocol.md §4, Kafka's GroupCoordinator):
 *   Join   v4+ with member "" and no instance id -> MEMBER_ID_REQUIRED (79) with a new id, parked
 *          for one session timeout; v0-3 join at once. A new member, a changed protocol list or
 *          the leader rejoining a Stable group starts a rebalance; joins are held until every
 *          member (and parked id) is in or the phase deadline passes; then members that did not
 *          rejoin are dropped, generation += 1, leader kept (else first member), protocol voted.
 *   Sync   followers wait for the leader; leader's assignments (missing -> empty) end the phase.
 *   Heartbeat by state: Empty 25, PreparingRebalance 27, CompletingRebalance/Stable 0.
 *   Commit generation -1 with member "" only while Empty (or no group); CompletingRebalance 27;
 *          PreparingRebalance accepts a valid member and generation, as Kafka does, so
 *          consumers can commit what they processed before rejoining.
 *
 * Bounds: GROUP_COUNT_MAX groups, groupMemberCountMax members (with parked ids) per group,
 * PROTOCOLS_PER_MEMBER_MAX protocols per member; each member holds at most one join and one
 * sync reply.
 */
import { X2Error } from '../../base/errors.ts';
import { KAFKA_ERROR, type KafkaErrorCode } from '../../control/kafka-error-codes.ts';
import {
  GROUP_COORDINATOR_DEFAULTS, GROUP_COUNT_MAX, PROTOCOLS_PER_MEMBER_MAX, type GroupCoordinatorConfig,
} from './group-config.ts';
import { EMPTY_BYTES, Group, GroupMember } from './group-member.ts';
import { sameProtocols, voteProtocol } from './group-protocol.ts';
import {
  GROUP_STATE, type DeletedGroup, type GroupProtocol, type DescribedGroup, type GroupView, type HeartbeatRequest,
  type JoinGroupRequest, type JoinGroupResult, type LeaveGroupRequest, type LeaveGroupResult,
  type ListedGroup, type OffsetCommitRequest, type Reply, type SyncGroupRequest, type SyncGroupResult,
} from './group-types.ts';

function joinError(errorCode: KafkaErrorCode, memberId: string): JoinGroupResult {
  return {
    errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '', memberId, members: [],
  };
}

function syncError(errorCode: KafkaErrorCode): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes); // the gateway's request buffer is reused
}

function copyProtocols(protocols: readonly GroupProtocol[]): GroupProtocol[] {
  return protocols.map((protocol) => ({ name: protocol.name, metadata: copyBytes(protocol.metadata) }));
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  readonly #groups = new Map<string, Group>();
  readonly #outbox: Array<() => void> = [];
  #flushing = false;

  constructor(config: Partial<GroupCoordinatorConfig> = {}) {
    this.config = { ...GROUP_COORDINATOR_DEFAULTS, ...config };
    const { sessionTimeoutMsMin: min, sessionTimeoutMsMax: max } = this.config;
    if (!(Number.isSafeInteger(min) && min >= 0 && min <= max && Number.isSafeInteger(max))) {
      throw new X2Error('X2_ERR_USAGE', `group session timeout bounds: [${min}, ${max}] is not a range `
        + 'of milliseconds, the minimum must be >= 0 and at most the maximum');
    }
    const { initialRebalanceDelayMs: delayMs, groupMemberCountMax: membersMax } = this.config;
    if (!(Number.isSafeInteger(delayMs) && delayMs >= 0)) {
      throw new X2Error('X2_ERR_USAGE', `initial rebalance delay: ${delayMs} ms is not allowed, use >= 0`);
    }
    if (!(Number.isSafeInteger(membersMax) && membersMax >= 1)) {
      throw new X2Error('X2_ERR_USAGE', `group size limit: ${membersMax} is not allowed, use >= 1`);
    }
  }

  // ---- JoinGroup -------------------------------------------------------------------------

  joinGroup(request: JoinGroupRequest, nowMs: number, reply: Reply<JoinGroupResult>): void {
    this.#join(request, nowMs, reply);
    this.#flush();
  }

  #join(request: JoinGroupRequest, nowMs: number, reply: Reply<JoinGroupResult>): void {
    const refused = this.#joinRequestProblem(request);
    if (refused !== KAFKA_ERROR.NONE) return this.#send(reply, joinError(refused, request.memberId));
    let group = this.#groups.get(request.groupId);
    if (group === undefined) {
      if (request.memberId !== '') return this.#send(reply, joinError(KAFKA_ERROR.UNKNOWN_MEMBER_ID, request.memberId));
      group = this.#createGroup(request.groupId);
      if (group === undefined) {
        return this.#send(reply, joinError(KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE, request.memberId));
      }
    }
    if (!this.#supportsProtocols(group, request)) {
      return this.#send(reply, joinError(KAFKA_ERROR.INCONSISTENT_GROUP_PROTOCOL, request.memberId));
    }
    if (request.memberId === '') return this.#joinNewMember(group, request, nowMs, reply);
    if (group.pendingMembers.has(request.memberId)) {
      group.pendingMembers.delete(request.memberId);
      return this.#addMember(group, request.memberId, request, nowMs, reply);
    }
    const member = group.members.get(request.memberId);
    if (member === undefined) return this.#send(reply, joinError(KAFKA_ERROR.UNKNOWN_MEMBER_ID, request.memberId));
    if (this.#isFenced(group, member.memberId, request.groupInstanceId)) {
      return this.#send(reply, joinError(KAFKA_ERROR.FENCED_INSTANCE_ID, request.memberId));
    }
    this.#rejoin(group, member, request, nowMs, reply);
  }

  #joinRequestProblem(request: JoinGroupRequest): KafkaErrorCode {
    if (request.groupId === '') return KAFKA_ERROR.INVALID_GROUP_ID;
    const { sessionTimeoutMsMin, sessionTimeoutMsMax } = this.config;
    if (!(request.sessionTimeoutMs >= sessionTimeoutMsMin && request.sessionTimeoutMs <= sessionTimeoutMsMax)) {
      return KAFKA_ERROR.INVALID_SESSION_TIMEOUT;
    }
    if (request.protocolType === '' || request.protocols.length === 0) return KAFKA_ERROR.INCONSISTENT_GROUP_PROTOCOL;
    if (request.protocols.length > PROTOCOLS_PER_MEMBER_MAX) return KAFKA_ERROR.INVALID_REQUEST;
    return KAFKA_ERROR.NONE;
  }

  /**
   * An Empty group takes any protocol type; otherwise the type must match and one of the
   * joiner's protocols must be listed by every other member. Counted per protocol name (not by
   * scanning members), so a rebalance of n members costs O(n), not O(n^2).
   */
  #supportsProtocols(group: Group, request: JoinGroupRequest): boolean {
    const self = group.members.get(request.memberId);
    const otherCount = group.members.size - (self === undefined ? 0 : 1);
    if (otherCount === 0) return true;
    if (group.protocolType !== request.protocolType) return false;
    return request.protocols.some(({ name }) => {
      const selfLists = self?.protocols.some((protocol) => protocol.name === name) ?? false;
      return group.supportCount(name) - (selfLists ? 1 : 0) === otherCount;
    });
  }

  #joinNewMember(group: Group, request: JoinGroupRequest, nowMs: number, reply: Reply<JoinGroupResult>): void {
    const replacing = request.groupInstanceId === null ? undefined : group.staticMembers.get(request.groupInstanceId);
    const size = group.members.size + group.pendingMembers.size - (replacing === undefined ? 0 : 1);
    if (size >= this.config.groupMemberCountMax) {
      return this.#send(reply, joinError(KAFKA_ERROR.GROUP_MAX_SIZE_REACHED, ''));
    }
    const memberId = this.config.newMemberId(request.clientId);
    if (request.apiVersion >= 4 && request.groupInstanceId === null) {
      group.pendingMembers.set(memberId, nowMs + request.sessionTimeoutMs);
      return this.#send(reply, joinError(KAFKA_ERROR.MEMBER_ID_REQUIRED, memberId));
    }
    this.#addMember(group, memberId, request, nowMs, reply);
  }

  #addMember(
    group: Group, memberId: string, request: JoinGroupRequest, nowMs: number, reply: Reply<JoinGroupResult>,
  ): void {
    const instanceId = request.groupInstanceId;
    const fencedId = instanceId === null ? undefined : group.staticMembers.get(instanceId);
    const fenced = fencedId === undefined ? undefined : group.members.get(fencedId);
    // The new incarnation replaces the old in the same rebalance (no extra generation for it).
    if (fenced !== undefined) this.#forget(group, fenced, KAFKA_ERROR.FENCED_INSTANCE_ID);
    if (group.members.size === 0) group.protocolType = request.protocolType;
    const member = new GroupMember(memberId, instanceId, {
      clientId: request.clientId, clientHost: request.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: rebalanceTimeoutOf(request),
      protocols: copyProtocols(request.protocols), nowMs,
    });
    member.joinReply = reply;
    group.addMember(member);
    if (instanceId !== null) group.staticMembers.set(instanceId, memberId);
    if (group.state === GROUP_STATE.preparingRebalance) {
      if (group.initialDelayUntilMs > nowMs) {
        // Each newcomer during the initial delay extends it, up to the rebalance timeout.
        group.initialDelayUntilMs = Math.min(nowMs + this.config.initialRebalanceDelayMs, group.rebalanceDeadlineMs);
      }
      this.#maybeCompleteJoin(group, nowMs);
    } else {
      this.#prepareRebalance(group, nowMs);
    }
  }

  #rejoin(
    group: Group, member: GroupMember, request: JoinGroupRequest, nowMs: number, reply: Reply<JoinGroupResult>,
  ): void {
    member.sessionDeadlineMs = nowMs + request.sessionTimeoutMs;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = rebalanceTimeoutOf(request);
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
    const changed = !sameProtocols(member.protocols, request.protocols);
    if (changed) group.setProtocols(member, copyProtocols(request.protocols));
    const settled = group.state === GROUP_STATE.completingRebalance
      || (group.state === GROUP_STATE.stable && group.leaderId !== member.memberId);
    if (settled && !changed) {
      // The member missed its JoinGroup answer: repeat it; nothing changes for the group.
      return this.#send(reply, this.#joinResult(group, member));
    }
    if (member.joinReply !== null) {
      // A retried join replaces the held one; the first is told to rejoin, so neither is lost.
      this.#send(member.joinReply, joinError(KAFKA_ERROR.REBALANCE_IN_PROGRESS, member.memberId));
    }
    member.joinReply = reply;
    if (group.state === GROUP_STATE.preparingRebalance) this.#maybeCompleteJoin(group, nowMs);
    else this.#prepareRebalance(group, nowMs);
  }

  /** Enter PreparingRebalance: pending syncs are told to rejoin; joins are held from now on. */
  #prepareRebalance(group: Group, nowMs: number): void {
    if (group.state === GROUP_STATE.completingRebalance) {
      for (const member of group.members.values()) {
        if (member.syncReply !== null) this.#send(member.syncReply, syncError(KAFKA_ERROR.REBALANCE_IN_PROGRESS));
        member.syncReply = null;
      }
    }
    const wasEmpty = group.state === GROUP_STATE.empty;
    group.state = GROUP_STATE.preparingRebalance;
    group.rebalanceDeadlineMs = nowMs + group.rebalanceTimeoutMsMax();
    group.initialDelayUntilMs = wasEmpty
      ? Math.min(nowMs + this.config.initialRebalanceDelayMs, group.rebalanceDeadlineMs)
      : 0;
    this.#maybeCompleteJoin(group, nowMs);
  }

  #maybeCompleteJoin(group: Group, nowMs: number): void {
    if (group.state !== GROUP_STATE.preparingRebalance) return;
    const everyoneIn = group.hasAllMembersJoined() && group.initialDelayUntilMs <= nowMs;
    if (everyoneIn || nowMs >= group.rebalanceDeadlineMs) this.#completeJoin(group, nowMs);
  }

  /** End of the join phase: drop who did not rejoin, next generation, answer every join. */
  #completeJoin(group: Group, nowMs: number): void {
    for (const member of [...group.members.values()]) {
      if (member.joinReply === null) this.#forget(group, member, KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    }
    group.generationId += 1;
    if (group.members.size === 0) {
      group.state = GROUP_STATE.empty;
      group.protocolName = null;
      group.leaderId = null;
      return;
    }
    group.protocolName = voteProtocol([...group.members.values()].map((member) => member.protocols));
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value ?? null;
    }
    group.state = GROUP_STATE.completingRebalance;
    group.syncDeadlineMs = nowMs + group.rebalanceTimeoutMsMax();
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES;
      member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
      const reply = member.joinReply;
      member.joinReply = null;
      if (reply !== null) this.#send(reply, this.#joinResult(group, member));
    }
  }

  #joinResult(group: Group, member: GroupMember): JoinGroupResult {
    const isLeader = group.leaderId === member.memberId;
    return {
      errorCode: KAFKA_ERROR.NONE, generationId: group.generationId, protocolType: group.protocolType,
      protocolName: group.protocolName, leaderId: group.leaderId ?? '', memberId: member.memberId,
      members: !isLeader ? [] : [...group.members.values()].map((each) => ({
        memberId: each.memberId, groupInstanceId: each.groupInstanceId, metadata: each.metadataOf(group.protocolName),
      })),
    };
  }

  /** Takes a member out without rebalancing; its pending replies get `errorCode`. */
  #forget(group: Group, member: GroupMember, errorCode: KafkaErrorCode): void {
    group.deleteMember(member);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (member.joinReply !== null) this.#send(member.joinReply, joinError(errorCode, member.memberId));
    if (member.syncReply !== null) this.#send(member.syncReply, syncError(errorCode));
    member.joinReply = null;
    member.syncReply = null;
  }

  /** A member leaves (LeaveGroup, session expiry, fencing): the rest rebalance. */
  #removeMember(group: Group, member: GroupMember, nowMs: number, errorCode: KafkaErrorCode): void {
    this.#forget(group, member, errorCode);
    if (group.state === GROUP_STATE.preparingRebalance) this.#maybeCompleteJoin(group, nowMs);
    else if (group.state !== GROUP_STATE.empty) this.#prepareRebalance(group, nowMs);
  }

  // ---- SyncGroup, Heartbeat, LeaveGroup, OffsetCommit ------------------------------------

  syncGroup(request: SyncGroupRequest, nowMs: number, reply: Reply<SyncGroupResult>): void {
    this.#sync(request, nowMs, reply);
    this.#flush();
  }

  #sync(request: SyncGroupRequest, nowMs: number, reply: Reply<SyncGroupResult>): void {
    const group = this.#groups.get(request.groupId);
    const member = this.#memberCheck(group, request);
    if (typeof member === 'number' || group === undefined) {
      return this.#send(reply, syncError(typeof member === 'number' ? member : KAFKA_ERROR.UNKNOWN_MEMBER_ID));
    }
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    if (group.state === GROUP_STATE.preparingRebalance) {
      return this.#send(reply, syncError(KAFKA_ERROR.REBALANCE_IN_PROGRESS));
    }
    if (group.state === GROUP_STATE.stable) return this.#send(reply, this.#syncResult(group, member));
    // CompletingRebalance: wait for the leader; the leader's assignments end the phase.
    if (member.syncReply !== null) this.#send(member.syncReply, syncError(KAFKA_ERROR.REBALANCE_IN_PROGRESS));
    member.syncReply = reply;
    if (group.leaderId !== member.memberId) return;
    for (const { memberId, assignment } of request.assignments) {
      const target = group.members.get(memberId);
      if (target !== undefined) target.assignment = copyBytes(assignment);
    }
    group.state = GROUP_STATE.stable;
    for (const each of group.members.values()) {
      const pending = each.syncReply;
      each.syncReply = null;
      if (pending !== null) this.#send(pending, this.#syncResult(group, each));
    }
  }

  #syncResult(group: Group, member: GroupMember): SyncGroupResult {
    return {
      errorCode: KAFKA_ERROR.NONE, protocolType: group.protocolType, protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  /** The checks Sync, Heartbeat and OffsetCommit share: group, member, fencing, generation. */
  #memberCheck(group: Group | undefined, identity: HeartbeatRequest): GroupMember | KafkaErrorCode {
    if (group === undefined || group.state === GROUP_STATE.empty) {
      return KAFKA_ERROR.UNKNOWN_MEMBER_ID;
    }
    if (group.state === GROUP_STATE.dead) return KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE;
    if (this.#isFenced(group, identity.memberId, identity.groupInstanceId)) {
      return KAFKA_ERROR.FENCED_INSTANCE_ID;
    }
    const member = group.members.get(identity.memberId);
    if (member === undefined) return KAFKA_ERROR.UNKNOWN_MEMBER_ID;
    if (identity.generationId !== group.generationId) return KAFKA_ERROR.ILLEGAL_GENERATION;
    return member;
  }

  /** Heartbeat: keeps the session alive and tells the member whether to rejoin. */
  heartbeat(request: HeartbeatRequest, nowMs: number): KafkaErrorCode {
    const group = this.#groups.get(request.groupId);
    const member = this.#memberCheck(group, request);
    if (typeof member === 'number') return member;
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    return group?.state === GROUP_STATE.preparingRebalance ? KAFKA_ERROR.REBALANCE_IN_PROGRESS : KAFKA_ERROR.NONE;
  }

  /**
   * OffsetCommit's group checks, before the gateway appends the offsets. NONE means commit.
   * A simple commit (generation < 0) on a group x2 does not know creates it, Empty, as Kafka does.
   */
  validateOffsetCommit(request: OffsetCommitRequest, nowMs: number): KafkaErrorCode {
    const group = this.#groups.get(request.groupId);
    if (request.groupId === '') return KAFKA_ERROR.INVALID_GROUP_ID;
    if (group === undefined) {
      if (request.generationId >= 0) return KAFKA_ERROR.ILLEGAL_GENERATION;
      const created = this.#createGroup(request.groupId);
      return created === undefined ? KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE : KAFKA_ERROR.NONE;
    }
    if (group.state === GROUP_STATE.dead) return KAFKA_ERROR.COORDINATOR_NOT_AVAILABLE;
    if (request.generationId < 0 && group.state === GROUP_STATE.empty) return KAFKA_ERROR.NONE;
    if (group.state === GROUP_STATE.completingRebalance) return KAFKA_ERROR.REBALANCE_IN_PROGRESS;
    const member = this.#memberCheck(group, request);
    if (typeof member === 'number') return member;
    member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
    return KAFKA_ERROR.NONE;
  }

  /** LeaveGroup: v0-2 send one member (the gateway returns its error as the top-level one). */
  leaveGroup(request: LeaveGroupRequest, nowMs: number): LeaveGroupResult {
    const group = this.#groups.get(request.groupId);
    const members = request.members.map(({ memberId, groupInstanceId }) => {
      const errorCode = group === undefined
        ? KAFKA_ERROR.UNKNOWN_MEMBER_ID
        : this.#leave(group, memberId, groupInstanceId, nowMs);
      return { memberId, groupInstanceId, errorCode };
    });
    this.#flush();
    return { errorCode: KAFKA_ERROR.NONE, members };
  }

  #leave(group: Group, memberId: string, groupInstanceId: string | null, nowMs: number): KafkaErrorCode {
    if (group.pendingMembers.delete(memberId)) {
      this.#maybeCompleteJoin(group, nowMs);
      return KAFKA_ERROR.NONE;
    }
    // v3+ may name a static member by instance id alone.
    const id = memberId === '' && groupInstanceId !== null ? group.staticMembers.get(groupInstanceId) ?? '' : memberId;
    if (this.#isFenced(group, id, groupInstanceId)) return KAFKA_ERROR.FENCED_INSTANCE_ID;
    const member = group.members.get(id);
    if (member === undefined) return KAFKA_ERROR.UNKNOWN_MEMBER_ID;
    this.#removeMember(group, member, nowMs, KAFKA_ERROR.UNKNOWN_MEMBER_ID);
    return KAFKA_ERROR.NONE;
  }

  // ---- Time ------------------------------------------------------------------------------

  /** Fires every deadline due at `nowMs`: parked ids, join and sync phases, sessions. */
  tick(nowMs: number): void {
    for (const group of [...this.#groups.values()]) this.#tickGroup(group, nowMs);
    this.#flush();
  }

  #tickGroup(group: Group, nowMs: number): void {
    for (const [memberId, deadlineMs] of [...group.pendingMembers]) {
      if (nowMs >= deadlineMs) group.pendingMembers.delete(memberId);
    }
    if (group.state === GROUP_STATE.completingRebalance && nowMs >= group.syncDeadlineMs) {
      // The leader never sent assignments: drop everyone who did not sync, rebalance the rest.
      for (const member of [...group.members.values()]) {
        if (member.syncReply === null) this.#forget(group, member, KAFKA_ERROR.UNKNOWN_MEMBER_ID);
      }
      this.#prepareRebalance(group, nowMs);
    }
    for (const member of [...group.members.values()]) {
      // A member waiting on a held join or sync is bounded by the phase deadline, not its session.
      const waiting = member.joinReply !== null || member.syncReply !== null;
      if (!waiting && nowMs >= member.sessionDeadlineMs && group.members.get(member.memberId) === member) {
        this.#removeMember(group, member, nowMs, KAFKA_ERROR.UNKNOWN_MEMBER_ID);
      }
    }
    this.#maybeCompleteJoin(group, nowMs);
  }

  // ---- Views and administration ----------------------------------------------------------

  /**
   * DescribeGroups. A group this coordinator does not hold is reported Dead with no error, as
   * Kafka does, unless `offsetGroupIds` lists it (it has committed offsets): then Empty.
   */
  describeGroups(groupIds: readonly string[], offsetGroupIds: ReadonlySet<string> = new Set()): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const group = this.#groups.get(groupId);
      if (group === undefined) {
        const state = offsetGroupIds.has(groupId) ? GROUP_STATE.empty : GROUP_STATE.dead;
        return { errorCode: KAFKA_ERROR.NONE, groupId, state, protocolType: '', protocolName: '', members: [] };
      }
      const isStable = group.state === GROUP_STATE.stable;
      return {
        errorCode: KAFKA_ERROR.NONE, groupId, state: group.state, protocolType: group.protocolType ?? '',
        protocolName: isStable ? group.protocolName ?? '' : '',
        members: [...group.members.values()].map((member) => ({
          memberId: member.memberId, groupInstanceId: member.groupInstanceId,
          clientId: member.clientId, clientHost: member.clientHost,
          metadata: isStable ? member.metadataOf(group.protocolName) : EMPTY_BYTES,
          assignment: isStable ? member.assignment : EMPTY_BYTES,
        })),
      };
    });
  }

  /** ListGroups, sorted by id; groups known only by their committed offsets are listed Empty. */
  listGroups(offsetGroupIds: Iterable<string> = []): ListedGroup[] {
    const listed = new Map<string, ListedGroup>();
    for (const groupId of offsetGroupIds) listed.set(groupId, { groupId, protocolType: '', state: GROUP_STATE.empty });
    for (const group of this.#groups.values()) {
      listed.set(group.groupId, { groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state });
    }
    return [...listed.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * DeleteGroups: only groups without members (NON_EMPTY_GROUP 68 otherwise); unknown ones get
   * GROUP_ID_NOT_FOUND (69) unless `offsetGroupIds` lists them. On NONE the gateway appends a
   * group-deleted record to `__consumer_offsets`.
   */
  deleteGroups(groupIds: readonly string[], offsetGroupIds: ReadonlySet<string> = new Set()): DeletedGroup[] {
    return groupIds.map((groupId) => {
      const group = this.#groups.get(groupId);
      if (group === undefined) {
        const errorCode = offsetGroupIds.has(groupId) ? KAFKA_ERROR.NONE : KAFKA_ERROR.GROUP_ID_NOT_FOUND;
        return { groupId, errorCode };
      }
      if (group.state !== GROUP_STATE.empty || group.pendingMembers.size > 0) {
        return { groupId, errorCode: KAFKA_ERROR.NON_EMPTY_GROUP };
      }
      group.state = GROUP_STATE.dead;
      this.#groups.delete(groupId);
      return { groupId, errorCode: KAFKA_ERROR.NONE };
    });
  }

  group(groupId: string): GroupView | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId, state: group.state, generationId: group.generationId, protocolType: group.protocolType,
      protocolName: group.protocolName, leaderId: group.leaderId, memberIds: [...group.members.keys()],
      pendingMemberIds: [...group.pendingMembers.keys()],
      assignments: new Map([...group.members.values()].map((member) => [member.memberId, member.assignment])),
    };
  }

  groupCount(): number {
    return this.#groups.size;
  }

  /**
   * This gateway stops coordinating some groups (the set of live gateways changed and the hash
   * now picks another one for them) or all of them (shutdown): their held replies are answered
   * with NOT_COORDINATOR, so clients look the coordinator up again, and the groups are dropped.
   */
  resign(isResigned: (groupId: string) => boolean = () => true): void {
    for (const group of [...this.#groups.values()]) {
      if (!isResigned(group.groupId)) continue;
      for (const member of [...group.members.values()]) this.#forget(group, member, KAFKA_ERROR.NOT_COORDINATOR);
      group.state = GROUP_STATE.dead;
      this.#groups.delete(group.groupId);
    }
    this.#flush();
  }

  /** Whether any reply is still held (tests use it to prove none leaks). */
  hasPendingReplies(): boolean {
    for (const group of this.#groups.values()) {
      for (const member of group.members.values()) {
        if (member.joinReply !== null || member.syncReply !== null) return true;
      }
    }
    return this.#outbox.length > 0;
  }

  // ---- Helpers ---------------------------------------------------------------------------

  #createGroup(groupId: string): Group | undefined {
    if (this.#groups.size >= GROUP_COUNT_MAX) {
      // Evict the oldest Empty group: it holds no member state (its offsets live in the stream).
      const idle = [...this.#groups.values()].find((g) => g.state === GROUP_STATE.empty && g.pendingMembers.size === 0);
      if (idle === undefined) return undefined;
      this.#groups.delete(idle.groupId);
    }
    const group = new Group(groupId);
    this.#groups.set(groupId, group);
    return group;
  }

  /** A static member's instance id now belongs to another member id: the old one is fenced. */
  #isFenced(group: Group, memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const owner = group.staticMembers.get(groupInstanceId);
    return owner !== undefined && owner !== memberId;
  }

  #send<T>(reply: Reply<T>, result: T): void {
    this.#outbox.push(() => reply(result));
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (let next = this.#outbox.shift(); next !== undefined; next = this.#outbox.shift()) next();
    } finally {
      this.#flushing = false;
    }
  }
}

/**
 * A member's rebalance timeout: the session timeout when the request has none (JoinGroup v0 sends
 * -1) or 0. A 0 leaves no time to rejoin or sync: the member would be dropped at the next tick
 * after its own join, before it could send SyncGroup. kafkajs's low-level joinGroup sends 0 when
 * not told otherwise, and Kafka 2.4 (no sync deadline at all) served it.
 */
function rebalanceTimeoutOf(request: JoinGroupRequest): number {
  return request.rebalanceTimeoutMs <= 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs;
}
