/**
 * Goal: an input stream holds exactly the entries no checkpoint covers yet, and its owner resumes
 * at the checkpoint after a claim or a refused append. Method: hold entries, cover them with
 * checkpoints (also past the cursor and in the middle of an entry), walk with peek/advance, resume.
 */
import { describe, expect, it } from 'vitest';
import type { StoredRiverEntry } from '../../river/messages.ts';
import { InputStream } from './input-stream.ts';

function entry(seq: number, baseOffset: number, recordCount: number): StoredRiverEntry {
  return { seq, epoch: 1, streamId: 1024, baseOffset, recordCount, batch: Buffer.alloc(10 * recordCount) } as
    StoredRiverEntry;
}

describe('InputStream', () => {
  it('holds uncovered entries, frees covered ones, and resumes at the checkpoint', () => {
    const input = new InputStream(1024, { topic: 't', partition: 0 });
    input.hold({ entry: entry(1, 0, 5), appliedAtMs: 0 });
    input.hold({ entry: entry(2, 5, 5), appliedAtMs: 0 });
    input.hold({ entry: entry(3, 10, 5), appliedAtMs: 0 });
    expect(input.headOffset).toBe(15);
    expect(input.label).toBe('t[0]');
    input.ownership = 'owned';
    input.fenceNext = 4;
    input.resume();
    expect(input.expectNext).toBe(4);
    expect(input.peek()?.entry.seq).toBe(1);
    input.advance();
    input.advance();
    input.nextOffset = 10;
    expect(input.lag).toBe(5);
    // A checkpoint in the middle of entry 2 frees entry 1 only.
    expect(input.covered(7)).toBe(50);
    expect(input.peek()?.entry.seq).toBe(3);
    // A refused append: back to the checkpoint, the held entries from there again.
    input.resume();
    expect(input.nextOffset).toBe(7);
    expect(input.peek()?.entry.seq).toBe(2);
    // A checkpoint past the cursor (another member's) moves the cursor with it.
    expect(input.covered(15)).toBe(100);
    expect(input.peek()).toBeUndefined();
  });

  it('compacts its list once most of it is freed', () => {
    const input = new InputStream(1024, { topic: 't', partition: 0 });
    for (let i = 0; i < 3000; i++) input.hold({ entry: entry(i + 1, i, 1), appliedAtMs: 0 });
    expect(input.covered(2500)).toBe(25_000);
    input.resume();
    expect(input.peek()?.entry.baseOffset).toBe(2500);
    input.advance();
    expect(input.peek()?.entry.baseOffset).toBe(2501);
  });
});
