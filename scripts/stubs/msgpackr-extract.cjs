// msgpackr's optional native accelerator, from the SEA asset (or node_modules). msgpackr
// treats a throw here as "no accelerator" and runs its JS path.
const path = require('node:path');
const { loadNative } = require('../../native/loader.ts');
const loaded = loadNative('msgpackr-extract.node', [
  path.resolve(__dirname, '../../node_modules/@msgpackr-extract/msgpackr-extract-linux-x64/node.napi.glibc.node'),
]);
if (!loaded.ok) throw new Error(`msgpackr-extract: ${loaded.reason}`);
module.exports = loaded.exports;
