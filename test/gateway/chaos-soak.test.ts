/**
 * Goal: idempotent acks=all producers lose nothing and duplicate nothing while the sequencer is
 * killed with SIGKILL again and again. Before, a lost link failed the appends in flight with
 * NOT_ENOUGH_REPLICAS (librdkafka then bumped its epoch and sent written batches again as new
 * ones) and the gateway judged retries before the river had told it whether the originals made
 * it: 48 duplicates in 2 minutes. Method: test/gateway/chaos-soak.sh (the soak run by hand, shortened):
 * x2 up with two python3-confluent-kafka idempotent producers on 12 partitions, the sequencer
 * killed every 2-5 s for 60 s and restarted by x2 up, then every partition read and checked
 * against every acknowledgement, before and after a kill -9 of the whole cluster.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../harness/x2.ts';

describe('chaos soak, sequencer kills', () => {
  it('keeps every acknowledged record once and in order', () => {
    const run = spawnSync('bash', [join(import.meta.dirname, 'chaos-soak.sh'), '60'], {
      encoding: 'utf8', timeout: 600_000,
      env: { ...process.env, X2: requireBinary(), KILL_ROLES: 'sequencer', WHOLE_EVERY: '0', KILL_MIN: '2',
        KILL_MAX: '5' },
    });
    const output = `${run.stdout}\n${run.stderr}`;
    const reads = output.split('\n').filter((line) => line.startsWith('{"highWatermarks"'))
      .map((line) => JSON.parse(line) as Record<string, number>);
    expect(reads, output).toHaveLength(2);
    for (const read of reads) {
      expect(read.acknowledged).toBeGreaterThan(20_000);
      expect({ missing: read.missing, duplicated: read.duplicated, outOfOrder: read.outOfOrder,
        vanished: read.vanished, wrongValue: read.wrongValue }).toEqual({ missing: 0, duplicated: 0, outOfOrder: 0,
        vanished: 0, wrongValue: 0 });
    }
    // No producer died: librdkafka raises fatal errors for a sequence it cannot explain.
    const producers = output.split('\n').filter((line) => line.startsWith('{"producer"'))
      .map((line) => JSON.parse(line) as { fatal: number; acked: number });
    expect(producers).toHaveLength(2);
    for (const producer of producers) expect(producer.fatal).toBe(0);
    const kills = Number(/kills: sequencer=(\d+)/.exec(output)?.[1] ?? 0);
    expect(kills).toBeGreaterThanOrEqual(8);
    expect(run.status, output).toBe(0);
    expect(output).toContain('chaos soak: PASS');
  }, 600_000);
});
