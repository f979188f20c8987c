/**
 * A live run an operator can watch: the LiveState fed from the reports, logs of calls and alerts (each
 * with a line budget), a periodic one-line status, the per-rule metrics and MOS histogram, and the
 * stream table printed at stop. src/probe.ts creates one per run and puts target() between the pipeline
 * and the outputs.
 */
import type { Logger } from 'pino';
import type { ReportTarget } from '../pipeline/index.js';
import type { SipTarget } from '../pipeline/sip-out.js';
import { formatStreamTable } from '../pipeline/index.js';
import type { QosReport } from '../report/index.js';
import type { ProbeConfig } from './config.js';
import { AlertLog, CallLog } from './live-log.js';
import { LiveState, type AlertEvent, type CallSource } from './live-state.js';
import type { ProbeMetrics } from './metrics.js';

export interface LiveRunOptions {
  log: Logger;
  config: ProbeConfig;
  metrics?: ProbeMetrics;
  /** Log calls, alerts and the status line (live capture; a realtime replay). */
  logEvents: boolean;
  /** Reports delivered, dropped by a full queue and lost by a failed send, over every destination. */
  reportTotals?: () => { sent: number; dropped: number; failed: number };
}

/** Rows of the table printed at stop; the rest are counted under it. */
export const STOP_TABLE_ROWS = 50;

export class LiveRun {
  readonly state: LiveState;
  private readonly alertListeners: Array<(e: AlertEvent) => void> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly callLog: CallLog | null;
  private readonly alertLog: AlertLog | null;
  private rules: readonly string[];
  private lastDrops = 0;
  private captureDrops: (() => { droppedKernel: number; droppedInterface: number }) | null = null;
  private calls: CallSource | null = null;

  constructor(private readonly o: LiveRunOptions) {
    this.rules = o.config.reports.rules.map((r) => r.name);
    this.alertLog = o.logEvents ? new AlertLog(o.log) : null;
    this.state = new LiveState({
      onAlert: (e) => {
        this.alertLog?.event(e);
        for (const l of this.alertListeners) l(e);
      },
      onInterval: (r) => o.metrics?.observeMos(Number(r.MOS)),
    });
    this.callLog = o.logEvents && o.config.log.calls ? new CallLog(o.log, this.state) : null;
    o.metrics?.setLive(this.state, () => this.rules);
  }

  /** Every alert start and clear (the webhook output). */
  onAlert(fn: (e: AlertEvent) => void): void {
    this.alertListeners.push(fn);
  }

  /** Configuration reload: the per-rule series follow the new rule names. */
  setRules(config: ProbeConfig): void {
    this.rules = config.reports.rules.map((r) => r.name);
  }

  /**
   * The pipeline's report target: reports reach the live state, then `sink` (SIP messages go straight to
   * it). Interval reports are always built: the live view and the MOS histogram read them.
   */
  target(sink: ReportTarget & Partial<SipTarget>): ReportTarget & Partial<SipTarget> {
    const state = this.state;
    const t: ReportTarget & Partial<SipTarget> = {
      qos(report: QosReport, env, send, log, json) {
        state.observe(report);
        sink.qos(report, env, send, log, json);
      },
      rtcp: (json, env, callId, compound) => sink.rtcp(json, env, callId, compound),
      wantsRtcp: () => (sink.wantsRtcp ? sink.wantsRtcp() : true),
      wantsIntervalReports: () => true,
      countUnbuilt: (n) => sink.countUnbuilt?.(n),
    };
    if (sink.sip && sink.wantsSip) {
      t.sip = (bytes, env, callId, method, status) => sink.sip!(bytes, env, callId, method, status);
      t.wantsSip = () => sink.wantsSip!();
    }
    return t;
  }

  /** Starts reading the call table (`calls`), logging calls, and the status line (with the capture's drops). */
  start(calls: CallSource, captureDrops?: () => { droppedKernel: number; droppedInterface: number }): void {
    this.state.setCallSource(calls);
    this.calls = calls;
    this.captureDrops = captureDrops ?? null;
    if (this.callLog) this.every(1000, () => this.callLog!.poll(calls));
    const s = this.o.config.log.statusIntervalS;
    if (this.o.logEvents && s > 0) this.every(s * 1000, () => this.logStatus());
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  /** One line: calls, streams, worst MOS, alerts firing, capture drops, reports. */
  logStatus(): void {
    const sum = this.state.summary();
    const d = this.captureDrops?.();
    const drops = d ? d.droppedKernel + d.droppedInterface : 0;
    const r = this.o.reportTotals?.();
    this.o.log.info(
      {
        calls: sum.calls,
        streams: sum.streams,
        worstMos: sum.worstMos || null,
        worstCallId: sum.worstCallId,
        alertsFiring: sum.alertsFiring,
        captureDrops: drops,
        captureDropsNew: drops - this.lastDrops,
        reportsSent: r?.sent,
        reportsDropped: r?.dropped,
        reportsFailed: r?.failed,
      },
      `status: ${sum.calls} calls, ${sum.streams} streams, worst MOS ${sum.worstMos ? sum.worstMos.toFixed(2) : '-'}, ${sum.alertsFiring} alerts firing, ${drops} capture drops`,
    );
    this.lastDrops = drops;
  }

  /** The stop began: the final reports that follow make the table printed at stop. */
  stopping(): void {
    this.state.collectFinals(STOP_TABLE_ROWS);
    // Calls that ended by themselves are logged as such before the stop ends every call.
    if (this.calls) this.callLog?.poll(this.calls);
  }

  /**
   * The run ended: timers stop, pending call and alert lines are written, and the table of the streams
   * that were running at stop (worst first, at most STOP_TABLE_ROWS) is returned; '' when there were none.
   */
  finish(): string {
    for (const t of this.timers) clearInterval(t);
    if (this.calls) this.callLog?.poll(this.calls, true);
    this.callLog?.flush();
    this.alertLog?.flush();
    const { worst, count } = this.state.takeFinals();
    if (count === 0) return '';
    const more = count - worst.length;
    return `streams at stop (${count}, worst MOS first):\n${formatStreamTable(worst)}${more > 0 ? `... ${more} more (all of them in the FINAL reports)\n` : ''}`;
  }
}
