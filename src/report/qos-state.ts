import type { StreamCounters } from '../rtp/snapshot.js';
import type { CodecParams } from '../qos/codecs.js';
import type { DelayEstimate } from '../qos/delay.js';
import { delayImpairment, intervalLossPct, mosFromR, rFactorInto, R_DEFAULT, type RFactorResult } from '../qos/emodel.js';
import { DEFAULT_JITTER_BUFFER, JB_ADAPT, JB_F1, type JitterBufferCounters } from '../rtp/jitter-buffer.js';

/** Jitter buffers as the scoring sees them: sizes of the fixed ones, and which one gives the report's MOS. */
export interface JitterBufferScoring {
  fixed1Ms: number;
  fixed2Ms: number;
  adaptiveMaxMs: number;
  /** 0 F1, 1 F2, 2 ADAPT; -1: MOS from network loss only (the buffers are still scored). */
  reference: number;
  /**
   * Each buffer's MOS takes that buffer's playout delay as the E-model's buffer delay (and the report's
   * BUFFER_DELAY is the reference buffer's, emulated); false: every MOS takes the delay estimate as given.
   */
  delayInMos?: boolean;
}

export const DEFAULT_JB_SCORING: JitterBufferScoring = {
  fixed1Ms: DEFAULT_JITTER_BUFFER.fixed1Ms,
  fixed2Ms: DEFAULT_JITTER_BUFFER.fixed2Ms,
  adaptiveMaxMs: DEFAULT_JITTER_BUFFER.adaptiveMaxMs,
  reference: JB_ADAPT,
};

/**
 * A scored period whose packets span less than this is a fragment, ms: it does not stand as an interval
 * of its own for the lowest-interval figures but joins its neighbour (see StreamQosState). Half a
 * second is a word or two of speech, not a listening sample (P.800 rates 8 s samples; VoIPmonitor
 * scores 10 s intervals and skips a last one under 1 s); it is half the shortest report interval a
 * configuration can set (1 s), so only a remainder, a stream that ended or paused in its interval, is
 * ever one.
 */
export const FRAGMENT_MS = 500;

/**
 * Per-stream R/MOS history across report intervals, struct-of-arrays by stream slot (no object per
 * stream). MOS is only ever computed from ONE interval's loss (homer#258: cumulative loss hides recent
 * trouble and drifts toward the call average); the call-level figures are min and mean over intervals.
 *
 * Means weigh each interval by the audio it held (its expected packets), so a stream's last 7 packets
 * count as 7 packets, not as a tenth of a 70 s call. The lowest-interval figures (minR, minMos and the
 * worst interval's times) are taken over units: an interval, with any fragment (FRAGMENT_MS) after it
 * folded in, its MOS and R the unit's periods' expected-weighted mean. A fragment is too short to be
 * heard as an interval, so it cannot set the worst MOS on its own; folded, its loss still counts, at its
 * share of the audio. The lowest never rises (a fragment that raises its unit's score leaves it), except
 * while the stream's first unit is still a fragment: until then that unit's score stands in for it.
 */
export class StreamQosState {
  readonly maxStreams: number;
  /** Intervals recorded for the slot. */
  readonly count: Uint32Array;
  readonly lastR: Float64Array;
  readonly lastMos: Float64Array;
  readonly minR: Float64Array;
  readonly minMos: Float64Array;
  /** Sums of R and MOS times each interval's weight (sumWeight). */
  readonly sumR: Float64Array;
  readonly sumMos: Float64Array;
  readonly lastIeEff: Float64Array;
  readonly lastId: Float64Array;
  readonly lastLossPct: Float64Array;
  readonly lastBurstR: Float64Array;
  readonly lastDelayMs: Float64Array;
  /** Network part of lastDelayMs (qos/delay.ts). */
  readonly lastNetworkDelayMs: Float64Array;
  /** 0 nominal, 1 rtcp. */
  readonly lastDelaySource: Uint8Array;

  // ---- jitter buffers (jitter-buffer.ts): per buffer b at slot * 3 + b ----
  readonly jbScoring: JitterBufferScoring;
  /** Network loss only (no buffer): the interval's R and MOS. */
  readonly lastNetR: Float64Array;
  readonly lastNetMos: Float64Array;
  readonly sumNetMos: Float64Array;
  readonly lastMosB: Float64Array;
  readonly lastRB: Float64Array;
  readonly sumMosB: Float64Array;
  readonly sumRB: Float64Array;
  /** Interval loss + discards, percent of expected. */
  readonly lastEffLossPctB: Float64Array;
  /** Reference buffer's playout delay in the interval (fixed size or mean adaptive delay), ms. */
  readonly lastJbDelayMs: Float64Array;
  /** RFC 3611 4.7 for the last interval: MOS-LQ (no delay impairment), MOS-CQ (network + buffer delay). */
  readonly lastMosLq: Float64Array;
  readonly lastMosCq: Float64Array;
  /** Round trip over the call's measured paths at the last scoring, ms; NaN when none is measured. */
  readonly lastRttMs: Float64Array;
  /** The interval (unit) of the lowest MOS (capture time, ms since the epoch). */
  readonly worstStartMs: Float64Array;
  readonly worstEndMs: Float64Array;
  /** Weight of the means: expected packets of the scored intervals. */
  readonly sumWeight: Float64Array;
  // ---- the unit being built: the latest interval and the fragments after it ----
  private readonly unitMos: Float64Array;
  private readonly unitR: Float64Array;
  private readonly unitWeight: Float64Array;
  private readonly unitSpanMs: Float64Array;
  private readonly unitStartMs: Float64Array;
  private readonly unitEndMs: Float64Array;
  /** assessInterval's E-model results: network loss only, and through each buffer (reused every interval). */
  private readonly net: RFactorResult = { r: 0, mos: 0, ieEff: 0, id: 0 };
  private readonly buffers: RFactorResult[] = [0, 1, 2].map(() => ({ r: 0, mos: 0, ieEff: 0, id: 0 }));

  constructor(maxStreams: number, jb: JitterBufferScoring = DEFAULT_JB_SCORING) {
    this.maxStreams = maxStreams;
    this.jbScoring = jb;
    this.lastNetR = new Float64Array(maxStreams);
    this.lastNetMos = new Float64Array(maxStreams);
    this.sumNetMos = new Float64Array(maxStreams);
    this.lastMosB = new Float64Array(maxStreams * 3);
    this.lastRB = new Float64Array(maxStreams * 3);
    this.sumMosB = new Float64Array(maxStreams * 3);
    this.sumRB = new Float64Array(maxStreams * 3);
    this.lastEffLossPctB = new Float64Array(maxStreams * 3);
    this.lastJbDelayMs = new Float64Array(maxStreams);
    this.lastMosLq = new Float64Array(maxStreams);
    this.lastMosCq = new Float64Array(maxStreams);
    this.lastRttMs = new Float64Array(maxStreams).fill(NaN);
    this.worstStartMs = new Float64Array(maxStreams);
    this.worstEndMs = new Float64Array(maxStreams);
    this.sumWeight = new Float64Array(maxStreams);
    this.unitMos = new Float64Array(maxStreams);
    this.unitR = new Float64Array(maxStreams);
    this.unitWeight = new Float64Array(maxStreams);
    this.unitSpanMs = new Float64Array(maxStreams);
    this.unitStartMs = new Float64Array(maxStreams);
    this.unitEndMs = new Float64Array(maxStreams);
    this.count = new Uint32Array(maxStreams);
    this.lastR = new Float64Array(maxStreams);
    this.lastMos = new Float64Array(maxStreams);
    this.minR = new Float64Array(maxStreams);
    this.minMos = new Float64Array(maxStreams);
    this.sumR = new Float64Array(maxStreams);
    this.sumMos = new Float64Array(maxStreams);
    this.lastIeEff = new Float64Array(maxStreams);
    this.lastId = new Float64Array(maxStreams);
    this.lastLossPct = new Float64Array(maxStreams);
    this.lastBurstR = new Float64Array(maxStreams);
    this.lastDelayMs = new Float64Array(maxStreams);
    this.lastNetworkDelayMs = new Float64Array(maxStreams);
    this.lastDelaySource = new Uint8Array(maxStreams);
  }

  /** Call when a slot is (re)assigned to a new stream. */
  reset(slot: number): void {
    this.count[slot] = 0;
    this.lastR[slot] = 0;
    this.lastMos[slot] = 0;
    this.minR[slot] = 0;
    this.minMos[slot] = 0;
    this.sumR[slot] = 0;
    this.sumMos[slot] = 0;
    this.lastIeEff[slot] = 0;
    this.lastId[slot] = 0;
    this.lastLossPct[slot] = 0;
    this.lastBurstR[slot] = 1;
    this.lastDelayMs[slot] = 0;
    this.lastNetworkDelayMs[slot] = 0;
    this.lastDelaySource[slot] = 0;
    this.lastNetR[slot] = 0;
    this.lastNetMos[slot] = 0;
    this.sumNetMos[slot] = 0;
    for (let b = slot * 3; b < slot * 3 + 3; b++) {
      this.lastMosB[b] = 0;
      this.lastRB[b] = 0;
      this.sumMosB[b] = 0;
      this.sumRB[b] = 0;
      this.lastEffLossPctB[b] = 0;
    }
    this.lastJbDelayMs[slot] = 0;
    this.lastMosLq[slot] = 0;
    this.lastMosCq[slot] = 0;
    this.lastRttMs[slot] = NaN;
    this.worstStartMs[slot] = 0;
    this.worstEndMs[slot] = 0;
    this.sumWeight[slot] = 0; // the first period scored opens a unit, every unit field written
  }

  /**
   * Computes R and MOS for one interval from its OWN loss and burst ratio and records it. An interval
   * with nothing expected (silent, on hold) is not scored: it returns false and keeps the last values.
   */
  assessInterval(slot: number, interval: StreamCounters, codec: CodecParams, delay: DelayEstimate, jb?: JitterBufferCounters | null): boolean {
    if (!(interval.expected > 0)) return false;
    const weight = interval.expected;
    const lossPct = intervalLossPct(interval.lost, interval.expected);
    const burstR = interval.burstR > 0 && Number.isFinite(interval.burstR) ? interval.burstR : 1;
    const net = rFactorInto(this.net, lossPct, burstR, delay.oneWayDelayMs, codec);
    this.lastNetR[slot] = net.r;
    this.lastNetMos[slot] = net.mos;
    this.sumNetMos[slot] += net.mos * weight;
    let res = net;
    let mainLossPct = lossPct;
    let mainBurstR = burstR;
    const ref = this.jbScoring.reference;
    if (jb) {
      // Each buffer: the interval's network losses plus its discards, with the runs they formed together.
      const lost = interval.lost > 0 ? interval.lost : 0;
      for (let b = 0; b < 3; b++) {
        const effPct = Math.min(100, (100 * (lost + jb.discards[b])) / interval.expected);
        const br = jb.burstR[b] > 0 && Number.isFinite(jb.burstR[b]) ? jb.burstR[b] : 1;
        const dB = this.jbScoring.delayInMos ? delay.networkOneWayDelayMs + this.bufferDelayMs(jb, b) : delay.oneWayDelayMs;
        const rb = rFactorInto(this.buffers[b], effPct, br, dB, codec);
        const i = slot * 3 + b;
        this.lastMosB[i] = rb.mos;
        this.lastRB[i] = rb.r;
        this.sumMosB[i] += rb.mos * weight;
        this.sumRB[i] += rb.r * weight;
        this.lastEffLossPctB[i] = effPct;
        if (b === ref) {
          res = rb;
          mainLossPct = effPct;
          mainBurstR = br;
        }
      }
      this.lastJbDelayMs[slot] = ref < 0 ? 0 : this.bufferDelayMs(jb, ref);
    }
    // RFC 3611 4.7: listening quality without any delay impairment, conversational with network + buffer delay.
    this.lastMosLq[slot] = mosFromR(res.r + res.id);
    const cqDelayMs = jb && ref >= 0 ? delay.networkOneWayDelayMs + this.lastJbDelayMs[slot] : delay.oneWayDelayMs;
    this.lastMosCq[slot] = mosFromR(R_DEFAULT - delayImpairment(cqDelayMs) - res.ieEff);
    // RFC 3611 round-trip delay: the measured paths' round trips summed (twice the network one-way delay).
    this.lastRttMs[slot] = delay.source === 'rtcp' ? 2 * delay.networkOneWayDelayMs : NaN;
    this.record(slot, res, interval);
    this.lastIeEff[slot] = res.ieEff;
    this.lastId[slot] = res.id;
    this.lastLossPct[slot] = mainLossPct;
    this.lastBurstR[slot] = mainBurstR;
    this.lastDelayMs[slot] = delay.oneWayDelayMs;
    this.lastNetworkDelayMs[slot] = delay.networkOneWayDelayMs;
    this.lastDelaySource[slot] = delay.source === 'rtcp' ? 1 : 0;
    return true;
  }

  /**
   * Records one scored period: its R and MOS, its weight in the means (expected packets) and its first
   * and last packet's times, which tell a fragment (FRAGMENT_MS) and date the worst unit. Takes the
   * objects holding them: the function is too large to inline, and five numbers passed to a call are
   * five heap numbers allocated per interval.
   */
  record(slot: number, res: Pick<RFactorResult, 'r' | 'mos'>, period: Pick<StreamCounters, 'expected' | 'startMs' | 'endMs'>): void {
    const r = res.r;
    const mos = res.mos;
    const weight = period.expected;
    const startMs = period.startMs;
    const endMs = period.endMs;
    const n = this.count[slot];
    this.sumR[slot] += r * weight;
    this.sumMos[slot] += mos * weight;
    this.sumWeight[slot] += weight;
    this.lastR[slot] = r;
    this.lastMos[slot] = mos;
    this.count[slot] = n + 1;
    const spanMs = endMs - startMs > 0 ? endMs - startMs : 0; // NaN or reversed times: a fragment
    // Nothing yet, or only the stream's first unit while still a fragment: the lowest is not settled.
    const provisional = n === 0 || this.unitSpanMs[slot] < FRAGMENT_MS;
    if (n > 0 && (spanMs < FRAGMENT_MS || this.unitSpanMs[slot] < FRAGMENT_MS)) {
      // A fragment joins the unit before it, and a unit that is still a fragment takes the next period.
      const w = this.unitWeight[slot];
      const sum = w + weight;
      this.unitMos[slot] = (this.unitMos[slot] * w + mos * weight) / sum;
      this.unitR[slot] = (this.unitR[slot] * w + r * weight) / sum;
      this.unitWeight[slot] = sum;
      this.unitSpanMs[slot] += spanMs;
      this.unitEndMs[slot] = endMs;
    } else {
      this.unitMos[slot] = mos;
      this.unitR[slot] = r;
      this.unitWeight[slot] = weight;
      this.unitSpanMs[slot] = spanMs;
      this.unitStartMs[slot] = startMs;
      this.unitEndMs[slot] = endMs;
    }
    // The earlier unit stays the worst on a tie.
    if (provisional || this.unitMos[slot] < this.minMos[slot]) {
      this.minMos[slot] = this.unitMos[slot];
      this.worstStartMs[slot] = this.unitStartMs[slot];
      this.worstEndMs[slot] = this.unitEndMs[slot];
    }
    if (provisional || this.unitR[slot] < this.minR[slot]) this.minR[slot] = this.unitR[slot];
  }

  /** Mean R over the scored intervals, each weighed by its expected packets (as every mean here). */
  meanR(slot: number): number {
    const w = this.sumWeight[slot];
    return w > 0 ? this.sumR[slot] / w : 0;
  }

  /** Playout delay of buffer b in the interval: the fixed size, or the adaptive buffer's mean delay, ms. */
  bufferDelayMs(jb: JitterBufferCounters, b: number): number {
    const s = this.jbScoring;
    return b === JB_F1 ? s.fixed1Ms : b === JB_ADAPT ? jb.adaptiveDelayMs : s.fixed2Ms;
  }

  /** Mean over the scored intervals of buffer b's MOS / R, and of the network-only MOS (weighed as meanR). */
  meanMosB(slot: number, b: number): number {
    const w = this.sumWeight[slot];
    return w > 0 ? this.sumMosB[slot * 3 + b] / w : 0;
  }

  meanRB(slot: number, b: number): number {
    const w = this.sumWeight[slot];
    return w > 0 ? this.sumRB[slot * 3 + b] / w : 0;
  }

  meanNetMos(slot: number): number {
    const w = this.sumWeight[slot];
    return w > 0 ? this.sumNetMos[slot] / w : 0;
  }

  meanMos(slot: number): number {
    const w = this.sumWeight[slot];
    return w > 0 ? this.sumMos[slot] / w : 0;
  }

  /** A report's MOS: the mean over the stream's scored periods in FINAL/HANGUP, else the latest; 0 when none was scored. */
  reportMos(slot: number, final: boolean): number {
    return this.count[slot] === 0 ? 0 : final ? this.meanMos(slot) : this.lastMos[slot];
  }
}
