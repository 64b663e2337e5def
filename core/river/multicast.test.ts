/**
 * Goal: both multicast drivers (native `mmsg` and Node `dgram`) carry datagrams intact and
 * interoperate, and the native one really batches and closes cleanly. Method: a sender and a
 * receiver in this process on a random group on 127.0.0.1: a turn's worth of datagrams (seeded
 * sizes up to the largest UDP payload) goes out in one sendmmsg and arrives complete, in order, in
 * recvmmsg batches; scattered reads put headers apart and bodies back to back, in place; every
 * sender/receiver driver pair exchanges the same bytes; a bad interface
 * fails with its errno name; after close no callback runs and no file descriptor is left open.
 */
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../native/index.ts';
import { prng, testSeed } from '../../test/harness/seed.ts';
import { waitFor } from '../../test/harness/wait-for.ts';
import { LossGenerator } from './loss-generator.ts';
import { DATAGRAM_BYTES_MAX, MulticastReceiver, MulticastSender, RECEIVE_BATCH_DATAGRAMS } from './multicast.ts';
import { multicastDriver, type MulticastDriverName } from './multicast-driver.ts';

const INTERFACE = '127.0.0.1';
const UDP_PAYLOAD_BYTES_MAX = 65507;
const opened: Array<{ close(): void }> = [];

afterEach(() => {
  for (const one of opened.splice(0)) one.close();
});

function randomGroup(random: () => number): { group: string; port: number } {
  return { group: `239.193.${Math.floor(random() * 250) + 1}.${Math.floor(random() * 250) + 1}`,
    port: 20_000 + Math.floor(random() * 20_000) };
}

/** A datagram whose bytes say its index and size, so reordering, truncation and mixing show. */
function datagram(index: number, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes, index & 0xff);
  buffer.writeUInt32LE(index, 0);
  buffer.writeUInt32LE(bytes, 4);
  return buffer;
}

async function pair(sendDriver: MulticastDriverName, receiveDriver: MulticastDriverName, seedName: string,
  loss: LossGenerator | null = null): Promise<{ sender: MulticastSender; receiver: MulticastReceiver;
    received: Buffer[] }> {
  const { group, port } = randomGroup(prng(testSeed(seedName)));
  const received: Buffer[] = [];
  const receiver = await MulticastReceiver.open(group, port, INTERFACE, loss,
    (one) => received.push(Buffer.from(one)), { driver: receiveDriver });
  opened.push(receiver);
  const sender = await MulticastSender.open(group, port, INTERFACE, 1, sendDriver);
  opened.push(sender);
  return { sender, receiver, received };
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

const native = nativeAddon()?.MmsgSender !== undefined;

describe('multicast drivers', () => {
  it('uses the native driver when the addon is loaded', () => {
    // The test run builds the addon (npm run build:native); without it this would be dgram.
    expect(native).toBe(true);
    expect(multicastDriver()).toEqual({ name: 'mmsg', reason: expect.stringContaining('sendmmsg') });
  });

  it('mmsg: a turn of 512 datagrams goes out in one sendmmsg and arrives whole, in order, in batches', async () => {
    const seed = testSeed('multicast-batch');
    const random = prng(seed);
    const { sender, receiver, received } = await pair('mmsg', 'mmsg', 'multicast-batch-group');
    const sizes = Array.from({ length: 512 }, () => 8 + Math.floor(random() * 1465));
    for (let i = 0; i < sizes.length; i++) sender.send(datagram(i, sizes[i]!));
    expect(sender.sendCalls).toBe(0); // staged until the end of this turn
    await Promise.resolve();
    expect(sender.sendCalls).toBe(1);
    expect(sender.datagramsSent).toBe(512);
    expect(sender.errors).toBe(0);
    await waitFor(() => received.length >= 512, { timeoutMs: 10_000, what: '512 datagrams' });
    expect(received.map((one) => [one.readUInt32LE(0), one.length])).toEqual(sizes.map((bytes, i) => [i, bytes]));
    const intact = (one: Buffer): boolean => one.every((byte, i) => i < 8 || byte === (one.readUInt32LE(0) & 0xff));
    expect(received.filter((one) => !intact(one))).toEqual([]);
    // All 512 were queued before the receiver's first wake-up: full recvmmsg batches.
    expect(receiver.batchesReceived).toBeGreaterThanOrEqual(512 / RECEIVE_BATCH_DATAGRAMS);
    expect(receiver.batchesReceived).toBeLessThan(512 / 4);
    expect(receiver.datagramsReceived).toBe(512);
  });

  it('mmsg: datagrams up to the largest UDP payload, and a batch larger than one sendmmsg', async () => {
    const { sender, received } = await pair('mmsg', 'mmsg', 'multicast-large-group');
    const sizes = [UDP_PAYLOAD_BYTES_MAX, 1472, 9000, 65_000, 8, UDP_PAYLOAD_BYTES_MAX, 32_768, 48];
    for (let i = 0; i < sizes.length; i++) sender.send(datagram(i, sizes[i]!));
    await waitFor(() => received.length >= sizes.length, { timeoutMs: 10_000, what: 'large datagrams' });
    expect(received.map((one) => one.length)).toEqual(sizes);
    expect(sender.sendCalls).toBe(1);
    // 1500 tiny datagrams in one turn: more than sendmmsg takes (1024), so two calls.
    received.length = 0;
    for (let i = 0; i < 1500; i++) sender.send(datagram(i, 16));
    await waitFor(() => received.length >= 1500, { timeoutMs: 10_000, what: '1500 datagrams' });
    expect(received.map((one) => one.readUInt32LE(0))).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(sender.sendCalls).toBe(3);
    expect(DATAGRAM_BYTES_MAX).toBeGreaterThan(UDP_PAYLOAD_BYTES_MAX);
  });

  it('mmsg: sendStable sends views of a buffer of the caller uncopied, in order with copied sends', async () => {
    const { sender, received } = await pair('mmsg', 'mmsg', 'multicast-stable-group');
    const arena = Buffer.alloc(256 * 1024);
    const other = Buffer.alloc(64 * 1024);
    let position = 0;
    const view = (target: Buffer, index: number, bytes: number): Buffer => {
      const at = target === arena ? position : 0;
      datagram(index, bytes).copy(target, at);
      if (target === arena) position += bytes;
      return target.subarray(at, at + bytes);
    };
    sender.sendStable(view(arena, 0, 9000));
    sender.sendStable(view(arena, 1, 65_000));
    sender.send(datagram(2, 100)); // copied: the staged views go out first
    sender.sendStable(view(arena, 3, 1472));
    sender.sendStable(view(other, 4, 30_000)); // another buffer: the arena's views go out first
    sender.sendStable(view(arena, 5, 48));
    expect(sender.sendCalls).toBe(4); // each switch of buffer flushed; the last view waits for the end of the turn
    await Promise.resolve();
    expect(sender.sendCalls).toBe(5);
    await waitFor(() => received.length >= 6, { timeoutMs: 10_000, what: 'six datagrams' });
    expect(received.map((one) => [one.readUInt32LE(0), one.length])).toEqual([[0, 9000], [1, 65_000], [2, 100],
      [3, 1472], [4, 30_000], [5, 48]]);
    const intact = (one: Buffer): boolean => one.every((byte, i) => i < 8 || byte === (one.readUInt32LE(0) & 0xff));
    expect(received.filter((one) => !intact(one))).toEqual([]);
    expect(sender.datagramsSent).toBe(6);
  });

  it('mmsg scatter: headers apart, bodies back to back in slots across batches and buffers, in place', async () => {
    const random = prng(testSeed('multicast-scatter'));
    const { group, port } = randomGroup(random);
    const headerBytes = 16;
    const datagramBytesMax = 2000;
    const buffers: Buffer[] = [];
    const previousGiven: Array<Buffer | null> = [];
    const scattered: Array<{ header: Buffer; body: Buffer }> = [];
    const whole: Buffer[] = [];
    const receiver = await MulticastReceiver.open(group, port, INTERFACE, null, (one) => whole.push(Buffer.from(one)), {
      driver: 'mmsg', datagramBytesMax,
      scatter: {
        headerBytes,
        nextBodies: (previous, stride) => {
          expect(stride).toBe(datagramBytesMax - headerBytes);
          previousGiven.push(previous);
          buffers.push(Buffer.alloc(stride * (RECEIVE_BATCH_DATAGRAMS + 17)));
          return buffers.at(-1)!;
        },
        // The body is kept as a view: nothing may overwrite it later.
        onScattered: (header, body) => scattered.push({ header: Buffer.from(header), body }),
      },
    });
    opened.push(receiver);
    const sender = await MulticastSender.open(group, port, INTERFACE, 1, 'mmsg');
    opened.push(sender);
    const sent: Buffer[] = [];
    for (let turn = 0; turn < 6; turn++) {
      for (let i = 0; i < 100; i++) {
        const bytes = i % 37 === 5 ? 8 + Math.floor(random() * 8) : headerBytes + Math.floor(random() * 1985);
        sent.push(datagram(sent.length, bytes));
        sender.send(sent.at(-1)!);
      }
      await waitFor(() => scattered.length + whole.length >= sent.length, { timeoutMs: 10_000, what: 'datagrams' });
    }
    // Short ones (under headerBytes) come whole, the rest split, each exactly its datagram.
    expect(whole.map((one) => one.readUInt32LE(0))).toEqual(sent.filter((one) => one.length < headerBytes)
      .map((one) => one.readUInt32LE(0)));
    const long = sent.filter((one) => one.length >= headerBytes);
    expect(scattered.map(({ header, body }) => Buffer.concat([header, body]))).toEqual(long);
    // Slot after slot: every datagram takes the next slot (a short one too), so each body lies
    // right after the one before (and the short ones between), but where a new buffer began.
    const stride = datagramBytesMax - headerBytes;
    for (let i = 1; i < scattered.length; i++) {
      const [before, after] = [scattered[i - 1]!, scattered[i]!];
      const slots = after.header.readUInt32LE(0) - before.header.readUInt32LE(0);
      if (after.body.buffer === before.body.buffer) {
        expect(after.body.byteOffset).toBe(before.body.byteOffset + slots * stride);
      } else {
        expect(after.body.byteOffset).toBeLessThan(slots * stride);
      }
    }
    expect(buffers.length).toBeGreaterThan(3);
    expect(previousGiven).toEqual([null, ...buffers.slice(0, -1)]);
  });

  it('mmsg scatterInto refuses headers too small for a batch and offsets outside the bodies', () => {
    const { group, port } = randomGroup(prng(testSeed('multicast-scatter-bad')));
    const addon = nativeAddon()!;
    const receiver = new addon.MmsgReceiver!(group, port, INTERFACE, 0, 2000, new Uint32Array(4), () => {}, () => {});
    try {
      const bodies = Buffer.alloc(10_000);
      expect(() => receiver.scatterInto!(Buffer.alloc(4 * 16 - 1), 16, bodies, 0)).toThrow(RangeError);
      expect(() => receiver.scatterInto!(Buffer.alloc(4 * 16), 16, bodies, 10_001)).toThrow(RangeError);
      expect(() => receiver.scatterInto!(Buffer.alloc(4 * 2000), 2000, bodies, 0)).toThrow(/below datagramBytesMax/);
      expect(() => receiver.scatterInto!(Buffer.alloc(4 * 16), 16, bodies, 0)).not.toThrow();
      expect(() => receiver.scatterInto!(Buffer.alloc(4 * 16), 16, null, 0)).not.toThrow(); // back to the ring
    } finally {
      receiver.close();
    }
  });

  for (const [sendDriver, receiveDriver] of [['mmsg', 'dgram'], ['dgram', 'mmsg'], ['dgram', 'dgram']] as const) {
    it(`${sendDriver} sender -> ${receiveDriver} receiver: the same bytes`, async () => {
      const { sender, receiver, received } = await pair(sendDriver, receiveDriver,
        `multicast-${sendDriver}-${receiveDriver}`);
      const sizes = [1, 100, 1472, 9000, UDP_PAYLOAD_BYTES_MAX, 64];
      for (let i = 0; i < sizes.length; i++) sender.send(datagram(i, Math.max(8, sizes[i]!)));
      await waitFor(() => received.length >= sizes.length, { timeoutMs: 10_000, what: 'datagrams' });
      expect(received.map((one) => one.length)).toEqual(sizes.map((bytes) => Math.max(8, bytes)));
      expect(received.map((one) => one.readUInt32LE(0))).toEqual(sizes.map((_, i) => i));
      expect(sender.driver).toBe(sendDriver);
      expect(receiver.driver).toBe(receiveDriver);
    });
  }

  it('mmsg: the loss generator drops the same datagrams as with dgram (seeded)', async () => {
    const seed = testSeed('multicast-loss');
    const reference = new LossGenerator(0.2, seed);
    const kept = Array.from({ length: 300 }, (_, i) => i).filter(() => !reference.shouldDrop());
    for (const driver of ['mmsg', 'dgram'] as const) {
      const loss = new LossGenerator(0.2, seed);
      const { sender, received } = await pair(driver, driver, `multicast-loss-${driver}`, loss);
      for (let i = 0; i < 300; i++) sender.send(datagram(i, 100));
      await waitFor(() => loss.dropped + received.length >= 300, { timeoutMs: 10_000, what: `${driver} datagrams` });
      expect(received.map((one) => one.readUInt32LE(0))).toEqual(kept);
    }
    expect(kept.length).toBeGreaterThan(180);
    expect(kept.length).toBeLessThan(290);
  });

  it('mmsg: a bad interface address fails with the errno name', async () => {
    const { group, port } = randomGroup(prng(testSeed('multicast-bad')));
    await expect(MulticastReceiver.open(group, port, '10.255.255.254', null, () => undefined, { driver: 'mmsg' }))
      .rejects.toMatchObject({ code: 'ENODEV', syscall: 'setsockopt(IP_ADD_MEMBERSHIP)' });
    await expect(MulticastSender.open(group, port, '10.255.255.254', 1, 'mmsg'))
      .rejects.toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind' });
    await expect(MulticastSender.open('not-an-address', port, INTERFACE, 1, 'mmsg'))
      .rejects.toThrow(/group must be an IPv4 address/);
  });

  it('mmsg: after close no callback runs and no file descriptor is left', async () => {
    const before = openFds();
    const { group, port } = randomGroup(prng(testSeed('multicast-close')));
    let calls = 0;
    const receivers: MulticastReceiver[] = [];
    for (let i = 0; i < 20; i++) {
      receivers.push(await MulticastReceiver.open(group, port, INTERFACE, null, () => { calls += 1; },
        { driver: 'mmsg' }));
    }
    const sender = await MulticastSender.open(group, port, INTERFACE, 1, 'mmsg');
    sender.send(datagram(0, 100));
    await waitFor(() => calls >= 20, { timeoutMs: 10_000, what: 'one datagram on each receiver' });
    // A receiver that closes itself from its own callback, with more datagrams of the batch left.
    let selfClosedCalls = 0;
    const selfClosing: MulticastReceiver = await MulticastReceiver.open(group, port, INTERFACE, null, () => {
      selfClosedCalls += 1;
      selfClosing.close();
    }, { driver: 'mmsg' });
    for (const receiver of receivers) receiver.close();
    receivers[0]!.close(); // twice is harmless
    for (let i = 0; i < 10; i++) sender.send(datagram(i, 100));
    await Promise.resolve();
    // A fresh receiver sees the datagrams, so the closed ones had their chance.
    const witness: Buffer[] = [];
    const late = await MulticastReceiver.open(group, port, INTERFACE, null, (one) => witness.push(Buffer.from(one)),
      { driver: 'mmsg' });
    for (let i = 0; i < 10; i++) sender.send(datagram(i, 100));
    await waitFor(() => witness.length >= 10, { timeoutMs: 10_000, what: 'the witness receiver' });
    expect(calls).toBe(20);
    expect(selfClosedCalls).toBe(1);
    late.close();
    sender.close();
    sender.send(datagram(0, 8)); // after close: ignored, no throw
    // libuv closes the receivers' fds in its close callbacks, a turn of the loop later.
    await waitFor(() => openFds() <= before || null, { timeoutMs: 5_000, what: `fds back to ${before}` });
    expect(openFds()).toBeLessThanOrEqual(before);
  });
});
