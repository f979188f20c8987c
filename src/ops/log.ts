/**
 * Logging: pino to standard error (standard output is kept for JSON-lines reports), JSON by default,
 * human-readable through pino-pretty when format is "pretty", or "auto" on a terminal. Synchronous writes:
 * the probe logs events, never packets, so the cost does not matter and nothing is lost on exit.
 */
import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogConfig } from './config.js';
import { printable } from './terminal-text.js';

export type { Logger };

export interface CreateLoggerOptions {
  /** Where lines go; default standard error. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Whether the destination is a terminal (decides "auto"); default process.stderr.isTTY. */
  isTty?: boolean;
  /** Base fields added to every line. */
  base?: Record<string, unknown>;
}

export function createLogger(cfg: Pick<LogConfig, 'level' | 'format'>, opts: CreateLoggerOptions = {}): Logger {
  const tty = opts.isTty ?? Boolean(process.stderr.isTTY);
  const usePretty = cfg.format === 'pretty' || (cfg.format === 'auto' && tty);
  const options = {
    level: cfg.level,
    base: { name: 'rtpprobe', ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (usePretty) {
    // Loaded only for pretty output: ~40 modules a JSON log (and every non-terminal replay) does not need.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = pretty({
      destination: (opts.destination as NodeJS.WritableStream | undefined) ?? 2,
      colorize: tty,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
    });
    return pino({ ...options, hooks: { streamWrite: printableRecord } }, stream);
  }
  return pino(options, (opts.destination as DestinationStream | undefined) ?? pino.destination({ fd: 2, sync: true }));
}

/**
 * One JSON log line with every string escaped for the terminal (printable): values from the wire (a
 * Call-ID, a User-Agent) reach the pretty log, and pino-pretty writes Unicode direction controls as they
 * came. A stack keeps its lines.
 */
function printableRecord(line: string): string {
  const escape = (key: string, v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    return key === 'stack' ? v.split('\n').map(printable).join('\n') : printable(v);
  };
  return `${JSON.stringify(JSON.parse(line), escape)}\n`;
}

/** A warning function limited to one line per interval; lines report how many were suppressed in between. */
export interface RateLimitedWarn {
  (msg: string, fields?: Record<string, unknown>): void;
  /** Emit the count of lines suppressed since the last one, if any (call at shutdown). */
  flush(): void;
  /** Lines suppressed since the last emitted one. */
  readonly suppressed: number;
}

/**
 * `rateLimitedWarn(log, 'kernel-drops', 10_000)` returns a warn function that writes at most one line per
 * 10 s for that key; each line carries `suppressed` = lines swallowed since the previous one. Keys are
 * shared: two call sites with the same key share one budget.
 */
export function rateLimitedWarn(
  log: Logger,
  key: string,
  intervalMs: number,
  now: () => number = () => performance.now(),
): RateLimitedWarn {
  let state = limiterState.get(log)?.get(key);
  if (!state) {
    state = { last: -Infinity, suppressed: 0, lastMsg: '' };
    let perLog = limiterState.get(log);
    if (!perLog) limiterState.set(log, (perLog = new Map()));
    perLog.set(key, state);
  }
  const s = state;
  const warn = ((msg: string, fields?: Record<string, unknown>) => {
    const t = now();
    if (t - s.last < intervalMs) {
      s.suppressed++;
      s.lastMsg = msg;
      return;
    }
    const extra = s.suppressed > 0 ? { suppressed: s.suppressed } : {};
    log.warn({ key, ...fields, ...extra }, msg);
    s.last = t;
    s.suppressed = 0;
  }) as RateLimitedWarn;
  warn.flush = () => {
    if (s.suppressed === 0) return;
    log.warn({ key, suppressed: s.suppressed }, `${s.lastMsg} (repeated)`);
    s.suppressed = 0;
    s.last = now();
  };
  Object.defineProperty(warn, 'suppressed', { get: () => s.suppressed });
  return warn;
}

interface LimiterState {
  last: number;
  suppressed: number;
  lastMsg: string;
}
const limiterState = new WeakMap<Logger, Map<string, LimiterState>>();

/** A budget of log lines per window for a stream of events (calls, alerts): the rest are counted. */
export interface LineBudget {
  /** True when one more line may be written now; false counts it as suppressed. */
  take(): boolean;
  /** Lines suppressed since the last summary; writes the summary line when there were any and resets. */
  flush(): number;
}

/**
 * `lineBudget(log, 'calls', 20, 10_000)`: at most 20 lines per 10 s window; when a window had more, the
 * next take() or flush() after it writes one line `<what>: N more not logged` (info, or `level`).
 */
export function lineBudget(
  log: Logger,
  what: string,
  perWindow: number,
  windowMs: number,
  now: () => number = () => performance.now(),
  level: 'info' | 'warn' = 'info',
): LineBudget {
  let windowStart = -Infinity;
  let used = 0;
  let suppressed = 0;
  const flush = (): number => {
    const n = suppressed;
    if (n > 0) log[level]({ suppressed: n, what }, `${what}: ${n} more not logged (at most ${perWindow} lines per ${windowMs / 1000} s)`);
    suppressed = 0;
    return n;
  };
  return {
    take() {
      const t = now();
      if (t - windowStart >= windowMs) {
        flush();
        windowStart = t;
        used = 0;
      }
      if (used < perWindow) {
        used++;
        return true;
      }
      suppressed++;
      return false;
    },
    flush,
  };
}
