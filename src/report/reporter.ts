import type { StreamSnapshot } from '../rtp/snapshot.js';
import { isRepairEncoding } from '../rtp/index.js';
import { CodecTable } from '../qos/codecs.js';
import { DEFAULT_DELAY_ASSUMPTIONS, emptyDelayEstimate, estimateOneWayDelay, estimatePathDelay, withBufferDelay } from '../qos/delay.js';
import type { DelayAssumptions, DelayEstimate, LegRoundTrips } from '../qos/delay.js';
import { buildQosReport, round3 } from './build.js';
import type { QosReport, ReportContext, ReportOptions } from './build.js';
import { CALL_FAULT_ONE_WAY } from './call-faults.js';
import { decideCorrelation, reportsKept, reportsSent } from './correlation.js';
import type { UnknownCallIdPolicy } from './correlation.js';
import { IntervalMetrics } from './metrics-scope.js';
import { FRAGMENT_MS, StreamQosState } from './qos-state.js';
import type { JitterBufferScoring } from './qos-state.js';
import type { JitterBufferCounters } from '../rtp/jitter-buffer.js';
import { SILENCE_RULE, StreamSilences } from './silences.js';
import { ReportScheduler } from './scheduler.js';
import type { SchedulerConfig } from './scheduler.js';
import type { CaptureDropLog } from './capture-drop-log.js';

export interface QosReporterConfig {
  maxStreams: number;
  schedule: SchedulerConfig;
  unknownCallId: UnknownCallIdPolicy;
  codecs?: CodecTable;
  delay?: DelayAssumptions;
  /** Jitter-buffer sizes and the reference buffer of the report's MOS (default: the engine's defaults, adaptive). */
  jitterBuffer?: JitterBufferScoring;
  /** A stream with no packet for this long is paused (silence or loss outage), ms; 0 = off. Default 0. */
  silenceMs?: number;
}

/** What the pipeline knows about a stream at report time; the reporter works out the delay itself. */
export type StreamReportInput = Omit<ReportContext, 'oneWayDelayMs' | 'delaySource' | 'delay'> & {
  /** The probe's round trip with this stream's receiver (rtcp/RttTracker), ms; null when none. */
  rttMs: number | null;
  /**
   * Round trips of every leg of the stream's call the probe sees (qos/delay.ts LegRoundTrips); absent:
   * one leg whose only known path is rttMs.
   */
  legRtts?: LegRoundTrips;
  /**
   * The capture's drop readings in capture time: a period counts the drops its stream's packets came after
   * (capture-drop-log.ts). Absent: those of `captureDrops` read since the previous report.
   */
  captureDropLog?: CaptureDropLog;
};

export interface ReportOut {
  report: QosReport;
  /** Send over HEP (false for the 'log' unknown-Call-ID policy). */
  send: boolean;
  /** Write to local outputs. */
  log: boolean;
}

/**
 * The report stage in one object: scores each interval (E-model on the interval's own loss), applies
 * the adaptive rules, and builds PERIODIC, ALERT, CLEARED and FINAL/HANGUP reports. Wiring:
 *   on new stream:  reporter.streamStarted(slot, nowMs)
 *   on timer:       n = reporter.scheduler.due(nowMs); for each reporter.scheduler.dueSlots[i]:
 *                   engine snapshot -> reporter.onInterval(snap, input, nowMs) -> engine interval reset
 *   on stream end / BYE / eviction: reporter.onStreamEnd(snap, input, 'FINAL' | 'HANGUP', nowMs)
 */
export class QosReporter {
  readonly qos: StreamQosState;
  readonly scheduler: ReportScheduler;
  readonly codecs: CodecTable;
  readonly delay: DelayAssumptions;
  readonly unknownCallId: UnknownCallIdPolicy;
  /** Pauses and silences per stream slot (fed by the pipeline's media-fault checks). */
  readonly silences: StreamSilences;
  /** 1 while the slot's call has audio in this stream's direction only (ONE_WAY_RTP, see call-faults.ts). */
  readonly oneWay: Uint8Array;
  private readonly metrics = new IntervalMetrics();
  /**
   * The delay estimate and report context of the report being made, refilled for each: buildQosReport
   * copies what it needs, and intervals are scored by the thousand.
   */
  private readonly delayScratch = emptyDelayEstimate();
  private readonly ctx: ReportContext = {
    callId: null, xcid: null, codecName: null, nodeName: '', dir: 0, party: 0, hostTimestamps: false, oneWayDelayMs: 0, delaySource: 'nominal',
    delay: this.delayScratch, captureDrops: 0, intervalCaptureDrops: 0, streamCaptureDrops: 0, reverseStreamSeen: undefined, silences: 0, silenceMs: 0, maxSilenceMs: 0, currentSilenceMs: 0,
  };
  /** The capture's drops its stream's packets came after: at the slot's stream start, and at its latest interval report. */
  private readonly dropsAtStart: Float64Array;
  private readonly dropsAtInterval: Float64Array;
  /** The drops the report being made counts up to (its stream's latest packet came after them). */
  private dropsSeen = 0;
  /** Reports withheld by the 'drop' policy. */
  dropped = 0;
  /**
   * Set by route() for the interval being reported: the rules whose ALERT goes to the collectors / the
   * local outputs, and those whose CLEARED does (bit i = rule i).
   */
  private alertSend = 0;
  private alertLog = 0;
  private clearSend = 0;
  private clearLog = 0;
  /** Of clearSend / clearLog: the rules whose ALERT went there under the stream's synthetic id. */
  private clearSendSynthetic = 0;
  private clearLogSynthetic = 0;

  constructor(c: QosReporterConfig) {
    this.qos = new StreamQosState(c.maxStreams, c.jitterBuffer);
    this.scheduler = new ReportScheduler(c.schedule, c.maxStreams);
    this.codecs = c.codecs ?? new CodecTable();
    this.delay = c.delay ?? DEFAULT_DELAY_ASSUMPTIONS;
    this.unknownCallId = c.unknownCallId;
    this.silences = new StreamSilences(c.maxStreams, c.silenceMs ?? 0);
    this.oneWay = new Uint8Array(c.maxStreams);
    this.dropsAtStart = new Float64Array(c.maxStreams);
    this.dropsAtInterval = new Float64Array(c.maxStreams);
  }

  /** The capture's drops while the interval being reported was captured (rule variable capture_drops). */
  get intervalCaptureDrops(): number {
    return this.ctx.intervalCaptureDrops ?? 0;
  }

  /** `captureDrops`: the capture's drops the stream's first packet came after (PERIOD_CAPTURE_DROPS counts from there). */
  streamStarted(slot: number, nowMs: number, captureDrops = 0): void {
    this.dropsAtStart[slot] = captureDrops;
    this.dropsAtInterval[slot] = captureDrops;
    this.qos.reset(slot);
    this.silences.reset(slot);
    this.oneWay[slot] = 0;
    this.scheduler.start(slot, nowMs);
  }

  /**
   * Scores the interval that just ended (if anything was expected) and returns the report context. A
   * repair stream (RTX, FEC) is never scored: its MOS fields stay 0, MOS_INTERVALS 0.
   */
  private score(snap: StreamSnapshot, input: StreamReportInput): ReportContext {
    const jb = snap.jitterBuffers && snap.jb ? snap.jb.interval : null;
    const d = this.delayOf(input, jb);
    if (!isRepairEncoding(input.codecName)) this.qos.assessInterval(snap.slot, snap.interval, this.codecs.resolve(input.codecName, snap.payloadType), d, jb);
    return this.context(snap, input, d);
  }

  /**
   * Mouth-to-ear delay from the legs' round trips (qos/delay.ts); with qos.jitter_buffers.delay_in_mos,
   * the reference buffer's emulated delay in place of the assumed one.
   */
  private delayOf(input: StreamReportInput, jb: JitterBufferCounters | null): DelayEstimate {
    const out = this.delayScratch;
    const d = input.legRtts !== undefined ? estimatePathDelay(input.legRtts, this.delay, out) : estimateOneWayDelay(input.rttMs, this.delay, out);
    const s = this.qos.jbScoring;
    return jb !== null && s.delayInMos && s.reference >= 0 ? withBufferDelay(d, this.qos.bufferDelayMs(jb, s.reference), d) : d;
  }

  private context(snap: StreamSnapshot, input: StreamReportInput, d: DelayEstimate): ReportContext {
    const slot = snap.slot;
    const sil = this.silences;
    // Field by field into the reused context: this runs for every report.
    const ctx = this.ctx;
    ctx.callId = input.callId;
    ctx.xcid = input.xcid;
    ctx.codecName = input.codecName;
    ctx.nodeName = input.nodeName;
    ctx.dir = input.dir;
    ctx.party = input.party;
    ctx.hostTimestamps = input.hostTimestamps;
    ctx.oneWayDelayMs = d.oneWayDelayMs;
    ctx.delaySource = d.source;
    ctx.delay = d;
    ctx.captureDrops = input.captureDrops;
    const drops = input.captureDropLog !== undefined ? input.captureDropLog.seenBy(snap.lastSeenMs) : (input.captureDrops ?? 0);
    this.dropsSeen = drops;
    ctx.intervalCaptureDrops = drops - this.dropsAtInterval[slot]!;
    ctx.streamCaptureDrops = drops - this.dropsAtStart[slot]!;
    ctx.reverseStreamSeen = this.oneWay[slot] === 1 ? false : input.reverseStreamSeen;
    ctx.silences = sil.count[slot];
    ctx.silenceMs = sil.totalMs[slot];
    ctx.maxSilenceMs = sil.maxMs[slot];
    ctx.currentSilenceMs = 0;
    return ctx;
  }

  /**
   * An ALERT or CLEARED report for a media fault (silence, one-way-rtp) found outside the report
   * schedule: the interval in progress, nothing scored, the schedule untouched. Null when the
   * unknown-Call-ID policy withholds it.
   */
  faultReport(snap: StreamSnapshot, input: StreamReportInput, kind: 'ALERT' | 'CLEARED', rule: string, nowMs: number): ReportOut | null {
    const decision = decideCorrelation(input.callId, this.unknownCallId, snap);
    if (!decision.send && !decision.log) {
      this.dropped++;
      return null;
    }
    const ctx = this.context(snap, input, this.delayOf(input, snap.jitterBuffers && snap.jb ? snap.jb.interval : null));
    if (this.silences.paused(snap.slot)) ctx.currentSilenceMs = this.silences.currentMs(snap.slot, nowMs);
    const report = buildQosReport(snap, ctx, kind, this.qos, { alertRule: rule, reportTsMs: nowMs, intervalS: this.scheduler.intervalS(snap.slot) });
    return { report, send: decision.send, log: decision.log };
  }

  /**
   * One interval ended for `snap.slot`: PERIODIC report plus one ALERT per rule that started firing and
   * one CLEARED per rule that stopped firing.
   * An interval without a single packet (on hold, or the stream is about to time out) produces no report
   * and leaves the rules' state as it was; the next tick is one interval later.
   */
  onInterval(snap: StreamSnapshot, input: StreamReportInput, nowMs: number): ReportOut[] {
    if (snap.interval.packets === 0) {
      this.scheduler.postpone(snap.slot, nowMs);
      return [];
    }
    const ctx = this.score(snap, input);
    this.dropsAtInterval[snap.slot] = this.dropsSeen; // the next interval's drops count from here
    const started = this.evaluateRules(snap, input, nowMs);
    const decision = decideCorrelation(input.callId, this.unknownCallId, snap);
    this.route(snap.slot, started, decision.send, decision.log, decision.synthetic);
    if (!decision.send && !decision.log) {
      this.dropped++;
      return [];
    }
    const intervalS = this.scheduler.intervalS(snap.slot);
    const out: ReportOut[] = [{ report: buildQosReport(snap, ctx, 'PERIODIC', this.qos, { intervalS }), send: decision.send, log: decision.log }];
    const alerts = this.alertSend | this.alertLog;
    const clears = this.clearSend | this.clearLog;
    for (let i = 0; (alerts | clears) !== 0 && i < this.scheduler.rules.length; i++) {
      const bit = 1 << i;
      const opts: ReportOptions = { intervalS, alertRule: this.scheduler.ruleName(i) };
      if (alerts & bit) out.push({ report: buildQosReport(snap, ctx, 'ALERT', this.qos, opts), send: (this.alertSend & bit) !== 0, log: (this.alertLog & bit) !== 0 });
      else if (clears & bit) this.pushCleared(out, snap, ctx, opts, (this.clearSend & bit) !== 0, (this.clearLog & bit) !== 0, (this.clearSendSynthetic & bit) !== 0, (this.clearLogSynthetic & bit) !== 0);
    }
    return out;
  }

  /**
   * onInterval for a caller that would discard the reports (nothing takes PERIODIC or ALERT reports):
   * the same scoring, rule and schedule updates and drop count, so later reports come out the same, but
   * no report is built. Returns how many onInterval would have returned.
   */
  onIntervalUnbuilt(snap: StreamSnapshot, input: StreamReportInput, nowMs: number): number {
    if (snap.interval.packets === 0) {
      this.scheduler.postpone(snap.slot, nowMs);
      return 0;
    }
    this.score(snap, input);
    this.dropsAtInterval[snap.slot] = this.dropsSeen;
    const log = reportsKept(input.callId, this.unknownCallId);
    this.route(snap.slot, this.evaluateRules(snap, input, nowMs), reportsSent(input.callId, this.unknownCallId), log, !input.callId);
    if (!log) {
      this.dropped++;
      return 0;
    }
    // A report per rule starting or stopping, two for a CLEARED whose ALERT carried another id at each end.
    let changed = this.alertSend | this.alertLog | this.clearSend | this.clearLog;
    let n = 1;
    for (; changed !== 0; changed &= changed - 1) n++;
    for (let twice = this.clearSend & this.clearLog & (this.clearSendSynthetic ^ this.clearLogSynthetic); twice !== 0; twice &= twice - 1) n++;
    return n;
  }

  /**
   * Where each rule's ALERT and CLEARED of the interval just evaluated go (alertSend ... clearLog), given
   * where the stream's reports go now (`send`: the collectors, `log`: the local outputs), so that every
   * destination gets a rule's ALERT before its CLEARED. The reports of a stream whose call is not known
   * yet may be withheld from some (reports.unknown_call_id): an ALERT then reaches only those that take
   * them, the rule's CLEARED goes only where its ALERT went, and a rule still firing when the call is
   * learned sends its ALERT, on that interval, to the destinations it had not reached.
   */
  private route(slot: number, started: number, send: boolean, log: boolean, synthetic: boolean): void {
    const sched = this.scheduler;
    const firing = sched.firingMask(slot);
    const cleared = sched.lastCleared;
    const unsent = sched.unsent[slot];
    const unlogged = sched.unlogged[slot];
    this.alertSend = send ? started | (unsent & firing) : 0;
    this.alertLog = log ? started | (unlogged & firing) : 0;
    this.clearSend = send ? cleared & ~unsent : 0;
    this.clearLog = log ? cleared & ~unlogged : 0;
    this.clearSendSynthetic = this.clearSend & sched.sentSynthetic[slot];
    this.clearLogSynthetic = this.clearLog & sched.loggedSynthetic[slot];
    sched.unsent[slot] = send ? 0 : (unsent & firing) | started;
    sched.unlogged[slot] = log ? 0 : (unlogged & firing) | started;
    sched.sentSynthetic[slot] = (sched.sentSynthetic[slot] & firing & ~this.alertSend) | (synthetic ? this.alertSend : 0);
    sched.loggedSynthetic[slot] = (sched.loggedSynthetic[slot] & firing & ~this.alertLog) | (synthetic ? this.alertLog : 0);
  }

  /**
   * Rule `i`'s CLEARED into `out`, to the collectors (`send`) and the local outputs (`log`), each under
   * the id its ALERT carried there (`sentSynthetic`, `loggedSynthetic`: the stream's synthetic id, from
   * before its call was learned): two reports when those differ.
   */
  private pushCleared(out: ReportOut[], snap: StreamSnapshot, ctx: ReportContext, opts: ReportOptions, send: boolean, log: boolean, sentSynthetic: boolean, loggedSynthetic: boolean): void {
    if (send && log && sentSynthetic !== loggedSynthetic) {
      out.push({ report: this.clearedReport(snap, ctx, opts, sentSynthetic), send: true, log: false });
      out.push({ report: this.clearedReport(snap, ctx, opts, loggedSynthetic), send: false, log: true });
    } else if (send || log) {
      out.push({ report: this.clearedReport(snap, ctx, opts, send ? sentSynthetic : loggedSynthetic), send, log });
    }
  }

  private clearedReport(snap: StreamSnapshot, ctx: ReportContext, opts: ReportOptions, synthetic: boolean): QosReport {
    if (!synthetic || !ctx.callId) return buildQosReport(snap, ctx, 'CLEARED', this.qos, opts);
    const { callId, xcid } = ctx;
    ctx.callId = null;
    ctx.xcid = null;
    const report = buildQosReport(snap, ctx, 'CLEARED', this.qos, opts);
    ctx.callId = callId;
    ctx.xcid = xcid;
    return report;
  }

  /**
   * The adaptive rules on the interval just scored: bit i set when rule i started firing. None fires for
   * a repair stream (RTX, FEC): its numbers say nothing of the media's quality.
   */
  private evaluateRules(snap: StreamSnapshot, input: StreamReportInput, nowMs: number): number {
    const sched = this.scheduler;
    if (isRepairEncoding(input.codecName)) return sched.evaluateNone(snap.slot, nowMs);
    // The rules' variables are only read when there are rules.
    return sched.evaluate(snap.slot, sched.rules.length > 0 ? this.metrics.fill(snap, this.qos, this) : this.metrics, nowMs);
  }

  /**
   * Stream ended: scores the last partial interval and frees the slot's schedule. Returns one CLEARED per
   * rule or media fault still firing (CLEAR_REASON stream-ended, on that interval, as a CLEARED sent while
   * the stream runs), then the FINAL/HANGUP report; nothing when the unknown-Call-ID policy withholds them.
   */
  onStreamEnd(snap: StreamSnapshot, input: StreamReportInput, kind: 'FINAL' | 'HANGUP', nowMs: number): ReportOut[] {
    const out: ReportOut[] = [];
    this.streamEnded(snap, input, kind, nowMs, out);
    return out;
  }

  /**
   * onStreamEnd for a caller that would discard the reports (nothing takes them): the same scoring,
   * schedule and drop count, no report built. Returns how many onStreamEnd would have returned.
   */
  onStreamEndUnbuilt(snap: StreamSnapshot, input: StreamReportInput, nowMs: number): number {
    return this.streamEnded(snap, input, 'FINAL', nowMs, null);
  }

  /** The MOS of the slot's FINAL/HANGUP report, as build.ts writes it. */
  finalMos(slot: number): number {
    return round3(this.qos.reportMos(slot, true));
  }

  /** onStreamEnd's work: its reports into `out` (null: counted, not built); returns how many. */
  private streamEnded(snap: StreamSnapshot, input: StreamReportInput, kind: 'FINAL' | 'HANGUP', nowMs: number, out: ReportOut[] | null): number {
    const ctx = this.score(snap, input);
    const slot = snap.slot;
    const sched = this.scheduler;
    const firing = sched.firingMask(slot);
    const unsent = sched.unsent[slot];
    const unlogged = sched.unlogged[slot];
    const sentSynthetic = sched.sentSynthetic[slot];
    const loggedSynthetic = sched.loggedSynthetic[slot];
    const intervalS = sched.intervalS(slot);
    const log = reportsKept(input.callId, this.unknownCallId);
    // The last period is judged as any interval (audio that went bad at the end of a call pages), unless
    // it is too short to be scored alone (one packet lost in 0.2 s would be 9 % loss).
    const c = snap.interval;
    const started = log && c.packets > 0 && c.endMs - c.startMs >= FRAGMENT_MS ? this.evaluateRules(snap, input, nowMs) : 0;
    sched.stop(slot);
    if (!log) {
      this.dropped++;
      return 0;
    }
    // A rule's CLEARED goes where its ALERT went, under the id it carried there (route()); one starting on
    // the last period goes everywhere.
    const send = reportsSent(input.callId, this.unknownCallId);
    const sent = send ? firing & ~unsent : 0;
    const logged = firing & ~unlogged;
    if (out === null) {
      // The reports the code below builds: an ALERT and a CLEARED per rule starting, a CLEARED per rule
      // firing (two where its ALERT carried another id at each end) and per fault, the FINAL/HANGUP.
      let n = 1 + this.silences.alerted[slot] + this.oneWay[slot];
      const twice = sent & logged & (sentSynthetic ^ loggedSynthetic);
      for (let i = 0; (sent | logged | started) !== 0 && i < sched.rules.length; i++) {
        const bit = 1 << i;
        n += ((sent | logged) & bit ? 1 : 0) + (twice & bit ? 1 : 0) + (started & bit ? 2 : 0);
      }
      return n;
    }
    const decision = decideCorrelation(input.callId, this.unknownCallId, snap);
    for (let i = 0; started !== 0 && i < sched.rules.length; i++) {
      if (started & (1 << i)) out.push({ report: buildQosReport(snap, ctx, 'ALERT', this.qos, { intervalS, alertRule: sched.ruleName(i) }), send: decision.send, log: decision.log });
    }
    // A period without a packet (a stream that timed out) runs from its latest packet to its end.
    const opts: ReportOptions = { intervalS, clearReason: 'stream-ended', reportTsMs: c.packets === 0 ? nowMs : undefined };
    const cleared = (rule: string) => {
      opts.alertRule = rule;
      out.push({ report: buildQosReport(snap, ctx, 'CLEARED', this.qos, opts), send: decision.send, log: decision.log });
    };
    for (let i = 0; (sent | logged | started) !== 0 && i < sched.rules.length; i++) {
      const bit = 1 << i;
      if (started & bit) cleared(sched.ruleName(i));
      else if ((sent | logged) & bit) {
        opts.alertRule = sched.ruleName(i);
        this.pushCleared(out, snap, ctx, opts, (sent & bit) !== 0, (logged & bit) !== 0, (sentSynthetic & bit) !== 0, (loggedSynthetic & bit) !== 0);
      }
    }
    if (this.silences.alerted[slot] === 1) {
      ctx.currentSilenceMs = this.silences.currentMs(slot, nowMs);
      cleared(SILENCE_RULE);
      ctx.currentSilenceMs = 0;
    }
    if (this.oneWay[slot] === 1) cleared(CALL_FAULT_ONE_WAY);
    out.push({ report: buildQosReport(snap, ctx, kind, this.qos), send: decision.send, log: decision.log });
    return out.length;
  }
}
