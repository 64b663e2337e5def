/**
 * Goal: the tail cache keeps big batches without copying them, never lets a small one pin a big
 * buffer, and packs the small batches it will hold into shared slabs, intact after the frame they
 * came in is reused, while batches it will not hold never go into a slab.
 * Method: BatchSlabs and ownBatch on views of one frame-sized buffer that is scribbled afterwards;
 * GatewayState fed entries of user streams, an internal stream and a header-only replay.
 */
import { describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { ControlState } from '../../control/control-state.ts';
import { FIRST_USER_STREAM_ID, INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { syntheticBatch } from '../../storage/synthetic-batch.ts';
import { BatchSlabs, ownBatch } from './batch-slabs.ts';
import { GatewayState } from './gateway-state.ts';

describe('ownBatch', () => {
  const frame = Buffer.allocUnsafe(1 << 20);
  frame.fill(7);

  it('keeps a batch that fills at least half of its buffer as the same memory', () => {
    const big = frame.subarray(100, 100 + (1 << 19));
    const kept = ownBatch(big);
    expect(kept.buffer).toBe(frame.buffer);
    expect(kept.byteOffset).toBe(big.byteOffset);
    expect(kept.length).toBe(big.length);
  });

  it('copies a small batch out, with the same bytes, so the frame buffer can be freed', () => {
    const small = frame.subarray(5000, 6000);
    small.fill(42);
    const kept = ownBatch(small);
    expect(kept.buffer).not.toBe(frame.buffer);
    expect(kept.buffer.byteLength).toBeLessThan(frame.length / 2);
    expect(Buffer.from(kept.buffer, kept.byteOffset, kept.length).equals(small)).toBe(true);
    small.fill(0);
    expect(kept[0]).toBe(42);
  });
});

describe('BatchSlabs', () => {
  it('packs small batches back to back into one slab, each intact after the frame is scribbled', () => {
    const slabs = new BatchSlabs(64 * 1024);
    const frame = Buffer.allocUnsafe(1 << 20);
    const expected: Buffer[] = [];
    const kept: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      const view = frame.subarray(i * 500, i * 500 + 100 + i);
      view.fill(i);
      expected.push(Buffer.from(view));
      kept.push(slabs.own(view));
    }
    frame.fill(0xee);
    expect(slabs.slabsAllocated).toBe(1);
    for (let i = 0; i < kept.length; i++) {
      expect(kept[i]!.buffer).toBe(kept[0]!.buffer);
      expect(kept[i]!.buffer).not.toBe(frame.buffer);
      expect(Buffer.from(kept[i]!).equals(expected[i]!)).toBe(true);
      if (i > 0) expect(kept[i]!.byteOffset).toBe(kept[i - 1]!.byteOffset + kept[i - 1]!.length);
    }
  });

  it('starts a new slab when a batch does not fit, never splitting a batch', () => {
    const slabs = new BatchSlabs(4096);
    const frame = Buffer.alloc(1 << 20, 3);
    const kept = [0, 1, 2, 3, 4].map((i) => slabs.own(frame.subarray(i * 2000, i * 2000 + 1000)));
    expect(slabs.slabsAllocated).toBe(2);
    expect(kept[3]!.buffer).toBe(kept[0]!.buffer);
    expect(kept[4]!.buffer).not.toBe(kept[0]!.buffer);
    expect(kept[4]!.byteOffset).toBe(0);
    for (const batch of kept) expect(batch.every((byte) => byte === 3)).toBe(true);
  });

  it('keeps a batch that fills half its buffer, and copies one of more than a quarter slab alone', () => {
    const slabs = new BatchSlabs(64 * 1024);
    const own = Buffer.alloc(20_000, 1);
    expect(slabs.own(own)).toBe(own);
    const frame = Buffer.alloc(1 << 20, 2);
    const large = slabs.own(frame.subarray(0, 20_000));
    expect({ same: large.buffer === frame.buffer, bytes: large.buffer.byteLength, slabs: slabs.slabsAllocated })
      .toEqual({ same: false, bytes: 20_000, slabs: 0 });
  });
});

describe('GatewayState slabs', () => {
  it('caches small user batches back to back in a slab; internal and header-only batches stay out of it', () => {
    const gateway = new GatewayState({ control: new ControlState(), cacheBytesMax: 1 << 20,
      log: new Log('test', 'error') });
    const frame = Buffer.allocUnsafe(1 << 20);
    let position = 0;
    const place = (batch: Buffer): Buffer => {
      batch.copy(frame, position);
      const view = frame.subarray(position, position + batch.length);
      position += batch.length;
      return view;
    };
    const batchOf = (baseOffset: number, fill: number): Buffer =>
      syntheticBatch({ baseOffset, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1, bytes: 120, fill });
    const streamId = FIRST_USER_STREAM_ID + 1;
    const originals: Buffer[] = [];
    let seq = 0;
    for (let offset = 0; offset < 20; offset++) {
      originals.push(batchOf(offset, offset));
      gateway.deliver({ streamId, recordCount: 1, batch: place(originals[offset]!), seq: ++seq, epoch: 1,
        baseOffset: offset });
      if (offset === 9) {
        // Between them: a batch of __x2_metrics and a header-only replay of another user stream.
        gateway.deliver({ streamId: INTERNAL_TOPICS[2].streamId, recordCount: 1, batch: place(batchOf(0, 99)),
          seq: ++seq, epoch: 1, baseOffset: 0 });
        gateway.deliver({ streamId: FIRST_USER_STREAM_ID, recordCount: 1, batch: place(batchOf(0, 98)).subarray(0, 61),
          seq: ++seq, epoch: 1, baseOffset: 0, batchBytes: 120 });
      }
    }
    gateway.advanceCommitted(seq);
    frame.fill(0);
    expect(gateway.appliedSeq).toBe(seq);
    const cached = gateway.stream(streamId)!.cache;
    expect(cached.map((batch) => batch.baseOffset)).toEqual(originals.map((_, offset) => offset));
    for (let i = 0; i < cached.length; i++) {
      const batch = cached[i]!.batch;
      expect(batch.buffer).not.toBe(frame.buffer);
      expect(Buffer.from(batch).equals(originals[i]!)).toBe(true);
      // Back to back: nothing else went into the slab between offsets 9 and 10.
      if (i > 0) expect(batch.byteOffset).toBe(cached[i - 1]!.batch.byteOffset + cached[i - 1]!.batch.length);
    }
  });
});
