/**
 * What a running probe knows right now, for people: the streams being measured (numbers as of each
 * stream's latest report), the calls the SIP tracker holds, and the alert rules firing. Fed by the QoS
 * reports on their way to the outputs (the same in one thread and in worker mode, where every report
 * reaches the main thread) and by reading the call table; serves /api/streams, /api/calls, the status
 * line and the stream table at stop. Nothing here runs per packet.
 */
import { clearReasonOf } from '../report/index.js';
import type { ClearReason, QosReport } from '../report/index.js';

/** One SIP call as the tracker holds it (the fields of src/sip SipCall this view reads). */
export interface TrackedCall {
  callId: string;
  state: 'early' | 'confirmed' | 'ended';
  createdMs: number;
  lastMs: number;
  endReason: string | null;
  endStatus: number;
  /** Media bindings still lingering after the call ended (sip.media_linger_s): its streams have not ended yet. */
  lingering: readonly unknown[] | null;
  /** INVITE transactions (forks) of its attempt without a final response (see endMayBeUndone). */
  pendingInvites: readonly unknown[];
}

/** Reads the calls currently tracked. */
export interface CallSource {
  forEach(fn: (call: TrackedCall) => void): void;
}

/** A call tracker with slot access (src/sip CallTracker) as a CallSource. */
export function trackerCalls(tracker: { readonly maxCalls: number; call(index: number): TrackedCall | null }): CallSource {
  return {
    forEach(fn) {
      for (let i = 0; i < tracker.maxCalls; i++) {
        const c = tracker.call(i);
        if (c) fn(c);
      }
    },
  };
}

export interface LiveStream {
  callId: string;
  /** 1 when the Call-ID is synthetic (no SIP seen for the stream). */
  synthetic: boolean;
  src: string;
  dst: string;
  ssrc: string;
  codec: string;
  /** Packets, expected and lost over the stream so far (sum of its interval reports). */
  packets: number;
  expected: number;
  lost: number;
  lossPct: number;
  /** Latest interval's jitter, and the largest of any interval (ms). */
  jitterMs: number;
  maxJitterMs: number;
  /** Latest interval's MOS, the worst and the mean over its intervals (0 = nothing measured yet). */
  mos: number;
  minMos: number;
  meanMos: number;
  /** Rules firing for the stream now. */
  alerts: string[];
  /** Capture time of the stream's first packet and of its latest report, s since the epoch. */
  startS: number;
  reportS: number;
  /** Wall-clock time the latest report arrived, ms since the epoch. */
  updatedMs: number;
}

export interface LiveCall {
  callId: string;
  /** SIP dialog state; 'no-sip' for streams under a synthetic id. */
  state: 'early' | 'confirmed' | 'ended' | 'no-sip';
  /** Capture time the call started, s (first packet of its streams for 'no-sip'). */
  startS: number;
  durationS: number;
  endReason: string | null;
  streams: number;
  /** Worst latest-interval MOS over its streams (0 = none measured yet). */
  worstMos: number;
  /** Highest loss over its streams, %. */
  lossPct: number;
  maxJitterMs: number;
  alerts: string[];
}

export interface LiveSummary {
  calls: number;
  streams: number;
  alertsFiring: number;
  worstMos: number;
  worstCallId: string | null;
}

/** An alert rule started or stopped firing for one stream. */
export interface AlertEvent {
  event: 'ALERT' | 'CLEARED';
  rule: string;
  /** Why a CLEARED came: the expression turned false, or the stream ended while it fired. */
  reason: ClearReason | null;
  callId: string;
  stream: { src: string; dst: string; ssrc: string };
  /** The report that carried the change (an alert the probe could not follow, cleared with its stream: the FINAL/HANGUP). */
  report: QosReport;
}

export interface LiveStateOptions {
  /** Every alert start and clear. */
  onAlert?(e: AlertEvent): void;
  /** Every interval report (PERIODIC): for per-interval metrics. */
  onInterval?(report: QosReport): void;
  /** How many ended calls' stream summaries are kept for the call log. Default 10,000. */
  endedCallMemory?: number;
}

/** Worst first: lowest MOS; streams and calls not measured yet (MOS 0) last. */
function byMos(a: { mos: number }, b: { mos: number }): number {
  const ma = a.mos > 0 ? a.mos : 99;
  const mb = b.mos > 0 ? b.mos : 99;
  return ma - mb;
}

/** The stop table's reports: the `rows` worst so far, and how many there were. */
interface WorstFinals {
  worst: QosReport[];
  count: number;
  rows: number;
}

/** A final report into the worst ones, after those of equal MOS (the order a stable sort by mosKey gives). */
function keepWorst(f: WorstFinals, r: QosReport): void {
  f.count++;
  const key = mosKey(r);
  const w = f.worst;
  let at = w.length;
  while (at > 0 && mosKey(w[at - 1]) > key) at--;
  if (at >= f.rows) return;
  w.splice(at, 0, r);
  if (w.length > f.rows) w.pop();
}

/** A final report's MOS for the stop table's order; a stream never scored (MOS 0) last. */
function mosKey(r: QosReport): number {
  const m = Number(r.MOS);
  return m > 0 ? m : 99;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

function streamKey(r: QosReport): string {
  return `${r.SRC_IP}|${r.SRC_PORT}|${r.DST_IP}|${r.DST_PORT}|${r.SSRC}`;
}

function hostPort(ip: unknown, port: unknown): string {
  const s = String(ip);
  return s.includes(':') ? `[${s}]:${port}` : `${s}:${port}`;
}

export class LiveState {
  private readonly streamsByKey = new Map<string, LiveStream>();
  /** Streams' worst MOS of calls whose streams all ended, until the call log reads it. */
  private readonly ended = new Map<string, { worstMos: number; streams: number }>();
  private readonly firedTotal = new Map<string, number>();
  private finals: WorstFinals | null = null;
  private calls: CallSource | null = null;

  constructor(private readonly o: LiveStateOptions = {}) {}

  /** Where the call list comes from (the tracker of this process). */
  setCallSource(calls: CallSource): void {
    this.calls = calls;
  }

  /**
   * From now on every FINAL/HANGUP report is counted for the table at stop, and the `rows` worst kept
   * (a stop ends every stream at once: holding all their reports until the table made the collector of
   * a large probe work through them while the stop's deadline ran).
   */
  collectFinals(rows: number): void {
    this.finals ??= { worst: [], count: 0, rows };
  }

  /** The reports counted since collectFinals(), and the worst of them, worst MOS first (in arrival order at equal MOS). */
  takeFinals(): { worst: QosReport[]; count: number } {
    const f = this.finals ?? { worst: [], count: 0 };
    this.finals = null;
    return { worst: f.worst, count: f.count };
  }

  /** One QoS report on its way to the outputs. */
  observe(r: QosReport): void {
    const type = r.TYPE;
    if (type === 'FINAL' || type === 'HANGUP') return this.streamEnded(r);
    const key = streamKey(r);
    let s = this.streamsByKey.get(key);
    if (!s) {
      s = {
        callId: String(r.CORRELATION_ID),
        synthetic: num(r.SYNTHETIC_ID) === 1,
        src: hostPort(r.SRC_IP, r.SRC_PORT),
        dst: hostPort(r.DST_IP, r.DST_PORT),
        ssrc: `0x${(num(r.SSRC) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
        codec: String(r.CODEC_NAME),
        packets: 0,
        expected: 0,
        lost: 0,
        lossPct: 0,
        jitterMs: 0,
        maxJitterMs: 0,
        mos: 0,
        minMos: 0,
        meanMos: 0,
        alerts: [],
        startS: num(r.RTP_START),
        reportS: 0,
        updatedMs: 0,
      };
      this.streamsByKey.set(key, s);
    }
    s.callId = String(r.CORRELATION_ID); // a stream may join its call after its first report
    s.synthetic = num(r.SYNTHETIC_ID) === 1;
    s.updatedMs = Date.now();
    if (type === 'PERIODIC') {
      // ALERT and CLEARED repeat the interval a PERIODIC just carried: counted once.
      s.packets += num(r.TOTAL_PK);
      s.expected += num(r.EXPECTED_PK);
      s.lost += num(r.PACKET_LOSS);
      s.lossPct = s.expected > 0 ? Math.round((10000 * s.lost) / s.expected) / 100 : 0;
      s.jitterMs = num(r.JITTER);
      s.maxJitterMs = Math.max(s.maxJitterMs, num(r.MAX_JITTER));
      s.mos = num(r.MOS);
      s.minMos = num(r.MIN_MOS);
      s.meanMos = num(r.MEAN_MOS);
      s.codec = String(r.CODEC_NAME);
      s.reportS = num(r.REPORT_TS);
      this.o.onInterval?.(r);
      return;
    }
    const rule = String(r.ALERT_RULE ?? '');
    if (type === 'ALERT') {
      if (s.alerts.includes(rule)) return;
      s.alerts.push(rule);
      this.firedTotal.set(rule, (this.firedTotal.get(rule) ?? 0) + 1);
      this.alert('ALERT', rule, 'rule', s, r);
    } else if (type === 'CLEARED') {
      const i = s.alerts.indexOf(rule);
      if (i < 0) return;
      s.alerts.splice(i, 1);
      this.alert('CLEARED', rule, clearReasonOf(r), s, r);
      // A call-level fault report (no-media) stands for no stream: nothing else would remove its entry.
      if (r.NO_MEDIA !== undefined) this.streamsByKey.delete(key);
    }
  }

  private streamEnded(r: QosReport): void {
    if (this.finals) keepWorst(this.finals, r);
    const key = streamKey(r);
    const s = this.streamsByKey.get(key);
    this.streamsByKey.delete(key);
    const callId = String(r.CORRELATION_ID);
    const mos = num(r.MIN_MOS) || num(r.MOS);
    const e = this.ended.get(callId) ?? { worstMos: 0, streams: 0 };
    e.streams++;
    if (mos > 0 && (e.worstMos === 0 || mos < e.worstMos)) e.worstMos = mos;
    this.ended.delete(callId); // re-inserted last: the oldest entries go first when full
    this.ended.set(callId, e);
    if (this.ended.size > (this.o.endedCallMemory ?? 10_000)) this.ended.delete(this.ended.keys().next().value!);
    // The probe's CLEARED reports come before the final report; an alert it could not follow (a rule a
    // reload removed while it fired, beyond the 31 a stream tracks) is cleared here with its stream.
    if (s) for (const rule of s.alerts.splice(0)) this.alert('CLEARED', rule, 'stream-ended', s, r);
  }

  private alert(event: 'ALERT' | 'CLEARED', rule: string, reason: AlertEvent['reason'], s: LiveStream, r: QosReport): void {
    this.o.onAlert?.({ event, rule, reason, callId: s.callId, stream: { src: s.src, dst: s.dst, ssrc: s.ssrc }, report: r });
  }

  /** The worst MOS of a call's streams, ended or still running (forgets the ended ones): for the "call ended" log line. */
  takeEndedCall(callId: string): { worstMos: number; streams: number } | undefined {
    const e = this.ended.get(callId);
    this.ended.delete(callId);
    // The call's streams still running count too: media lingers after a BYE (sip.media_linger_s).
    let streams = e?.streams ?? 0;
    let worstMos = e?.worstMos ?? 0;
    for (const s of this.streamsByKey.values()) {
      if (s.callId !== callId) continue;
      streams++;
      if (s.minMos > 0 && (worstMos === 0 || s.minMos < worstMos)) worstMos = s.minMos;
    }
    return streams ? { streams, worstMos } : undefined;
  }

  /** Streams now, worst first; at most `limit`. */
  streams(limit = Infinity): LiveStream[] {
    return [...this.streamsByKey.values()].sort(byMos).slice(0, limit);
  }

  get streamCount(): number {
    return this.streamsByKey.size;
  }

  /** Streams firing each rule now. */
  firing(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.streamsByKey.values()) for (const rule of s.alerts) out.set(rule, (out.get(rule) ?? 0) + 1);
    return out;
  }

  /** Times each rule started firing since start. */
  fired(): ReadonlyMap<string, number> {
    return this.firedTotal;
  }

  /** Calls now (SIP calls of the tracker, plus streams under synthetic ids grouped by id), worst first. */
  callList(limit = Infinity): LiveCall[] {
    const byId = new Map<string, LiveCall>();
    // Durations run on capture time (a replay's clock), up to the latest activity seen anywhere.
    let nowMs = 0;
    this.calls?.forEach((c) => (nowMs = Math.max(nowMs, c.lastMs)));
    for (const s of this.streamsByKey.values()) nowMs = Math.max(nowMs, s.reportS * 1000);
    this.calls?.forEach((c) => {
      byId.set(c.callId, {
        callId: c.callId,
        state: c.state,
        startS: c.createdMs / 1000,
        durationS: Math.max(0, Math.round(((c.state === 'ended' ? c.lastMs : nowMs) - c.createdMs) / 1000)),
        endReason: c.endReason,
        streams: 0,
        worstMos: 0,
        lossPct: 0,
        maxJitterMs: 0,
        alerts: [],
      });
    });
    for (const s of this.streamsByKey.values()) {
      let c = byId.get(s.callId);
      if (!c) {
        c = { callId: s.callId, state: 'no-sip', startS: s.startS, durationS: Math.max(0, Math.round(s.reportS - s.startS)), endReason: null, streams: 0, worstMos: 0, lossPct: 0, maxJitterMs: 0, alerts: [] };
        byId.set(s.callId, c);
      }
      c.streams++;
      if (s.mos > 0 && (c.worstMos === 0 || s.mos < c.worstMos)) c.worstMos = s.mos;
      c.lossPct = Math.max(c.lossPct, s.lossPct);
      c.maxJitterMs = Math.max(c.maxJitterMs, s.maxJitterMs);
      for (const a of s.alerts) if (!c.alerts.includes(a)) c.alerts.push(a);
    }
    return [...byId.values()].sort((a, b) => byMos({ mos: a.worstMos }, { mos: b.worstMos })).slice(0, limit);
  }

  /** Totals for the status line and the API. `calls` counts the tracker's calls not yet ended. */
  summary(): LiveSummary {
    let calls = 0;
    this.calls?.forEach((c) => {
      if (c.state !== 'ended') calls++;
    });
    let worst: LiveStream | null = null;
    let alerts = 0;
    for (const s of this.streamsByKey.values()) {
      alerts += s.alerts.length;
      if (s.mos > 0 && (worst === null || s.mos < worst.mos)) worst = s;
    }
    return { calls, streams: this.streamsByKey.size, alertsFiring: alerts, worstMos: worst?.mos ?? 0, worstCallId: worst?.callId ?? null };
  }
}
