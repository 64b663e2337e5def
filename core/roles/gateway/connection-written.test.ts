/**
 * Goal: a gathered response's `written` callback (what lets the tail cache reuse the buffers a
 * Fetch answer refers to) runs exactly once, and only when the socket no longer needs the parts:
 * after the kernel took them all, or when the connection closed first, also for an answer still
 * queued behind an unanswered request.
 * Method: a Connection on the accepted end of a loopback socket whose client does not read at
 * first, so a 24 MiB answer cannot all be written; then the client reads it and compares bytes.
 * Then a client that goes away while one answer is being written and one waits behind a request
 * that is never answered.
 */
import { createServer, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { fetch, fetchAnswerAsResponse, type FetchAnswer, type FetchRequest } from '../../kafka/api/01-fetch.ts';
import { RecordRuns } from '../../kafka/codec/record-runs.ts';
import { KafkaWriter } from '../../kafka/codec/writer.ts';
import { encodeRequestFrame } from '../../kafka/registry.ts';
import { Connection, type RequestContext } from './connection.ts';

const RUN_BYTES = 8 << 20;

function answerOf(runs: Buffer[]): FetchAnswer {
  return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [{
    partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0,
    abortedTransactions: null, preferredReadReplica: -1, records: new RecordRuns(runs) }] }] };
}

function fetchFrame(correlationId: number): Buffer {
  const request: FetchRequest = { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 30, isolationLevel: 0,
    sessionId: 0, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: '' };
  return Buffer.from(encodeRequestFrame(new KafkaWriter(1 << 20), fetch, 11, correlationId, 'test', request));
}

let server: Server | null = null;
afterEach(() => { server?.close(); server = null; });

/** A Connection on the server end; `dispatch` gets each request. Resolves with the client socket. */
async function connected(dispatch: (context: RequestContext) => void): Promise<{ client: Socket }> {
  const writer = new KafkaWriter(64 << 20);
  server = createServer((socket) => {
    const connection = new Connection(socket, { requestBytesMax: 1 << 20, writer, dispatch,
      log: new Log('test', 'error'), counters: { framesReceived: 0, connectionsClosedForBadInput: 0 },
      spares: new SpareBuffers(0) });
    socket.on('data', (chunk) => connection.onData(chunk));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = new Socket();
  await new Promise<void>((resolve) => client.connect(port, '127.0.0.1', resolve));
  return { client };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Connection gathered answers: written', () => {
  it('runs once the socket has written every part, not before; the bytes arrive as encoded', async () => {
    const runs = [Buffer.alloc(RUN_BYTES, 1), Buffer.alloc(100, 2), Buffer.alloc(RUN_BYTES, 3),
      Buffer.alloc(RUN_BYTES, 4)];
    const expected = Buffer.concat([...runs]);
    let writtenCalls = 0;
    const { client } = await connected((context) => {
      context.respondGathered(fetch, fetchAnswerAsResponse(answerOf(runs)), () => { writtenCalls += 1; });
    });
    client.pause();
    client.write(fetchFrame(7));
    await sleep(300);
    expect(writtenCalls).toBe(0); // 24 MiB cannot all be in the kernel while the client reads nothing
    const chunks: Buffer[] = [];
    let received = 0;
    const frameBytes = await new Promise<number>((resolve) => {
      let sizeBytes = -1;
      client.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (sizeBytes < 0 && received >= 4) sizeBytes = Buffer.concat(chunks).readInt32BE(0);
        if (sizeBytes >= 0 && received >= 4 + sizeBytes) resolve(received);
      });
      client.resume();
    });
    await sleep(50);
    expect(writtenCalls).toBe(1);
    const frame = Buffer.concat(chunks);
    expect(frameBytes).toBe(frame.readInt32BE(0) + 4);
    expect(frame.readInt32BE(4)).toBe(7);
    // The records are the frame's last bytes, as the runs were, in order.
    expect(frame.subarray(frame.length - expected.length).equals(expected)).toBe(true);
    client.destroy();
  });

  it('runs once when the client goes away: for the answer being written and one queued behind a request', async () => {
    const runs = [Buffer.alloc(RUN_BYTES, 5), Buffer.alloc(RUN_BYTES, 6), Buffer.alloc(RUN_BYTES, 7)];
    const written: number[] = [];
    const { client } = await connected((context) => {
      if (context.correlationId === 2) return; // never answered: the answer after it waits
      const correlationId = context.correlationId;
      context.respondGathered(fetch, fetchAnswerAsResponse(answerOf(runs)), () => { written.push(correlationId); });
    });
    client.pause();
    client.write(Buffer.concat([fetchFrame(1), fetchFrame(2), fetchFrame(3)]));
    await sleep(300);
    expect(written).toEqual([]);
    client.destroy();
    for (let i = 0; i < 100 && written.length < 2; i++) await sleep(20);
    await sleep(50);
    expect(written.sort()).toEqual([1, 3]);
  });
});
