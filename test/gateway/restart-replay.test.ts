/**
 * Goal: a gateway restarted while the sequencer runs on serves only once it has applied everything
 * sequenced before it was welcomed; the sequencer's recovered head (where its own epoch began) is
 * not enough. Before, a restarted gateway listened "replayed to seq 0" under a sequencer that had
 * sequenced thousands of entries, and answered from that old state for seconds: topics unknown,
 * watermarks low, idempotent producers' retries judged against a table without their originals.
 * Method: a cluster (sequencer, two commits, one gateway); idempotent produce through kafkajs; the
 * sequencer's last seq read from its metrics; kill -9 of the gateway and a restart; the seq the
 * gateway says it replayed to must reach that last seq, and the topic's high watermark must be
 * complete on the first request after it listens.
 */
import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../harness/cluster.ts';
import { scrape } from '../harness/scrape.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ gateways: 1, commits: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

const SENDS = 60;

describe('gateway restart', () => {
  it('serves only after applying what was sequenced before its welcome', async () => {
    const kafka = new Kafka({ clientId: 'x2-restart-replay', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < SENDS; i++) {
      await producer.send({ topic: 'replay', acks: -1, messages: [{ partition: 0, value: `v${i}` }] });
    }
    await producer.disconnect();
    const sequencerPort = /metrics on :(\d+)\/metrics/.exec(cluster.log('sequencer'))?.[1];
    const metrics = await scrape(`http://127.0.0.1:${sequencerPort}/metrics`);
    const lastSeq = Number(/^x2_river_last_seq(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1] ?? -1);
    expect(lastSeq).toBeGreaterThanOrEqual(SENDS);

    await cluster.kill('gateway-0');
    cluster.restart('gateway-0');
    await cluster.ready();
    const watermark = spawnSync('kcat', ['-b', cluster.brokers[0]!, '-Q', '-t', 'replay:0:-1'],
      { encoding: 'utf8', timeout: 30_000 });
    const replayed = [...cluster.log('gateway-0').matchAll(/replayed to seq (\d+)/g)].map((match) => Number(match[1]));
    expect(replayed).toHaveLength(2); // the first start and the restart
    expect(replayed[1]).toBeGreaterThanOrEqual(lastSeq);
    expect(watermark.stdout).toContain(`replay [0] offset ${SENDS}`);
  }, 120_000);
});
