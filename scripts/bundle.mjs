// Bundles x2 into one CommonJS file (dist/x2.cjs): the single executable's main must be a
// CommonJS script whose require() reaches built-ins only, so native modules of dependencies
// are aliased to stubs that load them from SEA assets (see scripts/sea.mjs).
import { build } from 'esbuild';
import { readFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
mkdirSync(resolve(root, 'dist'), { recursive: true });

const t0 = Date.now();
await build({
  entryPoints: [resolve(root, 'cli/x2.ts')],
  outfile: resolve(root, 'dist/x2.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
  alias: {
    'node-gyp-build': resolve(root, 'scripts/stubs/node-gyp-build.cjs'),
    'msgpackr-extract': resolve(root, 'scripts/stubs/msgpackr-extract.cjs'),
  },
  define: {
    'import.meta.url': '__x2_import_meta_url',
    'import.meta.dirname': '__dirname',
    X2_BUILD_VERSION: JSON.stringify(version),
    'process.env.DEV': '"false"',
  },
  banner: { js: "const __x2_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
console.error(`bundle: dist/x2.cjs in ${Date.now() - t0} ms`);
