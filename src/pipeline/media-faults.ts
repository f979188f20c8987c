import { carriesAudio, formatIpWords } from '../sip/index.js';
import type { CallTracker, MediaBinding } from '../sip/index.js';
import type { RtpEngine, StreamSnapshot } from '../rtp/index.js';
import type { QosReporter, ReportOut, StreamReportInput } from '../report/index.js';
import { CALL_FAULT_NO_MEDIA, CallFaults, PauseEnd, SILENCE_RULE, buildNoMediaReport, mediaDirection, round3 } from '../report/index.js';
import type { CallFaultEvents, CallFaultLimits, CallFaultReportInput, ClearReason, QosReport, WatchedCall } from '../report/index.js';
import type { CallView } from './call-view.js';
import type { ReportTarget } from './report-sink.js';
import type { StreamContexts } from './stream-context.js';

/** reports.faults in ms; 0 turns a check off. */
export interface MediaFaultLimits extends CallFaultLimits {
  silenceMs: number;
}

/** The limits of a configuration's reports.faults. */
export function mediaFaultLimits(f: { noMediaS: number; oneWayS: number; silenceS: number }): MediaFaultLimits {
  return { noMediaMs: f.noMediaS * 1000, oneWayMs: f.oneWayS * 1000, silenceMs: f.silenceS * 1000 };
}

export interface MediaFaultParts {
  engine: RtpEngine;
  ctx: StreamContexts;
  calls: CallView;
  reporter: QosReporter;
  sink: ReportTarget;
  /** The pipeline's snapshot object (emit() reads the envelope from it). */
  snap: StreamSnapshot;
  input(slot: number): StreamReportInput;
  emit(out: ReportOut): void;
  nodeName: string;
}

/**
 * Media faults that are not loss, checked once per tick of capture time over the active streams:
 * pauses and silences of each stream (report/silences.ts) and, where this pipeline owns the SIP state,
 * one-way and missing media of answered calls (report/call-faults.ts). Each start and end leaves as an
 * ALERT and a CLEARED report.
 */
export class MediaFaultMonitor implements CallFaultEvents {
  /** Null when the call view is not a CallTracker (worker mode: calls live in another thread). */
  readonly callFaults: CallFaults | null;
  private readonly tracker: CallTracker | null;
  private nowMs = 0;
  private prevTickMs = 0;
  private readonly visit: (slot: number) => void;
  private readonly noMedia: NoMediaReports;

  private on = false;

  constructor(
    private readonly p: MediaFaultParts,
    limits: MediaFaultLimits,
    tracker: CallTracker | null,
  ) {
    this.tracker = tracker;
    this.callFaults = tracker !== null ? new CallFaults({ noMediaMs: 0, oneWayMs: 0 }, tracker.maxCalls) : null;
    this.visit = (slot) => this.checkStream(slot);
    this.noMedia = new NoMediaReports(p.sink, p.nodeName);
    this.setLimits(limits);
  }

  /**
   * New thresholds (configuration reload); faults in progress keep going under them. Once on, the scan
   * goes on when a reload turns every check off: a fault in progress still ends with its CLEARED.
   */
  setLimits(l: MediaFaultLimits): void {
    this.p.reporter.silences.minMs = l.silenceMs;
    if (this.callFaults !== null) this.callFaults.limits = { noMediaMs: l.noMediaMs, oneWayMs: l.oneWayMs };
    // In worker mode (no tracker here) the ticks also touch calls for the owner's no-media check.
    this.on ||= l.silenceMs > 0 || l.noMediaMs > 0 || (this.callFaults !== null && l.oneWayMs > 0);
  }

  tick(nowMs: number): void {
    this.prevTickMs = this.nowMs;
    this.nowMs = nowMs;
    // Off from the start: nothing to scan.
    if (!this.on) return;
    this.p.engine.forEachActive(this.visit);
    this.callFaults?.check(nowMs, this);
  }

  /** Answered calls are watched for one-way or missing media (their faults fire at a time). */
  get watchingCalls(): boolean {
    return this.callFaults !== null && this.callFaults.size > 0;
  }

  answered(callIndex: number, nowMs: number): void {
    this.callFaults?.answered(callIndex, nowMs);
  }

  resumed(callIndex: number, nowMs: number): void {
    this.callFaults?.resumed(callIndex, nowMs);
  }

  callEnded(callIndex: number): void {
    this.callFaults?.ended(callIndex, this.nowMs, this);
  }

  private checkStream(slot: number): void {
    const { engine, reporter } = this.p;
    const sil = reporter.silences;
    const last = engine.lastSeenMs(slot);
    const now = this.nowMs;
    if (sil.shouldPause(slot, last, now)) {
      const snap = this.snapshot(slot);
      sil.pause(slot, last, snap.cumulative.expected, snap.cumulative.packets, snap.cumulative.meanDeltaMs, snap.interval.packets > 0 ? snap.interval.maxDeltaMs : 0);
      // Only SIP says a stream should still flow: without a call, a stream that stops is the same as one
      // that ended; early media of a call still ringing, and a call its SDP put on hold, stop by design. A sender whose last packet was
      // comfort noise said it went silent (DTX). A stream a newer SSRC replaced on its 5-tuple (an SBC or
      // PBX switching source mid-call; not one running beside it, as BUNDLE's) goes on there, the newest
      // stream speaking for it; so does one another stream replaced on its SDP address (see
      // replacedOnBinding). Such a pause is measured when the stream resumes but never paged while it lasts.
      if (this.silenceDue(slot, last) && this.streamReport(slot, 'ALERT', SILENCE_RULE)) sil.alerted[slot] = 1;
    } else if (sil.paused(slot) && sil.alerted[slot] === 0 && last === sil.pauseFromMs[slot] && this.resumedSince(slot, last, now) && this.silenceDue(slot, last)) {
      // The pause began while the call was on hold, and the resume is silence_s ago: a side that does not
      // send again after a hold (the classic one-way audio after a resume) is paged as any other pause.
      if (this.streamReport(slot, 'ALERT', SILENCE_RULE)) sil.alerted[slot] = 1;
    } else if (sil.paused(slot) && last > sil.pauseFromMs[slot]) {
      const snap = this.snapshot(slot);
      const end = sil.resumed(slot, last, snap.cumulative.expected, snap.cumulative.packets, snap.interval.maxDeltaMs, snap.interval.startMs);
      if (sil.alerted[slot] === 1) {
        sil.alerted[slot] = 0;
        this.streamReport(slot, 'CLEARED', SILENCE_RULE, sil.lastPauseMs, end === PauseEnd.silence ? 0 : 1);
      }
    }
    const cf = this.callFaults;
    if (cf === null) {
      // Worker mode: the call's media is checked where its SIP is (signalling.ts), told by touches that
      // carry the latest packet's time. One per tick with packets keeps that within a tick or two.
      if (this.tracker === null && last > this.prevTickMs) {
        const b = this.audioBindingOf(slot);
        if (b !== null) this.p.calls.mediaAt?.(b.callIndex, last);
      }
      return;
    }
    if (cf.size === 0) return;
    const b = this.audioBindingOf(slot);
    if (b === null) return;
    cf.media(b.callIndex, mediaDirection(this.p.ctx.dir[slot], this.p.ctx.party[slot]), last);
    // The other leg whose SDP named this address before (B2BUA direct media) has this media too.
    if (b.otherLegCallId !== '' && this.tracker !== null) {
      const other = this.tracker.callIndexOf(b.otherLegCallId);
      if (other >= 0) cf.sharedMedia(other, last);
    }
  }

  /** A pause of the stream whose last packet came at `lastMs` is paged (see checkStream). */
  private silenceDue(slot: number, lastMs: number): boolean {
    const e = this.p.engine;
    return this.mediaDue(slot) && !e.lastWasComfortNoise(slot) && !e.replaced(slot) && !this.replacedOnBinding(slot, lastMs);
  }

  /** The stream's m-line was taken off hold after its last packet (`lastMs`), silence_s or more before `nowMs`. */
  private resumedSince(slot: number, lastMs: number, nowMs: number): boolean {
    const b = this.audioBindingOf(slot);
    return b !== null && b.resumedMs > lastMs && nowMs - b.resumedMs >= this.p.reporter.silences.minMs;
  }

  /**
   * The stream is audio of an answered call whose latest SDP, on both sides, has its media flowing both
   * ways (neither side holds it: sendonly, recvonly, inactive, c=0.0.0.0).
   * Only audio is due without a break: video stops by design when a camera is turned off or muted, and
   * a repair stream (RTX, FEC) sends only when packets are lost or the sender asks for protection.
   */
  private mediaDue(slot: number): boolean {
    const b = this.audioBindingOf(slot);
    return b !== null && b.direction === 'sendrecv' && !b.onHold && !b.peerHeld && this.p.calls.callAnswered(b.callIndex);
  }

  /**
   * Another audio stream of the stream's SDP address and direction carried on after its last packet
   * (`lastMs`): the sender moved to another address or port (re-INVITE, UPDATE) and sends to the same
   * peer from there, or the early media of one fork gave way to the answering fork's. That direction of
   * the call is not silent. Only the streams of this pipeline are seen (with capture.workers, those of
   * the worker the stream is on).
   */
  private replacedOnBinding(slot: number, lastMs: number): boolean {
    const { ctx, engine } = this.p;
    const dir = mediaDirection(ctx.dir[slot], ctx.party[slot]);
    for (let s = ctx.anySlotOf(ctx.binding[slot]); s >= 0; s = ctx.nextSlotOf(s)) {
      if (s !== slot && engine.lastSeenMs(s) > lastMs && mediaDirection(ctx.dir[s], ctx.party[s]) === dir && this.audioBindingOf(s) !== null) return true;
    }
    return false;
  }

  private bindingOf(slot: number): MediaBinding | null {
    const id = this.p.ctx.binding[slot];
    return id >= 0 ? this.p.calls.binding(id) : null;
  }

  /**
   * The binding of an audio stream (not video bundled on an audio port, nor repair streams of the audio: RTX, FEC),
   * else null: the call faults watch audio.
   */
  private audioBindingOf(slot: number): MediaBinding | null {
    if (this.p.ctx.repair[slot] === 1) return null;
    const b = this.bindingOf(slot);
    return b !== null && carriesAudio(b, this.p.engine.payloadType(slot)) ? b : null;
  }

  private snapshot(slot: number): StreamSnapshot {
    this.p.engine.snapshot(slot, this.p.snap);
    return this.p.snap;
  }

  /** False when the unknown-Call-ID policy withheld the report. */
  private streamReport(slot: number, kind: 'ALERT' | 'CLEARED', rule: string, pauseMs?: number, pauseWasLoss?: number): boolean {
    const snap = this.snapshot(slot);
    const out = this.p.reporter.faultReport(snap, this.p.input(slot), kind, rule, this.nowMs);
    if (out === null) return false;
    if (pauseMs !== undefined) {
      out.report.CURRENT_SILENCE_MS = round3(pauseMs);
      out.report.PAUSE_WAS_LOSS = pauseWasLoss ?? 0;
    }
    this.p.emit(out);
    return true;
  }

  // ------------------------------------------------------------ CallFaultEvents

  exempt(callIndex: number): boolean {
    return this.tracker !== null && this.tracker.mediaFaultsExemptBySdp(callIndex);
  }

  started(call: WatchedCall, fault: string, dir: number, nowMs: number): void {
    if (fault === CALL_FAULT_NO_MEDIA) return this.callReport(call, 'ALERT', fault, nowMs);
    this.forStreamsOf(call.callIndex, dir, (slot) => {
      this.p.reporter.oneWay[slot] = 1;
      this.streamReport(slot, 'ALERT', fault);
    });
  }

  cleared(call: WatchedCall, fault: string, dir: number, nowMs: number, reason: ClearReason): void {
    if (fault === CALL_FAULT_NO_MEDIA) return this.callReport(call, 'CLEARED', fault, nowMs, reason);
    const oneWay = this.p.reporter.oneWay;
    this.forStreamsOf(call.callIndex, dir, (slot) => {
      if (oneWay[slot] === 0) return;
      oneWay[slot] = 0;
      this.streamReport(slot, 'CLEARED', fault);
    });
  }

  /**
   * The audio streams of a call in direction `dir` (a fault starts or ends), from the call's own list: a
   * mass outage pages thousands of calls in one tick, and a walk over every active stream for each would
   * stall capture for seconds.
   */
  private forStreamsOf(callIndex: number, dir: number, fn: (slot: number) => void): void {
    const ctx = this.p.ctx;
    for (let slot = ctx.firstSlotOfCall(callIndex); slot >= 0; slot = ctx.nextInCall(slot)) {
      if (this.audioBindingOf(slot) !== null && mediaDirection(ctx.dir[slot], ctx.party[slot]) === dir) fn(slot);
    }
  }

  private callReport(w: WatchedCall, kind: 'ALERT' | 'CLEARED', rule: string, nowMs: number, reason?: ClearReason): void {
    if (this.tracker !== null) this.noMedia.send(this.tracker, w, kind, rule, nowMs, reason);
  }
}

/**
 * The call-level reports of rule no-media (there is no stream to report on): the ALERT names the call and
 * the SDP addresses media was due between; its CLEARED repeats them, as the call's bindings may be gone.
 */
export class NoMediaReports {
  private readonly sent = new Map<number, CallFaultReportInput>();

  constructor(
    private readonly sink: ReportTarget,
    private readonly nodeName: string,
  ) {}

  /** `reason`: of a CLEARED (CLEAR_REASON). */
  send(tracker: CallTracker, w: WatchedCall, kind: 'ALERT' | 'CLEARED', rule: string, nowMs: number, reason?: ClearReason): void {
    let input = this.sent.get(w.callIndex);
    if (kind === 'CLEARED') {
      this.sent.delete(w.callIndex);
      if (input !== undefined) this.emit(buildNoMediaReport(kind, input, rule, nowMs, reason), input, nowMs);
      return;
    }
    const call = tracker.call(w.callIndex);
    if (!call) return;
    const half = call.bindings.length / 2;
    const side = (s: number): [string, number] => {
      for (let i = s * half; i < (s + 1) * half; i++) {
        const b = tracker.binding(call.bindings[i]);
        if (b !== null && b.kind === 'audio') return [formatIpWords(b.ip[0], b.ip[1], b.ip[2], b.ip[3]), b.port];
      }
      return ['', 0];
    };
    let [callerIp, callerPort] = side(0);
    let [calleeIp, calleePort] = side(1);
    // A side whose SDP the probe has not seen (an answer without SDP): the unspecified address of the
    // other side's family, so the report still has an envelope HEP can carry.
    const unspecified = callerIp.includes(':') || calleeIp.includes(':') ? '::' : '0.0.0.0';
    if (callerIp === '') [callerIp, callerPort] = [unspecified, 0];
    if (calleeIp === '') [calleeIp, calleePort] = [unspecified, 0];
    input = { callId: call.callId, xcid: call.aLegCallId || call.xcid || null, nodeName: this.nodeName, callerIp, callerPort, calleeIp, calleePort, dueFromMs: w.dueFromMs };
    this.sent.set(w.callIndex, input);
    this.emit(buildNoMediaReport(kind, input, rule, nowMs), input, nowMs);
  }

  private emit(report: QosReport, c: CallFaultReportInput, nowMs: number): void {
    const v6 = c.calleeIp.includes(':') || c.callerIp.includes(':');
    this.sink.qos(report, { ipVersion: v6 ? 6 : 4, srcIp: c.calleeIp, srcPort: c.calleePort, dstIp: c.callerIp, dstPort: c.callerPort, tsMs: nowMs }, true, true);
  }
}
