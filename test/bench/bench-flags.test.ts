/**
 * `x2 bench produce|consume|e2e` refuse bad input before touching any target: each bad flag
 * exits 2 with a message naming the flag, the value and what is allowed; an unreachable target
 * fails fast (exit 74, the target named) instead of hanging. Method: run the built dist/x2
 * with bad flags, and against a loopback port nobody listens on.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../harness/cluster.ts';
import { runX2 } from '../harness/x2.ts';

const badFlags: Array<{ args: string[]; message: RegExp }> = [
  { args: ['produce', '--target', 'http://x:1'],
    message: /--target: kafka:\/\/HOST:PORT, .* is allowed \(got "http:\/\/x:1"\)/ },
  { args: ['produce', '--target', 'kafka://h:70000'], message: /--target: a port from 1 to 65535/ },
  { args: ['produce', '--target', 'kafka://h:1', '--rate', 'fast'],
    message: /--rate: .*or max, is allowed \(got "fast"\)/ },
  { args: ['produce', '--target', 'kafka://h:1', '--rate', '0'], message: /--rate: records per second from 1/ },
  { args: ['produce', '--target', 'kafka://h:1', '--message-bytes', '8'], message: /--message-bytes: a size from 16/ },
  { args: ['produce', '--target', 'kafka://h:1', '--acks', '2'],
    message: /--acks: 0, 1 or all is allowed \(got "2"\)/ },
  { args: ['produce', '--target', 'kafka://h:1', '--keys', 'sticky'], message: /--keys: none, round-robin, random/ },
  { args: ['produce', '--target', 'kafka://h:1', '--compression', 'lz4'],
    message: /--compression: none, gzip or zstd .*lz4/ },
  { args: ['produce', '--target', 'kafka://h:1', '--compression', 'brotli'],
    message: /--compression: none, gzip or zstd/ },
  { args: ['produce', '--target', 'kafka://h:1', '--batch-bytes', '100'],
    message: /--batch-bytes: a size from 1KiB to 1MiB is allowed \(e.g. 16KiB\) \(got "100"\)/ },
  { args: ['produce', '--target', 'kafka://h:1', '--batch-bytes', '2MiB'], message: /--batch-bytes: a size from 1KiB/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--batch-bytes', 'big'], message: /--batch-bytes: a size from 1KiB/ },
  { args: ['produce', '--target', 'redis://h:1', '--batch-bytes', '16KiB'],
    message: /--batch-bytes: only a kafka target takes it \(a redis target has no record batches\)/ },
  { args: ['produce', '--target', 'nats://h:1', '--compression', 'gzip'],
    message: /--compression: none is allowed with a nats target/ },
  { args: ['produce', '--target', 'redis://h:1', '--acks', '0'],
    message: /--acks: 1 or all is allowed with a redis target/ },
  { args: ['produce', '--target', 'nats://h:1', '--tls-ca', 'ca.pem'],
    message: /--tls-ca: only a kafka target takes it \(TLS to nats is not wired into the bench\) \(got "ca.pem"\)/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--tls-ca', '/nonexistent/ca.pem'],
    message: /--tls-ca "\/nonexistent\/ca.pem": cannot be read \(no such file\)/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--topics', '0'], message: /--topics: a whole number from 1 to 100000/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--partitions', '10001'],
    message: /--partitions: a whole number from 1 to 10000/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--duration', 'soon'], message: /--duration: a positive duration/ },
  { args: ['consume', '--target', 'kafka://h:1', '--consumers', '5', '--partitions', '4'],
    message: /--consumers: at most one consumer per partition/ },
  { args: ['consume', '--target', 'kafka://h:1', '--topic-prefix', 'a b'], message: /--topic-prefix: letters, digits/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--subscribers', '0'],
    message: /--subscribers: a whole number from 1 to 100 is allowed \(got "0"\)/ },
  { args: ['consume', '--target', 'nats://h:1', '--subscribers', '101'],
    message: /--subscribers: a whole number from 1 to 100 is allowed \(got "101"\)/ },
  { args: ['e2e', '--target', 'redis://h:1', '--subscribers', 'many'],
    message: /--subscribers: a whole number from 1 to 100 is allowed \(got "many"\)/ },
  { args: ['e2e', '--target', 'kafka://h:1', '--topics', '200', '--partitions', '5000', '--subscribers', '2'],
    message: /--subscribers: at most 1000000 subscribers x partitions in all \(--subscribers 2 x 1000000 / },
];

describe('x2 bench workload flags', () => {
  for (const { args, message } of badFlags) {
    it(`x2 bench ${args.join(' ')} exits 2 naming the problem`, () => {
      const result = runX2(['bench', ...args]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    });
  }

  it('consume has no producer flags; produce has no consumer flags', () => {
    expect(runX2(['bench', 'consume', '--target', 'kafka://h:1', '--rate', '5']).code).toBe(2);
    expect(runX2(['bench', 'produce', '--target', 'kafka://h:1', '--consumers', '5']).code).toBe(2);
    expect(runX2(['bench', 'produce', '--target', 'kafka://h:1', '--subscribers', '2']).code).toBe(2);
  });

  for (const scheme of ['kafka', 'nats', 'redis']) {
    it(`an unreachable ${scheme} target fails within seconds with exit 74 and names the target`, async () => {
      const port = await freePort();
      const started = Date.now();
      const result = runX2(['bench', 'e2e', '--target', `${scheme}://127.0.0.1:${port}`, '--duration', '1'],
        { timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(74);
      expect(result.stderr).toContain(`127.0.0.1:${port}`);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  }
});
