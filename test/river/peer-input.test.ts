/**
 * Goal: a commit's peer port (history reads by seq and by stream) meets bad input with a closed
 * connection and nothing else: a READ_STREAM or READ_SEQ of the wrong length, a message type it
 * does not serve, a length past the link's limit. The commit stays up, keeps serving well-formed
 * reads on other connections, and a read it refuses (an offset past the stream's end) costs only
 * that request, not the link.
 * Method: `x2 sequencer` and one `x2 commit` from the built executable, 60 acknowledged appends on
 * two streams, then raw TCP connections to the commit's peer port and a PeerClient.
 */
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerClient } from '../../core/river/peer-client.ts';
import { LINK_MESSAGE_BYTES_MAX } from '../../core/river/link.ts';
import { MESSAGE } from '../../core/river/messages.ts';
import { makeTempDir, requireBinary } from '../harness/x2.ts';
import { Load, metric, startRole, stopRole, type Ack, type Role } from './cluster.ts';

/** One link message: u32 length (of type + payload), u8 type, payload. */
function linkMessage(type: number, payload: Buffer, declaredBytes = payload.length + 1): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32LE(declaredBytes, 0);
  header.writeUInt8(type, 4);
  return Buffer.concat([header, payload]);
}

/**
 * Sends `bytes` on a fresh connection; resolves with what came back once the peer closed it, or
 * after `waitMs` with the connection still open.
 */
function sendAndAwaitClose(port: number, bytes: Buffer,
  waitMs = 5_000): Promise<{ closed: boolean; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    const timer = setTimeout(() => { socket.destroy(); resolve({ closed: false, received }); }, waitMs);
    socket.on('data', (chunk: Buffer) => { received += chunk.length; });
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve({ closed: true, received }); });
  });
}

describe('commit peer port: bad input', () => {
  let dir: string;
  const roles: Role[] = [];
  let commit: Role;
  let acks: Ack[] = [];

  beforeAll(async () => {
    requireBinary();
    dir = makeTempDir('x2-peer-input-');
    const sequencer = await startRole('sequencer', ['sequencer', '--listen', '127.0.0.1:0', '--replication', '1',
      '--write-quorum', '1', '--river', 'unicast']);
    roles.push(sequencer);
    commit = await startRole('commit', ['commit', '--sequencer', `127.0.0.1:${sequencer.listenPort}`,
      '--data', join(dir, 'commit'), '--member-id', 'c1', '--river', 'unicast', '--listen', '127.0.0.1:0']);
    roles.push(commit);
    const load = new Load(`127.0.0.1:${sequencer.listenPort}`, 1, { streams: 2, inflight: 4 });
    const deadline = Date.now() + 60_000;
    while (load.ackCount < 60 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await load.stop();
    acks = load.acks;
    expect(acks.length).toBeGreaterThanOrEqual(60);
  }, 120_000);

  afterAll(async () => {
    for (const role of roles.reverse()) await stopRole(role);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const badInputs: Array<{ name: string; bytes: () => Buffer }> = [
    { name: 'READ_STREAM one byte short', bytes: () => linkMessage(MESSAGE.readStream, Buffer.alloc(19)) },
    { name: 'READ_STREAM one byte long', bytes: () => linkMessage(MESSAGE.readStream, Buffer.alloc(21)) },
    { name: 'READ_SEQ of a READ_STREAM length', bytes: () => linkMessage(MESSAGE.readSeq, Buffer.alloc(20)) },
    { name: 'a message type the peer port does not serve', bytes: () => linkMessage(MESSAGE.append, Buffer.alloc(16)) },
    { name: 'a length past the link limit', bytes: () => linkMessage(MESSAGE.readStream, Buffer.alloc(20),
      LINK_MESSAGE_BYTES_MAX + 2) },
  ];
  it('answers a well-formed READ_STREAM sent the same way, and keeps the connection (the framing is right)',
    async () => {
      const payload = Buffer.alloc(20);
      payload.writeUInt32LE(7, 0); // request id
      payload.writeUInt32LE(acks[0]!.streamId, 4);
      payload.writeUInt32LE(1 << 20, 16); // bytes max; offset 0 at 8
      const result = await sendAndAwaitClose(commit.listenPort, linkMessage(MESSAGE.readStream, payload), 1_000);
      expect(result.closed).toBe(false);
      expect(result.received).toBeGreaterThan(200); // STREAM_ENTRIES with the stream's batches
    });

  for (const input of badInputs) {
    it(`closes the connection on ${input.name}, answering nothing`, async () => {
      expect(await sendAndAwaitClose(commit.listenPort, input.bytes())).toEqual({ closed: true, received: 0 });
    });
  }

  it('still serves well-formed reads, each stream in order; a refused read leaves the link up', async () => {
    expect(commit.child.exitCode).toBeNull();
    const client = new PeerClient(`127.0.0.1:${commit.listenPort}`);
    try {
      for (const streamId of [...new Set(acks.map((ack) => ack.streamId))]) {
        const expected = acks.filter((ack) => ack.streamId === streamId).sort((a, b) => a.baseOffset - b.baseOffset);
        const entries = await client.readStream(streamId, 0, 1 << 20);
        expect(entries.map((entry) => [entry.seq, entry.baseOffset]))
          .toEqual(expected.map((ack) => [ack.seq, ack.baseOffset]));
        await expect(client.readStream(streamId, expected.length + 10, 1 << 20)).rejects.toThrow();
      }
      expect((await client.readStream(acks[0]!.streamId, 0, 1)).length).toBe(1); // at least one batch
    } finally {
      client.close();
    }
    expect(await metric(commit, 'x2_commit_peer_reads_total')).toBeGreaterThanOrEqual(5);
    expect(commit.child.exitCode).toBeNull();
  });
});
