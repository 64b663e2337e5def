/**
 * FrameSplitter: a TCP stream cut at arbitrary points must yield exactly the frames that were
 * sent, in order, whatever the chunking; oversize and negative sizes are reported at once,
 * before the frame body arrives, and stay final. Method: seeded random frames are
 * concatenated and re-cut at random points (fast-check), then fed chunk by chunk.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testSeed } from '../../test/harness/seed.ts';
import { FrameSplitter } from './framing.ts';

const seed = testSeed('kafka framing');

/** Byte equality of large frames: memcmp (toEqual walks a buffer byte by byte, 40 s for this file). */
function expectSame(actual: Buffer, expected: Buffer, index: number): void {
  expect(actual.length, `frame ${index} length`).toBe(expected.length);
  expect(actual.equals(expected), `frame ${index} bytes`).toBe(true);
}

function framed(bodies: Uint8Array[]): Buffer {
  const total = bodies.reduce((sum, body) => sum + 4 + body.length, 0);
  const stream = Buffer.alloc(total);
  let position = 0;
  for (const body of bodies) {
    stream.writeInt32BE(body.length, position);
    stream.set(body, position + 4);
    position += 4 + body.length;
  }
  return stream;
}

/**
 * Feeds `stream` to `splitter` as the socket does: each read lands in readTarget() when offered
 * (at most its length), else in the reused `readBuffer`, scribbled over after `afterPush`.
 * Returns how many bytes were read in place.
 */
function feedLikeSocket(splitter: FrameSplitter, stream: Buffer, cuts: number[], afterPush: () => void): number {
  const readBuffer = Buffer.alloc(64 * 1024);
  let position = 0;
  let cutIndex = 0;
  let inPlace = 0;
  while (position < stream.length) {
    const target = splitter.readTarget() ?? readBuffer;
    const length = Math.min(cuts[cutIndex++ % cuts.length] as number, target.length, stream.length - position);
    stream.copy(target, 0, position, position + length);
    if (target !== readBuffer) inPlace += length;
    splitter.push(target.subarray(0, length));
    position += length;
    afterPush();
    readBuffer.fill(0xee);
  }
  return inPlace;
}

/** Frame sizes up to 200 KB (several 64 KiB reads each), and socket read sizes. */
const largeFrameSizes = (maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength });
const readSizes = fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 20 });

/** Frames of `sizes` (frame i filled with i + 1), their stream, and a splitter starting at 64 KiB. */
function largeFrames(sizes: number[]): { bodies: Buffer[]; stream: Buffer; splitter: FrameSplitter } {
  const bodies = sizes.map((size, i) => Buffer.alloc(size, i + 1));
  return { bodies, stream: framed(bodies), splitter: new FrameSplitter(256 * 1024, 64 * 1024) };
}

function drain(splitter: FrameSplitter, into: Buffer[]): string {
  for (;;) {
    const result = splitter.next();
    if (!Buffer.isBuffer(result)) return result;
    into.push(Buffer.from(result));
  }
}

describe('FrameSplitter', () => {
  it('yields every frame in order whatever the chunk boundaries, also from one reused read buffer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        (bodies, cuts, reused) => {
          const stream = framed(bodies);
          const splitter = new FrameSplitter(1024, 16);
          const frames: Buffer[] = [];
          // reused: every chunk is read into one buffer, scribbled over once the splitter says 'more'.
          const readBuffer = Buffer.alloc(700);
          let position = 0;
          let cutIndex = 0;
          while (position < stream.length) {
            const length = cuts[cutIndex++ % cuts.length] as number;
            const piece = stream.subarray(position, position + length);
            splitter.push(reused ? readBuffer.subarray(0, piece.copy(readBuffer)) : piece);
            position += length;
            expect(drain(splitter, frames)).toBe('more');
            if (reused) readBuffer.fill(0xee);
          }
          expect(frames).toEqual(bodies.map((body) => Buffer.from(body)));
          expect(splitter.pendingBytes).toBe(0);
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it('reads the rest of large frames in place when the socket uses readTarget, frames intact', () => {
    fc.assert(
      fc.property(
        largeFrameSizes(8), readSizes,
        (sizes, cuts) => {
          const { bodies, stream, splitter } = largeFrames(sizes);
          const frames: Buffer[] = [];
          const inPlace = feedLikeSocket(splitter, stream, cuts, () => expect(drain(splitter, frames)).toBe('more'));
          expect(frames).toHaveLength(bodies.length);
          frames.forEach((frame, i) => expectSame(frame, bodies[i]!, i));
          expect(splitter.pendingBytes).toBe(0);
          // A frame missing 16 KiB or more after its first read is completed in place.
          if (sizes.some((size) => size > 64 * 1024 + 16 * 1024) && cuts.every((cut) => cut >= 1024)) {
            expect(inPlace).toBeGreaterThan(0);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it('an adopted frame stays intact past later pushes until its buffer is given back', () => {
    fc.assert(
      fc.property(
        largeFrameSizes(10), readSizes, fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        (sizes, cuts, returnsEarly) => {
          const { bodies, stream, splitter } = largeFrames(sizes);
          const kept: Array<{ index: number; frame: Buffer; buffer: Buffer }> = [];
          let index = 0;
          let adopted = 0;
          feedLikeSocket(splitter, stream, cuts, () => {
            for (let frame = splitter.next(); Buffer.isBuffer(frame); frame = splitter.next()) {
              expectSame(frame, bodies[index]!, index);
              // Frames kept so far are intact after every push that led here.
              for (const { index: i, frame: keptFrame } of kept) expectSame(keptFrame, bodies[i]!, i);
              const buffer = splitter.adoptFrame(frame);
              if (buffer !== null) {
                adopted += 1;
                kept.push({ index, frame, buffer });
              }
              index += 1;
            }
            // Give some back (the link wrote them): those frames may change from now on.
            while (kept.length > 0 && returnsEarly[index % returnsEarly.length]) {
              const oldest = kept.shift()!;
              expectSame(oldest.frame, bodies[oldest.index]!, oldest.index);
              splitter.returnBuffer(oldest.buffer);
              if (kept.length > 2) break;
            }
          });
          for (const { index: i, frame } of kept) expectSame(frame, bodies[i]!, i);
          expect(index).toBe(bodies.length);
          expect(splitter.pendingBytes).toBe(0);
          if (sizes.some((size) => size > 64 * 1024 + 16 * 1024) && cuts.every((cut) => cut >= 1024)) {
            expect(adopted).toBeGreaterThan(0);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it('returns frames of a whole chunk as views, without copying', () => {
    const stream = framed([Buffer.from('abc'), Buffer.from('de')]);
    const splitter = new FrameSplitter(100);
    splitter.push(stream);
    const first = splitter.next();
    expect(Buffer.isBuffer(first) && first.buffer === stream.buffer).toBe(true);
    expect(String(splitter.next())).toBe('de');
    expect(splitter.next()).toBe('more');
  });

  it('reports an oversize frame from its 4 size bytes alone, and stays failed', () => {
    const splitter = new FrameSplitter(1000);
    splitter.push(Buffer.from([0, 0, 0x03, 0xe9]));
    expect(splitter.next()).toBe('oversize');
    expect(splitter.failedSizeBytes).toBe(1001);
    splitter.push(framed([Buffer.from('x')]));
    expect(splitter.next()).toBe('oversize');
  });

  it('accepts a frame of exactly the maximum size', () => {
    const splitter = new FrameSplitter(1000);
    const frames: Buffer[] = [];
    const stream = framed([Buffer.alloc(1000, 7)]);
    splitter.push(stream.subarray(0, 10));
    expect(drain(splitter, frames)).toBe('more');
    splitter.push(stream.subarray(10));
    expect(drain(splitter, frames)).toBe('more');
    expect(frames[0]?.length).toBe(1000);
  });

  it('reports a negative size as malformed', () => {
    const splitter = new FrameSplitter(1000);
    splitter.push(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2]));
    expect(splitter.next()).toBe('malformed');
    expect(splitter.failedSizeBytes).toBe(-2);
  });
});
