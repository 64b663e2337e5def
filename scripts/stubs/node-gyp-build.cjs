// classic-level loads its prebuilt binding through node-gyp-build(__dirname). In the bundle
// that directory does not exist, so load the same file from the SEA asset (or node_modules).
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const path = require('node:path');

module.exports = function nodeGypBuild(dir) {
  const { loadNative } = require('../../native/loader.ts');
  const candidates = [
    path.join(dir || '', 'prebuilds/linux-x64/classic-level.node'),
    path.resolve(__dirname, '../../node_modules/classic-level/prebuilds/linux-x64/classic-level.node'),
  ];
  try {
    candidates.push(createRequire(pathToFileURL(__filename)).resolve('classic-level/prebuilds/linux-x64/classic-level.node'));
  } catch {
    // Not resolvable from here (single executable): the SEA asset is used instead.
  }
  const loaded = loadNative('classic-level.node', candidates);
  if (!loaded.ok) throw new Error(`classic-level native binding: ${loaded.reason}`);
  return loaded.exports;
};
