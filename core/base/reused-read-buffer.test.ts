/**
 * Goal: an accepted connection adopted by adoptWithReadBuffer reads into one reused buffer, gets
 * every byte in order, writes, pauses and resumes, and still counts as the server's connection
 * (server.close completes once it is gone). Method: a loopback server and a client sending 8 MiB
 * of seeded bytes in random writes; the chunks' backing buffer must be the same every time. This
 * fails if a Node upgrade changes the internals the adoption relies on. The same for a TLS socket
 * given a user buffer by readTlsWithBuffer 200 ms after its handshake, whose client writes at once
 * (bytes that wait in the stream's buffer until then) and whose reads land partly in read targets.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeCa, makeSignedCertificate } from '../../test/harness/certificates.ts';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { ADOPTABLE_SERVER_OPTIONS, adoptWithReadBuffer, readTlsWithBuffer } from './reused-read-buffer.ts';

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

describe('reused read buffer for TLS', () => {
  it('delivers every decrypted byte in order through one buffer and the read targets, and pauses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x2-tls-read-'));
    try {
      makeCa(dir, 'ca');
      makeSignedCertificate(dir, 'server', '/CN=127.0.0.1', 'ca', 1, 'subjectAltName=IP:127.0.0.1');
      const random = prng(testSeed('reused-read-buffer-tls'));
      const payload = Buffer.from(Array.from({ length: 8 * 1024 * 1024 }, () => Math.floor(random() * 256)));
      const received: Buffer[] = [];
      const backings = new Set<ArrayBufferLike>();
      const targets = new Set<ArrayBufferLike>();
      let receivedBytes = 0;
      let usedBuffer = false;
      let server: tls.TLSSocket | null = null;
      const onChunk = (chunk: Buffer) => {
        // The first 100 bytes waited in the stream's buffer: they are fresh chunks.
        if (receivedBytes >= 100) backings.add(chunk.buffer);
        received.push(Buffer.from(chunk)); // valid only during the call: copy
        receivedBytes += chunk.length;
      };
      const readTarget = () => {
        // Every fourth read into a target of its own, as a framer's place for a large message.
        if (random() >= 0.25) return null;
        const target = Buffer.allocUnsafeSlow(4096 + Math.floor(random() * 60_000));
        targets.add(target.buffer);
        return target;
      };
      const listener = tls.createServer({ cert: readFileSync(join(dir, 'server.pem')),
        key: readFileSync(join(dir, 'server.key')) }, (socket) => {
        server = socket;
        // Later than the gateway does it, so the first bytes wait in the stream's buffer meanwhile.
        setTimeout(() => { usedBuffer = readTlsWithBuffer(socket, 64 * 1024, onChunk, readTarget); }, 200);
      });
      listener.listen(0, '127.0.0.1');
      await once(listener, 'listening');
      const address = listener.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const client = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(join(dir, 'ca.pem')) });
      client.write(payload.subarray(0, 100)); // queued before the handshake ends
      await once(client, 'secureConnect');
      const waitFor = async (bytes: number) => {
        const deadline = Date.now() + 20_000;
        while (receivedBytes < bytes && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      await waitFor(100);
      expect(server).not.toBeNull();
      expect(usedBuffer).toBe(true);
      // Paused: a pause stops the encrypted side's reads; nothing sent after it arrives until resumed.
      server!.pause();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = receivedBytes;
      client.write(payload.subarray(100, 1000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receivedBytes).toBe(before);
      server!.resume();
      for (let position = 1000; position < payload.length;) {
        const bytes = 1 + Math.floor(random() * 200_000);
        client.write(payload.subarray(position, position + bytes));
        position += bytes;
      }
      await waitFor(payload.length);
      expect(Buffer.concat(received).equals(payload)).toBe(true);
      expect(received.length).toBeGreaterThan(10);
      // Reads landed in targets and in one other buffer (the reused one), not in a fresh Buffer each.
      const inTargets = [...backings].filter((backing) => targets.has(backing));
      expect(inTargets.length).toBeGreaterThan(5);
      expect(backings.size - inTargets.length).toBe(1);
      client.end();
      await once(server!, 'end');
      listener.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
