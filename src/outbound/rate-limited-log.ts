import type { OutputLog } from './output.js';

/**
 * Warnings that can repeat at packet rate (a collector down, a disk full) are logged at most once per
 * `intervalMs` per key; the next line says how many were suppressed in between.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: OutputLog,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, obj: object, msg: string): void {
    this.emit('warn', key, obj, msg);
  }

  error(key: string, obj: object, msg: string): void {
    this.emit('error', key, obj, msg);
  }

  private emit(level: 'warn' | 'error', key: string, obj: object, msg: string): void {
    const t = this.now();
    const s = this.last.get(key);
    if (s !== undefined && t - s.at < this.intervalMs) {
      s.suppressed++;
      return;
    }
    const suppressed = s?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    this.log[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}

/** An OutputLog that discards everything (embedders and tests that do not log). */
export const silentLog: OutputLog = { warn() {}, error() {}, info() {} };
