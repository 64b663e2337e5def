/**
 * Measures the two multicast drivers against each other with `x2 bench river`: for each setting,
 * runs of the native path (mmsg) and of X2_NATIVE=0 (dgram) alternate, so a ratio compares runs
 * made seconds apart on the same machine. Prints one markdown table: appends/s, append-to-commit
 * p50/p99, CPU ms per MB appended (sequencer, mean receiver), and mmsg/dgram ratios of the medians.
 * Not a test (vitest ignores it): run it on a quiet machine, after `npm run build`:
 *   node test/river/bench-drivers.ts [--rounds 2] [--duration 4] [--kind subscriber|commit]
 *     [--receivers 1,2,4] [--entry-bytes 1024,69] [--mtu-bytes 1500] [--rate R] [--x2 PATH (dist/x2)]
 *     [--dgram native-off (X2_NATIVE=0) | driver-only (X2_RIVER_DRIVER=dgram)]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { X2_BINARY } from '../harness/x2.ts';

type Report = {
  appendsPerSec: number; latencyUs: { p50: number; p99: number }; sequencerDriver: string | null; ok: boolean;
  cpuMsPerMb: { sequencer: number | null; receiver: number | null }; delivery: Array<{ driver: string | null }>;
  fdatasyncP99Us: number | null;
};

const { values } = parseArgs({ options: {
  rounds: { type: 'string', default: '2' }, duration: { type: 'string', default: '4' },
  kind: { type: 'string', default: 'subscriber' }, receivers: { type: 'string', default: '1,2,4' },
  'entry-bytes': { type: 'string', default: '1024,69' }, rate: { type: 'string' },
  'mtu-bytes': { type: 'string', default: '1500' },
  // A private copy keeps a rebuild of dist/x2 by someone else from breaking a long series.
  x2: { type: 'string', default: X2_BINARY },
  // How the dgram runs are made: X2_NATIVE=0 (no addon: JS CRC32C too) or X2_RIVER_DRIVER=dgram
  // (the addon stays loaded: the driver alone differs).
  dgram: { type: 'string', default: 'native-off' },
} });
if (values.dgram !== 'native-off' && values.dgram !== 'driver-only') {
  throw new Error(`--dgram: native-off or driver-only is allowed (got ${JSON.stringify(values.dgram)})`);
}
const dgramEnv = values.dgram === 'native-off' ? { X2_NATIVE: '0' } : { X2_RIVER_DRIVER: 'dgram' };

function run(receivers: number, entryBytes: number, native: boolean): Report {
  const args = ['bench', 'river', '--json', '--receivers', String(receivers), '--receivers-kind', values.kind!,
    '--entry-bytes', String(entryBytes), '--duration', values.duration!, '--appenders', '4', '--seed', '7',
    '--mtu-bytes', values['mtu-bytes']!, ...(values.rate ? ['--rate', values.rate] : [])];
  const result = spawnSync(values.x2!, args, { encoding: 'utf8', timeout: 300_000,
    env: native ? process.env : { ...process.env, ...dgramEnv } });
  if (result.status !== 0) throw new Error(`x2 ${args.join(' ')}: exit ${result.status}\n${result.stderr}`);
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
  const expected = native ? 'mmsg' : 'dgram';
  if (!report.ok || report.sequencerDriver !== expected || report.delivery.some((d) => d.driver !== expected)) {
    throw new Error(`unexpected report for ${expected}: ${result.stdout}`);
  }
  return report;
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const format = (value: number, digits = 0): string => value.toFixed(digits);
const rows: string[] = [];
const loads: number[] = [];
const notes: string[] = [];
for (const entryBytes of values['entry-bytes']!.split(',').map(Number)) {
  for (const receivers of values.receivers!.split(',').map(Number)) {
    const series: Record<'mmsg' | 'dgram', Report[]> = { mmsg: [], dgram: [] };
    for (let round = 0; round < Number(values.rounds); round++) {
      // Alternate which driver goes first, so a trend in the machine's load favours neither.
      for (const native of round % 2 === 0 ? [true, false] : [false, true]) {
        loads.push(loadavg()[0]!);
        series[native ? 'mmsg' : 'dgram'].push(run(receivers, entryBytes, native));
      }
    }
    const summary = (reports: Report[]) => ({
      rate: median(reports.map((r) => r.appendsPerSec)),
      p50: median(reports.map((r) => r.latencyUs.p50)) / 1000,
      p99: median(reports.map((r) => r.latencyUs.p99)) / 1000,
      cpuSequencer: median(reports.map((r) => r.cpuMsPerMb.sequencer ?? NaN)),
      cpuReceiver: median(reports.map((r) => r.cpuMsPerMb.receiver ?? NaN)),
      fdatasyncP99: median(reports.map((r) => r.fdatasyncP99Us ?? NaN)) / 1000,
    });
    const mmsg = summary(series.mmsg);
    const dgram = summary(series.dgram);
    const cells = (s: ReturnType<typeof summary>) => [format(s.rate), `${format(s.p50, 1)} / ${format(s.p99, 1)}`,
      `${format(s.cpuSequencer, 1)} / ${format(s.cpuReceiver, 1)}`];
    rows.push(`| ${entryBytes} B | ${receivers} | ${cells(mmsg).join(' | ')} | ${cells(dgram).join(' | ')} | `
      + `${format(mmsg.rate / dgram.rate, 2)} | ${format(mmsg.p99 / dgram.p99, 2)} | `
      + `${format(mmsg.cpuSequencer / dgram.cpuSequencer, 2)} / ${format(mmsg.cpuReceiver / dgram.cpuReceiver, 2)} |`);
    if (values.kind === 'commit') {
      notes.push(`${entryBytes} B, ${receivers} commits: fdatasync p99 (same runs, median) `
        + `${format(mmsg.fdatasyncP99, 1)} ms with mmsg, ${format(dgram.fdatasyncP99, 1)} ms with dgram; `
        + `append-to-commit p99 / fdatasync p99 = ${format(mmsg.p99 / mmsg.fdatasyncP99, 1)} (mmsg), `
        + `${format(dgram.p99 / dgram.fdatasyncP99, 1)} (dgram)`);
    }
    process.stderr.write(`${rows.at(-1)}\n`);
  }
}
process.stdout.write([
  `${values.kind}s, MTU ${values['mtu-bytes']}, dgram runs with ${JSON.stringify(dgramEnv)}, `
    + `${values.rounds} rounds of ${values.duration} s `
    + 'per driver and setting, '
    + `load average ${format(Math.min(...loads), 1)}-${format(Math.max(...loads), 1)}`,
  '',
  '| entry | receivers | mmsg appends/s | mmsg p50 / p99 ms | mmsg CPU ms/MB seq / recv | dgram appends/s '
    + '| dgram p50 / p99 ms | dgram CPU ms/MB seq / recv | appends/s mmsg/dgram | p99 mmsg/dgram '
    + '| CPU/MB mmsg/dgram seq / recv |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows, '', ...notes, ''].join('\n'));
