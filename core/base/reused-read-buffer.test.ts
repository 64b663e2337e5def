/**
 * Goal: an accepted connection adopted by adoptWithReadBuffer reads into one reused buffer, gets
 * every byte in order, writes, pauses and resumes, and still counts as the server's connection
 * (server.close completes once it is gone). Method: a loopback server and a client sending 8 MiB
 * of seeded bytes in random writes; the chunks' backing buffer must be the same every time. This
 * fails if a Node upgrade changes the internals the adoption relies on.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { ADOPTABLE_SERVER_OPTIONS, adoptWithReadBuffer } from './reused-read-buffer.ts';

describe('reused read buffer', () => {
  it('reads every byte in order into one buffer, writes back, pauses, and closes with the server', async () => {
    const random = prng(testSeed('reused-read-buffer'));
    const payload = Buffer.from(Array.from({ length: 8 * 1024 * 1024 }, () => Math.floor(random() * 256)));
    const received: Buffer[] = [];
    const backings = new Set<ArrayBufferLike>();
    let adopted: Socket | null = null;
    const server = createServer(ADOPTABLE_SERVER_OPTIONS, (accepted) => {
      adopted = adoptWithReadBuffer(accepted, 64 * 1024, (chunk) => {
        backings.add(chunk.buffer);
        received.push(Buffer.from(chunk)); // valid only during the call: copy
      });
      adopted.write('hello from the server');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const client = connect({ host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0 });
    await once(client, 'connect');
    const [greeting] = await once(client, 'data') as [Buffer];
    expect(greeting.toString()).toBe('hello from the server');
    expect(adopted).not.toBeNull();
    // Paused: nothing more is read until resumed.
    adopted!.pause();
    const before = received.reduce((sum, chunk) => sum + chunk.length, 0);
    client.write(payload.subarray(0, 1000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(before);
    adopted!.resume();
    for (let position = 1000; position < payload.length;) {
      const bytes = 1 + Math.floor(random() * 200_000);
      client.write(payload.subarray(position, position + bytes));
      position += bytes;
    }
    const deadline = Date.now() + 20_000;
    while (received.reduce((sum, chunk) => sum + chunk.length, 0) < payload.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(received.length).toBeGreaterThan(10);
    expect(backings.size).toBe(1); // one reused buffer, not one per read
    // The adopted socket counts as the server's connection: close completes once it is gone.
    let closed = false;
    server.close(() => { closed = true; });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    client.end();
    await once(adopted!, 'close');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(true);
  });
});
