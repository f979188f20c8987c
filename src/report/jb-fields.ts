import type { StreamSnapshot } from '../rtp/snapshot.js';
import { JB_ADAPT, JB_F1 } from '../rtp/jitter-buffer.js';
import type { StreamQosState } from './qos-state.js';
import type { FieldFamily } from './fields.js';

/**
 * Report fields and rule variables of the jitter-buffer emulation (rtp/jitter-buffer.ts) and of the
 * RFC 3611 4.7 VoIP metrics, a family of the field table (fields.ts, JB_FIELD_FAMILY): the report keys
 * (JB_REPORT_FIELDS, written by addJitterBufferFields) and the rule variables (JB_METRIC_VARIABLES,
 * filled by fillJitterBufferVariables); build.ts writes the keys from jitterBufferReportValues.
 */

/** Report keys with what they hold (the README's list is checked against it). */
export const JB_REPORT_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['MOS_NET', 'MOS from network loss only (no jitter buffer), at the same delay as MOS'],
  ['MOS_F1', 'MOS through the first fixed buffer (qos.jitter_buffers.fixed1_ms, 50 ms)'],
  ['MOS_F2', 'MOS through the second fixed buffer (fixed2_ms, 200 ms)'],
  ['MOS_ADAPT', 'MOS through the adaptive buffer'],
  ['RFACTOR_F1', 'R through the first fixed buffer'],
  ['RFACTOR_F2', 'R through the second fixed buffer'],
  ['RFACTOR_ADAPT', 'R through the adaptive buffer'],
  ['DISCARDS_F1', 'packets the first fixed buffer discarded as late'],
  ['DISCARDS_F2', 'packets the second fixed buffer discarded as late'],
  ['DISCARDS_ADAPT', 'packets the adaptive buffer discarded as late'],
  ['EFF_LOSS_PCT_F1', 'network loss plus the first fixed buffer\'s discards, % of expected'],
  ['EFF_LOSS_PCT_F2', 'network loss plus the second fixed buffer\'s discards, %'],
  ['EFF_LOSS_PCT_ADAPT', 'network loss plus the adaptive buffer\'s discards, %'],
  ['JB_REFERENCE', 'buffer whose MOS is MOS: adaptive, fixed1, fixed2 or none'],
  ['JB_ADAPT_DELAY', 'mean delay of the adaptive buffer over the period, ms'],
  ['JB_ADAPT_MAX', 'largest delay of the adaptive buffer over the period, ms'],
  ['WORST_MOS', 'lowest interval MOS of the stream so far (= MIN_MOS)'],
  ['WORST_MOS_START', 'start of the interval WORST_MOS was scored on, s'],
  ['WORST_MOS_END', 'end of that interval, s (of a short period after it, when one was scored with it, see MIN_MOS)'],
  ['XR_LOSS_RATE', 'RFC 3611 4.7 loss rate since the stream started, %'],
  ['XR_DISCARD_RATE', 'RFC 3611 discard rate (reference buffer) since the start, %'],
  ['XR_BURST_DENSITY', 'RFC 3611 burst density (losses + discards, Gmin 16), %'],
  ['XR_GAP_DENSITY', 'RFC 3611 gap density, %'],
  ['XR_BURST_DURATION', 'RFC 3611 mean burst duration, ms'],
  ['XR_GAP_DURATION', 'RFC 3611 mean gap duration, ms'],
  ['XR_RTD', 'round-trip delay from RTCP, ms; 0 = not measured'],
  ['XR_R', "R of the last interval (reference buffer), within RFC 3611's 0..100"],
  ['XR_MOS_LQ', 'listening-quality MOS: R without any delay impairment'],
  ['XR_MOS_CQ', "conversational MOS: delay impairment of NETWORK_DELAY plus the reference buffer's delay in the interval (its size, or JB_ADAPT_DELAY)"],
  ['XR_JB_NOMINAL', 'reference buffer\'s nominal delay (fixed size, or the adaptive buffer\'s current delay), ms'],
  ['XR_JB_MAX', 'its largest delay so far, ms'],
  ['XR_JB_ABS_MAX', 'the largest delay it can reach, ms'],
];

/** Rule variables (interval values unless noted). */
export const JB_METRIC_VARIABLES = [
  'mos_net', 'mos_f1', 'mos_f2', 'mos_adapt', 'discards_f1', 'discards_f2', 'discards_adapt', 'eff_loss_pct', 'jb_delay_ms',
  'xr_loss_rate', 'xr_discard_rate', 'xr_burst_density', 'xr_gap_density', 'xr_burst_duration_ms', 'xr_gap_duration_ms',
  'xr_rtd_ms', 'xr_r', 'xr_mos_lq', 'xr_mos_cq', 'xr_jb_nominal_ms', 'xr_jb_max_ms', 'xr_jb_abs_max_ms',
] as const;

export type JbMetricVariable = (typeof JB_METRIC_VARIABLES)[number];

/** The rule variables the emulated buffers give: 0 for every stream while qos.jitter_buffers.emulate is false. */
export const EMULATED_BUFFER_VARIABLES: readonly JbMetricVariable[] = [
  'mos_f1', 'mos_f2', 'mos_adapt', 'discards_f1', 'discards_f2', 'discards_adapt', 'jb_delay_ms',
  'xr_discard_rate', 'xr_jb_nominal_ms', 'xr_jb_max_ms', 'xr_jb_abs_max_ms',
];

const REFERENCE_NAMES = ['fixed1', 'fixed2', 'adaptive'];

/** RFC 3611 4.7 figures of a stream (cumulative where the RFC says since the start). */
export interface VoipMetrics {
  lossRate: number;
  discardRate: number;
  burstDensity: number;
  gapDensity: number;
  burstDurationMs: number;
  gapDurationMs: number;
  roundTripMs: number;
  r: number;
  mosLq: number;
  mosCq: number;
  jbNominalMs: number;
  jbMaxMs: number;
  jbAbsMaxMs: number;
}

export function emptyVoipMetrics(): VoipMetrics {
  return { lossRate: 0, discardRate: 0, burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0, roundTripMs: 0, r: 0, mosLq: 0, mosCq: 0, jbNominalMs: 0, jbMaxMs: 0, jbAbsMaxMs: 0 };
}

/**
 * RFC 3611 4.7 figures. Rates are percentages (the RFC's 8-bit fractions x 100 / 256). Burst and gap
 * count discards of the reference buffer with the losses; without emulation (or reference none) they
 * are the network loss pattern. Round trip 0 = none measured; end-system delay is not known to a
 * passive probe and not reported as a number.
 */
export function fillVoipMetrics(snap: StreamSnapshot, qos: StreamQosState, out: VoipMetrics): VoipMetrics {
  const c = snap.cumulative;
  const slot = snap.slot;
  const n = qos.count[slot];
  const ref = qos.jbScoring.reference;
  const jb = snap.jitterBuffers && snap.jb ? snap.jb : null;
  const lost = c.lost > 0 ? c.lost : 0;
  out.lossRate = c.expected > 0 ? (100 * lost) / c.expected : 0;
  if (jb !== null && ref >= 0) {
    out.discardRate = c.expected > 0 ? (100 * jb.cumulative.discards[ref]) / c.expected : 0;
    out.burstDensity = 100 * jb.xr.burstDensity;
    out.gapDensity = 100 * jb.xr.gapDensity;
    out.burstDurationMs = jb.xr.burstDurationMs;
    out.gapDurationMs = jb.xr.gapDurationMs;
    const s = qos.jbScoring;
    const fixed = ref === JB_F1 ? s.fixed1Ms : s.fixed2Ms;
    out.jbNominalMs = ref === JB_ADAPT ? jb.xr.adaptiveNowMs : fixed;
    out.jbMaxMs = ref === JB_ADAPT ? Math.max(jb.cumulative.adaptiveMaxMs, jb.xr.adaptiveNowMs) : fixed;
    out.jbAbsMaxMs = ref === JB_ADAPT ? s.adaptiveMaxMs : fixed;
  } else {
    out.discardRate = 0;
    out.burstDensity = 100 * c.burstDensity;
    out.gapDensity = 100 * c.gapDensity;
    out.burstDurationMs = c.burstDurationMs;
    out.gapDurationMs = c.gapDurationMs;
    out.jbNominalMs = 0;
    out.jbMaxMs = 0;
    out.jbAbsMaxMs = 0;
  }
  const rtt = qos.lastRttMs[slot];
  out.roundTripMs = rtt === rtt ? rtt : 0;
  // RFC 3611 4.7.5 carries R as 0..100; the E-model's goes below 0 under heavy loss or delay (RFACTOR keeps it).
  const r = n ? qos.lastR[slot] : 0;
  out.r = r < 0 ? 0 : r > 100 ? 100 : r;
  out.mosLq = n ? qos.lastMosLq[slot] : 0;
  out.mosCq = n ? qos.lastMosCq[slot] : 0;
  return out;
}

const XR = emptyVoipMetrics();

/** MOS through buffer b: the (weighted) mean over the intervals for a final report, else the last interval's; 0 when off. */
function bufferMos(qos: StreamQosState, slot: number, b: number, on: boolean, final: boolean): number {
  return !on ? 0 : final ? qos.meanMosB(slot, b) : qos.lastMosB[slot * 3 + b];
}

/** R through buffer b, as bufferMos. */
function bufferR(qos: StreamQosState, slot: number, b: number, on: boolean, final: boolean): number {
  return !on ? 0 : final ? qos.meanRB(slot, b) : qos.lastRB[slot * 3 + b];
}

/** Network loss plus a buffer's discards, % of expected (at most 100). */
function effectiveLossPct(expected: number, lost: number, discards: number): number {
  return expected > 0 ? Math.min(100, (100 * (lost + discards)) / expected) : 0;
}

/**
 * A report's values of JB_REPORT_FIELDS, unrounded: per buffer (F1, F2, ADAPT) at index b of the arrays.
 * build.ts writes them into the report's one object literal, so a report is made with all its keys at
 * once instead of growing by 33 of them.
 */
export interface JitterBufferReportValues {
  mosNet: number;
  mos: Float64Array;
  r: Float64Array;
  discards: Float64Array;
  effLossPct: Float64Array;
  reference: string;
  adaptDelayMs: number;
  adaptMaxMs: number;
  worstMos: number;
  worstMosStartS: number;
  worstMosEndS: number;
  xr: VoipMetrics;
}

const VALUES: JitterBufferReportValues = {
  mosNet: 0, mos: new Float64Array(3), r: new Float64Array(3), discards: new Float64Array(3), effLossPct: new Float64Array(3),
  reference: 'none', adaptDelayMs: 0, adaptMaxMs: 0, worstMos: 0, worstMosStartS: 0, worstMosEndS: 0, xr: emptyVoipMetrics(),
};

/**
 * The jitter-buffer and RFC 3611 values of a report, in one object reused by every call (read before the
 * next). final: FINAL/HANGUP (cumulative counts, MOS the mean over the intervals, as MOS itself); else
 * the interval's.
 */
export function jitterBufferReportValues(snap: StreamSnapshot, final: boolean, qos: StreamQosState): JitterBufferReportValues {
  const v = VALUES;
  const slot = snap.slot;
  const n = qos.count[slot];
  const jb = snap.jitterBuffers && snap.jb ? (final ? snap.jb.cumulative : snap.jb.interval) : null;
  const c = final ? snap.cumulative : snap.interval;
  const lost = c.lost > 0 ? c.lost : 0;
  v.mosNet = n === 0 ? 0 : final ? qos.meanNetMos(slot) : qos.lastNetMos[slot];
  const on = jb !== null && n > 0;
  for (let b = 0; b < 3; b++) {
    const discards = jb !== null ? jb.discards[b] : 0;
    v.mos[b] = bufferMos(qos, slot, b, on, final);
    v.r[b] = bufferR(qos, slot, b, on, final);
    v.discards[b] = discards;
    v.effLossPct[b] = effectiveLossPct(c.expected, lost, discards);
  }
  const ref = qos.jbScoring.reference;
  v.reference = jb === null || ref < 0 ? 'none' : REFERENCE_NAMES[ref];
  v.adaptDelayMs = jb !== null ? jb.adaptiveDelayMs : 0;
  v.adaptMaxMs = jb !== null ? jb.adaptiveMaxMs : 0;
  v.worstMos = n ? qos.minMos[slot] : 0;
  v.worstMosStartS = n ? qos.worstStartMs[slot] / 1000 : 0;
  v.worstMosEndS = n ? qos.worstEndMs[slot] / 1000 : 0;
  fillVoipMetrics(snap, qos, v.xr);
  return v;
}

/** Fills the rule variables of JB_METRIC_VARIABLES on `m` (interval values, RFC 3611 ones as defined). */
export function fillJitterBufferVariables(m: Record<JbMetricVariable, number>, snap: StreamSnapshot, qos: StreamQosState): void {
  const slot = snap.slot;
  const n = qos.count[slot];
  const jb = snap.jitterBuffers && snap.jb ? snap.jb.interval : null;
  const c = snap.interval;
  const ref = qos.jbScoring.reference;
  m.mos_net = n ? qos.lastNetMos[slot] : 0;
  m.mos_f1 = n && jb ? qos.lastMosB[slot * 3] : 0;
  m.mos_f2 = n && jb ? qos.lastMosB[slot * 3 + 1] : 0;
  m.mos_adapt = n && jb ? qos.lastMosB[slot * 3 + 2] : 0;
  m.discards_f1 = jb ? jb.discards[0] : 0;
  m.discards_f2 = jb ? jb.discards[1] : 0;
  m.discards_adapt = jb ? jb.discards[2] : 0;
  const lost = c.lost > 0 ? c.lost : 0;
  m.eff_loss_pct = c.expected > 0 ? Math.min(100, (100 * (lost + (jb && ref >= 0 ? jb.discards[ref] : 0))) / c.expected) : 0;
  m.jb_delay_ms = jb ? qos.lastJbDelayMs[slot] : 0;
  const x = fillVoipMetrics(snap, qos, XR);
  m.xr_loss_rate = x.lossRate;
  m.xr_discard_rate = x.discardRate;
  m.xr_burst_density = x.burstDensity;
  m.xr_gap_density = x.gapDensity;
  m.xr_burst_duration_ms = x.burstDurationMs;
  m.xr_gap_duration_ms = x.gapDurationMs;
  m.xr_rtd_ms = x.roundTripMs;
  m.xr_r = x.r;
  m.xr_mos_lq = x.mosLq;
  m.xr_mos_cq = x.mosCq;
  m.xr_jb_nominal_ms = x.jbNominalMs;
  m.xr_jb_max_ms = x.jbMaxMs;
  m.xr_jb_abs_max_ms = x.jbAbsMaxMs;
}

/** The family as the field table takes it (README list, key and variable checks, rule scope). */
export const JB_FIELD_FAMILY: FieldFamily = {
  title: 'Jitter buffers and RFC 3611 voice metrics (see [MOS through emulated jitter buffers](#mos-through-emulated-jitter-buffers))',
  rows: JB_REPORT_FIELDS,
  variables: JB_METRIC_VARIABLES,
  fill: (scope, src) => fillJitterBufferVariables(scope as Record<JbMetricVariable, number>, src.snap, src.qos),
};
