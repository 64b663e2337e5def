/**
 * One member of a consumer group and one group's mutable state, as the coordinator keeps them.
 * Plain data: every transition lives in group-coordinator.ts. A member holds at most one pending
 * JoinGroup reply and one pending SyncGroup reply; the coordinator answers each exactly once.
 */
import type {
  GroupProtocol, GroupState, JoinGroupResult, Reply, SyncGroupResult,
} from './group-types.ts';
import { GROUP_STATE } from './group-types.ts';

export const EMPTY_BYTES = new Uint8Array(0);

export class GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly GroupProtocol[];
  /** Set while the member waits for the rebalance to complete (it has rejoined). */
  joinReply: Reply<JoinGroupResult> | null = null;
  /** Set while the member waits for the leader's assignments. */
  syncReply: Reply<SyncGroupResult> | null = null;
  /** This member's assignment in the current generation (empty until the leader syncs). */
  assignment: Uint8Array = EMPTY_BYTES;
  sessionDeadlineMs: number;

  constructor(
    memberId: string, groupInstanceId: string | null, fields: {
      clientId: string; clientHost: string; sessionTimeoutMs: number; rebalanceTimeoutMs: number;
      protocols: readonly GroupProtocol[]; nowMs: number;
    },
  ) {
    this.memberId = memberId;
    this.groupInstanceId = groupInstanceId;
    this.clientId = fields.clientId;
    this.clientHost = fields.clientHost;
    this.sessionTimeoutMs = fields.sessionTimeoutMs;
    this.rebalanceTimeoutMs = fields.rebalanceTimeoutMs;
    this.protocols = fields.protocols;
    this.sessionDeadlineMs = fields.nowMs + fields.sessionTimeoutMs;
  }

  metadataOf(protocolName: string | null): Uint8Array {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }
}

export class Group {
  readonly groupId: string;
  state: GroupState = GROUP_STATE.empty;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order: the first member becomes leader when there is none. Changed only below. */
  readonly members = new Map<string, GroupMember>();
  /** protocol name -> how many members list it (a member lists a name at most once counted). */
  readonly #protocolSupport = new Map<string, number>();
  /** Ids handed out with MEMBER_ID_REQUIRED, each with the deadline to come back by. */
  readonly pendingMembers = new Map<string, number>();
  /** groupInstanceId -> memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** PreparingRebalance: when the join phase ends whoever has rejoined. */
  rebalanceDeadlineMs = 0;
  /** PreparingRebalance of an Empty group: do not complete early before this. */
  initialDelayUntilMs = 0;
  /** CompletingRebalance: when members that have not synced are removed. */
  syncDeadlineMs = 0;

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  addMember(member: GroupMember): void {
    this.members.set(member.memberId, member);
    this.#count(member.protocols, 1);
  }

  deleteMember(member: GroupMember): void {
    if (this.members.get(member.memberId) !== member) return;
    this.members.delete(member.memberId);
    this.#count(member.protocols, -1);
  }

  setProtocols(member: GroupMember, protocols: readonly GroupProtocol[]): void {
    this.#count(member.protocols, -1);
    member.protocols = protocols;
    this.#count(protocols, 1);
  }

  /** How many members list protocol `name`. */
  supportCount(name: string): number {
    return this.#protocolSupport.get(name) ?? 0;
  }

  #count(protocols: readonly GroupProtocol[], delta: 1 | -1): void {
    for (const name of new Set(protocols.map((protocol) => protocol.name))) {
      const count = (this.#protocolSupport.get(name) ?? 0) + delta;
      if (count === 0) this.#protocolSupport.delete(name);
      else this.#protocolSupport.set(name, count);
    }
  }

  /** The largest rebalance timeout among members: how long a join phase may last. */
  rebalanceTimeoutMsMax(): number {
    let max = 0;
    for (const member of this.members.values()) max = Math.max(max, member.rebalanceTimeoutMs);
    return max;
  }

  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const member of this.members.values()) if (member.joinReply === null) return false;
    return true;
  }
}
