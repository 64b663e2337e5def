/**
 * Goal: once an append set is sequenced and committed, the AppendClient holds nothing of it. A
 * gateway's handler holds its whole Produce request, so a slot kept after APPENDED kept thousands
 * of partitions alive for every major GC. Method: a fake sequencer on loopback that answers every
 * APPEND with APPENDED and COMMITTED; each append's handler holds an object watched by a WeakRef;
 * after all are answered and a forced GC, none may be alive.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { AppendClient, type AppendHandler } from './append-client.ts';
import { LinkReader, LinkWriter } from './link.ts';
import { MESSAGE, readAppend, sendAppended, sendSeqPair } from './messages.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Answers each APPEND at once: APPENDED, then COMMITTED through its last seq. */
async function fakeSequencer(): Promise<string> {
  let nextSeq = 1;
  const server = createServer((socket) => {
    sockets.push(socket);
    const writer = new LinkWriter(socket);
    const reader = new LinkReader((type, payload) => {
      if (type !== MESSAGE.append) return;
      const append = readAppend(payload)!;
      const firstSeq = nextSeq;
      nextSeq += append.entries.length;
      sendAppended(writer, append.requestId, firstSeq, append.entries.map((_, i) => firstSeq + i));
      sendSeqPair(writer, MESSAGE.committed, nextSeq - 1, nextSeq - 1);
    });
    socket.on('data', (chunk: Buffer) => { reader.feed(chunk); });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('AppendClient', () => {
  it('keeps nothing of a set after it is sequenced and committed', async () => {
    const client = new AppendClient(await fakeSequencer(), { inflightMax: 64 });
    const watched: Array<WeakRef<object>> = [];
    let committed = 0;
    const appendCount = 200;
    await new Promise<void>((resolve, reject) => {
      const appendNext = (i: number): void => {
        if (i === appendCount) return;
        const request = { partitions: new Array<number>(1000).fill(i) };
        watched.push(new WeakRef(request));
        const handler: AppendHandler = {
          onAppended: () => undefined,
          onCommitted: () => {
            expect(request.partitions[0]).toBe(i);
            committed += 1;
            if (committed === appendCount) resolve();
          },
          onError: reject,
        };
        const entry = { streamId: 1024, recordCount: 1, batch: Buffer.alloc(80, i) };
        if (client.append([entry], handler)) appendNext(i + 1);
        else void client.whenWritable().then(() => appendNext(i), reject);
      };
      appendNext(0);
    });
    // Let the last callbacks return before collecting.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(watched.filter((ref) => ref.deref() !== undefined).length).toBe(0);
    client.close();
  });
});
