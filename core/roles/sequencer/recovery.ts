/**
 * The sequencer's recovery plan, a pure function of what the commits report at start (their
 * hellos): how many commits to wait for, which log is the head, the next epoch and the epoch
 * history every member must follow. Kept apart from the sequencer's sockets so the rules can be
 * tested as a table.
 *
 * Rules: wait for max(W, R-W+1) distinct commits: at least R-W+1 so one of them holds every entry
 * a write quorum acknowledged, at least W so the new epoch can be stored on a quorum before appends
 * resume. The head is the log whose last entry has the highest epoch, then the highest seq (an
 * older epoch's longer tail was never acknowledged once a newer epoch wrote past its start). The
 * new epoch is above every epoch any commit has seen, so an epoch number is never reused.
 */
import type { EpochHistory, Hello } from '../../river/messages.ts';

export type RecoveryPlan = {
  epoch: number;
  headSeq: number;
  history: EpochHistory;
  streams: Map<number, number>;
  head: Hello;
};

export function recoveryQuorum(replication: number, writeQuorum: number): number {
  return Math.max(writeQuorum, replication - writeQuorum + 1);
}

/** Whether two hellos come from the same commit: the same data folder, else the same name. */
export function sameCommit(a: Hello, b: Hello): boolean {
  return a.dataId !== undefined && b.dataId !== undefined ? a.dataId === b.dataId : a.memberId === b.memberId;
}

/** One hello per commit (the latest of each): a reconnect must not count twice. */
export function distinctCommits(hellos: readonly Hello[]): Hello[] {
  const byId = new Map<string, Hello>();
  for (const hello of hellos) if (hello.role === 'commit') byId.set(hello.dataId ?? hello.memberId, hello);
  return [...byId.values()];
}

export function planRecovery(commits: readonly Hello[]): RecoveryPlan {
  let head = commits[0]!;
  let epochMax = 0;
  for (const hello of commits) {
    const [headEpoch, headSeq] = [head.lastEpoch ?? 0, head.lastSeq ?? 0];
    const [epoch, seq] = [hello.lastEpoch ?? 0, hello.lastSeq ?? 0];
    if (epoch > headEpoch || epoch === headEpoch && seq > headSeq) head = hello;
    epochMax = Math.max(epochMax, epoch, ...(hello.history ?? []).map(([seen]) => seen));
  }
  const epoch = epochMax + 1;
  const headSeq = head.lastSeq ?? 0;
  const kept = (head.history ?? []).filter(([, startSeq]) => startSeq <= headSeq + 1);
  return {
    epoch, headSeq, history: [...kept, [epoch, headSeq + 1]],
    streams: new Map(head.streams ?? []), head,
  };
}
