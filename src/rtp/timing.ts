/**
 * Delta, jitter, skew and clock drift of a stream, over its record (stream-store.ts):
 *  - Wireshark's (tshark 4.0 RTP Stream Analysis): delta, jitter and skew per packet, their min/mean/max,
 *    reproduced exactly (including its timestamp-to-ms divisor) so that numbers users compare with tshark
 *    agree to its printed precision;
 *  - RFC 3550 A.8 interarrival jitter in timestamp units with the exact clock;
 *  - the sender's clock drift: a least-squares fit of nominal time (RTP timestamp) over arrival time.
 * The per-packet update of these fields is written out in the engine's nextPacket (engine.ts: a call of
 * its own for every packet costs more than the update); this module starts them, adopts an inferred
 * clock's, and reads and folds them for reports.
 * Min/max are kept for the interval only; the cumulative ones combine them with those of the earlier
 * intervals (foldTimingInterval).
 */
import type { StreamCounters } from './snapshot.js';
import { C, type ClockInference, INFER_CLOCKS, LS } from './clock-inference.js';
import { Kind } from './payload-types.js';
import { L, type StreamStore } from './stream-store.js';

/** The stream's first packet (arrival in D_FIRST_MS, kind in B_KIND), RTP timestamp ts; a8: A.8 jitter starts here. */
export function timingStart(st: StreamStore, slot: number, ts: number, a8: boolean): void {
  const f = st.f;
  const hf = slot * L.HOT_D;
  const cd = st.coldD(slot);
  const t = f[hf + L.D_FIRST_MS];
  st.b[slot * L.HOT_BYTES + L.B_PREV_KIND] = st.b[slot * L.HOT_BYTES + L.B_KIND];
  f[hf + L.D_WS_PREV_MS] = t;
  st.w[slot * L.HOT_W + L.W_FIRST_TS] = ts;
  if (a8) {
    f[hf + L.D_A8_PREV_MS] = t;
    st.w[slot * L.HOT_W + L.W_A8_PREV_TS] = ts;
    st.b[slot * L.HOT_BYTES + L.B_A8_STARTED] = 1;
  }
  f[hf + L.D_IV_START_MS] = t;
  f[hf + L.D_IV_MIN_DELTA] = Infinity;
  f[hf + L.D_IV_MIN_JITTER] = Infinity;
  f[cd + L.CD_PRIOR_MIN_DELTA] = Infinity;
  f[cd + L.CD_PRIOR_MIN_JITTER] = Infinity;
}

/**
 * Arrival advance minus media advance (ms) from the stream's previous A.8 packet to a packet at arrival t
 * with RTP timestamp ts (int32): about 0 across a silence, about the step across a host clock step. NaN
 * without a clock or a previous packet.
 */
export function transitChangeMs(st: StreamStore, slot: number, t: number, ts: number): number {
  const clock = st.w[slot * L.HOT_W + L.W_CLOCK];
  if (clock === 0 || st.b[slot * L.HOT_BYTES + L.B_A8_STARTED] === 0) return NaN;
  const arrival = t - st.f[slot * L.HOT_D + L.D_A8_PREV_MS];
  const media = (((ts - st.w[slot * L.HOT_W + L.W_A8_PREV_TS]) | 0) * 1000) / clock;
  return arrival - media;
}

/**
 * An inferred clock (INFER_CLOCKS index k of inference entry e): the Wireshark jitter family, A.8 jitter
 * and drift sums the inference ran for that clock become the stream's, as if it had been known from the
 * first packet.
 */
export function adoptInferredClock(st: StreamStore, slot: number, inf: ClockInference, e: number, k: number): void {
  const f = st.f;
  const w = st.w;
  const hf = slot * L.HOT_D;
  const hw = slot * L.HOT_W;
  const clock = INFER_CLOCKS[k];
  const cd = inf.cand;
  const o = inf.candidate(e, k);
  w[hw + L.W_CLOCK] = clock;
  f[hf + L.D_WS_JITTER] = cd[o + C.JIT];
  f[hf + L.D_WS_NOMINAL] = cd[o + C.NOM];
  f[hf + L.D_SKEW] = cd[o + C.SKEW];
  if (Math.abs(cd[o + C.MAXSK]) > Math.abs(f[hf + L.D_IV_MAX_SKEW])) f[hf + L.D_IV_MAX_SKEW] = cd[o + C.MAXSK];
  f[hf + L.D_MEAN_JITTER] = cd[o + C.MEANJ];
  w[hw + L.W_JITTERS] += inf.nincj[e];
  if (cd[o + C.MAXJ] > f[hf + L.D_IV_MAX_JITTER]) f[hf + L.D_IV_MAX_JITTER] = cd[o + C.MAXJ];
  if (cd[o + C.MINJ] < f[hf + L.D_IV_MIN_JITTER]) f[hf + L.D_IV_MIN_JITTER] = cd[o + C.MINJ];
  f[hf + L.D_IV_SUM_JITTER] += cd[o + C.SUMJ];
  f[hf + L.D_A8_JITTER] = (cd[o + C.A8] * clock) / 1000;
  f[hf + L.D_A8_PREV_MS] = inf.prevMs[e];
  w[hw + L.W_A8_PREV_TS] = inf.prevTs[e];
  st.b[slot * L.HOT_BYTES + L.B_A8_STARTED] = 1;
  const l = e * LS;
  w[hw + L.W_DRIFT_N] += inf.lsN[e];
  f[hf + L.D_DRIFT_X] += inf.ls[l];
  f[hf + L.D_DRIFT_Y] += (inf.ls[l + 1] * 1000) / clock;
  f[hf + L.D_DRIFT_XX] += inf.ls[l + 2];
  f[hf + L.D_DRIFT_XY] += (inf.ls[l + 3] * 1000) / clock;
}

/** A.8 jitter in ms (0 without a clock). */
export function a8JitterMs(st: StreamStore, slot: number): number {
  const clock = st.w[slot * L.HOT_W + L.W_CLOCK];
  return clock > 0 ? (st.f[slot * L.HOT_D + L.D_A8_JITTER] * 1000) / clock : 0;
}

/** Clock drift of the sender against the capture clock, ppm, from the least-squares fit (0 below 2 points). */
export function driftPpm(st: StreamStore, slot: number): number {
  const f = st.f;
  const hf = slot * L.HOT_D;
  const n = st.w[slot * L.HOT_W + L.W_DRIFT_N];
  if (n < 2) return 0;
  const sx = f[hf + L.D_DRIFT_X];
  const den = n * f[hf + L.D_DRIFT_XX] - sx * sx;
  if (!(den > 0)) return 0;
  const slope = (n * f[hf + L.D_DRIFT_XY] - sx * f[hf + L.D_DRIFT_Y]) / den;
  return (slope - 1) * 1e6;
}

/**
 * Packet duration (ms) for converting loss-run lengths to durations. RFC 3611 4.7.2 measures burst and gap
 * periods in RTP timestamps (end packet's timestamp plus its duration minus the beginning packet's), so:
 * the media time from the first packet to the last over the sequence numbers between them (`numbers`: the
 * last packet's number minus the first's; 0 unknown); a late or early packet moves none of it. Where the
 * timestamps cannot tell (no clock, numbers unknown, the last packet a telephone event, whose timestamp is
 * its event's start, or not past the first), the arrival spacing (arrivalPacketMs).
 */
export function packetMs(st: StreamStore, slot: number, numbers: number, lost: number, duplicates: number): number {
  const hw = slot * L.HOT_W;
  const clock = st.w[hw + L.W_CLOCK];
  const b = st.b;
  const hb = slot * L.HOT_BYTES;
  if (clock > 0 && numbers > 0 && b[hb + L.B_A8_STARTED] !== 0 && b[hb + L.B_PREV_KIND] !== Kind.TEV) {
    // The last packet's timestamp (A.8 keeps it for every packet with a clock but telephone events).
    const media = (st.w[hw + L.W_A8_PREV_TS] - st.w[hw + L.W_FIRST_TS]) | 0;
    if (media > 0) return (media * 1000) / clock / numbers;
  }
  return arrivalPacketMs(st, slot, lost, duplicates);
}

/**
 * Packet duration (ms) from arrivals: the measured inter-arrival times over the packet times they span:
 * the delta after k lost packets spans k + 1 of them, a duplicate's none (`lost`, `duplicates`: the
 * stream's counts). Deltas Wireshark leaves out (a marker packet's, the pause before a talkspurt) are not
 * among them. 20 before any delta.
 */
function arrivalPacketMs(st: StreamStore, slot: number, lost: number, duplicates: number): number {
  const n = st.w[slot * L.HOT_W + L.W_DELTAS];
  const spans = n + (lost > 0 ? lost : 0) - duplicates;
  return n > 0 && spans > 0 ? st.f[slot * L.HOT_D + L.D_SUM_DELTA] / spans : 20;
}

/**
 * A stream time the engine keeps relative to its epoch, as ms since the epoch truncated to the microsecond,
 * as HEP's timestamp is (captureTimeMs): added whole, a packet at x.9999999 s would read x+1 (a double near
 * 1.7e12 ms resolves only ~0.24 us). The relative time is first rounded to the ns it was captured in.
 */
export function epochMsPlus(epochMs: number, relMs: number): number {
  return epochMs + Math.floor(Math.round(relMs * 1e6) / 1000) / 1000;
}

/** Delta, jitter and skew figures of a snapshot's counter set (cumulative or the interval's); the period's packets `n`. */
export function fillTimingCounters(st: StreamStore, slot: number, o: StreamCounters, n: number, epochMs: number, cumulative: boolean): void {
  const f = st.f;
  const w = st.w;
  const hf = slot * L.HOT_D;
  const hw = slot * L.HOT_W;
  const cw = st.coldW(slot);
  const cd = st.coldD(slot);
  const bw = cumulative ? 0 : 1; // subtract the interval baselines or not
  const ninc = w[hw + L.W_DELTAS] - bw * w[cw + L.CW_DELTAS_BASE];
  const nincj = w[hw + L.W_JITTERS] - bw * w[cw + L.CW_JITTERS_BASE];
  let minD = f[hf + L.D_IV_MIN_DELTA];
  let maxD = f[hf + L.D_IV_MAX_DELTA];
  let minJ = f[hf + L.D_IV_MIN_JITTER];
  let maxJ = f[hf + L.D_IV_MAX_JITTER];
  let maxSk = f[hf + L.D_IV_MAX_SKEW];
  if (cumulative) {
    // Earlier intervals first: a later value replaces the max |skew| only when strictly larger.
    if (f[cd + L.CD_PRIOR_MIN_DELTA] < minD) minD = f[cd + L.CD_PRIOR_MIN_DELTA];
    if (f[cd + L.CD_PRIOR_MAX_DELTA] > maxD) maxD = f[cd + L.CD_PRIOR_MAX_DELTA];
    if (f[cd + L.CD_PRIOR_MIN_JITTER] < minJ) minJ = f[cd + L.CD_PRIOR_MIN_JITTER];
    if (f[cd + L.CD_PRIOR_MAX_JITTER] > maxJ) maxJ = f[cd + L.CD_PRIOR_MAX_JITTER];
    if (!(Math.abs(maxSk) > Math.abs(f[cd + L.CD_PRIOR_MAX_SKEW]))) maxSk = f[cd + L.CD_PRIOR_MAX_SKEW];
  }
  o.minDeltaMs = ninc > 0 ? minD : 0;
  o.maxDeltaMs = maxD;
  o.minJitterMs = nincj > 0 ? minJ : 0;
  o.maxJitterMs = maxJ;
  if (cumulative) {
    o.meanDeltaMs = f[hf + L.D_MEAN_DELTA];
    o.meanJitterMs = f[hf + L.D_MEAN_JITTER];
  } else {
    o.meanDeltaMs = ninc > 0 ? f[hf + L.D_IV_SUM_DELTA] / ninc : 0;
    o.meanJitterMs = nincj > 0 ? f[hf + L.D_IV_SUM_JITTER] / nincj : 0;
  }
  o.maxSkewMs = maxSk;
  o.startMs = n > 0 ? epochMsPlus(epochMs, cumulative ? f[hf + L.D_FIRST_MS] : f[hf + L.D_IV_START_MS]) : 0;
  o.endMs = n > 0 ? epochMsPlus(epochMs, f[hf + L.D_LAST_MS]) : 0;
}

/** Start a new interval: its min/max folded into the earlier intervals', its sums and counts restarted. */
export function foldTimingInterval(st: StreamStore, slot: number): void {
  const f = st.f;
  const w = st.w;
  const hf = slot * L.HOT_D;
  const cd = st.coldD(slot);
  const cw = st.coldW(slot);
  if (f[hf + L.D_IV_MIN_DELTA] < f[cd + L.CD_PRIOR_MIN_DELTA]) f[cd + L.CD_PRIOR_MIN_DELTA] = f[hf + L.D_IV_MIN_DELTA];
  if (f[hf + L.D_IV_MAX_DELTA] > f[cd + L.CD_PRIOR_MAX_DELTA]) f[cd + L.CD_PRIOR_MAX_DELTA] = f[hf + L.D_IV_MAX_DELTA];
  if (f[hf + L.D_IV_MIN_JITTER] < f[cd + L.CD_PRIOR_MIN_JITTER]) f[cd + L.CD_PRIOR_MIN_JITTER] = f[hf + L.D_IV_MIN_JITTER];
  if (f[hf + L.D_IV_MAX_JITTER] > f[cd + L.CD_PRIOR_MAX_JITTER]) f[cd + L.CD_PRIOR_MAX_JITTER] = f[hf + L.D_IV_MAX_JITTER];
  if (Math.abs(f[hf + L.D_IV_MAX_SKEW]) > Math.abs(f[cd + L.CD_PRIOR_MAX_SKEW])) f[cd + L.CD_PRIOR_MAX_SKEW] = f[hf + L.D_IV_MAX_SKEW];
  f[hf + L.D_IV_MIN_DELTA] = Infinity;
  f[hf + L.D_IV_MAX_DELTA] = 0;
  f[hf + L.D_IV_MIN_JITTER] = Infinity;
  f[hf + L.D_IV_MAX_JITTER] = 0;
  f[hf + L.D_IV_MAX_SKEW] = 0;
  f[hf + L.D_IV_SUM_DELTA] = 0;
  f[hf + L.D_IV_SUM_JITTER] = 0;
  f[hf + L.D_IV_START_MS] = NaN;
  w[cw + L.CW_DELTAS_BASE] = w[slot * L.HOT_W + L.W_DELTAS];
  w[cw + L.CW_JITTERS_BASE] = w[slot * L.HOT_W + L.W_JITTERS];
}
