// Bundles x2 into one CommonJS file (dist/x2.cjs): the single executable's main must be a
// CommonJS script whose require() reaches built-ins only, so native modules of dependencies
// are aliased to stubs that load them from SEA assets (see scripts/sea.mjs).
import { build } from 'esbuild';
import { readFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

// ink 6.8.0 and yoga-layout 3.2 are ESM with top-level await, which esbuild cannot emit as CJS.
// This plugin (tested in research/ecosystem.md §8.3) removes the three awaits: yoga's wasm is
// instantiated synchronously through emscripten's instantiateWasm hook, and ink's two DEV-only
// awaits are dropped. It fails loudly if the upstream text changes (ink is pinned exactly).
const inkYogaNoTopLevelAwait = {
  name: 'ink-yoga-no-tla',
  setup(b) {
    b.onLoad({ filter: /yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/ }, async (args) => {
      const ems = await readFile(join(dirname(args.path), '../binaries/yoga-wasm-base64-esm.js'), 'utf8');
      const wasm = ems.match(/data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)/)?.[1];
      if (!wasm) throw new Error('yoga-layout: embedded wasm not found (version changed?)');
      return {
        loader: 'js', resolveDir: dirname(args.path), contents: `
import loadYoga from '../binaries/yoga-wasm-base64-esm.js';
import wrapAssembly from './wrapAssembly.js';
const bytes = Buffer.from(${JSON.stringify(wasm)}, 'base64');
const mod = { instantiateWasm(imports, receive) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  receive(instance); return instance.exports; } };
loadYoga(mod);
const Yoga = wrapAssembly(mod);
export default Yoga;
export * from './generated/YGEnums.js';` };
    });
    b.onLoad({ filter: /ink[\\/]build[\\/]reconciler\.js$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      const out = src
        .replace("await import('./devtools.js');", '/* devtools disabled in bundle */')
        .replace(/\?\s*await loadPackageJson\(\)/, '? { name: undefined, version: undefined }');
      if (out.includes("await import('./devtools.js')") || /\?\s*await loadPackageJson/.test(out)) {
        throw new Error('ink reconciler patch did not apply (ink version changed?)');
      }
      return { contents: out, loader: 'js' };
    });
  },
};

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
    // never loaded; keeps ink's devtools.js resolvable
    'react-devtools-core': resolve(root, 'scripts/stubs/react-devtools-core.js'),
  },
  define: {
    'import.meta.url': '__x2_import_meta_url',
    'import.meta.dirname': '__dirname',
    X2_BUILD_VERSION: JSON.stringify(version),
    'process.env.DEV': '"false"',
  },
  plugins: [inkYogaNoTopLevelAwait],
  banner: { js: "const __x2_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
console.error(`bundle: dist/x2.cjs in ${Date.now() - t0} ms`);
