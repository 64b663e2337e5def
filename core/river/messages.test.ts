/**
 * Goal: APPEND and APPEND_IF decode to what was sent, and malformed payloads (no conditions, too
 * many, truncated, empty entry sets) decode to null so the sequencer closes the link instead of
 * sequencing garbage. Method: encode with the real senders into a capturing writer, decode, and
 * cut or patch the bytes.
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { benchBatch } from './delivery-check.ts';
import type { LinkWriter } from './link.ts';
import { LINK_HEADER_BYTES } from './link.ts';
import {
  APPEND_CONDITIONS_MAX, BATCH_HEADER_BYTES, readAppend, readAppendIf, readEntriesMessage, readEntryHeadersMessage,
  readStreamEntriesMessage, sendAppend, sendAppendIf, sendEntries, sendEntryHeaders, sendStreamEntries, unpackBody,
} from './messages.ts';

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

describe('msgpack bodies', () => {
  it('come out as copies: scribbling over the payload afterwards changes nothing kept', () => {
    const payload = pack({ memberId: 'c1', blob: Buffer.from('kept bytes'), history: [[1, 1]] });
    const body = unpackBody<{ memberId: string; blob: Uint8Array; history: number[][] }>(payload);
    payload.fill(0xee); // the sequencer's read buffer is reused
    expect(Buffer.from(body.blob).toString()).toBe('kept bytes');
    expect(body).toMatchObject({ memberId: 'c1', history: [[1, 1]] });
  });
});

describe('entry messages', () => {
  const stored = [
    { streamId: 3, recordCount: 1, baseOffset: 5, batch: benchBatch(200, 3), seq: 10, epoch: 2 },
    { streamId: 1024, recordCount: 1, baseOffset: 7, batch: benchBatch(5000, 4), seq: 11, epoch: 2 },
  ];

  it('ENTRY_HEADERS keeps internal batches whole and cuts user batches to their header, with their length', () => {
    const message = capture();
    sendEntryHeaders(message.writer, 9, stored, (streamId) => streamId < 1024);
    const decoded = readEntryHeadersMessage(message.payload());
    expect(decoded?.requestId).toBe(9);
    const [internal, user] = decoded!.entries;
    expect(internal).toMatchObject({ streamId: 3, seq: 10, epoch: 2, baseOffset: 5 });
    expect(internal!.batchBytes).toBeUndefined();
    expect(Buffer.from(internal!.batch).equals(stored[0]!.batch)).toBe(true);
    expect(user).toMatchObject({ streamId: 1024, seq: 11, baseOffset: 7, batchBytes: stored[1]!.batch.length });
    expect(Buffer.from(user!.batch).equals(stored[1]!.batch.subarray(0, BATCH_HEADER_BYTES))).toBe(true);
    expect(message.payload().length).toBeLessThan(stored[0]!.batch.length + 200);
    // ENTRIES still carries everything whole.
    const whole = capture();
    sendEntries(whole.writer, 9, stored);
    expect(readEntriesMessage(whole.payload())?.entries.map((e) => e.batch.length))
      .toEqual(stored.map((e) => e.batch.length));
  });

  it('STREAM_ENTRIES carries every field and the batches back to back; a cut or padded one is null', () => {
    const message = capture();
    sendStreamEntries(message.writer, 7, stored);
    const payload = Buffer.from(message.payload());
    const decoded = readStreamEntriesMessage(payload);
    expect(decoded?.requestId).toBe(7);
    expect(decoded!.entries.map(({ batch, ...fields }) => ({ ...fields, batch: Buffer.from(batch).toString('hex') })))
      .toEqual(stored.map(({ batch, ...fields }) => ({ ...fields, batch: batch.toString('hex') })));
    const [first, second] = decoded!.entries;
    expect(second!.batch.byteOffset).toBe(first!.batch.byteOffset + first!.batch.length); // one view serves both
    expect(readStreamEntriesMessage(payload.subarray(0, payload.length - 1))).toBeNull();
    expect(readStreamEntriesMessage(Buffer.concat([payload, Buffer.alloc(1)]))).toBeNull();
    const tooMany = Buffer.from(payload);
    tooMany.writeUInt16LE(1000, 4); // more entries than the payload holds
    expect(readStreamEntriesMessage(tooMany)).toBeNull();
  });

  it('ENTRY_HEADERS that is cut short or claims more than its whole batch decodes to null', () => {
    const message = capture();
    sendEntryHeaders(message.writer, 9, stored, () => false);
    const payload = Buffer.from(message.payload());
    expect(readEntryHeadersMessage(payload.subarray(0, payload.length - 1))).toBeNull();
    payload.writeUInt32LE(10, 6 + 12); // the first entry's whole length below what it carries
    expect(readEntryHeadersMessage(payload)).toBeNull();
  });
});
