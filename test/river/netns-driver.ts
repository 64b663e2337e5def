/**
 * The load driver of netns.test.ts, run inside a network namespace (the test process cannot enter
 * one): appends until `count` entries are acknowledged, waits for the commits to be durable up to
 * the last acknowledged seq, and prints one JSON line: the acks and the commits' NAK counters,
 * the sequencer's fan-out amplification (bytes sent / bytes appended) and each role's river driver
 * (the `driver` label of x2_river_driver, sequencer first).
 * Usage: netns-driver.ts <sequencer host:port> <count> <sequencer-metrics-url> <commit-metrics-url>...
 */
import { waitFor } from '../harness/wait-for.ts';
import { Load } from './cluster.ts';

async function scrape(url: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text()).split('\n')) {
    const match = /^([a-z0-9_]+)(?:\{[^}]*\})? ([-\d.e+]+)$/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

async function driverOf(url: string): Promise<string | null> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  return /^x2_river_driver\{[^}]*driver="([a-z]+)"/m.exec(text)?.[1] ?? null;
}

const startedMs = Date.now();
/** Each phase's time goes to stderr: the test prints it when something is slow or fails. */
const phase = (what: string): void => {
  process.stderr.write(`netns-driver: ${Date.now() - startedMs} ms: ${what}\n`);
};

async function main(): Promise<void> {
  const [sequencer, countText, sequencerMetricsUrl, ...metricsUrls] = process.argv.slice(2);
  const count = Number(countText);
  const load = new Load(sequencer!, 2, { streams: 3 });
  // A slow run says where it is every 10 s (what is acknowledged, what is still in flight).
  setInterval(() => phase(`progress: ${load.ackCount} acknowledged, ${load.inflight} in flight, ${load.errors} errors`),
    10_000).unref();
  await waitFor(() => load.ackCount >= count, { timeoutMs: 60_000, what: `${count} acknowledged appends` });
  phase(`${load.ackCount} acknowledged`);
  await load.stop();
  phase(`load stopped with ${load.ackCount} acknowledged, ${load.errors} errors`);
  const lastSeq = Math.max(...load.acks.map((ack) => ack.seq));
  let naks = 0;
  for (const url of metricsUrls) {
    const durableSeq = async (): Promise<number> =>
      (await scrape(url).catch(() => new Map<string, number>())).get('x2_commit_durable_seq') ?? 0;
    await waitFor(async () => await durableSeq() >= lastSeq,
      { timeoutMs: 30_000, what: `${url} durable up to ${lastSeq}` });
    phase(`${url} durable up to ${lastSeq}`);
    naks += (await scrape(url)).get('x2_river_naks_sent_total') ?? 0;
  }
  const sequencerMetrics = await scrape(sequencerMetricsUrl!);
  const amplification = (sequencerMetrics.get('x2_river_bytes_sent_total') ?? 0)
    / (sequencerMetrics.get('x2_river_bytes_appended_total') ?? 1);
  const drivers = await Promise.all([sequencerMetricsUrl!, ...metricsUrls].map(driverOf));
  // Exit only once the line is written: a pipe may take it in several writes (a CI run once read
  // it cut at 146 KB when exit followed the write at once).
  process.stdout.write(`${JSON.stringify({ acks: load.acks, errors: load.errors, naks, amplification, drivers })}\n`,
    () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`netns-driver: ${String(error)}\n`);
  process.exit(1);
});
