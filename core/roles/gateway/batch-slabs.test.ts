/**
 * Goal: the tail cache keeps big batches without copying them, never lets a small one pin a big
 * buffer, and packs the small batches it will hold into shared slabs, intact after the frame they
 * came in is reused, while batches it will not hold never go into a slab.
 * Slabs come back for reuse once no cached batch refers to them, and never earlier.
 * Method: BatchSlabs and ownBatch on views of one frame-sized buffer that is scribbled afterwards;
 * GatewayState fed entries of user streams, an internal stream and a header-only replay; BatchSlabs
 * with a FrameRefs, views held and released as GatewayState does; a GatewayState fed many times
 * its cache in small batches, every cached batch compared with what was sent.
 */
import { describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { ControlState } from '../../control/control-state.ts';
import { FIRST_USER_STREAM_ID, INTERNAL_TOPICS } from '../../control/topic-name.ts';
import { syntheticBatch } from '../../storage/synthetic-batch.ts';
import { BatchSlabs, ownBatch, SPARE_SLABS_MAX } from './batch-slabs.ts';
import { FrameRefs } from './frame-refs.ts';
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

describe('BatchSlabs reuse through FrameRefs', () => {
  /** Copies `count` batches of `bytes` into slabs, holding each slab view as GatewayState does. */
  function fill(slabs: BatchSlabs, frames: FrameRefs, count: number, bytes: number, fillByte: number): Uint8Array[] {
    const frame = Buffer.alloc(1 << 20, fillByte);
    const kept: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const batch = slabs.own(frame.subarray(0, bytes));
      expect(slabs.inSlab(batch)).toBe(true);
      frames.hold(batch.buffer);
      kept.push(batch);
    }
    return kept;
  }

  it('gives a slab back at the last release of its batches, and starts the next slab from it', () => {
    const frames = new FrameRefs();
    const slabs = new BatchSlabs(4096, frames);
    const first = fill(slabs, frames, 4, 1000, 1); // 4 batches: the first slab is full
    const second = fill(slabs, frames, 4, 1000, 2); // the second slab starts, the first is no longer filled
    expect(second[0]!.buffer).not.toBe(first[0]!.buffer);
    for (const batch of first) frames.release(batch.buffer);
    const third = fill(slabs, frames, 4, 1000, 3);
    expect({ allocated: slabs.slabsAllocated, reused: slabs.slabsReused }).toEqual({ allocated: 2, reused: 1 });
    expect(third[0]!.buffer).toBe(first[0]!.buffer);
    for (const batch of second) expect(batch.every((byte) => byte === 2)).toBe(true);
  });

  it('never gives back the slab it is filling, even when no batch in it is held any more', () => {
    const frames = new FrameRefs();
    const slabs = new BatchSlabs(4096, frames);
    const [only] = fill(slabs, frames, 1, 1000, 1);
    frames.release(only!.buffer); // the slab's one batch is gone; the slab is still being filled
    const more = fill(slabs, frames, 2, 1000, 2);
    expect(more[0]!.buffer).toBe(only!.buffer);
    expect(more[0]!.byteOffset).toBe(only!.byteOffset + 1000); // filled on, not started again
    const next = fill(slabs, frames, 2, 1000, 3); // the first slab is left: its batches are still held
    expect(next[1]!.buffer).not.toBe(only!.buffer);
    expect(slabs.slabsReused).toBe(0);
    for (const batch of more) expect(batch.every((byte) => byte === 2)).toBe(true);
  });

  it('keeps a slab a Fetch answer still refers to until the answer releases it', () => {
    const frames = new FrameRefs();
    const slabs = new BatchSlabs(4096, frames);
    const first = fill(slabs, frames, 4, 1000, 1);
    fill(slabs, frames, 1, 1000, 2);
    frames.hold(first[0]!.buffer); // the answer's view, taken while the cache holds the batch
    for (const batch of first) frames.release(batch.buffer);
    fill(slabs, frames, 4, 1000, 3); // fills the second slab, then needs a third
    expect(slabs.slabsReused).toBe(0);
    for (const batch of first) expect(batch.every((byte) => byte === 1)).toBe(true); // what the answer sends
    frames.release(first[0]!.buffer);
    fill(slabs, frames, 4, 1000, 4);
    expect(slabs.slabsReused).toBe(1);
  });

  it('keeps at most SPARE_SLABS_MAX spares', () => {
    const frames = new FrameRefs();
    const slabs = new BatchSlabs(4096, frames);
    const held = fill(slabs, frames, 4 * (SPARE_SLABS_MAX + 4), 1000, 1);
    fill(slabs, frames, 1, 1000, 2); // moves off the last full slab
    for (const batch of held) frames.release(batch.buffer);
    const allocated = slabs.slabsAllocated;
    fill(slabs, frames, 4 * (SPARE_SLABS_MAX + 4), 1000, 3);
    expect(slabs.slabsReused).toBe(SPARE_SLABS_MAX);
    expect(slabs.slabsAllocated - allocated).toBe(4);
  });
});

describe('GatewayState slab reuse', () => {
  it('holds many times its cache in small batches with a bounded number of slabs, every cached batch intact', () => {
    const cacheBytesMax = 2 << 20;
    const gateway = new GatewayState({ control: new ControlState(), cacheBytesMax, log: new Log('test', 'error') });
    const frame = Buffer.allocUnsafe(1 << 20);
    const streamId = FIRST_USER_STREAM_ID + 1;
    const batchBytes = 64 * 1024;
    const originals = new Map<number, Buffer>();
    for (let offset = 0; offset < 300; offset++) {
      const batch = syntheticBatch({ baseOffset: offset, recordCount: 1, baseTimestampMs: 1, maxTimestampMs: 1,
        bytes: batchBytes, fill: offset % 251 });
      originals.set(offset, batch);
      batch.copy(frame, 0);
      gateway.deliver({ streamId, recordCount: 1, batch: frame.subarray(0, batchBytes), seq: offset + 1, epoch: 1,
        baseOffset: offset });
      frame.fill(0xee); // the frame is reused for the next delivery
      if (offset % 4 === 3) gateway.advanceCommitted(offset + 1);
    }
    // 300 batches of 64 KiB are 18.75 MiB: without reuse, 19 slabs. With it, the cache's 2 MiB,
    // the slab being filled and the one the last eviction freed.
    expect(gateway.slabsAllocated).toBeLessThanOrEqual(cacheBytesMax / (1 << 20) + 2);
    const log = gateway.stream(streamId)!;
    const cached = log.cache.slice(log.cacheHead);
    expect(cached.length).toBeGreaterThan(16);
    for (const entry of cached) expect(Buffer.from(entry.batch).equals(originals.get(entry.baseOffset)!)).toBe(true);
  });
});
