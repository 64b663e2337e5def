/**
 * Goal: NAKs from a member that does not read its link cannot make the sequencer queue resends
 * without bound (each NAK resends up to 1 MiB; a member repeats its NAK every 10 ms), and once the
 * member reads again its NAKs are served. Method: a real in-process sequencer (replication 0, so
 * appends commit at once and stay in the ring), frames appended through AppendClient, and a raw
 * subscriber link that stops reading, sends 80 NAKs for everything, then reads again.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { Log } from '../../base/log.ts';
import { createRegistry } from '../../metrics/metrics.ts';
import { AppendClient } from '../../river/append-client.ts';
import { BENCH_STREAM_BASE, benchBatch } from '../../river/delivery-check.ts';
import { LinkReader, LinkWriter } from '../../river/link.ts';
import { MESSAGE, sendSeqPair } from '../../river/messages.ts';
import { waitFor } from '../../../test/harness/wait-for.ts';
import { RETRANSMIT_BACKLOG_BYTES_MAX, RETRANSMIT_BYTES_MAX, Sequencer } from './sequencer.ts';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const cleanup of cleanups.splice(0)) cleanup(); });

const ENTRY_BYTES = 128 * 1024;
const NAKS = 80;

function message(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32LE(1 + payload.length, 0);
  head[4] = type;
  return Buffer.concat([head, payload]);
}

describe('sequencer NAKs from a member that does not read', () => {
  it('queue at most about RETRANSMIT_BACKLOG_BYTES_MAX of resends, and are served again once it reads', async () => {
    const sequencer = await Sequencer.start({
      listenHost: '127.0.0.1', listenPort: 0, replication: 0, writeQuorum: 0, group: null, groupPort: 0,
      interfaceAddress: null, mtuBytes: 1500, ringBytes: 16 * 1024 * 1024, riverId: 1, heartbeatMs: 50,
      log: new Log('sequencer', 'error'), registry: createRegistry('sequencer'),
    });
    cleanups.push(() => sequencer.close());
    const address = `127.0.0.1:${sequencer.port}`;
    const appender = new AppendClient(address);
    cleanups.push(() => appender.close());
    let lastSeq = 0;
    for (let i = 0; i < 32; i++) {
      const result = await appender.appendAsync([{ streamId: BENCH_STREAM_BASE, recordCount: 1,
        batch: benchBatch(ENTRY_BYTES, i) }]);
      lastSeq = result.firstSeq;
      await result.committed;
    }

    const socket: Socket = connect({ host: '127.0.0.1', port: sequencer.port });
    cleanups.push(() => socket.destroy());
    await once(socket, 'connect');
    let messages = 0;
    let retransmittedBytes = 0;
    const reader = new LinkReader((type, payload) => {
      messages += 1;
      if (type === MESSAGE.frame) retransmittedBytes += payload.length;
    });
    socket.on('data', (chunk: Buffer) => { reader.feed(chunk); });
    socket.write(message(MESSAGE.hello, pack({ role: 'subscriber', memberId: 'slow', river: 'unicast' })));
    await waitFor(() => messages > 0, { timeoutMs: 5000, what: 'the welcome' });
    socket.pause(); // the member stops reading: its link backs up

    const writer = new LinkWriter(socket);
    for (let i = 0; i < NAKS; i++) sendSeqPair(writer, MESSAGE.nak, 1, lastSeq + 1);
    await waitFor(() => sequencer.naksReceived >= NAKS, { timeoutMs: 10_000, what: 'the NAKs read' });
    // Without the bound, 80 NAKs queue ~80 MiB; the kernel's socket buffers take a few MB of it.
    expect(sequencer.linkBacklogBytesMax).toBeLessThanOrEqual(RETRANSMIT_BACKLOG_BYTES_MAX + RETRANSMIT_BYTES_MAX
      + 2 * ENTRY_BYTES);
    expect(sequencer.naksDeferred).toBeGreaterThan(0);

    socket.resume();
    await waitFor(() => sequencer.linkBacklogBytesMax < 64 * 1024, { timeoutMs: 20_000, what: 'the link drained' });
    const deferred = sequencer.naksDeferred;
    const retransmits = sequencer.retransmits;
    const before = retransmittedBytes;
    sendSeqPair(writer, MESSAGE.nak, 1, lastSeq + 1);
    await waitFor(() => sequencer.retransmits > retransmits && retransmittedBytes >= before + ENTRY_BYTES,
      { timeoutMs: 10_000, what: 'a NAK served after the drain' });
    expect(sequencer.naksDeferred).toBe(deferred);
  }, 60_000);
});
