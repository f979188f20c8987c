/**
 * The one place where events leave the probe: the pipeline (and the SIP tracker) hand reports, RTCP and
 * SIP messages to the OutboundSink, which builds each event once and gives it to every output that
 * wants its kind. Outputs can be swapped at run time (SIGHUP) without the pipeline noticing.
 */
import type { QosReport } from '../report/index.js';
import { DuplicateFilter } from './duplicate-filter.js';
import { FiringAlerts } from './firing-alerts.js';
import type { Envelope, EventKind, OutboundEvent, QosEvent, RtcpEvent, SipEvent } from './events.js';
import type { Output } from './output.js';

export interface OutboundSinkHooks {
  /** Every report object built, for tests (called before any output). */
  onReport?: (report: QosReport) => void;
  /** Every FINAL and HANGUP report, for the replay's closing table. */
  onFinalReport?: (report: QosReport) => void;
}

export class OutboundSink {
  readonly counts = {
    /** QoS reports and ALERTs made (built or, when no one takes them, only scored: countUnbuilt). */
    qosReports: 0,
    /** QoS events handed to at least one collector output. */
    qosSent: 0,
    /** RTCP compounds handed to the outputs, a mirror-port copy of one not again: what HEP sends. */
    rtcpSent: 0,
    /** Mirror-port copies of an RTCP compound (hep.sip.duplicate_window_ms): sent once, counted here. */
    rtcpDuplicates: 0,
    /** RTCP without a Call-ID: HOMER would drop it, so it is not sent. */
    rtcpUncorrelated: 0,
    /** SIP messages handed to the outputs, a mirror-port copy of one not again: what HEP sends (before its exclusions). */
    sipSent: 0,
    /** Mirror-port copies of a SIP message (hep.sip.duplicate_window_ms): handed on once, counted here. */
    sipDuplicates: 0,
  };
  /** The rules firing as collector outputs are told them, followed whether or not one is open (a reload may add one). */
  readonly firing = new FiringAlerts();
  private outputs: Output[] = [];
  private readonly byKind = new Map<EventKind, { collector: Output[]; local: Output[] }>();
  private anyInterval = false;
  /**
   * Mirror-port copies of SIP and RTCP are told here, once for every output (HEP, the call reports), so
   * the counts say what the outputs get.
   */
  private sipCopies: DuplicateFilter;
  private rtcpCopies: DuplicateFilter;
  /** Reused event objects: outputs must not keep them beyond write(). */
  private readonly sipEvent: SipEvent = { kind: 'sip', bytes: new Uint8Array(0), env: undefined as unknown as Envelope, callId: '', method: '', statusCode: 0 };

  /** `duplicateWindowMs`: hep.sip.duplicate_window_ms, within which the same SIP message or RTCP compound is a copy. */
  constructor(
    outputs: Output[],
    private readonly hooks: OutboundSinkHooks = {},
    duplicateWindowMs = 0,
  ) {
    this.sipCopies = new DuplicateFilter(duplicateWindowMs);
    this.rtcpCopies = new DuplicateFilter(duplicateWindowMs);
    this.setOutputs(outputs, duplicateWindowMs);
  }

  /** The outputs events go to from now on (configuration reload), and the duplicate window. */
  setOutputs(outputs: Output[], duplicateWindowMs = this.sipCopies.windowMs): void {
    if (duplicateWindowMs !== this.sipCopies.windowMs) {
      this.sipCopies = new DuplicateFilter(duplicateWindowMs);
      this.rtcpCopies = new DuplicateFilter(duplicateWindowMs);
    }
    this.outputs = outputs;
    for (const k of ['qos', 'alert', 'rtcp', 'sip'] as const) {
      const takers = outputs.filter((o) => o.wants(k));
      this.byKind.set(k, { collector: takers.filter((o) => o.scope === 'collector'), local: takers.filter((o) => o.scope === 'local') });
    }
    this.anyInterval = this.wants('qos') || this.wants('alert') || this.hooks.onReport !== undefined;
  }

  get current(): readonly Output[] {
    return this.outputs;
  }

  private wants(kind: EventKind): boolean {
    const t = this.byKind.get(kind)!;
    return t.collector.length > 0 || t.local.length > 0;
  }

  /** A QoS report or ALERT: `send` = collectors may take it (it has a Call-ID), `log` = local outputs may. */
  qos(report: QosReport, env: Envelope, send: boolean, log: boolean, json?: string): void {
    this.counts.qosReports++;
    this.hooks.onReport?.(report);
    if (this.hooks.onFinalReport && (report.TYPE === 'FINAL' || report.TYPE === 'HANGUP')) this.hooks.onFinalReport(report);
    if (send) this.firing.follow(report, env);
    // A rule starting (ALERT) or stopping (CLEARED) to fire is an alert event.
    const kind = report.TYPE === 'ALERT' || report.TYPE === 'CLEARED' ? 'alert' : 'qos';
    const t = this.byKind.get(kind)!;
    const toCollectors = send && t.collector.length > 0;
    const toLocal = log && t.local.length > 0;
    if (!toCollectors && !toLocal) return;
    const e: QosEvent = { kind, report, json: json ?? JSON.stringify(report), env, toCollectors: send, toLocal: log };
    if (toCollectors) {
      for (const o of t.collector) o.write(e);
      this.counts.qosSent++;
    }
    if (toLocal) for (const o of t.local) o.write(e);
  }

  /** False when no output takes PERIODIC/ALERT reports: the pipeline then scores intervals without building them. */
  wantsIntervalReports(): boolean {
    return this.anyInterval;
  }

  /**
   * False when nothing would take a stream's end reports: no output of QoS reports or alerts, no report
   * hook, and no alert firing whose stream the FINAL would end here (firing.follow).
   */
  wantsStreamEndReports(): boolean {
    return this.anyInterval || this.hooks.onFinalReport !== undefined || this.firing.size > 0;
  }

  countUnbuilt(reports: number): void {
    this.counts.qosReports += reports;
  }

  wantsRtcp(): boolean {
    return this.wants('rtcp');
  }

  /**
   * RTCP as HOMER's JSON; without a Call-ID HOMER drops it, so it is only counted, as a mirror-port copy is.
   * A copy is the same datagram (`compound`, its bytes), not the same JSON: the JSON leaves out what tells
   * some compounds apart (feedback packets' FCI, APP data, most XR blocks).
   */
  rtcp(json: string, env: Envelope, callId: string | null, compound: Uint8Array): void {
    if (!this.wants('rtcp')) return;
    if (!callId) {
      this.counts.rtcpUncorrelated++;
      return;
    }
    if (this.rtcpCopies.isDuplicate(compound, env)) {
      this.counts.rtcpDuplicates++;
      return;
    }
    const e: RtcpEvent = { kind: 'rtcp', json, env, callId };
    this.dispatch('rtcp', e);
    this.counts.rtcpSent++;
  }

  wantsSip(): boolean {
    return this.wants('sip');
  }

  /** One captured SIP message (bytes valid only during the call); a mirror-port copy is only counted. */
  sip(bytes: Uint8Array, env: Envelope, callId: string, method: string, statusCode: number): void {
    if (!this.wants('sip')) return;
    if (this.sipCopies.isDuplicate(bytes, env)) {
      this.counts.sipDuplicates++;
      return;
    }
    const e = this.sipEvent;
    e.bytes = bytes;
    e.env = env;
    e.callId = callId;
    e.method = method;
    e.statusCode = statusCode;
    this.dispatch('sip', e);
    e.bytes = EMPTY;
    this.counts.sipSent++;
  }

  private dispatch(kind: EventKind, e: OutboundEvent): void {
    const t = this.byKind.get(kind)!;
    for (const o of t.collector) o.write(e);
    for (const o of t.local) o.write(e);
  }
}

const EMPTY = new Uint8Array(0);
