/**
 * Goal: river frames round-trip, fragment and reassemble exactly, and refuse every corruption.
 * Method: property tests (fast-check) over random entry sets and fragment sizes; single-bit flips
 * anywhere in a frame must be refused by one of the two CRCs or the layout checks; the reassembler
 * refuses a corrupt fragment body (it checks the CRC as it copies) and completes from good copies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrameHeader, entryBytes, FragmentWriter, FRAME_HEADER_BYTES, FRAME_KIND, fragmentedBytes, readEntries,
  writeEntry, writeFragments, type FrameHeader, type RiverEntry,
} from './frame.ts';
import { BODY_CRC_FAILED, REASSEMBLY_BYTES_MAX, Reassembler, type CompleteFrame } from './reassembler.ts';

const entryArbitrary = fc.record({
  streamId: fc.nat(2 ** 32 - 1),
  recordCount: fc.integer({ min: 1, max: 1000 }),
  baseOffset: fc.nat(2 ** 50),
  batch: fc.uint8Array({ minLength: 0, maxLength: 3000 }),
});

function encodeBody(entries: RiverEntry[]): Buffer {
  const body = Buffer.alloc(entries.reduce((sum, e) => sum + entryBytes(e.batch.length), 0));
  let position = 0;
  for (const entry of entries) position = writeEntry(body, position, entry);
  return body;
}

function frameOf(entries: RiverEntry[], fragmentBodyBytesMax: number, seq = 7): Buffer {
  const body = encodeBody(entries);
  const out = Buffer.alloc(fragmentedBytes(body.length, fragmentBodyBytesMax));
  const end = writeFragments(out, 0, body, { kind: FRAME_KIND.data, entryCount: entries.length, riverId: 3, epoch: 2,
    seq,
    committedSeq: 5 }, fragmentBodyBytesMax);
  expect(end).toBe(out.length);
  return out;
}

function datagramsOf(frame: Buffer): Buffer[] {
  const datagrams: Buffer[] = [];
  let position = 0;
  while (position < frame.length) {
    const header = decodeFrameHeader(frame, position, frame.length - position);
    if (typeof header === 'string') throw new Error(header);
    const end = position + FRAME_HEADER_BYTES + header.bodyBytes;
    datagrams.push(frame.subarray(position, end));
    position = end;
  }
  return datagrams;
}

describe('river frames', () => {
  it('fragment, shuffle, duplicate, reassemble and decode to the same entries, also from a reused ring', () => {
    fc.assert(fc.property(fc.array(entryArbitrary, { minLength: 1, maxLength: 20 }), fc.integer({ min: 64, max: 9000 }),
      fc.array(fc.nat()), fc.boolean(), (entries, fragmentBodyBytesMax, shuffle, transient) => {
        const datagrams = datagramsOf(frameOf(entries, fragmentBodyBytesMax));
        for (let i = datagrams.length - 1; i > 0; i--) {
          const j = (shuffle[i] ?? 0) % (i + 1);
          [datagrams[i], datagrams[j]] = [datagrams[j]!, datagrams[i]!];
        }
        if (datagrams.length > 1) datagrams.push(datagrams[(shuffle[0] ?? 0) % datagrams.length]!); // a duplicate
        const reassembler = new Reassembler();
        // transient: each datagram goes through one scratch buffer, scribbled over after each add.
        const ring = Buffer.alloc(fragmentBodyBytesMax + FRAME_HEADER_BYTES);
        let complete = null;
        for (const original of datagrams) {
          const datagram = transient ? ring.subarray(0, original.copy(ring)) : original;
          const header = decodeFrameHeader(datagram, 0, datagram.length);
          if (typeof header === 'string') throw new Error(header);
          expect(header.seq).toBe(7);
          expect(header.epoch).toBe(2);
          expect(header.committedSeq).toBe(5);
          const result = reassembler.add(header, datagram.subarray(FRAME_HEADER_BYTES), transient);
          if (transient) ring.fill(0xee);
          if (completeOf(result)) {
            expect(complete).toBeNull();
            complete = completeOf(result);
          }
        }
        expect(reassembler.pending).toBe(datagrams.length > 1 ? 1 : 0); // the duplicate opened a new one
        expect(reassembler.heldBytes).toBeGreaterThanOrEqual(0);
        expect(complete).not.toBeNull();
        const decoded = readEntries(complete!.body, entries.length);
        expect(decoded?.map((e) => ({ ...e, batch: Buffer.from(e.batch) })))
          .toEqual(entries.map((e) => ({ ...e, batch: Buffer.from(e.batch) })));
      }));
  });

  it('entries written straight into fragments equal the assembled body cut into fragments, patches included', () => {
    // Up to 12 KB: pieces of 4 KiB and more are copied with their CRC in one pass, smaller ones CRC'd in runs.
    // (Lengths drawn as integers: fast-check would keep generated arrays short, and shrinks them slowly.)
    const batchArbitrary = fc.tuple(fc.integer({ min: 61, max: 12_000 }), fc.nat())
      .map(([length, seed]) => Buffer.from(Array.from({ length }, (_, i) => (seed + i * 131) & 0xff)));
    const patchedArbitrary = fc.record({ streamId: fc.nat(2 ** 32 - 1), recordCount: fc.integer({ min: 1, max: 1000 }),
      baseOffset: fc.nat(2 ** 50), batch: batchArbitrary });
    const writer = new FragmentWriter(); // one writer reused, like the sequencer's
    fc.assert(fc.property(fc.array(patchedArbitrary, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 64, max: 20_000 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.nat(100),
      (entries, fragmentBodyBytesMax, leaderEpoch, offset) => {
        const originals = entries.map((entry) => Buffer.from(entry.batch));
        // Expected: the old way, the body assembled with the two RecordBatch fields patched, then cut.
        const patched = entries.map((entry) => {
          const batch = Buffer.from(entry.batch);
          batch.writeBigInt64BE(BigInt(entry.baseOffset), 0);
          batch.writeInt32BE(leaderEpoch, 12);
          return { ...entry, batch };
        });
        const header = { kind: FRAME_KIND.data, entryCount: entries.length, riverId: 3, epoch: 2, seq: 9,
          committedSeq: 4 } as const;
        const body = encodeBody(patched);
        const expected = Buffer.alloc(fragmentedBytes(body.length, fragmentBodyBytesMax));
        writeFragments(expected, 0, body, header, fragmentBodyBytesMax);
        const target = Buffer.alloc(offset + expected.length + 10, 0xaa);
        writer.begin(target, offset, body.length, fragmentBodyBytesMax);
        for (const entry of entries) writer.putEntry(entry, leaderEpoch);
        expect(writer.finish(header)).toBe(offset + expected.length);
        expect(target.subarray(offset, offset + expected.length).equals(expected)).toBe(true);
        datagramsOf(target.subarray(offset, offset + expected.length)); // every body passes its CRC check
        expect(target.subarray(0, offset).every((byte) => byte === 0xaa)).toBe(true);
        expect(target.subarray(offset + expected.length).every((byte) => byte === 0xaa)).toBe(true);
        entries.forEach((entry, i) => expect(Buffer.from(entry.batch).equals(originals[i]!)).toBe(true)); // not patched
      }), { numRuns: 300 });
  });

  it('refuses any single flipped bit', () => {
    const frame = frameOf([{ streamId: 1, recordCount: 2, baseOffset: 3, batch: Buffer.from('hello river') }], 4000);
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const copy = Buffer.from(frame);
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
      expect(typeof decodeFrameHeader(copy, 0, copy.length), `bit ${bit}`).toBe('string');
    }
  });

  it('refuses truncated frames and says why', () => {
    const frame = frameOf([{ streamId: 1, recordCount: 1, baseOffset: 0, batch: Buffer.alloc(100) }], 4000);
    expect(decodeFrameHeader(frame, 0, 10)).toBe('short');
    expect(decodeFrameHeader(frame.subarray(0, frame.length - 1), 0, frame.length - 1)).toBe('length');
    expect(readEntries(Buffer.alloc(5), 1)).toBeNull();
  });
});

function completeOf(result: CompleteFrame | null | typeof BODY_CRC_FAILED): CompleteFrame | null {
  if (result === BODY_CRC_FAILED) throw new Error('a fragment failed its body CRC');
  return result;
}

describe('reassembler body checks', () => {
  const entries = [{ streamId: 9, recordCount: 1, baseOffset: 4, batch: Buffer.from(Array.from({ length: 1000 },
    (_, i) => (i * 31) & 0xff)) }];

  function fragments(fragmentBodyBytesMax: number): Array<[FrameHeader, Buffer]> {
    return datagramsOf(frameOf(entries, fragmentBodyBytesMax, 11)).map((datagram) => {
      const header = decodeFrameHeader(datagram, 0, datagram.length, false);
      if (typeof header === 'string') throw new Error(header);
      return [header, datagram.subarray(FRAME_HEADER_BYTES)];
    });
  }

  function flipped(body: Buffer, at: number): Buffer {
    const copy = Buffer.from(body);
    copy[at % copy.length] = copy[at % copy.length]! ^ 0x10;
    return copy;
  }

  it('decodeFrameHeader with the body unchecked passes a corrupt body and states its CRC', () => {
    const [[header, body]] = fragments(4000) as [[FrameHeader, Buffer]];
    const datagram = Buffer.concat([datagramsOf(frameOf(entries, 4000, 11))[0]!.subarray(0, FRAME_HEADER_BYTES),
      flipped(body, 7)]);
    expect(decodeFrameHeader(datagram, 0, datagram.length)).toBe('body-crc');
    const unchecked = decodeFrameHeader(datagram, 0, datagram.length, false);
    expect(typeof unchecked).toBe('object');
    expect((unchecked as FrameHeader).bodyCrc).toBe(header.bodyCrc);
  });

  it('refuses a single-fragment body that fails its CRC, kept or copied, and takes the good one', () => {
    for (const transient of [false, true]) {
      const reassembler = new Reassembler(256, REASSEMBLY_BYTES_MAX, true);
      const [[header, body]] = fragments(4000) as [[FrameHeader, Buffer]];
      expect(reassembler.add(header, flipped(body, 100), transient)).toBe(BODY_CRC_FAILED);
      expect(reassembler.corruptFragments).toBe(1);
      const frame = completeOf(reassembler.add(header, body, transient))!;
      expect(readEntries(frame.body, 1)?.[0]?.batch).toEqual(entries[0]!.batch);
    }
  });

  it('refuses each corrupt fragment of a large frame (any order), then completes it from the good ones', () => {
    fc.assert(fc.property(fc.integer({ min: 64, max: 600 }), fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
      fc.nat(), (fragmentBodyBytesMax, order, at) => {
        const parts = fragments(fragmentBodyBytesMax);
        fc.pre(parts.length > 1);
        const reassembler = new Reassembler(256, REASSEMBLY_BYTES_MAX, order[0]! % 2 === 0);
        const indexes = parts.map((_, i) => i).sort((a, b) => (order[a % 8]! - order[b % 8]!) || a - b);
        let complete: CompleteFrame | null = null;
        let corrupt = 0;
        for (const index of indexes) {
          const [header, body] = parts[index]!;
          // Every fragment comes corrupt first (the last one both before and after the frame is sized).
          expect(reassembler.add(header, flipped(body, at), true)).toBe(BODY_CRC_FAILED);
          corrupt += 1;
          complete = completeOf(reassembler.add(header, body, true)) ?? complete;
        }
        expect(reassembler.corruptFragments).toBe(corrupt);
        expect(complete).not.toBeNull();
        expect(readEntries(complete!.body, 1)?.[0]?.batch).toEqual(entries[0]!.batch);
      }), { numRuns: 60 });
  });
});

describe('reassembler partial frames', () => {
  it('names the missing fragments of frames held in part, in seq order', () => {
    const entries = [{ streamId: 1, recordCount: 1, baseOffset: 0, batch: Buffer.alloc(1000, 7) }];
    const reassembler = new Reassembler();
    for (const seq of [30, 10]) {
      const datagrams = datagramsOf(frameOf(entries, 300, seq));
      expect(datagrams.length).toBe(4);
      for (const index of [0, 2]) {
        const header = decodeFrameHeader(datagrams[index]!, 0, datagrams[index]!.length);
        if (typeof header === 'string') throw new Error(header);
        expect(reassembler.add(header, datagrams[index]!.subarray(FRAME_HEADER_BYTES))).toBeNull();
      }
    }
    expect(reassembler.partialsIn(0, 100)).toEqual([
      { seq: 10, entryCount: 1, missing: [1, 3] }, { seq: 30, entryCount: 1, missing: [1, 3] },
    ]);
    expect(reassembler.partialsIn(11, 30)).toEqual([]);
  });

  function fragmentsOf(seq: number, bodyBytes: number, fragmentBodyBytesMax: number): Array<[FrameHeader, Buffer]> {
    const entries = [{ streamId: 1, recordCount: 1, baseOffset: 0, batch: Buffer.alloc(bodyBytes, 7) }];
    return datagramsOf(frameOf(entries, fragmentBodyBytesMax, seq)).map((datagram) => {
      const header = decodeFrameHeader(datagram, 0, datagram.length);
      if (typeof header === 'string') throw new Error(header);
      return [header, datagram.subarray(FRAME_HEADER_BYTES)];
    });
  }

  it('drops a frame whose fragment sizes contradict each other, and counts it', () => {
    const reassembler = new Reassembler();
    const [first, second] = fragmentsOf(5, 1000, 300);
    expect(reassembler.add(first![0], first![1])).toBeNull();
    expect(reassembler.add(second![0], second![1].subarray(0, 100))).toBeNull(); // not the last: must be 300 long
    expect(reassembler.malformed).toBe(1);
    expect(reassembler.pending).toBe(0);
    expect(reassembler.heldBytes).toBe(0);
  });

  it('reuses a recycled frame buffer for the next frames, which still decode exactly (pooled only)', () => {
    const reassembler = new Reassembler(256, REASSEMBLY_BYTES_MAX, true);
    const unpooled = new Reassembler();
    for (let seq = 1; seq <= 50; seq++) {
      const entries = [{ streamId: seq, recordCount: 1, baseOffset: seq, batch: Buffer.alloc(900 + seq, seq) }];
      let complete = null;
      for (const datagram of datagramsOf(frameOf(entries, 300, seq))) {
        const header = decodeFrameHeader(datagram, 0, datagram.length);
        if (typeof header === 'string') throw new Error(header);
        complete = completeOf(reassembler.add(header, datagram.subarray(FRAME_HEADER_BYTES), true)) ?? complete;
      }
      expect(complete?.own).toBeTruthy();
      const decoded = readEntries(complete!.body, 1);
      expect(decoded?.[0]?.streamId).toBe(seq);
      expect(Buffer.from(decoded![0]!.batch).equals(entries[0]!.batch)).toBe(true);
      complete!.own!.fill(0xee); // whatever the receiver leaves in it must not matter
      reassembler.recycle(complete!.own!);
      // Unpooled (a gateway, which keeps frames): a single-fragment copy is sized exactly, never reused.
      const single = datagramsOf(frameOf(entries, 4000, seq))[0]!;
      const header = decodeFrameHeader(single, 0, single.length);
      if (typeof header === 'string') throw new Error(header);
      const copied = completeOf(unpooled.add(header, single.subarray(FRAME_HEADER_BYTES), true))!;
      expect(copied.own!.length).toBe(single.length - FRAME_HEADER_BYTES);
      unpooled.recycle(copied.own!);
    }
    expect(reassembler.buffersAllocated).toBe(1);
    expect(unpooled.buffersAllocated).toBe(50);
  });

  it('holds at most bytesMax of partial frames, dropping the oldest', () => {
    const reassembler = new Reassembler(256, 10_000);
    for (const seq of [1, 2, 3, 4]) {
      const [first] = fragmentsOf(seq, 12_000, 4000); // a 16,000-byte buffer each... over the bound
      expect(reassembler.add(first![0], first![1])).toBeNull();
    }
    expect(reassembler.pending).toBe(1);
    expect(reassembler.partialsIn(0, 10).map((p) => p.seq)).toEqual([4]);
    expect(reassembler.dropped).toBe(3);
  });
});
