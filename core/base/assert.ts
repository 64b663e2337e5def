/**
 * Assertions for invariants (programmer errors). They stay on in production: a broken
 * invariant stops the process with the "software" exit code, and the recovery path, which
 * must be correct anyway, takes over. Nothing may catch an AssertionError.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}
