/**
 * Goal: past INFLIGHT_REQUESTS_MAX unanswered requests a connection pauses its socket and takes no
 * more requests until answers drain; bytes that still arrive while paused (a TLS socket delivers
 * what it had read before the pause) wait, in order, and are taken after the resume, before any
 * later read.
 * Method: a Connection on a stand-in socket that records pause/resume and writes; Fetch frames fed
 * as reads; the dispatcher keeps every request unanswered until the test answers them.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { fetch, fetchAnswerAsResponse, type FetchRequest } from '../../kafka/api/01-fetch.ts';
import { KafkaWriter } from '../../kafka/codec/writer.ts';
import { encodeRequestFrame } from '../../kafka/registry.ts';
import { Connection, INFLIGHT_REQUESTS_MAX, type RequestContext } from './connection.ts';

function fetchFrames(first: number, count: number): Buffer {
  const request: FetchRequest = { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
    sessionId: 0, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: '' };
  const writer = new KafkaWriter(1 << 16);
  const frames: Buffer[] = [];
  for (let id = first; id < first + count; id++) {
    frames.push(Buffer.from(encodeRequestFrame(writer, fetch, 11, id, 'test', request)));
  }
  return Buffer.concat(frames);
}

/** What the connection does to its socket. */
class StandInSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  calls: string[] = [];
  written = 0;
  setNoDelay(): void {}
  pause(): void { this.calls.push('pause'); }
  resume(): void { this.calls.push('resume'); }
  cork(): void {}
  uncork(): void {}
  write(_bytes: unknown, done?: () => void): boolean {
    this.written += 1;
    done?.();
    return true;
  }
  destroy(): void { this.emit('close'); }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Connection paused', () => {
  it('holds bytes read while paused and takes them, in order, after the resume and before later reads', async () => {
    const socket = new StandInSocket();
    const waiting: RequestContext[] = [];
    const connection = new Connection(socket as unknown as Socket, { requestBytesMax: 1 << 20,
      writer: new KafkaWriter(1 << 20), dispatch: (context) => { waiting.push(context); },
      log: new Log('test', 'error'), counters: { framesReceived: 0, connectionsClosedForBadInput: 0 },
      spares: new SpareBuffers(0) });
    const answer = (count: number) => {
      for (const context of waiting.splice(0, count)) {
        context.respondGathered(fetch, fetchAnswerAsResponse({ throttleTimeMs: 0, errorCode: 0, sessionId: 0,
          responses: [] }), null);
      }
    };
    const taken: number[] = [];
    const dispatched = () => taken.length + waiting.length;
    let seen = 0;
    const record = () => {
      for (const context of waiting.slice(seen)) taken.push(context.correlationId);
      seen = waiting.length;
    };

    connection.onData(fetchFrames(0, INFLIGHT_REQUESTS_MAX));
    record();
    expect(socket.calls).toEqual(['pause']);
    // Two reads that were under way when the pause came; the second ends in half a frame.
    const late = fetchFrames(INFLIGHT_REQUESTS_MAX, 20);
    const cut = late.length - 7;
    connection.onData(late.subarray(0, 100));
    connection.onData(late.subarray(100, cut));
    expect(waiting.length).toBe(INFLIGHT_REQUESTS_MAX); // nothing taken while paused
    expect(connection.readTarget()).toBeNull(); // nor read in place past what is held

    answer(INFLIGHT_REQUESTS_MAX / 2 + 1); // below half: the connection resumes
    taken.length = 0;
    seen = waiting.length;
    // A read after the resume decision, before the held bytes are taken: it must queue behind them.
    connection.onData(late.subarray(cut));
    expect(dispatched()).toBe(INFLIGHT_REQUESTS_MAX / 2 - 1);
    await nextTurn();
    record();
    expect(taken).toEqual(Array.from({ length: 20 }, (_, i) => INFLIGHT_REQUESTS_MAX + i));
    expect(socket.calls).toEqual(['pause', 'resume']);
    answer(waiting.length);
    expect(socket.written).toBe(INFLIGHT_REQUESTS_MAX + 20);
    expect(connection.closed).toBe(false);
  });
});
