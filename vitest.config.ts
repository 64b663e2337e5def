import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (core/**/*.test.ts); system tests that spawn the built
// executable live under test/. Process-heavy suites run in forks so a crash stays contained.
export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'native/**/*.test.ts', 'cli/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
