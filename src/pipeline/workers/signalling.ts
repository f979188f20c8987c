import { DecodedPacket } from '../../decode/index.js';
import type { ProbeConfig } from '../../ops/config.js';
import { CallTracker } from '../../sip/index.js';
import { callTrackerOptions } from '../pipeline.js';
import { sipMessageHook, type SipTarget } from '../sip-out.js';
import { captureTimeMs } from '../../outbound/index.js';
import { CALL_FAULT_NO_MEDIA, CallFaults } from '../../report/index.js';
import type { CallFaultEvents, ClearReason, WatchedCall } from '../../report/index.js';
import { NoMediaReports, type MediaFaultLimits } from '../media-faults.js';
import type { ReportTarget } from '../report-sink.js';
import type { ForwardedSip, MainToWorker } from './messages.js';

/** A jump of the owner's time this large (either way; expiry runs once a second) may be a host clock step. */
const CLOCK_STEP_MS = 3000;
/**
 * Expiry's wall clock moved this much more or less than the monotonic clock since the last expiry: a host
 * clock step (a pipeline takes a jump of a second for one too), whatever the timer's delay.
 */
const EXPIRY_STEP_MS = 1000;
/** Expiry calls (one a second) a jump waits for a worker to measure the step before it is taken as time passing. */
const CLOCK_STEP_HOLD_EXPIRES = 5;

/**
 * The one CallTracker of a multi-worker probe, on the main thread. Media workers forward the SIP they
 * capture (the flow hash spreads it over all of them); every binding change is pushed to every worker in
 * the order the tracker made it, so each worker's mirror equals the tracker's table.
 */
export class SignallingOwner {
  readonly calls: CallTracker;
  private readonly pkt = new DecodedPacket();
  /** Latest time of the calls (capture time of forwarded SIP, or the wall clock), host clock steps removed, ms. */
  nowMs = 0;
  /**
   * Capture time of the SIP message being handled (bindings are only made while one is), clock steps
   * removed, ms: the message's own time, also while `advance` holds the calls' time still.
   */
  private sipMs = 0;
  /**
   * Host clock steps removed from every time, ms: the offset the latest worker to detect a step reported
   * (the workers' pipelines detect steps from RTP timestamps; touches arrive with their corrected times).
   */
  private clockOffsetMs = 0;
  /** Host clock steps each worker had measured when the owner last heard of its offset (workerClock). */
  private readonly workerSteps = new Map<number, number>();
  /** Expiry calls since the owner's time jumped without a step measured (see advance). */
  private heldExpires = 0;
  /** The owner's time and the monotonic clock at the latest expiry that moved time, ms (see advance). */
  private expiryNowMs = Number.NaN;
  private expiryMonoMs = Number.NaN;
  /**
   * No-media checks of answered calls (reports.faults.no_media_s), when the owner has a report target:
   * the workers' touches say a call has media. Its direction stays in the worker, so one-way RTP is not
   * checked in worker mode.
   */
  private readonly faults: { calls: CallFaults; reports: NoMediaReports; events: CallFaultEvents } | null;
  /** 1 for a call the workers were told is answered, until they are told it ended (silence is checked there). */
  private readonly answeredTold: Uint8Array;

  constructor(
    config: ProbeConfig,
    private readonly broadcast: (m: MainToWorker) => void,
    sip?: SipTarget,
    reports?: { target: ReportTarget; nodeName: string },
    /** A SIP message was refused for a value past its bound (log it rate-limited). */
    onValueTooLong?: () => void,
  ) {
    this.answeredTold = new Uint8Array(Math.max(1, config.sip.maxCalls));
    if (reports) {
      const faults = new CallFaults({ noMediaMs: config.reports.faults.noMediaS * 1000, oneWayMs: 0 }, Math.max(1, config.sip.maxCalls));
      const out = new NoMediaReports(reports.target, reports.nodeName);
      const send = (w: WatchedCall, fault: string, kind: 'ALERT' | 'CLEARED', nowMs: number, reason?: ClearReason) => {
        if (fault === CALL_FAULT_NO_MEDIA) out.send(this.calls, w, kind, fault, nowMs, reason);
      };
      const events: CallFaultEvents = {
        started: (w, fault, _dir, nowMs) => send(w, fault, 'ALERT', nowMs),
        cleared: (w, fault, _dir, nowMs, reason) => send(w, fault, 'CLEARED', nowMs, reason),
        exempt: (callIndex) => this.calls.mediaFaultsExemptBySdp(callIndex),
      };
      this.faults = { calls: faults, reports: out, events };
    } else this.faults = null;
    this.calls = new CallTracker(
      {
        onCallAnswered: (callIndex, nowMs) => {
          this.faults?.calls.answered(callIndex, nowMs);
          this.tellAnswered(callIndex);
        },
        onCallResumed: (callIndex, nowMs) => this.faults?.calls.resumed(callIndex, nowMs),
        onCallEnd: (callIndex) => {
          this.faults?.calls.ended(callIndex, this.nowMs, this.faults.events);
          if (this.answeredTold[callIndex] === 1) {
            this.answeredTold[callIndex] = 0;
            this.broadcast({ t: 'answered', callIndex, on: false });
          }
        },
        onMessage: sip ? sipMessageHook(sip) : undefined,
        onValueTooLong,
        onBinding: (id, w0, w1, w2, w3, port) => {
          const binding = this.calls.binding(id);
          if (!binding) return;
          this.broadcast({ t: 'bind', binding, w: [w0, w1, w2, w3], port, rtcp: this.calls.isRtcpAddress(w0, w1, w2, w3, port), sipMs: this.sipMs });
          // A call first seen inside its dialog (a re-INVITE) is answered without a 2xx seen.
          if (this.calls.callAnswered(binding.callIndex)) this.tellAnswered(binding.callIndex);
        },
        onBindingRetired: (id, reason) => this.broadcast({ t: 'retire', id, reason }),
        onBindingUpdated: (id) => {
          const binding = this.calls.binding(id);
          if (binding) this.broadcast({ t: 'update', binding });
        },
      },
      callTrackerOptions(config),
    );
  }

  /** One SIP packet `worker` forwarded (SipOrder gives them in capture order). */
  onSip(s: ForwardedSip, worker: number): void {
    const p = this.pkt;
    p.ipVersion = s.ipVersion;
    p.ipProto = s.ipProto;
    p.src0 = s.addr[0];
    p.src1 = s.addr[1];
    p.src2 = s.addr[2];
    p.src3 = s.addr[3];
    p.dst0 = s.addr[4];
    p.dst1 = s.addr[5];
    p.dst2 = s.addr[6];
    p.dst3 = s.addr[7];
    p.srcPort = s.srcPort;
    p.dstPort = s.dstPort;
    p.tcpSeq = s.tcpSeq;
    p.tcpFlags = s.tcpFlags;
    p.payloadBuf = s.bytes;
    p.payloadOffset = 0;
    p.payloadLength = s.bytes.length;
    p.payloadWireLength = s.wireLength;
    p.tsSec = s.tsSec;
    p.tsNsec = s.tsNsec;
    const rawMs = captureTimeMs(s.tsSec, s.tsNsec);
    // A step the worker measured comes with the SIP it held for it (the SIP past the step), not a second
    // later. SIP it handled before a step it has told of since (its stats came while SipOrder held this)
    // keeps the offset it was handled with.
    const stale = s.clockSteps < (this.workerSteps.get(worker) ?? 0);
    if (!stale) this.workerClock(worker, s.clockOffsetMs, s.clockSteps, rawMs - s.clockOffsetMs);
    const offsetMs = stale ? s.clockOffsetMs : this.clockOffsetMs;
    this.sipMs = rawMs - offsetMs;
    this.calls.onPacket(p, this.advance(rawMs, offsetMs));
  }

  /**
   * Media flowed for these calls (index and Call-ID: an index may have been reused since); `mediaAtMs`:
   * the capture time of each call's latest audio packet, 0 when the worker saw none (a paused stream's
   * interval report touches its call too). No-media counts the packet's time, not the touch's: audio
   * before the answer (ringback stopping at the 200 OK) is no media of the answered call.
   */
  touch(callIndex: number[], callId: string[], mediaAtMs: number[], nowMs: number): void {
    for (let i = 0; i < callIndex.length; i++) {
      if (this.calls.call(callIndex[i])?.callId !== callId[i]) continue;
      this.calls.touch(callIndex[i], nowMs);
      if (mediaAtMs[i] > 0) this.faults?.calls.sharedMedia(callIndex[i], mediaAtMs[i]);
    }
  }

  /** Tells the workers a call is answered, once per call. */
  private tellAnswered(callIndex: number): void {
    if (this.answeredTold[callIndex] === 1) return;
    this.answeredTold[callIndex] = 1;
    this.broadcast({ t: 'answered', callIndex, on: true });
  }

  /** New no-media threshold (configuration reload). */
  setFaultLimits(l: MediaFaultLimits): void {
    if (this.faults) this.faults.calls.limits = { noMediaMs: l.noMediaMs, oneWayMs: 0 };
  }

  /**
   * Calls idle or too old end; `rawMs` is the wall clock (live capture time), host clock steps included,
   * and `monoMs` the monotonic clock (performance.now()), which no step moves.
   */
  expire(rawMs: number, monoMs: number): void {
    this.advance(rawMs, this.clockOffsetMs, monoMs);
    this.calls.expire(this.nowMs);
    if (this.faults) this.faults.calls.check(this.nowMs, this.faults.events);
  }

  /**
   * The time to use for `rawMs` less `offsetMs` (SIP's capture time, or at expiry the wall clock,
   * `expiryMonoMs` the monotonic clock then). A jump of CLOCK_STEP_MS or more, or at expiry a step against
   * the monotonic clock (steppedSinceExpiry), is held (time stands still) for up to CLOCK_STEP_HOLD_EXPIRES
   * expiry calls: a host clock step moves the wall clock and SIP capture times at once, and only the
   * workers can measure it (workerClock); expiring calls at the stepped time first would end every call
   * for a step forward past the idle timeout, or page a no-media fault seconds early.
   */
  private advance(rawMs: number, offsetMs: number, expiryMonoMs?: number): number {
    const now = rawMs - offsetMs;
    const expiry = expiryMonoMs !== undefined;
    const jump = Math.abs(now - this.nowMs) >= CLOCK_STEP_MS || (expiry && this.steppedSinceExpiry(now, expiryMonoMs));
    if (this.nowMs > 0 && jump && this.heldExpires < CLOCK_STEP_HOLD_EXPIRES) {
      if (expiry) this.heldExpires++;
      return this.nowMs;
    }
    if (expiry) {
      this.heldExpires = 0;
      this.expiryNowMs = now;
      this.expiryMonoMs = expiryMonoMs;
    }
    if (now > this.nowMs) this.nowMs = now;
    return now;
  }

  /**
   * The owner's time at an expiry (`now`, at `monoMs`) moved EXPIRY_STEP_MS more or less than the monotonic
   * clock since the latest expiry that moved it: the host clock stepped and no worker has measured it yet
   * (a step measured changes the offset `now` is taken less). A late timer moves both clocks alike.
   */
  private steppedSinceExpiry(now: number, monoMs: number): boolean {
    return Math.abs(now - this.expiryNowMs - (monoMs - this.expiryMonoMs)) >= EXPIRY_STEP_MS;
  }

  /**
   * A worker's clock offset (its pipeline's sum of `steps` host clock steps), from its stats or with its
   * SIP; `workerNowMs`: the worker's time then (its pipeline's, or the SIP's), steps removed. More steps
   * than it had told of is a step that worker detected: the owner takes its offset, and its own time moves
   * to the worker's (a step forward must not make every call look idle for the step's length, nor a step
   * back hold time still; the owner's latest wall clock or SIP may be from before the step). Fewer is
   * older news (SIP held in SipOrder while the worker's stats came).
   */
  workerClock(worker: number, offsetMs: number, steps: number, workerNowMs: number): void {
    if (steps <= (this.workerSteps.get(worker) ?? 0)) return;
    this.workerSteps.set(worker, steps);
    if (offsetMs === this.clockOffsetMs) return;
    this.clockOffsetMs = offsetMs;
    this.heldExpires = 0;
    if (workerNowMs > 0) this.nowMs = workerNowMs;
  }

  /** End of capture: media of calls that already ended retires now (its streams get HANGUP, not a shutdown FINAL). */
  settle(): void {
    this.calls.settle();
  }

  endAll(): void {
    this.calls.endAll(this.nowMs);
  }
}
