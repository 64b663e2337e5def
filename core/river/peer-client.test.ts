/**
 * Goal: a peer that accepts and never answers, or answers only part of the way, costs a reader a
 * bounded wait, never a hang. Method: a TCP server on loopback that accepts and stays silent; a
 * PeerClient with a short timeout must reject, naming the peer and the wait, and close the link.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerClient } from './peer-client.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function silentPeer(): Promise<string> {
  const server = createServer((socket) => { sockets.push(socket); });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('PeerClient', () => {
  it('gives up on a silent peer after its request timeout and fails every request on the link', async () => {
    const peer = await silentPeer();
    const client = new PeerClient(peer, { requestTimeoutMs: 300 });
    const startedMs = performance.now();
    const first = client.readBySeq(1, 1024);
    const second = client.readBySeq(5, 1024);
    await expect(first).rejects.toThrow(`peer ${peer}: no answer within 300 ms`);
    await expect(second).rejects.toThrow(/no answer within 300 ms/);
    const waitedMs = performance.now() - startedMs;
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    expect(waitedMs).toBeLessThan(5_000);
    await expect(client.readBySeq(9, 1024)).rejects.toThrow(/no answer within 300 ms|not connected/);
    client.close();
  });

  it('fails at once when nothing listens on the port', async () => {
    const peer = await silentPeer();
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const client = new PeerClient(peer, { requestTimeoutMs: 5_000 });
    const startedMs = performance.now();
    await expect(client.readBySeq(1, 1024)).rejects.toThrow(/ECONNREFUSED/);
    expect(performance.now() - startedMs).toBeLessThan(2_000);
    client.close();
  });
});
