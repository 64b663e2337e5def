/**
 * Micro-benchmark, run by hand: `node core/probe/interfaces.bench.ts` (Node 24 strips types).
 * Listing interfaces through the addon (getifaddrs + one SIOCGIFMTU ioctl each, plus /sys for
 * speed and driver) against the JS twin (a walk of /sys/class/net plus os.networkInterfaces()),
 * with os.networkInterfaces() alone (libuv's getifaddrs) as the baseline of the same run.
 */
import * as os from 'node:os';
import { Bench } from 'tinybench';
import { nativeAddon } from '../../native/index.ts';
import { listInterfacesJs, listInterfacesNative } from './interfaces.ts';

const addon = nativeAddon();
if (!addon) throw new Error('the addon is not loaded: run npm run build:native');

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: os.networkInterfaces()', () => { os.networkInterfaces(); })
  .add('listInterfacesNative (addon)', () => { listInterfacesNative(addon); })
  .add('listInterfacesJs (/sys twin)', () => { listInterfacesJs(); });
await bench.run();

function opsPerSecond(index: number): number {
  const result = bench.tasks[index]?.result;
  return result && 'throughput' in result ? result.throughput.mean : Number.NaN;
}
const baseline = opsPerSecond(0);
bench.tasks.forEach((task, index) => {
  const ops = opsPerSecond(index);
  const ratio = (ops / baseline).toFixed(3);
  console.log(`${task.name.padEnd(36)} ${ops.toFixed(0).padStart(8)} lists/s  ratio to baseline ${ratio}`);
});
