/**
 * Choosing a group's assignment protocol (Kafka's rule): only protocols every member lists are
 * candidates; each member votes for the first candidate in its own list; the most votes wins,
 * a tie going to the candidate the first member lists earliest (so the choice is deterministic).
 * Pure functions over member protocol lists.
 */
import type { GroupProtocol } from './group-types.ts';

/** Names every list contains (in the order of the first list). */
export function commonProtocolNames(lists: ReadonlyArray<readonly GroupProtocol[]>): string[] {
  const [first, ...rest] = lists;
  if (first === undefined) return [];
  return first.map((protocol) => protocol.name)
    .filter((name) => rest.every((list) => list.some((protocol) => protocol.name === name)));
}

/** The winning protocol name, or null when the lists share none. */
export function voteProtocol(lists: ReadonlyArray<readonly GroupProtocol[]>): string | null {
  const candidates = commonProtocolNames(lists);
  if (candidates.length === 0) return null;
  const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
  for (const list of lists) {
    const choice = list.find((protocol) => votes.has(protocol.name));
    if (choice !== undefined) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
  }
  let winner: string | null = null;
  let winnerVotes = -1;
  for (const name of candidates) {
    const count = votes.get(name) ?? 0;
    if (count > winnerVotes) {
      winner = name;
      winnerVotes = count;
    }
  }
  return winner;
}

export function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return a.length === b.length && a.every((protocol, i) => {
    const other = b[i];
    return other !== undefined && other.name === protocol.name
      && Buffer.compare(other.metadata, protocol.metadata) === 0;
  });
}
