/**
 * Micro-benchmark, run by hand: `[MEMBERS=1000] node core/roles/gateway/group-coordinator.bench.ts`.
 * The coordinator's steady-state cost (a heartbeat from a member of a Stable group of MEMBERS,
 * default 100) and a whole rebalance (every member rejoins, leader and followers sync), against
 * a Map lookup plus a number write (the least a heartbeat can cost) as the baseline in the same
 * run.
 */
import { Bench } from 'tinybench';
import { GroupCoordinator } from './group-coordinator.ts';
import type { JoinGroupRequest, JoinGroupResult } from './group-types.ts';

const MEMBER_COUNT = Number(process.env['MEMBERS'] ?? 100); // MEMBERS=1000 for a large group
let n = 0;
// A 1 ms initial delay lets all 100 first joins land in one generation.
const coordinator = new GroupCoordinator({
  newMemberId: (clientId) => `${clientId}-${++n}`, initialRebalanceDelayMs: 1,
});
const metadata = new Uint8Array(64);
const request = (clientId: string, memberId: string): JoinGroupRequest => ({
  apiVersion: 2, groupId: 'bench', memberId, groupInstanceId: null, clientId, clientHost: '/10.0.0.1',
  sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 60_000, protocolType: 'consumer',
  protocols: [{ name: 'range', metadata }],
});

let nowMs = 0;
let ids: string[] = [];
/** Every member (re)joins, then everyone syncs; the group ends Stable at a new generation. */
function rebalance(): number {
  const results: JoinGroupResult[] = [];
  const joinIds = ids.length === 0 ? Array.from({ length: MEMBER_COUNT }, () => '') : ids;
  joinIds.forEach((memberId, i) => {
    coordinator.joinGroup(request(`c${i}`, memberId), nowMs, (result) => results.push(result));
  });
  nowMs += 1;
  coordinator.tick(nowMs);
  ids = results.map((result) => result.memberId);
  const generationId = results[0]?.generationId ?? -1;
  const assignments = ids.map((memberId) => ({ memberId, assignment: metadata }));
  for (const memberId of ids) {
    const isLeader = memberId === results[0]?.leaderId;
    coordinator.syncGroup({
      groupId: 'bench', memberId, generationId, groupInstanceId: null, assignments: isLeader ? assignments : [],
    }, nowMs, () => undefined);
  }
  return generationId;
}
let generationId = rebalance();
// ids[0] is the leader: its rejoin starts the rebalance, the others' rejoins are then held.
const sessions = new Map(ids.map((id) => [id, 0]));
let memberIndex = 0;

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: Map.get + set (a session touch)', () => {
    const id = ids[memberIndex++ % MEMBER_COUNT] ?? '';
    sessions.set(id, (sessions.get(id) ?? 0) + 1);
  })
  .add(`heartbeat (Stable, ${MEMBER_COUNT} members)`, () => {
    const memberId = ids[memberIndex++ % MEMBER_COUNT] ?? '';
    coordinator.heartbeat({ groupId: 'bench', memberId, generationId, groupInstanceId: null }, nowMs);
  })
  .add(`rebalance of ${MEMBER_COUNT} members (join + sync)`, () => {
    generationId = rebalance();
  });
await bench.run();
const opsPerSecondOf = (task: (typeof bench.tasks)[number] | undefined): number => {
  const result = task?.result;
  return result && 'throughput' in result ? result.throughput.mean : NaN;
};
const baseline = opsPerSecondOf(bench.tasks[0]);
for (const task of bench.tasks) {
  const opsPerSecond = opsPerSecondOf(task);
  console.log(`${task.name.padEnd(42)} ${opsPerSecond.toFixed(0).padStart(10)} ops/s`
    + `  ratio to baseline ${(opsPerSecond / baseline).toFixed(4)}`);
}
const view = coordinator.group('bench');
console.log(`final: generation ${view?.generationId}, ${view?.state}, ${view?.memberIds.length} members`);
