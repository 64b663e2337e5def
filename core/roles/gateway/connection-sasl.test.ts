/**
 * Goal: a Connection on a SASL port lets nothing but ApiVersions and SASL through before
 * authentication (a Metadata request closes it, counted), holds frames to SASL_FRAME_BYTES_MAX
 * until then (a larger one closes it before it is buffered) and to `requestBytesMax` after, and
 * speaks raw tokens after a SaslHandshake v0 as kafka-python 2.0.2 does: a PLAIN token is
 * answered with an empty raw token, a wrong password with a closed connection and no answer.
 * Method: a Connection on the accepted end of a loopback socket, the real SASL handlers on a
 * stand-in gateway (counters and a log), frames written by hand and answers read back.
 */
import { createServer, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { SpareBuffers } from '../../base/spare-buffers.ts';
import { saslHandshake } from '../../kafka/api/17-sasl-handshake.ts';
import { KafkaReader } from '../../kafka/codec/reader.ts';
import { KafkaWriter } from '../../kafka/codec/writer.ts';
import { encodeRequestFrame } from '../../kafka/registry.ts';
import { SASL_FRAME_BYTES_MAX } from '../../kafka/sasl-mechanisms.ts';
import { encodePlainToken } from '../../kafka/sasl-plain.ts';
import { Connection, type RequestContext } from './connection.ts';
import type { Gateway } from './gateway.ts';
import { handleRawSaslToken, handleSaslHandshake } from './sasl-handlers.ts';
import { SaslSession } from './sasl-session.ts';
import { SaslUsers } from './sasl-users.ts';
import type { SaslHandshakeRequest } from '../../kafka/api/17-sasl-handshake.ts';

const USERS = new SaslUsers({ mechanisms: ['PLAIN'], users: new Map([['alice', 'secret']]) });
const METADATA_V0 = Buffer.from([0, 0, 0, 14, 0, 3, 0, 0, 0, 0, 0, 8, 0xff, 0xff, 0, 0, 0, 0]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let server: Server | null = null;
afterEach(() => { server?.close(); server = null; });

type Harness = { client: Socket; counters: { framesReceived: number; connectionsClosedForBadInput: number;
  unauthenticatedRequests: number; }; gateway: { saslAuthentications: number; saslFailures: number };
  dispatched: number[]; received: () => Buffer; closed: Promise<void> };

/** Whether the gateway side closed the connection within 5 s. */
const closesSoon = (harness: Harness): Promise<boolean> => Promise.race([harness.closed.then(() => true),
  sleep(5_000).then(() => false)]);

async function connected(requestBytesMax = 1 << 20): Promise<Harness> {
  const writer = new KafkaWriter(1 << 20);
  const counters = { framesReceived: 0, connectionsClosedForBadInput: 0, unauthenticatedRequests: 0 };
  const gateway = { saslAuthentications: 0, saslFailures: 0, log: new Log('test', 'error') };
  const dispatched: number[] = [];
  const dispatch = (context: RequestContext, request: unknown): void => {
    dispatched.push(context.apiKey);
    if (context.apiKey !== 17) return context.noResponse();
    handleSaslHandshake(gateway as unknown as Gateway, context, request as SaslHandshakeRequest);
  };
  server = createServer((socket) => {
    const connection = new Connection(socket, { requestBytesMax, writer, dispatch, log: gateway.log, counters,
      spares: new SpareBuffers(0), sasl: { session: new SaslSession(USERS),
        onRawToken: (from, token) => handleRawSaslToken(gateway as unknown as Gateway, from, token) } });
    socket.on('data', (chunk) => connection.onData(chunk));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = new Socket();
  await new Promise<void>((resolve) => client.connect(port, '127.0.0.1', resolve));
  const chunks: Buffer[] = [];
  client.on('data', (chunk) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return { client, counters, gateway, dispatched, received: () => Buffer.concat(chunks), closed };
}

const handshakeV0 = (mechanism: string): Buffer => Buffer.from(encodeRequestFrame(new KafkaWriter(1024), saslHandshake,
  0, 1, 'test', { mechanism }));

function rawFrame(token: Buffer): Buffer {
  const frame = Buffer.alloc(4 + token.length);
  frame.writeInt32BE(token.length, 0);
  token.copy(frame, 4);
  return frame;
}

describe('Connection with SASL', () => {
  it('closes at a request other than ApiVersions and SASL before authentication, counted', async () => {
    const harness = await connected();
    harness.client.write(METADATA_V0);
    expect(await closesSoon(harness)).toBe(true);
    expect(harness.dispatched).toEqual([]);
    expect(harness.counters.unauthenticatedRequests).toBe(1);
    expect(harness.received().length).toBe(0);
  });

  it('closes at a frame over SASL_FRAME_BYTES_MAX before authentication, without buffering it', async () => {
    const harness = await connected(100 << 20);
    const size = Buffer.alloc(4);
    size.writeInt32BE(SASL_FRAME_BYTES_MAX + 1, 0);
    harness.client.write(size);
    expect(await closesSoon(harness)).toBe(true);
    expect(harness.counters.connectionsClosedForBadInput).toBe(1);
  });

  it('after a v0 handshake a PLAIN raw token authenticates (empty raw answer); large frames pass after', async () => {
    const harness = await connected(8 << 20);
    harness.client.write(handshakeV0('PLAIN'));
    harness.client.write(rawFrame(encodePlainToken('alice', 'secret')));
    await sleep(200);
    const received = harness.received();
    const handshakeBytes = received.readInt32BE(0);
    const handshake = saslHandshake.response.decode(new KafkaReader(received.subarray(4, 4 + handshakeBytes), 4), 0);
    expect(handshake).toEqual({ errorCode: 0, mechanisms: ['PLAIN'] });
    expect(received.subarray(4 + handshakeBytes)).toEqual(Buffer.from([0, 0, 0, 0]));
    expect(harness.gateway.saslAuthentications).toBe(1);
    // A 1 MiB Metadata frame (trailing bytes ignored by the stand-in dispatch) is now within bounds.
    const large = Buffer.alloc(1 << 20);
    METADATA_V0.copy(large);
    large.writeInt32BE(large.length - 4, 0);
    harness.client.write(large);
    await sleep(300);
    expect(harness.dispatched).toEqual([17, 3]);
    harness.client.destroy();
  });

  it('a wrong password after a v0 handshake closes the connection with no answer but the handshake', async () => {
    const harness = await connected();
    harness.client.write(handshakeV0('PLAIN'));
    harness.client.write(rawFrame(encodePlainToken('alice', 'wrong')));
    expect(await closesSoon(harness)).toBe(true);
    const received = harness.received();
    expect(received.length).toBe(4 + received.readInt32BE(0));
    expect(harness.gateway.saslFailures).toBe(1);
  });
});
