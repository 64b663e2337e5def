/**
 * Goal: every offset commit the Kafka codec can hand the gateway decodes again on every gateway:
 * an acknowledged commit that a gateway would skip is a lost commit. Method: encode records at the
 * edges of what OffsetCommit can carry (int64 offsets that are safe integers, including kafkajs's
 * -2 and -1 sentinels; any int32 leader epoch; null, empty and long metadata) and decode them back.
 */
import { describe, expect, it } from 'vitest';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsRecord } from './offsets-records.ts';

describe('offsets records', () => {
  it('round-trip every offset, leader epoch and metadata an OffsetCommit can carry', () => {
    const offsets = [Number.MIN_SAFE_INTEGER, -1000, -2, -1, 0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const epochs = [-(2 ** 31), -2, -1, 0, 2 ** 31 - 1];
    const metadatas = [null, '', 'x'.repeat(4096)];
    for (const offset of offsets) {
      for (const leaderEpoch of epochs) {
        for (const metadata of metadatas) {
          const record: OffsetsRecord = { kind: 'offset-committed', group: 'g', topic: 't', partition: 2 ** 31 - 1,
            offset, leaderEpoch, metadata, commitTimeMs: 1_700_000_000_000 };
          expect(decodeOffsetsRecord(encodeOffsetsRecord(record))).toEqual(record);
        }
      }
    }
  });

  it('still refuses what no OffsetCommit carries: a negative partition, a fractional offset', () => {
    const base = { kind: 'offset-committed', group: 'g', topic: 't', partition: 0, offset: 0, leaderEpoch: -1,
      metadata: null, commitTimeMs: 0 } as const;
    expect(() => decodeOffsetsRecord(encodeOffsetsRecord({ ...base, partition: -1 }))).toThrow(/partition/);
    expect(() => decodeOffsetsRecord(encodeOffsetsRecord({ ...base, offset: 1.5 }))).toThrow(/offset/);
  });
});
