/**
 * Operating errors: expected failures (bad flags, full disk, bad input) that are reported
 * clearly and never crash a role. Each carries a stable code from error-codes.ts.
 * Message shape: `<where>: <what is wrong> (got <value>), <what is allowed>`.
 */
import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export class X2Error extends Error {
  override name = 'X2Error';
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** A usage error: names the flag, the value and what is allowed. */
export function usageError(flag: string, got: string, allowed: string): X2Error {
  return new X2Error('X2_ERR_USAGE', `${flag}: ${allowed} (got ${JSON.stringify(got)})`);
}
