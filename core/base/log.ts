/**
 * A minimal structured logger for roles: one line per event on stderr, `level role: message`.
 * Rate-limited helpers keep a misbehaving peer from flooding the log.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export class Log {
  readonly #scope: string;
  readonly #rankMin: number;
  readonly #lastByKeyMs = new Map<string, number>();

  constructor(scope: string, levelMin: LogLevel = (process.env['X2_LOG_LEVEL'] as LogLevel) || 'info') {
    this.#scope = scope;
    this.#rankMin = LEVEL_RANK[levelMin] ?? LEVEL_RANK.info;
  }

  write(level: LogLevel, message: string): void {
    if (LEVEL_RANK[level] < this.#rankMin) return;
    process.stderr.write(`${new Date().toISOString()} ${level} ${this.#scope}: ${message}\n`);
  }

  debug(message: string): void { this.write('debug', message); }
  info(message: string): void { this.write('info', message); }
  warn(message: string): void { this.write('warn', message); }
  error(message: string): void { this.write('error', message); }

  /** Logs at most once per `intervalMs` for a given key (bad frames, bad clients). */
  limited(level: LogLevel, key: string, message: string, intervalMs = 10_000): void {
    const nowMs = Date.now();
    const lastMs = this.#lastByKeyMs.get(key);
    if (lastMs !== undefined && nowMs - lastMs < intervalMs) return;
    if (this.#lastByKeyMs.size > 1024) this.#lastByKeyMs.clear();
    this.#lastByKeyMs.set(key, nowMs);
    this.write(level, message);
  }
}
