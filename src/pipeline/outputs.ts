import type { ProbeConfig } from '../ops/config.js';
import { OutboundSink, openConfiguredOutputs, reopenOutputs, silentLog, type DestinationStats, type Output, type OutputLog } from '../outbound/index.js';
import type { QosReport } from '../report/index.js';

export interface OpenOutputsOptions {
  /** Receives every FINAL and HANGUP report (the replay's closing table). */
  onFinalReport?: (r: QosReport) => void;
  /** Where outputs log delivery problems (rate-limited by them). */
  log?: OutputLog;
  /** What the run reads (capture files, or the interface): the call reports' titles name it. */
  source?: string;
  /** A live capture (`run`): what the call report keeps is bounded by recency (see OutputContext). */
  live?: boolean;
}

/** One destination's counters, with the output it belongs to. */
export type OutputDestinationStats = DestinationStats & { output: string };

/** The outputs the configuration asks for, behind the one sink the pipeline writes to. */
export interface Outputs {
  sink: OutboundSink;
  /** The open outputs (they change on reload). */
  readonly list: readonly Output[];
  /**
   * Every destination of the open outputs (collectors, files), for metrics and /healthz; with
   * `includeClosed`, also those closed by a reload or by close() (run summary, replay's exit code).
   */
  destinations(includeClosed?: boolean): OutputDestinationStats[];
  /**
   * Null while every output has room; otherwise resolves once they have (a replay awaits it between
   * windows so reports are produced at the pace the destinations take them).
   */
  room(): Promise<void> | null;
  /**
   * Resolves once every output has delivered what it accepted or cannot deliver now (destination down),
   * or when nothing at all was delivered for `stallMs` (a collector that accepts a connection but reads
   * nothing must not hold a replay forever).
   */
  settled(stallMs: number): Promise<void>;
  /**
   * Configuration reload: opens the new outputs, switches events to them, drains the old ones. An output
   * that cannot be reopened keeps running as it was (logged).
   */
  reload(config: ProbeConfig, drainMs: number): Promise<void>;
  /** Delivers what is queued within the deadline (every output in parallel), then closes. */
  close(deadlineMs: number): Promise<void>;
  /** Where the call reports read the run's counts of SIP messages not used: the pipeline opens after its outputs. */
  setSipNotUsed(counts: () => Record<string, number>): void;
}

export function openOutputs(config: ProbeConfig, opts: OpenOutputsOptions = {}): Outputs {
  const log = opts.log ?? silentLog;
  const sink = new OutboundSink([], { onFinalReport: opts.onFinalReport }, config.hep.sip.duplicateWindowMs);
  let sipNotUsed = (): Record<string, number> => ({});
  const context = { source: opts.source, firing: sink.firing, live: opts.live, sipNotUsed: () => sipNotUsed() };
  sink.setOutputs(openConfiguredOutputs(config, log, context));
  const closed: Output[] = [];
  const statsOf = (list: readonly Output[]) => list.flatMap((o) => o.stats().map((d) => ({ ...d, output: o.name })));
  return {
    sink,
    get list() {
      return sink.current;
    },
    destinations(includeClosed = false) {
      return includeClosed ? statsOf([...closed, ...sink.current]) : statsOf(sink.current);
    },
    room() {
      const waits = sink.current.map((o) => o.room?.() ?? null).filter((p): p is Promise<void> => p !== null);
      return waits.length === 0 ? null : Promise.all(waits).then(() => undefined);
    },
    async settled(stallMs: number) {
      const all = Promise.all(sink.current.map((o) => o.settled?.() ?? null)).then(() => true);
      const moved = () => sink.current.reduce((n, o) => n + o.stats().reduce((m, d) => m + d.sent + d.failed + d.dropped, 0), 0);
      for (let last = moved(); ; ) {
        let timer: NodeJS.Timeout | undefined;
        const stall = new Promise<false>((r) => (timer = setTimeout(() => r(false), stallMs)));
        const done = await Promise.race([all, stall]);
        clearTimeout(timer);
        if (done) return;
        const now = moved();
        if (now === last) return;
        last = now;
      }
    },
    async reload(next: ProbeConfig, drainMs: number) {
      const running = sink.current;
      const { opened, kept, errors } = reopenOutputs(next, log, running, context);
      for (const e of errors) log.error(e, 'output could not be reopened with the reloaded configuration: its running instance stays');
      sink.setOutputs([...opened, ...kept], next.hep.sip.duplicateWindowMs);
      const old = running.filter((o) => !kept.includes(o));
      closed.push(...old);
      await Promise.all(old.map((o) => o.close(drainMs)));
    },
    async close(deadlineMs: number) {
      const old = sink.current;
      sink.setOutputs([]);
      closed.push(...old);
      await Promise.all(old.map((o) => o.close(deadlineMs)));
    },
    setSipNotUsed(counts) {
      sipNotUsed = counts;
    },
  };
}
