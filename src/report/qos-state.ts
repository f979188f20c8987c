import type { StreamCounters } from '../rtp/snapshot.js';
import type { CodecParams } from '../qos/codecs.js';
import type { DelayEstimate } from '../qos/delay.js';
import { computeRFactor, intervalLossPct } from '../qos/emodel.js';

/**
 * Per-stream R/MOS history across report intervals, struct-of-arrays by stream slot (no object per
 * stream). MOS is only ever computed from ONE interval's loss (homer#258: cumulative loss hides recent
 * trouble and drifts toward the call average); the call-level figures are min and mean over intervals.
 */
export class StreamQosState {
  readonly maxStreams: number;
  /** Intervals recorded for the slot. */
  readonly count: Uint32Array;
  readonly lastR: Float64Array;
  readonly lastMos: Float64Array;
  readonly minR: Float64Array;
  readonly minMos: Float64Array;
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

  constructor(maxStreams: number) {
    this.maxStreams = maxStreams;
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
  }

  /**
   * Computes R and MOS for one interval from its OWN loss and burst ratio and records it. An interval
   * with nothing expected (silent, on hold) is not scored: it returns false and keeps the last values.
   */
  assessInterval(slot: number, interval: StreamCounters, codec: CodecParams, delay: DelayEstimate): boolean {
    if (!(interval.expected > 0)) return false;
    const lossPct = intervalLossPct(interval.lost, interval.expected);
    const burstR = interval.burstR > 0 && Number.isFinite(interval.burstR) ? interval.burstR : 1;
    const res = computeRFactor({ lossPct, burstR, oneWayDelayMs: delay.oneWayDelayMs, codec });
    this.record(slot, res.r, res.mos);
    this.lastIeEff[slot] = res.ieEff;
    this.lastId[slot] = res.id;
    this.lastLossPct[slot] = lossPct;
    this.lastBurstR[slot] = burstR;
    this.lastDelayMs[slot] = delay.oneWayDelayMs;
    this.lastNetworkDelayMs[slot] = delay.networkOneWayDelayMs;
    this.lastDelaySource[slot] = delay.source === 'rtcp' ? 1 : 0;
    return true;
  }

  record(slot: number, r: number, mos: number): void {
    const n = this.count[slot];
    if (n === 0 || r < this.minR[slot]) this.minR[slot] = r;
    if (n === 0 || mos < this.minMos[slot]) this.minMos[slot] = mos;
    this.sumR[slot] += r;
    this.sumMos[slot] += mos;
    this.lastR[slot] = r;
    this.lastMos[slot] = mos;
    this.count[slot] = n + 1;
  }

  meanR(slot: number): number {
    const n = this.count[slot];
    return n ? this.sumR[slot] / n : 0;
  }

  meanMos(slot: number): number {
    const n = this.count[slot];
    return n ? this.sumMos[slot] / n : 0;
  }
}
