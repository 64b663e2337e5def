/** One seed rules everything random in a test: X2_SEED replays a run; the seed is printed. */
export function testSeed(name: string): number {
  const fromEnv = process.env['X2_SEED'];
  const seed = fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`[seed] ${name}: X2_SEED=${seed}\n`);
  return seed;
}

/** mulberry32: small, fast, good enough for workloads and fault schedules. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
