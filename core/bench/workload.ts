/**
 * The shape of one `x2 bench` workload (OpenMessaging-Benchmark style) and the pieces every
 * target shares: record values that carry their own send time and sequence, the partition
 * choice for keys, the open-loop send schedule and the per-partition tallies (count and an
 * order-sensitive CRC-32C chain) that let a consume run prove it read exactly what was
 * produced.
 *
 * Value layout (little-endian, `messageBytes` long, at least VALUE_HEADER_BYTES):
 *   0..7   float64 scheduled send time, µs since the Unix epoch (end-to-end latency base)
 *   8..15  float64 producer * 2^40 + sequence of the record within its partition for this producer
 *   16..   payload bytes from a seeded PRNG, the same for every record of a run
 * Partitions are numbered globally: `topicIndex * partitions + partitionIndex`.
 */
import { crc32c } from '../../native/index.ts';

export const VALUE_HEADER_BYTES = 16;
export const MESSAGE_BYTES_MAX = 1024 * 1024;

export type KeyMode = 'none' | 'round-robin' | 'random';
export const KEY_MODES: readonly KeyMode[] = ['none', 'round-robin', 'random'];
export type Acks = 0 | 1 | -1;
export type Compression = 'none' | 'gzip' | 'zstd';

export type WorkloadSpec = {
  topicPrefix: string;
  topics: number;
  partitions: number;
  producers: number;
  /** Consumers of one subscriber, sharing the partitions round-robin. */
  consumers: number;
  /** Independent readers of every partition (consume, e2e), each with `consumers` consumers. */
  subscribers: number;
  messageBytes: number;
  /** Records per second over all producers; null = as fast as the target acknowledges. */
  ratePerSecond: number | null;
  durationMs: number;
  acks: Acks;
  keys: KeyMode;
  compression: Compression;
  /** Kafka targets: the largest record batch a producer builds, header included (Kafka's batch.size). */
  batchBytes: number;
};

export function topicName(spec: Pick<WorkloadSpec, 'topicPrefix'>, topicIndex: number): string {
  return `${spec.topicPrefix}-${topicIndex}`;
}

export function partitionCount(spec: Pick<WorkloadSpec, 'topics' | 'partitions'>): number {
  return spec.topics * spec.partitions;
}

/** Wall-clock microseconds since the epoch, with sub-millisecond resolution. */
export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/** A payload template: header bytes zero, the rest seeded random. Copied, then stamped, per record. */
export function makeValueTemplate(messageBytes: number, seed: number): Buffer {
  const template = Buffer.alloc(messageBytes);
  let a = seed >>> 0;
  for (let i = VALUE_HEADER_BYTES; i < messageBytes; i++) {
    a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0;
    template[i] = a >>> 24;
  }
  return template;
}

export const SEQUENCE_SPAN = 2 ** 40;
export const PRODUCERS_MAX = 4096;

export function stampValue(value: Buffer, scheduledUs: number, producerIndex: number, sequence: number): void {
  value.writeDoubleLE(scheduledUs, 0);
  value.writeDoubleLE(producerIndex * SEQUENCE_SPAN + sequence, 8);
}

export function valueScheduledUs(value: Buffer, start: number): number {
  return value.readDoubleLE(start);
}

/** Kafka's murmur2 (the Java client's default partitioner hash), so keyed records land as Kafka would put them. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) {
    h ^= data[length4]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition for a key: Kafka's `toPositive(murmur2(key)) % partitions`. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * Chooses keys and partitions for one producer. Without keys, records go round-robin over the
 * partitions starting at the producer's own offset (so producers do not all hit partition 0).
 * With keys, the key is a decimal counter (round-robin) or random, and the partition is the
 * Kafka hash of the key within the topic chosen round-robin.
 */
export class KeyChooser {
  readonly #spec: WorkloadSpec;
  #next: number;
  #keyCounter = 0;
  #random: number;
  key: Buffer | null = null;

  constructor(spec: WorkloadSpec, producerIndex: number) {
    this.#spec = spec;
    this.#next = producerIndex % partitionCount(spec);
    this.#random = (producerIndex + 1) * 0x9e3779b1;
  }

  /** Takes back the last pick (the record could not be queued), so the next pick repeats it. */
  unpick(): void {
    const total = partitionCount(this.#spec);
    this.#next = this.#next === 0 ? total - 1 : this.#next - 1;
    if (this.#spec.keys === 'round-robin') this.#keyCounter--;
  }

  /** Picks the next record's global partition and sets `key` (null without keys). */
  nextPartition(): number {
    const spec = this.#spec;
    const total = partitionCount(spec);
    const slot = this.#next;
    this.#next = slot + 1 === total ? 0 : slot + 1;
    if (spec.keys === 'none') {
      this.key = null;
      return slot;
    }
    let keyNumber: number;
    if (spec.keys === 'round-robin') keyNumber = this.#keyCounter++;
    else {
      this.#random = (Math.imul(this.#random, 1_664_525) + 1_013_904_223) >>> 0;
      keyNumber = this.#random;
    }
    this.key = Buffer.from(String(keyNumber));
    const topicIndex = Math.floor(slot / spec.partitions);
    return topicIndex * spec.partitions + partitionForKey(this.key, spec.partitions);
  }
}

/**
 * Open-loop schedule: record i of a producer with rate r is due at start + i / r. `due(now)`
 * says how many records are due and not yet taken; their scheduled times are what latency is
 * measured from, so a stalled target shows up as latency instead of vanishing (coordinated
 * omission). With no rate every call allows `burst` records (closed loop, paced by the target).
 */
export class SendSchedule {
  readonly #startUs: number;
  readonly #ratePerSecond: number | null;
  taken = 0;

  constructor(startUs: number, ratePerSecond: number | null) {
    this.#startUs = startUs;
    this.#ratePerSecond = ratePerSecond;
  }

  get paced(): boolean {
    return this.#ratePerSecond !== null;
  }

  /** Scheduled time of record `index` (multiplied before dividing, so whole results stay exact). */
  #timeOfUs(index: number): number {
    return this.#startUs + (index * 1_000_000) / this.#ratePerSecond!;
  }

  /** Records due at `nowUs` and not yet taken (capped by `limit`). */
  due(nowUs: number, limit: number): number {
    if (this.#ratePerSecond === null) return limit;
    const dueTotal = Math.floor(((nowUs - this.#startUs) * this.#ratePerSecond) / 1_000_000) + 1;
    return Math.max(0, Math.min(limit, dueTotal - this.taken));
  }

  /** Scheduled time of the next record to take. */
  nextScheduledUs(nowUs: number): number {
    return this.#ratePerSecond === null ? nowUs : this.#timeOfUs(this.taken);
  }

  /** Microseconds until the next record is due (0 when one is due now). */
  waitUs(nowUs: number): number {
    if (this.#ratePerSecond === null) return 0;
    return Math.max(0, this.#timeOfUs(this.taken) - nowUs);
  }
}

/**
 * Count, bytes and checksum of the values of one partition. The checksum is the sum mod 2^32
 * of each value's CRC-32C, so it does not depend on how several producers interleave; order
 * is checked separately: each producer's sequence must grow by one (a new run restarts at 0).
 */
export class PartitionTally {
  records = 0;
  bytes = 0;
  checksum = 0;
  outOfOrder = 0;
  readonly #lastSequence = new Map<number, number>();

  add(value: Buffer, start = 0, end = value.length): void {
    this.addCrc(end - start, crc32c(value, 0, start, end));
  }

  /** `add` of a value whose CRC-32C the caller already has (value-checksum.ts). */
  addCrc(bytes: number, crc: number): void {
    this.records++;
    this.bytes += bytes;
    this.checksum = (this.checksum + crc) >>> 0;
  }

  /** `add` plus the order check, for values read back from a target. */
  addRead(value: Buffer, start: number, end: number): void {
    this.add(value, start, end);
    if (end - start < VALUE_HEADER_BYTES) {
      this.outOfOrder++;
      return;
    }
    const stamp = value.readDoubleLE(start + 8);
    const producer = Math.floor(stamp / SEQUENCE_SPAN);
    const sequence = stamp - producer * SEQUENCE_SPAN;
    const last = this.#lastSequence.get(producer);
    if (sequence !== 0 && last !== undefined && sequence !== last + 1) this.outOfOrder++;
    this.#lastSequence.set(producer, sequence);
  }
}

export type PartitionFigures = { topic: string; partition: number; records: number; checksum: string };


export function tallyFigures(spec: WorkloadSpec, tallies: readonly PartitionTally[]): PartitionFigures[] {
  return tallies.map((tally, index) => ({
    topic: topicName(spec, Math.floor(index / spec.partitions)),
    partition: index % spec.partitions,
    records: tally.records,
    checksum: tally.checksum.toString(16).padStart(8, '0'),
  }));
}
