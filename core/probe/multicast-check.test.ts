/**
 * The multicast self-test in process. Method: run it on loopback (passes here: the machine's
 * lo carries multicast with an explicit interface address), take the timeout path by sending
 * nothing, and force a socket error by joining on an address no interface has.
 */
import { describe, expect, it } from 'vitest';
import { checkOne, MULTICAST_CHECK_SENT_COUNT } from './multicast-check.ts';

describe('checkOne', () => {
  it('passes on loopback', async () => {
    const result = await checkOne({ name: 'lo', address: '127.0.0.1', group: '239.77.200.3', timeoutMs: 2000 });
    expect(result).toMatchObject({ ok: true, error: null, reason: null, ttl: 0 });
    expect(result.receivedCount).toBe(MULTICAST_CHECK_SENT_COUNT);
    expect(result.port).toBeGreaterThan(0);
  });

  it('reports "sent N, received 0 within T ms" when nothing arrives', async () => {
    const result = await checkOne({
      name: 'lo', address: '127.0.0.1', group: '239.77.200.5', timeoutMs: 200, sendCount: 0,
    });
    expect(result.ok).toBe(false);
    expect(result.error).toBeNull();
    expect(result.reason).toBe('sent 0, received 0 within 200 ms');
    expect(result.elapsedMs).toBeGreaterThanOrEqual(190);
  });

  it('names the failed call and its errno', async () => {
    const result = await checkOne({ name: 'none', address: '10.255.255.254', group: '239.77.200.7', timeoutMs: 500 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^E[A-Z]+$/);
    expect(result.reason).toMatch(/failed: E[A-Z]+$/);
  });
});
