/**
 * Goal: link messages survive any split of the byte stream, garbage lengths are refused, and the
 * writer's reuse of one chunk across turns never changes bytes already handed to the socket.
 * Method: encode random messages with the writer's layout, feed them in random chunk sizes; send
 * random messages (tiny to larger than a chunk) over a loopback TCP pair through a LinkWriter, a
 * few per event-loop turn, and compare what a LinkReader receives.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { LINK_HEADER_BYTES, LinkReader, LinkWriter, VIEW_BYTES_MIN } from './link.ts';

function encode(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(LINK_HEADER_BYTES + payload.length);
  out.writeUInt32LE(1 + payload.length, 0);
  out[4] = type;
  payload.copy(out, LINK_HEADER_BYTES);
  return out;
}

/** A connected TCP pair on loopback. */
async function loopbackPair(): Promise<{ server: Server; client: Socket; serverSide: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const [serverSide] = await accepted;
  return { server, client, serverSide };
}

type Message = { type: number; payload: Buffer };

/** Lets the paused receiver read, waits for every message, closes the pair and compares in order. */
async function resumeAndCompare(pair: { server: Server; client: Socket; serverSide: Socket }, got: Message[],
  expected: Message[]): Promise<void> {
  pair.serverSide.resume();
  const deadline = Date.now() + 30_000;
  while (got.length < expected.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  pair.client.destroy();
  pair.serverSide.destroy();
  pair.server.close();
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (got[i]!.type !== expected[i]!.type || !got[i]!.payload.equals(expected[i]!.payload)) {
      throw new Error(`message ${i} differs (size ${expected[i]!.payload.length})`);
    }
  }
}

describe('link reader', () => {
  for (const transient of [false, true]) {
    it(`reassembles messages split anywhere${transient ? ', from one reused read buffer (transient)' : ''}`, () => {
      const random = prng(testSeed('link-split'));
      const messages = Array.from({ length: 500 }, (_, i) => ({ type: 1 + (i % 16),
        payload: Buffer.from(Array.from({ length: Math.floor(random() * 3000) }, () => Math.floor(random() * 256))) }));
      const stream = Buffer.concat(messages.map((m) => encode(m.type, m.payload)));
      const got: Array<{ type: number; payload: Buffer }> = [];
      const reader = new LinkReader((type, payload) => got.push({ type, payload: Buffer.from(payload) }), 1 << 20,
        transient);
      const readBuffer = Buffer.alloc(5000);
      for (let position = 0; position < stream.length;) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 7 : 5000));
        const piece = stream.subarray(position, position + size);
        // transient: every read lands in the same buffer, scribbled over after the feed.
        const chunk = transient ? readBuffer.subarray(0, piece.copy(readBuffer)) : Buffer.from(piece);
        expect(reader.feed(chunk)).toBeNull();
        if (transient) readBuffer.fill(0xee);
        position += size;
      }
      expect(got).toEqual(messages);
    });
  }

  it('reads the rest of large messages in place when the socket uses readTarget (transient)', () => {
    const random = prng(testSeed('link-in-place'));
    const messages = Array.from({ length: 60 }, (_, i) => ({ type: 1 + (i % 16),
      payload: Buffer.alloc(Math.floor(random() < 0.5 ? random() * 300 : random() * 200_000), i) }));
    const stream = Buffer.concat(messages.map((m) => encode(m.type, m.payload)));
    const got: Array<{ type: number; payload: Buffer }> = [];
    const reader = new LinkReader((type, payload) => got.push({ type, payload: Buffer.from(payload) }), 1 << 20, true);
    const readBuffer = Buffer.alloc(64 * 1024);
    let inPlace = 0;
    for (let position = 0; position < stream.length;) {
      // As the socket does: into readTarget() when offered (at most its length), else the reused buffer.
      const target = reader.readTarget() ?? readBuffer;
      const size = Math.min(1 + Math.floor(random() * 70_000), target.length, stream.length - position);
      stream.copy(target, 0, position, position + size);
      if (target !== readBuffer) inPlace += size;
      expect(reader.feed(target.subarray(0, size))).toBeNull();
      readBuffer.fill(0xee);
      position += size;
    }
    expect(got).toEqual(messages);
    expect(inPlace).toBeGreaterThan(0);
  });

  it('an adopted assembly buffer keeps its message until given back (transient)', () => {
    const random = prng(testSeed('link-adopt'));
    const messages = Array.from({ length: 80 }, (_, i) => ({ type: 1 + (i % 16),
      payload: Buffer.alloc(Math.floor(random() < 0.3 ? random() * 300 : random() * 150_000), i) }));
    const stream = Buffer.concat(messages.map((m) => encode(m.type, m.payload)));
    const kept: Array<{ index: number; payload: Buffer; assembly: Buffer }> = [];
    let index = 0;
    let adopted = 0;
    let returned = 0;
    const reader = new LinkReader((type, payload) => {
      expect({ type, payload: Buffer.from(payload) }).toEqual(messages[index]);
      // Like the sequencer: keep some adoptable payloads for a while, give older ones back.
      const assembly = random() < 0.6 ? reader.adoptAssembly(payload) : null;
      if (assembly !== null) {
        adopted += 1;
        kept.push({ index, payload, assembly });
      }
      while (kept.length > 3 || (kept.length > 0 && random() < 0.3)) {
        const oldest = kept.shift()!;
        expect(oldest.payload).toEqual(messages[oldest.index]!.payload); // intact until given back
        reader.returnAssembly(oldest.assembly);
        returned += 1;
      }
      index += 1;
    }, 1 << 20, true);
    const readBuffer = Buffer.alloc(64 * 1024);
    for (let position = 0; position < stream.length;) {
      const target = reader.readTarget() ?? readBuffer;
      const size = Math.min(1 + Math.floor(random() * 70_000), target.length, stream.length - position);
      stream.copy(target, 0, position, position + size);
      expect(reader.feed(target.subarray(0, size))).toBeNull();
      readBuffer.fill(0xee);
      position += size;
    }
    expect(index).toBe(messages.length);
    for (const { index: i, payload } of kept) expect(payload).toEqual(messages[i]!.payload);
    expect(adopted).toBeGreaterThan(5);
    expect(returned).toBeGreaterThan(2);
    // A payload in the read buffer is never adoptable: it is gone after the call.
    const small = new LinkReader((_type, payload) => expect(small.adoptAssembly(payload)).toBeNull(), 1 << 20, true);
    expect(small.feed(encode(3, Buffer.alloc(100, 1)))).toBeNull();
  });

  it('refuses a length above the bound', () => {
    const reader = new LinkReader(() => undefined, 1024);
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(4096, 0);
    expect(reader.feed(bad)).toMatch(/out of range/);
  });

  it('writer: messages over many turns arrive intact, in order (chunk reuse across turns)', async () => {
    const random = prng(testSeed('link-writer'));
    const sizes = Array.from({ length: 3000 }, () => {
      const pick = random();
      return pick < 0.7 ? Math.floor(random() * 64) : pick < 0.97 ? Math.floor(random() * 20_000)
        : 256 * 1024 + Math.floor(random() * 100_000);
    });
    const messages = sizes.map((size, i) => ({ type: 1 + (i % 200),
      payload: Buffer.from(Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff)) }));
    const { server, client, serverSide } = await loopbackPair();
    const got: Array<{ type: number; payload: Buffer }> = [];
    const reader = new LinkReader((type, payload) => got.push({ type, payload: Buffer.from(payload) }));
    serverSide.on('data', (chunk: Buffer) => { expect(reader.feed(chunk)).toBeNull(); });
    // Nobody reads until everything is written: the kernel buffer fills and the socket keeps
    // views of the writer's chunks queued, so a chunk region written twice would show.
    serverSide.pause();
    const writer = new LinkWriter(client);
    for (let i = 0; i < messages.length;) {
      const perTurn = 1 + Math.floor(random() * 8);
      for (let k = 0; k < perTurn && i < messages.length; k++, i++) {
        writer.send(messages[i]!.type, messages[i]!.payload);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(client.writableLength).toBeGreaterThan(0);
    await resumeAndCompare({ server, client, serverSide }, got, messages);
  }, 60_000);

  it('writer: sendParts sends large parts as views and says when they are written, bytes intact', async () => {
    const random = prng(testSeed('link-parts'));
    const { server, client, serverSide } = await loopbackPair();
    const got: Array<{ type: number; payload: Buffer }> = [];
    const reader = new LinkReader((type, payload) => got.push({ type, payload: Buffer.from(payload) }));
    serverSide.on('data', (chunk: Buffer) => { expect(reader.feed(chunk)).toBeNull(); });
    serverSide.pause(); // the socket keeps views queued: a view released too early would show
    const writer = new LinkWriter(client);
    const expected: Array<{ type: number; payload: Buffer }> = [];
    const writtenCounts: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (random() < 0.3) {
        const payload = Buffer.alloc(Math.floor(random() * 3000), i);
        writer.send(2, payload);
        expected.push({ type: 2, payload });
        continue;
      }
      const parts = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, k) => {
        const size = random() < 0.5 ? Math.floor(random() * 300) : VIEW_BYTES_MIN + Math.floor(random() * 200_000);
        return Buffer.alloc(size, (i * 7 + k) & 0xff);
      });
      const index = writtenCounts.length;
      writtenCounts.push(0);
      expected.push({ type: 9, payload: Buffer.concat(parts) });
      writer.sendParts(9, parts, () => {
        writtenCounts[index]! += 1;
        for (const part of parts) part.fill(0xee); // the caller reuses its bytes at once
      });
      if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(writtenCounts.some((count) => count === 0)).toBe(true); // views wait in the socket
    await resumeAndCompare({ server, client, serverSide }, got, expected);
    expect(writtenCounts.every((count) => count === 1)).toBe(true);
  }, 60_000);

  it('writer: chunks and large-message buffers are reused once written, not allocated per turn', async () => {
    const { server, client, serverSide } = await loopbackPair();
    let received = 0;
    let mismatches = 0;
    const reader = new LinkReader((type, payload) => {
      if (payload.length === 0 || payload[0] !== type || payload[payload.length - 1] !== type) mismatches += 1;
      received += 1;
    });
    serverSide.on('data', (chunk: Buffer) => { expect(reader.feed(chunk)).toBeNull(); });
    const writer = new LinkWriter(client);
    const small = 100_000; // about two per 256 KiB chunk: a chunk is retired every turn or so
    const large = 1024 * 1024 + 4096; // each one a buffer of its own, like a gateway's append
    let sent = 0;
    for (let turn = 0; turn < 300; turn++) {
      const size = turn % 2 === 0 ? small : large;
      const { buffer, position } = writer.reserve(1 + (turn % 200), size);
      buffer.fill(1 + (turn % 200), position, position + size);
      sent += 1;
      // The socket drains between turns: on a busy machine 1 ms was not always enough (27 buffers).
      const drainedBy = Date.now() + 10_000;
      do await new Promise((resolve) => setTimeout(resolve, 1));
      while (writer.backlogBytes > 0 && Date.now() < drainedBy);
    }
    const deadline = Date.now() + 30_000;
    while (received < sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    client.destroy();
    serverSide.destroy();
    server.close();
    expect(received).toBe(sent);
    expect(mismatches).toBe(0);
    // 300 turns, 150 of them with a 1 MiB message: without reuse that is over 150 buffers.
    expect(writer.buffersAllocated).toBeLessThan(12);
  }, 60_000);

  it('writer: a chunk is not reused while a part of it is still queued, whatever order writes complete in', () => {
    // A socket whose writes complete only when the test says so, and which keeps what it was given.
    const pending: Array<{ bytes: Buffer; copy: Buffer; done: () => void }> = [];
    const fake = {
      writableLength: 0, destroyed: false, once: () => fake, cork: () => undefined, uncork: () => undefined,
      write(bytes: Buffer, done: () => void) {
        pending.push({ bytes, copy: Buffer.from(bytes), done });
        return true;
      },
    };
    const writer = new LinkWriter(fake as unknown as Socket);
    const fill = (type: number, bytes: number): void => {
      const { buffer, position } = writer.reserve(type, bytes);
      buffer.fill(type, position, position + bytes);
    };
    fill(1, 100_000); // part A of the first chunk
    writer.flush(); // A is in the socket, not yet written
    fill(2, 100_000); // part B, same chunk
    fill(3, 100_000); // no room: the first chunk is retired with B still queued here
    pending.shift()!.done(); // A completes before B was even handed to the socket
    writer.flush(); // B (first chunk) and C (second chunk) go to the socket
    for (let type = 4; type < 12; type++) { // more chunks retire and are reused meanwhile
      fill(type, 100_000);
      writer.flush();
      const other = pending.findIndex((write) => write.copy[4] !== 2); // keep B, complete the others in order
      if (other >= 0) pending.splice(other, 1)[0]!.done();
    }
    // Whatever was handed to the socket is still the bytes it was given.
    for (const write of pending) expect(write.bytes.equals(write.copy), `message type ${write.copy[4]}`).toBe(true);
    expect(pending.some((write) => write.copy[4] === 2)).toBe(true); // B was held to the end
  });
});
