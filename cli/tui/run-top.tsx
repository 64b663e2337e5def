/**
 * Starts the Ink app of `x2 top` on the terminal and resolves when it ends (q, Ctrl-C,
 * SIGTERM). Imported lazily by cli/commands/top.ts so other commands never load Ink.
 */
import { render } from 'ink';
import { SnapshotFeed } from '../../core/metrics/snapshot-feed.ts';
import type { BrokerAddress } from '../../core/bench/kafka-client.ts';
import type { TlsClientFiles } from '../../core/base/tls-files.ts';
import type { SaslClientCredentials } from '../../core/kafka/sasl-mechanisms.ts';
import { TopApp } from './TopApp.tsx';

export async function runTop(bootstrap: readonly BrokerAddress[], tls: TlsClientFiles | null,
  sasl: SaslClientCredentials | null): Promise<void> {
  const feed = new SnapshotFeed(bootstrap, tls, sasl);
  const app = render(<TopApp source={feed} />, { exitOnCtrlC: true });
  const stop = (): void => app.unmount();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await app.waitUntilExit();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    feed.close();
  }
}
