/**
 * Loads a `.node` file in every way x2 runs: from the single executable (an SEA asset written
 * once to a private temp folder, then dlopen'ed), from the bundle (dist/x2.cjs next to
 * native/build) and from sources (vitest, tsx). Never throws: a missing or broken addon
 * returns the reason, and the caller falls back to its JS twin.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type NativeLoad<T> =
  | { ok: true; exports: T; from: string }
  | { ok: false; reason: string };

type SeaModule = { isSea(): boolean; getAsset(name: string): ArrayBuffer };

function seaModule(): SeaModule | null {
  try {
    const require = createRequire(import.meta.url);
    const sea = require('node:sea') as SeaModule;
    return sea.isSea() ? sea : null;
  } catch {
    // node:sea exists on every supported Node; without it we are simply not in an SEA.
    return null;
  }
}

/** Writes an embedded asset to `<tmp>/x2-native-<uid>-<hash>/<name>` (atomic rename). */
function extractAsset(sea: SeaModule, asset: string): string {
  const bytes = Buffer.from(sea.getAsset(asset));
  const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const base = process.env['X2_NATIVE_DIR'] || os.tmpdir();
  const dir = path.join(base, `x2-native-${process.getuid?.() ?? 0}-${hash}`);
  const file = path.join(dir, asset);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, bytes, { mode: 0o755 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * @param asset name of the SEA asset (set in scripts/sea.mjs)
 * @param devCandidates file URLs or paths tried in order outside the SEA
 */
export function loadNative<T>(asset: string, devCandidates: Array<string | URL>): NativeLoad<T> {
  const module = { exports: {} as T };
  try {
    const sea = seaModule();
    if (sea) {
      const file = extractAsset(sea, asset);
      process.dlopen(module, file);
      return { ok: true, exports: module.exports, from: `embedded asset ${asset}` };
    }
    for (const candidate of devCandidates) {
      const file = candidate instanceof URL ? fileURLToPath(candidate) : candidate;
      if (!fs.existsSync(file)) continue;
      process.dlopen(module, file);
      return { ok: true, exports: module.exports, from: file };
    }
    return { ok: false, reason: `${asset} not found (run npm run build:native)` };
  } catch (error) {
    return { ok: false, reason: `${asset} failed to load: ${(error as Error).message}` };
  }
}
