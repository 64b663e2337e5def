// Goal: the binary form of `__x2_control` and `__consumer_offsets` records is exact and strict.
// Method: every record kind round-trips (fixed examples and fast-check generated ones); equal
// records encode to equal bytes; an unknown format version or kind, a short or garbled body, a
// field of the wrong type and trailing fields are each refused with an X2_ERR_FORMAT error
// whose message names the problem.
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { X2Error } from '../base/errors.ts';
import { decodeControlRecord, encodeControlRecord, type ControlRecord } from './control-records.ts';
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsRecord } from './offsets-records.ts';

const controlExamples: ControlRecord[] = [
  { kind: 'topic-created', topic: 'trades', streamIds: [1024, 1025, 1026], configs: { 'retention.ms': '1000' } },
  { kind: 'topic-created', topic: 'quotes', streamIds: [4_000_000_000], configs: {} },
  { kind: 'topic-deleted', topic: 'trades', topicId: 1024 },
  { kind: 'partitions-added', topic: 'quotes', topicId: 2000, streamIds: [2001, 2002] },
  { kind: 'configs-altered', topic: 'quotes', topicId: 2000, set: { 'retention.bytes': '10' }, removed: ['a'] },
  { kind: 'log-start-moved', streamId: 1025, logStartOffset: 2 ** 53 - 1 },
  { kind: 'configs-replaced', topic: 'quotes', topicId: 2000, configs: { 'retention.ms': '60000' } },
  { kind: 'configs-replaced', topic: 'quotes', topicId: 2000, configs: {} },
];

const offsetsExamples: OffsetsRecord[] = [
  {
    kind: 'offset-committed', group: 'g', topic: 't', partition: 3, offset: 42, leaderEpoch: -1,
    metadata: null, commitTimeMs: 1_790_000_000_000,
  },
  {
    kind: 'offset-committed', group: 'g', topic: 't', partition: 0, offset: 2 ** 40, leaderEpoch: 7,
    metadata: 'worker-1', commitTimeMs: 0,
  },
  { kind: 'offset-deleted', group: 'g', topic: 't', partition: 3 },
  { kind: 'group-deleted', group: 'g' },
];

function formatErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(X2Error);
    expect((error as X2Error).code).toBe('X2_ERR_FORMAT');
    return (error as Error).message;
  }
  throw new Error('expected an X2_ERR_FORMAT error');
}

describe('control records', () => {
  it.each(controlExamples)('round-trips $kind', (record) => {
    const bytes = encodeControlRecord(record);
    expect(bytes[0]).toBe(1);
    expect(decodeControlRecord(bytes)).toEqual(record);
  });

  it('encodes equal records to equal bytes whatever the key order of config maps', () => {
    const a = encodeControlRecord({ kind: 'topic-created', topic: 't', streamIds: [5], configs: { b: '2', a: '1' } });
    const b = encodeControlRecord({ kind: 'topic-created', topic: 't', streamIds: [5], configs: { a: '1', b: '2' } });
    expect(a.equals(b)).toBe(true);
  });

  it('round-trips generated topic-created records', () => {
    const arbitrary = fc.record({
      topic: fc.string({ maxLength: 249 }),
      streamIds: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 50 }),
      configs: fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), fc.string()),
    });
    fc.assert(fc.property(arbitrary, (fields) => {
      const record: ControlRecord = { kind: 'topic-created', ...fields };
      expect(decodeControlRecord(encodeControlRecord(record))).toEqual(record);
    }));
  });

  it('refuses an unknown format version, naming it and the versions it reads', () => {
    const bytes = encodeControlRecord(controlExamples[0] as ControlRecord);
    bytes[0] = 9;
    expect(formatErrorOf(() => decodeControlRecord(bytes)))
      .toBe('__x2_control record: format version 9 is unknown, this x2 reads 1');
  });

  it('refuses an unknown kind, a short record and a garbled body', () => {
    const bytes = encodeControlRecord(controlExamples[2] as ControlRecord);
    bytes[1] = 77;
    expect(formatErrorOf(() => decodeControlRecord(bytes))).toMatch(/record kind 77 is unknown/);
    expect(formatErrorOf(() => decodeControlRecord(Buffer.from([1, 1])))).toMatch(/too short/);
    expect(formatErrorOf(() => decodeControlRecord(Buffer.from([1, 1, 0x93, 1])))).toMatch(/not valid msgpack/);
    expect(formatErrorOf(() => decodeControlRecord(Buffer.from([1, 1, 0x05])))).toMatch(/not a field list/);
    expect(formatErrorOf(() => decodeControlRecord(Buffer.from([1, 1, 0x91, 1, 2])))).toMatch(/not valid msgpack/);
    expect(formatErrorOf(() => decodeControlRecord(Buffer.from([1, 1, 0xc1])))).toMatch(/not a field list/);
  });

  it('refuses fields of the wrong type or range, missing fields and trailing fields', () => {
    const packr = new Packr({ useRecords: false });
    const envelope = (kind: number, fields: unknown[]): Buffer =>
      Buffer.concat([Buffer.from([1, kind]), packr.pack(fields)]);
    expect(formatErrorOf(() => decodeControlRecord(envelope(2, [7, 1024]))))
      .toBe('__x2_control record: field topic is 7, a string is required');
    expect(formatErrorOf(() => decodeControlRecord(envelope(5, [1024, -3]))))
      .toMatch(/field logStartOffset is -3, an integer in \[0, /);
    expect(formatErrorOf(() => decodeControlRecord(envelope(1, ['t', [1.5], []]))))
      .toMatch(/field streamIds\[0\] is 1.5/);
    expect(formatErrorOf(() => decodeControlRecord(envelope(1, ['t', [1], ['odd']]))))
      .toMatch(/field configs is 1, an even number/);
    expect(formatErrorOf(() => decodeControlRecord(envelope(2, ['t']))))
      .toMatch(/field topicId is missing/);
    expect(formatErrorOf(() => decodeControlRecord(envelope(2, ['t', 1, 'extra']))))
      .toMatch(/1 unexpected trailing fields/);
  });
});

describe('offsets records', () => {
  it.each(offsetsExamples)('round-trips $kind', (record) => {
    expect(decodeOffsetsRecord(encodeOffsetsRecord(record))).toEqual(record);
  });

  it('refuses an unknown format version', () => {
    const bytes = encodeOffsetsRecord(offsetsExamples[3] as OffsetsRecord);
    bytes[0] = 0;
    expect(formatErrorOf(() => decodeOffsetsRecord(bytes)))
      .toBe('__consumer_offsets record: format version 0 is unknown, this x2 reads 1');
  });

  it('refuses a control record fed to the offsets decoder when the shape differs', () => {
    const bytes = encodeControlRecord({ kind: 'topic-deleted', topic: 't', topicId: 1 });
    expect(formatErrorOf(() => decodeOffsetsRecord(bytes))).toMatch(/field topic is 1, a string is required/);
  });
});
