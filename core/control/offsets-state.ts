/**
 * OffsetsState: committed offsets per (group, topic, partition), rebuilt by applying the records
 * of `__consumer_offsets` in stream order. The coordinator of a group answers OffsetFetch from
 * it; a gateway that takes a group over replays the stream into its own OffsetsState first.
 *
 * Determinism: apply() depends only on the state and the record. The last commit of a
 * partition wins (stream order is commit order); a tombstone removes one partition, a
 * group-deleted record all of a group's partitions.
 *
 * Bounds: at most PARTITIONS_PER_GROUP_MAX committed partitions per group and
 * COMMITTED_PARTITIONS_MAX in all. A commit that would pass either is refused on apply
 * (identically on every node); the coordinator checks canCommit() first so a client learns it
 * before anything is appended.
 */
import { decodeOffsetsRecord, type OffsetsRecord } from './offsets-records.ts';

/** A group commits one entry per partition it consumes; this bounds one group's memory. */
export const PARTITIONS_PER_GROUP_MAX = 100_000;
/** All groups together: about 250 bytes each, so the table stays within ~0.5 GiB of memory. */
export const COMMITTED_PARTITIONS_MAX = 2_000_000;

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimeMs: number;
}

/** topic -> partition -> committed offset */
type GroupOffsets = Map<string, Map<number, CommittedOffset>>;

export class OffsetsState {
  readonly #groups = new Map<string, GroupOffsets>();
  readonly #partitionCounts = new Map<string, number>();
  #committedPartitionCount = 0;

  applyBytes(bytes: Uint8Array): boolean {
    return this.apply(decodeOffsetsRecord(bytes));
  }

  /** Applies one record; false when it was refused (the group's partition bound). */
  apply(record: OffsetsRecord): boolean {
    switch (record.kind) {
      case 'offset-committed': return this.#commit(record);
      case 'offset-deleted': this.#delete(record.group, record.topic, record.partition); return true;
      case 'group-deleted':
        this.#committedPartitionCount -= this.#partitionCounts.get(record.group) ?? 0;
        this.#groups.delete(record.group);
        this.#partitionCounts.delete(record.group);
        return true;
    }
  }

  /** Whether committing `entries` keeps the group within PARTITIONS_PER_GROUP_MAX. */
  canCommit(group: string, entries: ReadonlyArray<{ topic: string; partition: number }>): boolean {
    let added = 0;
    for (const { topic, partition } of entries) {
      if (this.fetch(group, topic, partition) === undefined) added += 1;
    }
    return (this.#partitionCounts.get(group) ?? 0) + added <= PARTITIONS_PER_GROUP_MAX
      && this.#committedPartitionCount + added <= COMMITTED_PARTITIONS_MAX;
  }

  fetch(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(group)?.get(topic)?.get(partition);
  }

  /** Every committed partition of a group (OffsetFetch with topics = null), sorted. */
  fetchAll(group: string): CommittedOffset[] {
    const offsets: CommittedOffset[] = [];
    const topics = this.#groups.get(group);
    if (topics === undefined) return offsets;
    for (const topic of [...topics.keys()].sort()) {
      const partitions = topics.get(topic);
      if (partitions === undefined) continue;
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) {
        const committed = partitions.get(partition);
        if (committed !== undefined) offsets.push(committed);
      }
    }
    return offsets;
  }

  /**
   * Every (group, partition) with a committed offset for `topic`, so that deleting the topic can
   * append a tombstone for each (Kafka drops a deleted topic's offsets). O(groups).
   */
  committedPartitionsOf(topic: string): Array<{ group: string; partition: number }> {
    const found: Array<{ group: string; partition: number }> = [];
    for (const group of [...this.#groups.keys()].sort()) {
      const partitions = this.#groups.get(group)?.get(topic);
      if (partitions === undefined) continue;
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) found.push({ group, partition });
    }
    return found;
  }

  /** Committed partitions over all groups. */
  get committedPartitionCount(): number {
    return this.#committedPartitionCount;
  }

  /** Groups that have at least one committed offset (ListGroups shows them as Empty). */
  groupIds(): string[] {
    return [...this.#groups.keys()].sort();
  }

  #commit(record: Extract<OffsetsRecord, { kind: 'offset-committed' }>): boolean {
    let topics = this.#groups.get(record.group);
    const exists = topics?.get(record.topic)?.has(record.partition) ?? false;
    const count = this.#partitionCounts.get(record.group) ?? 0;
    if (!exists && (count >= PARTITIONS_PER_GROUP_MAX || this.#committedPartitionCount >= COMMITTED_PARTITIONS_MAX)) {
      return false;
    }
    if (topics === undefined) {
      topics = new Map();
      this.#groups.set(record.group, topics);
    }
    let partitions = topics.get(record.topic);
    if (partitions === undefined) {
      partitions = new Map();
      topics.set(record.topic, partitions);
    }
    partitions.set(record.partition, {
      topic: record.topic, partition: record.partition, offset: record.offset,
      leaderEpoch: record.leaderEpoch, metadata: record.metadata, commitTimeMs: record.commitTimeMs,
    });
    if (!exists) {
      this.#partitionCounts.set(record.group, count + 1);
      this.#committedPartitionCount += 1;
    }
    return true;
  }

  #delete(group: string, topic: string, partition: number): void {
    const topics = this.#groups.get(group);
    const partitions = topics?.get(topic);
    if (topics === undefined || partitions === undefined || !partitions.delete(partition)) return;
    this.#committedPartitionCount -= 1;
    if (partitions.size === 0) topics.delete(topic);
    const count = (this.#partitionCounts.get(group) ?? 1) - 1;
    if (topics.size === 0) {
      this.#groups.delete(group);
      this.#partitionCounts.delete(group);
    } else {
      this.#partitionCounts.set(group, count);
    }
  }
}
