/**
 * Goal: a Fetch runs many history reads at once on one link per commit; a commit refusing one of
 * them (an error answer) fails that read only, never the others in flight on the same link, and
 * every batch served is the one the gateway's index names (its seq).
 * Method: a fake commit on loopback speaking the link protocol: READ_STREAM for stream 1 gets a
 * READ_ERROR at once, stream 2 its batch (seq 5) and stream 3 a batch of another seq 50 ms later.
 * Reads of all three start together through one HistoryReader.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { readU64 } from '../../river/frame.ts';
import { LinkReader, LinkWriter } from '../../river/link.ts';
import { MESSAGE, sendStreamEntries } from '../../river/messages.ts';
import { HistoryReader } from './history-reader.ts';
import { StreamLog } from './stream-log.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

const BATCH = Buffer.alloc(100, 7);

async function fakeCommit(): Promise<string> {
  const server = createServer((socket) => {
    sockets.push(socket);
    const writer = new LinkWriter(socket);
    let answers = Promise.resolve();
    const reader = new LinkReader((type, payload) => {
      expect(type).toBe(MESSAGE.readStream);
      const requestId = payload.readUInt32LE(0);
      const streamId = payload.readUInt32LE(4);
      expect(readU64(payload, 8)).toBe(0);
      if (streamId === 1) {
        const body = pack({ code: 'X2_ERR_OFFSET_OUT_OF_RANGE', message: 'no such offset', retriable: false });
        const { buffer, position } = writer.reserve(MESSAGE.readError, 4 + body.length);
        buffer.writeUInt32LE(requestId, position);
        body.copy(buffer, position + 4);
        writer.flush();
        return;
      }
      // Answered later, so the refusal above is seen while these are still in flight.
      answers = answers.then(() => new Promise((resolve) => setTimeout(resolve, 50))).then(() => {
        sendStreamEntries(writer, requestId, [{ seq: streamId === 2 ? 5 : 99, epoch: 1, streamId, baseOffset: 0,
          recordCount: 1, batch: BATCH }]);
      });
    });
    socket.on('data', (chunk: Buffer) => { reader.feed(chunk); });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function logOf(streamId: number, seq: number): StreamLog {
  const log = new StreamLog(streamId);
  log.add(0, 1, seq, 1_000, BATCH.length);
  return log;
}

describe('HistoryReader', () => {
  it('fails only the refused read; the others on the same link are served, checked by seq', async () => {
    const peer = await fakeCommit();
    const history = new HistoryReader(() => [peer], new Log('test', 'error'));
    try {
      const [refused, served, wrongSeq] = await Promise.allSettled([
        history.read(logOf(1, 4), 0, 1 << 20),
        history.read(logOf(2, 5), 0, 1 << 20),
        history.read(logOf(3, 6), 0, 1 << 20),
      ]);
      expect(refused).toMatchObject({ status: 'rejected',
        reason: { message: expect.stringMatching(/no such offset/) } });
      expect(served.status).toBe('fulfilled');
      expect(served.status === 'fulfilled' && served.value.map((batch) => batch.equals(BATCH))).toEqual([true]);
      expect(wrongSeq).toMatchObject({ status: 'rejected',
        reason: { message: expect.stringMatching(/does not hold seq 6/) } });
      expect(history.reads).toBe(3);
    } finally {
      history.close();
    }
  });
});
