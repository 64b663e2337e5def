/**
 * Goal: APPEND and APPEND_IF decode to what was sent, and malformed payloads (no conditions, too
 * many, truncated, empty entry sets) decode to null so the sequencer closes the link instead of
 * sequencing garbage. Method: encode with the real senders into a capturing writer, decode, and
 * cut or patch the bytes.
 */
import { describe, expect, it } from 'vitest';
import { benchBatch } from './delivery-check.ts';
import type { LinkWriter } from './link.ts';
import { LINK_HEADER_BYTES } from './link.ts';
import { APPEND_CONDITIONS_MAX, readAppend, readAppendIf, sendAppend, sendAppendIf } from './messages.ts';

/** A writer that keeps the payload of the one message reserved on it. */
function capture(): { writer: LinkWriter; payload: () => Buffer } {
  let buffer = Buffer.alloc(0);
  const writer = {
    reserve(_type: number, payloadBytes: number) {
      buffer = Buffer.alloc(LINK_HEADER_BYTES + payloadBytes);
      return { buffer, position: LINK_HEADER_BYTES };
    },
  } as unknown as LinkWriter;
  return { writer, payload: () => buffer.subarray(LINK_HEADER_BYTES) };
}

const entries = [{ streamId: 1024, recordCount: 1, batch: benchBatch(100, 1) },
  { streamId: 1025, recordCount: 1, batch: benchBatch(80, 2) }];

describe('append messages', () => {
  it('APPEND and APPEND_IF round-trip', () => {
    const plain = capture();
    sendAppend(plain.writer, 7, entries);
    const append = readAppend(plain.payload());
    expect(append?.requestId).toBe(7);
    expect(append?.entries.map((e) => [e.streamId, Buffer.from(e.batch).equals(entries[e.streamId - 1024]!.batch)]))
      .toEqual([[1024, true], [1025, true]]);
    const conditional = capture();
    const conditions = [{ streamId: 1024, nextOffset: 2 ** 40 }, { streamId: 9, nextOffset: 0 }];
    sendAppendIf(conditional.writer, 8, conditions, entries);
    const appendIf = readAppendIf(conditional.payload());
    expect(appendIf?.requestId).toBe(8);
    expect(appendIf?.conditions).toEqual(conditions);
    expect(appendIf?.entries.length).toBe(2);
  });

  it('malformed APPEND_IF payloads decode to null', () => {
    const sent = capture();
    sendAppendIf(sent.writer, 8, [{ streamId: 1024, nextOffset: 3 }], entries);
    const good = Buffer.from(sent.payload());
    for (let length = 0; length < good.length; length++) expect(readAppendIf(good.subarray(0, length))).toBeNull();
    const noConditions = Buffer.from(good);
    noConditions.writeUInt16LE(0, 4);
    expect(readAppendIf(noConditions)).toBeNull();
    const tooMany = Buffer.from(good);
    tooMany.writeUInt16LE(APPEND_CONDITIONS_MAX + 1, 4);
    expect(readAppendIf(tooMany)).toBeNull();
    const noEntries = Buffer.from(good);
    noEntries.writeUInt16LE(0, 6 + 12);
    expect(readAppendIf(noEntries)).toBeNull();
    const hugeOffset = Buffer.from(good);
    hugeOffset.writeUInt32LE(0xffffffff, 6 + 4 + 4); // high word of nextOffset: past a safe integer
    expect(readAppendIf(hugeOffset)).toBeNull();
  });
});
