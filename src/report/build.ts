import type { StreamCounters, StreamSnapshot } from '../rtp/snapshot.js';
import { clockSourceName } from '../rtp/clock-inference.js';
import { syntheticCallId } from './correlation.js';
import { staticPayloadName } from './codec-names.js';
import type { StreamQosState } from './qos-state.js';
import { jitterBufferReportValues } from './jb-fields.js';
import type { DelayEstimate, DelaySource } from '../qos/delay.js';

export type ReportKind = 'PERIODIC' | 'FINAL' | 'HANGUP' | 'ALERT' | 'CLEARED';

export interface ReportContext {
  /** SIP Call-ID of the leg, null when unknown (a synthetic id is used, see correlation.ts). */
  callId: string | null;
  /** A-leg Call-ID of a B2BUA B leg (X-CID header), or null. */
  xcid: string | null;
  /** Codec name from SDP rtpmap, or null (then the static PT name). */
  codecName: string | null;
  nodeName: string;
  /** RTPAgent's DIR and PARTY fields, passed through (e.g. DIR 0 caller->callee, 1 callee->caller). */
  dir: number;
  party: number;
  hostTimestamps: boolean;
  /** The one-way delay the E-model used (ms), and where it came from. */
  oneWayDelayMs: number;
  delaySource?: DelaySource;
  /** Its parts, measured and assumed (qos/delay.ts); absent: all of oneWayDelayMs is network delay. */
  delay?: DelayEstimate;
  /** Capture drops the source reported (kernel + interface) since start; reported so they are not read as network loss. */
  captureDrops?: number;
  /** Of those, the ones since the stream's previous interval report, and since the stream started. */
  intervalCaptureDrops?: number;
  streamCaptureDrops?: number;
  /** Whether the opposite direction of the call's media was seen; ONE_WAY_RTP is 1 only when known false. */
  reverseStreamSeen?: boolean;
  /** Completed silences of the stream (report/silences.ts): count, total and longest, ms. */
  silences?: number;
  silenceMs?: number;
  maxSilenceMs?: number;
  /** Length of the pause in progress (ALERT/CLEARED of rule 'silence'), ms; 0 when none. */
  currentSilenceMs?: number;
}

export interface ReportOptions {
  /** REPORT_TS source (ms since epoch); default: end of the reported period (capture time). */
  reportTsMs?: number;
  /** For ALERT reports: the rule that started firing; for CLEARED reports: the rule that stopped. */
  alertRule?: string;
  /** The stream's current report interval, s (from ReportScheduler). */
  intervalS?: number;
  /** For CLEARED reports: why the rule stopped firing (default 'rule': its condition ended). */
  clearReason?: ClearReason;
}

/** Why a CLEARED came: the rule's condition ended, or the stream ended while the rule fired. */
export type ClearReason = 'rule' | 'stream-ended';

/** A CLEARED report's reason (CLEAR_REASON). */
export function clearReasonOf(r: QosReport): ClearReason {
  return r.CLEAR_REASON === 'stream-ended' ? 'stream-ended' : 'rule';
}

/** RTPAgent-style report: upper-case keys, numbers (not strings) except ids, names and addresses. */
export type QosReport = Record<string, string | number>;

/** Three decimals like HOMER's example; non-finite numbers become 0 so the JSON stays numeric. */
export function round3(x: number): number {
  if (!Number.isFinite(x)) return 0;
  if (Math.abs(x) > 1e12) return x; // x * 1000 could overflow; such values carry no decimals anyway
  const r = Math.round(x * 1000) / 1000;
  return r === 0 ? 0 : r; // no -0 in JSON
}

/**
 * A capture time in ms as seconds with ms precision, truncated as HEP's own timestamp is (captureTimeMs):
 * a report never places a packet of x.9996 s in second x+1.
 */
export function captureSeconds(ms: number): number {
  return Number.isFinite(ms) ? Math.floor(ms) / 1000 : 0;
}

/**
 * Builds one QoS report from a snapshot and the stream's MOS history (record the interval in `qos`
 * BEFORE building, see StreamQosState.assessInterval).
 *
 * PERIODIC, ALERT and CLEARED carry the interval's counters and the interval's MOS/R (MOS, RFACTOR); MIN_* and
 * MEAN_* are over all intervals of the stream so far.
 * FINAL and HANGUP carry cumulative counters; MOS and RFACTOR there are the MEAN over the intervals
 * (MOS is never computed from cumulative loss), LAST_MOS/LAST_RFACTOR the last interval's values.
 * MOS fields are 0 when no interval had any packet expected (nothing measured).
 * Times: REPORT_TS integer seconds; REPORT_START/END and RTP_START/STOP seconds with ms precision (truncated).
 */
export function buildQosReport(snap: StreamSnapshot, ctx: ReportContext, kind: ReportKind, qos: StreamQosState, opts: ReportOptions = {}): QosReport {
  const final = kind === 'FINAL' || kind === 'HANGUP';
  const c: StreamCounters = final ? snap.cumulative : snap.interval;
  const slot = snap.slot;
  const n = qos.count[slot];
  const meanMos = qos.meanMos(slot);
  const meanR = qos.meanR(slot);
  const mos = qos.reportMos(slot, final);
  const r = n === 0 ? 0 : final ? meanR : qos.lastR[slot];
  const id = ctx.callId || syntheticCallId(snap);
  const lossCount = c.lost > 0 ? c.lost : 0;
  const lossPct = c.expected > 0 ? (100 * lossCount) / c.expected : 0;
  // A fault report during a pause can have no packet in its interval: its period then runs from the
  // stream's latest packet to the report, not from time 0.
  const idle = !final && c.packets === 0;
  const startMs = idle ? snap.lastSeenMs : c.startMs;
  const endMs = idle ? (opts.reportTsMs ?? snap.lastSeenMs) : c.endMs;
  const reportTsMs = opts.reportTsMs ?? endMs;
  const j = jitterBufferReportValues(snap, final, qos);
  const x = j.xr;

  // One literal with every key a report always has: made with all its fields at once (keys added after
  // would grow its property store a few at a time).
  const rep: QosReport = {
    CORRELATION_ID: id,
    RTP_SIP_CALL_ID: id,
    REPORT_TS: Number.isFinite(reportTsMs) ? Math.floor(reportTsMs / 1000) : 0,
    TYPE: kind,
    SSRC: snap.ssrc >>> 0,
    SRC_IP: snap.srcIp,
    SRC_PORT: snap.srcPort,
    DST_IP: snap.dstIp,
    DST_PORT: snap.dstPort,
    SRC_MAC: snap.srcMac,
    DST_MAC: snap.dstMac,
    CODEC_PT: snap.payloadType,
    // SDP encoding names are case-insensitive (RFC 4566) and arrive as "PCMA", "pcma" or "Pcma": one
    // spelling per codec so HOMER groups and filters them together; lower case as HOMER's agents send.
    CODEC_NAME: (ctx.codecName || staticPayloadName(snap.payloadType)).toLowerCase(),
    CLOCK: snap.clockRate,
    // Where CLOCK came from: sdp, static (RFC 3551), inferred (timestamps vs arrival), config, unknown
    // (then CLOCK is 0 and the stream has no jitter or skew, as tshark shows none).
    CLOCK_SOURCE: clockSourceName(snap.clockSource ?? 0),
    DIR: ctx.dir,
    PARTY: ctx.party,
    REPORT_NAME: snap.srcIp.includes(':') ? `[${snap.srcIp}]:${snap.srcPort}` : `${snap.srcIp}:${snap.srcPort}`,
    TOTAL_PK: c.packets,
    EXPECTED_PK: c.expected,
    // Late packets from before the stream's first sequence number can make the loss count negative; it
    // would read as nonsense on HOMER's chart, so it is clamped (duplicates never offset loss: DUPLICATES).
    PACKET_LOSS: lossCount,
    SEQ: c.seqErrors,
    OUT_ORDER: c.outOfOrder,
    SSRC_CHG: snap.ssrcChanges,
    TL_BYTE: c.bytes,
    DELTA: round3(c.meanDeltaMs),
    MAX_DELTA: round3(c.maxDeltaMs),
    JITTER: round3(snap.jitterMs),
    MAX_JITTER: round3(c.maxJitterMs),
    MEAN_JITTER: round3(c.meanJitterMs),
    SKEW: round3(snap.skewMs),
    MAX_SKEW: round3(c.maxSkewMs),
    MOS: round3(mos),
    MIN_MOS: round3(n ? qos.minMos[slot] : 0),
    MEAN_MOS: round3(meanMos),
    RFACTOR: round3(r),
    MIN_RFACTOR: round3(n ? qos.minR[slot] : 0),
    MEAN_RFACTOR: round3(meanR),
    REPORT_START: captureSeconds(startMs),
    REPORT_END: captureSeconds(endMs),
    RTP_START: captureSeconds(snap.firstSeenMs),
    RTP_STOP: captureSeconds(snap.lastSeenMs),
    ONE_WAY_RTP: ctx.reverseStreamSeen === false ? 1 : 0,
    // Extras (receivers ignore keys they do not know).
    PACKET_LOSS_PCT: round3(lossPct),
    DUPLICATES: c.duplicates,
    MIN_DELTA: round3(c.minDeltaMs),
    MIN_JITTER: round3(c.minJitterMs),
    BURST_R: round3(c.burstR > 0 ? c.burstR : 1),
    BURST_DENSITY: round3(c.burstDensity),
    GAP_DENSITY: round3(c.gapDensity),
    CLOCK_DRIFT_PPM: round3(snap.clockDriftPpm),
    PT_CHG: snap.payloadTypeChanges,
    IE_EFF: round3(n ? qos.lastIeEff[slot] : 0),
    ID: round3(n ? qos.lastId[slot] : 0),
    ONE_WAY_DELAY: round3(ctx.oneWayDelayMs),
    DELAY_SOURCE: ctx.delaySource ?? 'nominal',
    NETWORK_DELAY: round3(ctx.delay?.networkOneWayDelayMs ?? ctx.oneWayDelayMs),
    BUFFER_DELAY: round3(ctx.delay?.bufferMs ?? 0),
    BUFFER_DELAY_SOURCE: ctx.delay?.bufferSource ?? 'assumed',
    DELAY_LEGS: ctx.delay?.legs ?? 1,
    DELAY_PATHS: ctx.delay?.paths ?? 2,
    DELAY_PATHS_MEASURED: ctx.delay?.pathsMeasured ?? (ctx.delaySource === 'rtcp' ? 1 : 0),
    LAST_MOS: round3(n ? qos.lastMos[slot] : 0),
    LAST_RFACTOR: round3(n ? qos.lastR[slot] : 0),
    MOS_INTERVALS: n,
    HOST_TIMESTAMPS: ctx.hostTimestamps || snap.hostTimestamps ? 1 : 0,
    CAPTURE_DROPS: ctx.captureDrops ?? 0,
    PERIOD_CAPTURE_DROPS: (final ? ctx.streamCaptureDrops : ctx.intervalCaptureDrops) ?? 0,
    SILENCES: ctx.silences ?? 0,
    SILENCE_MS: round3(ctx.silenceMs ?? 0),
    MAX_SILENCE_MS: round3(ctx.maxSilenceMs ?? 0),
    CURRENT_SILENCE_MS: round3(ctx.currentSilenceMs ?? 0),
    VLAN: snap.vlan,
    NODE: ctx.nodeName,
    SYNTHETIC_ID: ctx.callId ? 0 : 1,
    // ---- jitter buffers and RFC 3611 voice metrics: meanings in jb-fields.ts ----
    MOS_NET: round3(j.mosNet),
    MOS_F1: round3(j.mos[0]),
    RFACTOR_F1: round3(j.r[0]),
    DISCARDS_F1: j.discards[0],
    EFF_LOSS_PCT_F1: round3(j.effLossPct[0]),
    MOS_F2: round3(j.mos[1]),
    RFACTOR_F2: round3(j.r[1]),
    DISCARDS_F2: j.discards[1],
    EFF_LOSS_PCT_F2: round3(j.effLossPct[1]),
    MOS_ADAPT: round3(j.mos[2]),
    RFACTOR_ADAPT: round3(j.r[2]),
    DISCARDS_ADAPT: j.discards[2],
    EFF_LOSS_PCT_ADAPT: round3(j.effLossPct[2]),
    JB_REFERENCE: j.reference,
    JB_ADAPT_DELAY: round3(j.adaptDelayMs),
    JB_ADAPT_MAX: round3(j.adaptMaxMs),
    WORST_MOS: round3(j.worstMos),
    WORST_MOS_START: round3(j.worstMosStartS),
    WORST_MOS_END: round3(j.worstMosEndS),
    XR_LOSS_RATE: round3(x.lossRate),
    XR_DISCARD_RATE: round3(x.discardRate),
    XR_BURST_DENSITY: round3(x.burstDensity),
    XR_GAP_DENSITY: round3(x.gapDensity),
    XR_BURST_DURATION: round3(x.burstDurationMs),
    XR_GAP_DURATION: round3(x.gapDurationMs),
    XR_RTD: round3(x.roundTripMs),
    XR_R: round3(x.r),
    XR_MOS_LQ: round3(x.mosLq),
    XR_MOS_CQ: round3(x.mosCq),
    XR_JB_NOMINAL: round3(x.jbNominalMs),
    XR_JB_MAX: round3(x.jbMaxMs),
    XR_JB_ABS_MAX: round3(x.jbAbsMaxMs),
  };
  if (ctx.xcid) rep.X_CID = ctx.xcid;
  if (opts.intervalS !== undefined) rep.INTERVAL_S = round3(opts.intervalS);
  if (kind === 'ALERT' || kind === 'CLEARED') rep.ALERT_RULE = opts.alertRule ?? '';
  if (kind === 'CLEARED') rep.CLEAR_REASON = opts.clearReason ?? 'rule';
  return rep;
}
