/**
 * Delta, jitter, skew and clock drift of a stream, over its record (stream-store.ts):
 *  - Wireshark's (tshark 4.0 RTP Stream Analysis): delta, jitter and skew per packet, their min/mean/max,
 *    reproduced exactly (including its timestamp-to-ms divisor) so that numbers users compare with tshark
 *    agree to its printed precision;
 *  - RFC 3550 A.8 interarrival jitter in timestamp units with the exact clock;
 *  - the sender's clock drift: a least-squares fit of nominal time (RTP timestamp) over arrival time.
 * The per-packet function reads the packet's arrival from D_LAST_MS, which the engine sets first: a
 * double argument would be boxed in each call the compiler does not inline.
 * Min/max are kept for the interval only; the cumulative ones combine them with those of the earlier
 * intervals (foldTimingInterval).
 */
import type { StreamCounters } from './snapshot.js';
import { Kind } from './payload-types.js';
import { C, type ClockInference, INFER_CLOCKS, LS } from './clock-inference.js';
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
 * A packet after the first (arrival in D_LAST_MS; W_PACKETS, B_KIND and W_CLOCK already its own,
 * B_PREV_KIND still the previous packet's kind: the engine moves it on after this call), ts its RTP
 * timestamp as int32, sinceFirst the signed timestamp distance from the first packet; wsClock:
 * Wireshark's timestamp-to-ms divisor, INTEGER clock/1000 (44100 Hz -> 44), else the exact clock. True
 * when Wireshark's min/mean/max include the packet.
 */
export function packetTiming(f: Float64Array, w: Int32Array, u8: Uint8Array, slotArg: number, ts: number, sinceFirst: number, marker: number, wsClock: boolean): boolean {
  const slot = slotArg & L.SLOT_MASK; // range for the compiler (stream-store.ts L.SLOT_MASK)
  const hf = slot * L.HOT_D;
  const hw = slot * L.HOT_W;
  const hb = slot * L.HOT_BYTES;
  const kind = u8[hb + L.B_KIND];
  const clock = w[hw + L.W_CLOCK];
  const t = f[hf + L.D_LAST_MS];
  let included = false;
  // Wireshark's delta / jitter / skew. Not for a timestamp older than the first packet's (the first
  // packets reordered, a sender restarting its timestamps), as tshark ("Incorrect timestamp"): the next
  // delta runs from the packet before it.
  if (sinceFirst >= 0) {
    // No divisor for telephone events (timestamps do not advance per packet) nor without a clock: delta only.
    const div = kind === Kind.TEV ? 0 : wsClock ? Math.floor(clock / 1000) : clock / 1000;
    const wsPrev = f[hf + L.D_WS_PREV_MS];
    f[hf + L.D_WS_PREV_MS] = t;
    const delta = t - wsPrev;
    let jitter = f[hf + L.D_WS_JITTER];
    if (div > 0) {
      const nominal = sinceFirst / div;
      const expected = wsPrev + (nominal - f[hf + L.D_WS_NOMINAL]);
      jitter = (15 * jitter + Math.abs(t - expected)) / 16;
      f[hf + L.D_WS_JITTER] = jitter;
      f[hf + L.D_WS_NOMINAL] = nominal;
      const skew = nominal - (t - f[hf + L.D_FIRST_MS]);
      f[hf + L.D_SKEW] = skew;
      if (Math.abs(skew) > Math.abs(f[hf + L.D_IV_MAX_SKEW])) f[hf + L.D_IV_MAX_SKEW] = skew;
      if (kind !== Kind.TEV) {
        // Least-squares sums of (arrival ms, exact nominal ms) since the first packet, for clock drift.
        const x = t - f[hf + L.D_FIRST_MS];
        // Divided first: sinceFirst * 1000 leaves the int32 range after 2^31 / 1000 clock ticks (268 s at
        // 8 kHz), and the compiled loop, built on int32 multiplications, would be thrown away then.
        const y = (sinceFirst / clock) * 1000;
        w[hw + L.W_DRIFT_N]++;
        f[hf + L.D_DRIFT_X] += x;
        f[hf + L.D_DRIFT_Y] += y;
        f[hf + L.D_DRIFT_XX] += x * x;
        f[hf + L.D_DRIFT_XY] += x * y;
      }
    }
    // Excluded from min/mean/max (but still in the jitter recursion): marker, comfort noise, the packet
    // after comfort noise.
    included = marker === 0 && kind !== Kind.CN && u8[hb + L.B_PREV_KIND] !== Kind.CN;
    if (included) {
      // Wireshark's running means divide by the number of packets before this one, excluded ones too.
      const before = w[hw + L.W_PACKETS] - 1;
      f[hf + L.D_MEAN_DELTA] = (f[hf + L.D_MEAN_DELTA] * (before - 1) + delta) / before;
      w[hw + L.W_DELTAS]++;
      f[hf + L.D_SUM_DELTA] += delta;
      if (delta > f[hf + L.D_IV_MAX_DELTA]) f[hf + L.D_IV_MAX_DELTA] = delta;
      if (delta < f[hf + L.D_IV_MIN_DELTA]) f[hf + L.D_IV_MIN_DELTA] = delta;
      f[hf + L.D_IV_SUM_DELTA] += delta;
      if (div > 0) {
        f[hf + L.D_MEAN_JITTER] = (f[hf + L.D_MEAN_JITTER] * (before - 1) + jitter) / before;
        w[hw + L.W_JITTERS]++;
        if (jitter > f[hf + L.D_IV_MAX_JITTER]) f[hf + L.D_IV_MAX_JITTER] = jitter;
        if (jitter < f[hf + L.D_IV_MIN_JITTER]) f[hf + L.D_IV_MIN_JITTER] = jitter;
        f[hf + L.D_IV_SUM_JITTER] += jitter;
      }
    }
  }
  // RFC 3550 A.8 interarrival jitter in timestamp units, exact clock, 32-bit timestamp wrap; not for
  // telephone events nor without a clock.
  if (kind !== Kind.TEV && clock > 0) {
    if (u8[hb + L.B_A8_STARTED] !== 0) {
      // A transit change of a second or more is a discontinuity (the sender restarted its timestamps),
      // not jitter: it is skipped instead of dominating the estimate for hundreds of packets.
      const d = Math.abs(((t - f[hf + L.D_A8_PREV_MS]) * clock) / 1000 - ((ts - w[hw + L.W_A8_PREV_TS]) | 0));
      const j = f[hf + L.D_A8_JITTER];
      if (d < clock) f[hf + L.D_A8_JITTER] = j + (d - j) / 16;
    }
    f[hf + L.D_A8_PREV_MS] = t;
    w[hw + L.W_A8_PREV_TS] = ts;
    u8[hb + L.B_A8_STARTED] = 1;
  }
  return included;
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
 * Packet duration (ms) for converting loss-run lengths to durations: the measured inter-arrival times over
 * the packet times they span: the delta after k lost packets spans k + 1 of them, a duplicate's none
 * (`lost`, `duplicates`: the stream's counts). Deltas Wireshark leaves out (a marker packet's, the pause
 * before a talkspurt) are not among them. 20 before any delta.
 */
export function packetMs(st: StreamStore, slot: number, lost: number, duplicates: number): number {
  const n = st.w[slot * L.HOT_W + L.W_DELTAS];
  const spans = n + (lost > 0 ? lost : 0) - duplicates;
  return n > 0 && spans > 0 ? st.f[slot * L.HOT_D + L.D_SUM_DELTA] / spans : 20;
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
  o.startMs = n > 0 ? epochMs + (cumulative ? f[hf + L.D_FIRST_MS] : f[hf + L.D_IV_START_MS]) : 0;
  o.endMs = n > 0 ? epochMs + f[hf + L.D_LAST_MS] : 0;
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
