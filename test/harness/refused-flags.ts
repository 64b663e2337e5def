/**
 * Start-up flag checks shared by the compat tests: each case's flags must stop both `x2 gateway`
 * and `x2 up` with exit status 2 and the message, before either gets anywhere (the gateway's
 * sequencer address leads nowhere, so only the flag check can end it this fast).
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { freePort } from './cluster.ts';
import { makeTempDir, runX2 } from './x2.ts';

export async function expectRefusedAtStart(cases: ReadonlyArray<[flags: string[], message: string]>): Promise<void> {
  const port = String(await freePort());
  for (const [flags, message] of cases) {
    const gateway = runX2(['gateway', '--sequencer', '127.0.0.1:1', '--listen', `127.0.0.1:${port}`, ...flags],
      { timeoutMs: 20_000 });
    expect(gateway.code, `x2 gateway ${flags.join(' ')}: ${gateway.stderr}`).toBe(2);
    expect(gateway.stderr).toContain(message);
    const dataDir = makeTempDir('x2-refused-flags-');
    try {
      const up = runX2(['up', '--data', dataDir, '--port', port, '--sequencer-port', '0', ...flags],
        { timeoutMs: 20_000 });
      expect(up.code, `x2 up ${flags.join(' ')}: ${up.stderr}`).toBe(2);
      expect(up.stderr).toContain(message);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}
