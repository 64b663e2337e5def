/**
 * Entry point of the x2 executable (bundled to dist/x2.cjs, then into the single executable).
 * No top-level await: the single executable's main is a CommonJS script.
 */
import { main } from './program.ts';

main(process.argv.slice(2)).then(
  (code) => {
    // Roles keep the event loop alive and exit themselves; one-shot commands end here.
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`x2: ${String(error)}\n`);
    process.exitCode = 70;
  },
);
