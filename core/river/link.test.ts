/**
 * Goal: link messages survive any split of the byte stream, and garbage lengths are refused.
 * Method: encode random messages with the writer's layout, feed them in random chunk sizes.
 */
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { LINK_HEADER_BYTES, LinkReader } from './link.ts';

function encode(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(LINK_HEADER_BYTES + payload.length);
  out.writeUInt32LE(1 + payload.length, 0);
  out[4] = type;
  payload.copy(out, LINK_HEADER_BYTES);
  return out;
}

describe('link reader', () => {
  it('reassembles messages split anywhere', () => {
    const random = prng(testSeed('link-split'));
    const messages = Array.from({ length: 500 }, (_, i) => ({ type: 1 + (i % 16),
      payload: Buffer.from(Array.from({ length: Math.floor(random() * 3000) }, () => Math.floor(random() * 256))) }));
    const stream = Buffer.concat(messages.map((m) => encode(m.type, m.payload)));
    const got: Array<{ type: number; payload: Buffer }> = [];
    const reader = new LinkReader((type, payload) => got.push({ type, payload: Buffer.from(payload) }));
    for (let position = 0; position < stream.length;) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 7 : 5000));
      expect(reader.feed(Buffer.from(stream.subarray(position, position + size)))).toBeNull();
      position += size;
    }
    expect(got).toEqual(messages);
  });

  it('refuses a length above the bound', () => {
    const reader = new LinkReader(() => undefined, 1024);
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(4096, 0);
    expect(reader.feed(bad)).toMatch(/out of range/);
  });
});
