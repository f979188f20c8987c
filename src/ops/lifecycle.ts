/**
 * Process lifecycle: SIGTERM/SIGINT run the registered stop steps (stop capture, flush final reports,
 * drain HEP queues) within process.shutdown_deadline_ms and exit; a second signal exits at once; SIGHUP
 * re-reads the configuration and hands it to the reload handlers, keeping the old one when the new file
 * is invalid.
 *
 * Wiring: the CLI creates the Lifecycle, installs the signal handlers, publishes it with setOpsRuntime()
 * and runs the probe's main function through `run()`; the probe registers its steps with `onStop` /
 * `onReload` on `opsRuntime()?.lifecycle`.
 */
import type { Logger } from 'pino';
import type { ProbeConfig } from './config.js';
import { ExitCode } from './exit-codes.js';

export type StopStep = (reason: string) => Promise<void> | void;
export type ReloadHandler = (config: ProbeConfig, previous: ProbeConfig) => Promise<void> | void;

export interface LifecycleOptions {
  log: Logger;
  deadlineMs: number;
  /** Re-reads the configuration (same file, env, flags as at start); throws ConfigError when invalid. */
  reload?: () => ProbeConfig;
  /** The configuration in force. */
  config?: ProbeConfig;
  /** Called to end the process; default process.exit. */
  exit?: (code: number) => void;
  /**
   * The main function registers its stop steps once it runs (those registered before run() are the
   * caller's own): a signal before that finds nothing measured and ends the start-up at once with OK.
   */
  stepsFromMain?: boolean;
}

/** What a stop cut by the deadline lost: fields for the log line and the sentence that says it. */
export interface DeadlineLoss {
  fields: object;
  text: string;
}

export class Lifecycle {
  private readonly stopSteps: Array<{ name: string; fn: StopStep; order: number }> = [];
  private readonly reloadHandlers: ReloadHandler[] = [];
  private stopPromise: Promise<void> | undefined;
  private signalCount = 0;
  /** Removers of the process handlers install() added. */
  private installed: Array<() => void> = [];
  private reloading: Promise<boolean> = Promise.resolve(true);
  private exited = false;
  private readonly stepsFromMain: boolean;
  /** With `stepsFromMain`: the stop steps registered before run() started main. */
  private stepsBeforeMain: number | undefined;
  log: Logger;
  deadlineMs: number;
  config: ProbeConfig | undefined;
  private reloader: (() => ProbeConfig) | undefined;
  private readonly exitFn: (code: number) => void;
  private deadlineLoss: (() => DeadlineLoss) | undefined;

  constructor(opts: LifecycleOptions) {
    this.log = opts.log;
    this.deadlineMs = opts.deadlineMs;
    this.reloader = opts.reload;
    this.config = opts.config;
    this.exitFn = opts.exit ?? ((code) => process.exit(code));
    this.stepsFromMain = opts.stepsFromMain ?? false;
  }

  /** True once a stop has begun. */
  get stopping(): boolean {
    return this.stopPromise !== undefined;
  }

  /**
   * Steps run by ascending `order`, then in registration order, on stop (register capture first, then
   * reports, then HEP).
   */
  onStop(name: string, fn: StopStep, order = 0): void {
    this.stopSteps.push({ name, fn, order });
    // Stable sort: equal orders keep registration order; the CLI closes the metrics endpoint at order 100.
    this.stopSteps.sort((a, b) => a.order - b.order);
  }

  /** What a stop cut by the deadline loses, for the deadline's log line (read just before the exit). */
  setDeadlineLoss(fn: () => DeadlineLoss): void {
    this.deadlineLoss = fn;
  }

  /** One line when the deadline cuts the stop: what was lost, when the probe said how to count it. */
  private logDeadline(exiting: boolean): void {
    const loss = this.deadlineLoss?.();
    this.log.error({ deadlineMs: this.deadlineMs, ...loss?.fields }, `shutdown deadline exceeded: ${exiting ? 'exiting, ' : ''}${loss?.text ?? 'some final reports may be lost'}`);
  }

  onReload(fn: ReloadHandler): void {
    this.reloadHandlers.push(fn);
  }

  setReloader(fn: () => ProbeConfig): void {
    this.reloader = fn;
  }

  /** Install SIGTERM, SIGINT and SIGHUP handlers. */
  install(): void {
    const on = (sig: NodeJS.Signals, fn: () => void) => {
      process.on(sig, fn);
      this.installed.push(() => process.off(sig, fn));
    };
    on('SIGTERM', () => this.onTerminate('SIGTERM'));
    on('SIGINT', () => this.onTerminate('SIGINT'));
    on('SIGHUP', () => {
      void this.reload();
    });
    // A bug must not lose every stream's final report: log it, run the stop steps within the deadline, exit 1.
    const crash = (err: unknown) => {
      this.log.fatal({ err }, 'unexpected error: stopping');
      if (this.stopping) return this.finish(ExitCode.RUNTIME);
      void this.stop('crash').then(() => this.finish(ExitCode.RUNTIME));
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
    this.installed.push(
      () => process.off('uncaughtException', crash),
      () => process.off('unhandledRejection', crash),
    );
  }

  uninstall(): void {
    for (const remove of this.installed) remove();
    this.installed = [];
  }

  private onTerminate(sig: NodeJS.Signals): void {
    this.signalCount++;
    if (this.signalCount > 1) {
      this.log.warn({ signal: sig }, 'second signal: exiting without finishing the graceful stop');
      this.finish(ExitCode.FORCED);
      return;
    }
    // A probe still starting (opening the capture, starting its workers) has measured nothing: the start is
    // abandoned and the process ends with the steps already registered, not when the start completes.
    if (this.stepsFromMain && (this.stepsBeforeMain === undefined || this.stopSteps.length === this.stepsBeforeMain)) {
      this.log.info({ signal: sig }, 'stopped during start-up: nothing was measured yet');
      void this.stop(sig).then(() => this.finish(ExitCode.OK));
      return;
    }
    this.log.info({ signal: sig, deadlineMs: this.deadlineMs }, 'stopping: flushing final reports');
    // The whole stop (steps, then the main function returning) must fit the deadline counted from the signal.
    const hard = setTimeout(() => {
      this.logDeadline(true);
      this.finish(ExitCode.RUNTIME);
    }, this.deadlineMs);
    hard.unref();
    void this.stop(sig);
  }

  /**
   * Run the stop steps once (later calls return the same promise). Each step's failure is logged and the
   * next step still runs. Resolves true when all finished within the deadline.
   */
  stop(reason: string): Promise<boolean> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        for (const step of this.stopSteps) {
          try {
            await step.fn(reason);
          } catch (err) {
            this.log.error({ err, step: step.name }, 'stop step failed');
          }
        }
      })();
    }
    return withDeadline(this.stopPromise, this.deadlineMs);
  }

  /**
   * Run the probe's main function and exit with its code. When a signal asked for the stop, the stop steps
   * (and the main function) get the deadline; overrunning it exits with RUNTIME.
   */
  async run(main: () => Promise<number>): Promise<void> {
    if (this.stepsFromMain) this.stepsBeforeMain = this.stopSteps.length;
    let code: number;
    try {
      code = await main();
    } catch (err) {
      code = exitCodeFor(err);
      // A user's problem (usage, capture open, input file) is one line naming it; a bug keeps its stack.
      if (code === ExitCode.RUNTIME) this.log.error({ err }, 'probe failed');
      else {
        this.log.debug({ err }, 'probe failed');
        this.log.error((err as Error).message ?? String(err));
      }
    }
    // Main ended by itself (replay finished, capture failed) or after a stop: make sure every step ran.
    const inTime = await this.stop(this.stopping ? 'signal' : 'end');
    if (!inTime) {
      this.logDeadline(false);
      code = code === ExitCode.OK ? ExitCode.RUNTIME : code;
    }
    this.finish(code);
  }

  /** Exit once (the first code wins). */
  finish(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.uninstall();
    this.exitFn(code);
  }

  /**
   * Re-read the configuration. Invalid: log every problem, keep the old one, return false. Valid: make it
   * current, apply the log level, call the reload handlers (in order), return true.
   */
  reload(): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<boolean> {
    if (!this.reloader) {
      this.log.warn('SIGHUP ignored: no configuration file to reload');
      return false;
    }
    let next: ProbeConfig;
    try {
      next = this.reloader();
    } catch (err) {
      this.log.error({ problems: (err as { problems?: unknown }).problems }, `configuration reload refused, keeping the running configuration: ${(err as Error).message}`);
      return false;
    }
    const previous = this.config ?? next;
    this.config = next;
    if (next.log.level !== this.log.level) this.log.level = next.log.level;
    for (const h of this.reloadHandlers) {
      try {
        await h(next, previous);
      } catch (err) {
        this.log.error({ err }, 'reload handler failed');
      }
    }
    this.log.info('configuration reloaded');
    return true;
  }
}

async function withDeadline(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Map an error thrown by the probe to an exit code (by name/code, so no module has to import ours). */
export function exitCodeFor(err: unknown): number {
  const e = err as { name?: string; code?: string; exitCode?: unknown };
  if (typeof e?.exitCode === 'number') return e.exitCode;
  switch (e?.name) {
    case 'ConfigError':
      return ExitCode.USAGE;
    case 'CaptureOpenError':
      // A filter libpcap refuses for the interface's link type is a configuration error, as a typo is.
      return e.code === 'EFILTER' ? ExitCode.USAGE : ExitCode.CAPTURE_OPEN;
    case 'PrivilegeError':
      return ExitCode.CAPTURE_OPEN;
    case 'CaptureFileError':
      return (e as { partial?: boolean }).partial ? ExitCode.INPUT_CUT_SHORT : ExitCode.INPUT_FILE;
  }
  return ExitCode.RUNTIME;
}
