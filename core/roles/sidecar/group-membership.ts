/**
 * The member set of one sidecar group (all sidecars with one --name) and its assignment of input
 * streams, rebuilt by every member from the membership records of `__x2_sidecars`
 * (checkpoint-records.ts) in seq order. The set is a pure function of the records applied, so
 * every member holds the same set, and computes the same assignment, at the same seq: Kafka's
 * round-robin assignor over the member ids sorted, input stream k to member k mod n.
 *
 * Liveness is judged locally: each member notes when (its own clock) it last applied a join or
 * heartbeat of every member, and a member whose silence passed that member's session timeout is
 * `expired`; the judging member then appends an expel record, and only that record changes the
 * set, identically everywhere. A member that was itself silent (paused) sees everyone as silent:
 * `expired` answers nothing until the member's own heartbeats come back again.
 *
 * Bounds: at most MEMBERS_MAX members per group (more joins are ignored, identically everywhere).
 * Pure except for the times passed in.
 */
import type { MembershipRecord } from './checkpoint-records.ts';

export const MEMBERS_MAX = 1024;

type Member = { sessionTimeoutMs: number; lastSeenMs: number };

export class GroupMembership {
  readonly #members = new Map<string, Member>();
  #sorted: string[] = [];
  /** Changes of the member set applied so far (a join of a member already in is not a change). */
  generation = 0;

  get memberIds(): readonly string[] { return this.#sorted; }

  has(memberId: string): boolean { return this.#members.has(memberId); }

  /** Applies one record at local time nowMs; true when the member set changed. */
  apply(record: MembershipRecord, nowMs: number): boolean {
    const member = this.#members.get(record.memberId);
    switch (record.kind) {
      case 'join':
        if (member) {
          member.sessionTimeoutMs = record.sessionTimeoutMs;
          member.lastSeenMs = nowMs;
          return false;
        }
        if (this.#members.size >= MEMBERS_MAX) return false;
        this.#members.set(record.memberId, { sessionTimeoutMs: record.sessionTimeoutMs, lastSeenMs: nowMs });
        return this.#changed();
      case 'heartbeat':
        if (member) member.lastSeenMs = nowMs;
        return false;
      case 'leave':
      case 'expel':
        if (!member) return false;
        this.#members.delete(record.memberId);
        return this.#changed();
    }
  }

  #changed(): boolean {
    this.#sorted = [...this.#members.keys()].sort();
    this.generation += 1;
    return true;
  }

  /**
   * Members other than `selfId` silent past their session timeout at nowMs. Empty unless selfId's
   * own last heartbeat came back within 2/3 of its session timeout: a member paused for longer
   * than a session timeout sees everyone silent, and judges nobody until it has caught up.
   */
  expired(selfId: string, nowMs: number): string[] {
    const self = this.#members.get(selfId);
    if (!self || nowMs - self.lastSeenMs > (self.sessionTimeoutMs * 2) / 3) return [];
    const silent: string[] = [];
    for (const [memberId, member] of this.#members) {
      if (memberId !== selfId && nowMs - member.lastSeenMs > member.sessionTimeoutMs) silent.push(memberId);
    }
    return silent;
  }

  /** The input streams of `inputs` (in their order) that `memberId` owns; [] for a non-member. */
  assignment(inputs: readonly number[], memberId: string): number[] {
    const index = this.#sorted.indexOf(memberId);
    if (index < 0) return [];
    return inputs.filter((_, k) => k % this.#sorted.length === index);
  }
}
