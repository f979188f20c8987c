/**
 * RTP clock inference for payload types nothing explains (a dynamic type 96..127 without SDP): the clock
 * is chosen among INFER_CLOCKS from the timestamp advance against arrival time, during the stream's first
 * packets only. Until then the stream has no jitter or skew (tshark, which cannot know such a clock, shows
 * none at all); once chosen, jitter, skew and drift are as if the clock had been known from the first
 * packet, because Wireshark's jitter recursion ran for every candidate clock side by side meanwhile.
 *
 * Decision rules, cheapest evidence first:
 *  - video: a frame of several packets sharing one timestamp, the marker on its last, then a timestamp
 *    advance: every RTP video payload format uses 90 kHz;
 *  - votes: each pair of consecutive packets votes for the candidate within 3.5 % of its timestamp
 *    advance per ms of arrival; a candidate with at least 4 votes, a quarter of the pairs and twice the
 *    runner-up wins (a median: robust to bursts at the start of a capture) if the mean rate since the
 *    first packet is within 35 % of it (packets sent two at a time would otherwise vote for half the clock);
 *  - least squares: the rate fitted to arrival time over timestamp (the timestamp is exact, arrival carries
 *    the delay variation) within 3 % of a candidate, once 16 packets span 500 ms (a mean: robust to packets
 *    that always arrive in pairs or trios);
 *  - confidence: 44.1 and 48 kHz are only 8.8 % apart, less than a few ms of delay variation moves one
 *    20 ms pair (up to 4 ms of it gives the wrong one 0.6 votes for each of the right one's); so either of
 *    them is chosen only once the fitted rate, widened by CONFIDENCE_Z standard errors, stays on that
 *    candidate's side of the midpoint between the two (and, without votes for it, within 3 % of it);
 *  - after INFER_MAX_PACKETS packets without a decision the clock stays unknown (no jitter is reported).
 *
 * State: a fixed pool of entries, direct-mapped by stream slot (no per-stream memory); a stream whose entry
 * is taken by another inferring stream keeps an unknown clock (counted by the engine).
 */

/** Candidate clocks (Hz), in the order of the index kept per stream. */
export const INFER_CLOCKS = [8000, 16000, 32000, 44100, 48000, 90000] as const;
const K = INFER_CLOCKS.length;
export const INFER_VIDEO = 5; // index of 90000

/** Packets of the inferred payload type after which the clock stays unknown. */
export const INFER_MAX_PACKETS = 256;
const VOTE_TOLERANCE = 0.035; // 44.1 kHz + 3.5 % < 48 kHz - 3.5 %: a pair never fits both
/** A vote's winner must agree with the mean rate since the first packet within this factor (bursts). */
const VOTE_SPAN_FACTOR = 1.35;
const LSQ_TOLERANCE = 0.03;
const LSQ_MIN_PACKETS = 16;
const LSQ_MIN_SPAN_MS = 500;
/** Standard errors the fitted rate must stay clear of the midpoint to a close neighbour by. */
const CONFIDENCE_Z = 4;
/** Packets before a confident fit can confirm a vote for a candidate with a close neighbour. */
const CONFIRM_MIN_PACKETS = 8;
/** Half the relative distance from each candidate to its nearest neighbour: how far a fit may stray. */
const HALF_GAP = INFER_CLOCKS.map((c, k) => {
  let d = Infinity;
  for (let j = 0; j < INFER_CLOCKS.length; j++) if (j !== k) d = Math.min(d, Math.abs(INFER_CLOCKS[j] - c));
  return d / 2 / c;
});
/** Whether each candidate's nearest neighbour is above it. */
const NEIGHBOUR_ABOVE = INFER_CLOCKS.map((c, k) => {
  let best = -1;
  for (let j = 0; j < INFER_CLOCKS.length; j++) if (j !== k && (best < 0 || Math.abs(INFER_CLOCKS[j] - c) < Math.abs(INFER_CLOCKS[best] - c))) best = j;
  return INFER_CLOCKS[best] > c;
});
/** Candidates whose neighbour is too close for a vote alone (44.1 and 48 kHz). */
const NEEDS_CONFIRMATION = HALF_GAP.map((h) => h < 2 * VOTE_TOLERANCE);

/** Where a stream's clock came from (report field CLOCK_SOURCE). */
export const ClockSource = { unknown: 0, sdp: 1, static: 2, inferred: 3, config: 4 } as const;
export type ClockSource = (typeof ClockSource)[keyof typeof ClockSource];
const SOURCE_NAMES = ['unknown', 'sdp', 'static', 'inferred', 'config'];

export function clockSourceName(s: number): string {
  return SOURCE_NAMES[s] ?? 'unknown';
}

/** Float64 least-squares sums per entry (see ClockInference.ls): entry e's start at e * LS. */
export const LS = 5;

/** Per candidate, float64 offsets: Wireshark's jitter family and RFC 3550 A.8 jitter (ms). */
export const enum C {
  JIT = 0,
  NOM = 1,
  MEANJ = 2,
  MAXJ = 3,
  MINJ = 4,
  SUMJ = 5,
  SKEW = 6,
  MAXSK = 7,
  A8 = 8,
  SIZE = 9,
}

export class ClockInference {
  readonly mask: number;
  /** Slot owning the entry, -1 when free. */
  readonly owner: Int32Array;
  readonly pt: Uint8Array;
  readonly packets: Int32Array;
  readonly pairs: Int32Array;
  readonly votes: Int32Array;
  readonly prevSeq: Int32Array;
  readonly prevTs: Int32Array;
  readonly prevMs: Float64Array;
  /** Packets since the timestamp last changed (video frames), and whether a frame just ended with the marker. */
  readonly sameTs: Int32Array;
  readonly frameEnded: Uint8Array;
  readonly videoFrames: Int32Array;
  /** Measured (included) jitter samples, the same for every candidate. */
  readonly nincj: Int32Array;
  /** Least squares of (arrival ms since first, timestamp ticks since first): n, then x, y, xx, xy, yy. */
  readonly lsN: Int32Array;
  readonly ls: Float64Array;
  /** K candidates x C.SIZE float64 per entry. */
  readonly cand: Float64Array;

  constructor(entries: number) {
    let n = 16;
    while (n < entries) n <<= 1;
    this.mask = n - 1;
    this.owner = new Int32Array(n).fill(-1);
    this.pt = new Uint8Array(n);
    this.packets = new Int32Array(n);
    this.pairs = new Int32Array(n);
    this.votes = new Int32Array(n * K);
    this.prevSeq = new Int32Array(n);
    this.prevTs = new Int32Array(n);
    this.prevMs = new Float64Array(n);
    this.sameTs = new Int32Array(n);
    this.frameEnded = new Uint8Array(n);
    this.videoFrames = new Int32Array(n);
    this.nincj = new Int32Array(n);
    this.lsN = new Int32Array(n);
    this.ls = new Float64Array(n * LS);
    this.cand = new Float64Array(n * K * C.SIZE);
  }

  get byteSize(): number {
    return (
      this.owner.byteLength + this.pt.byteLength + this.packets.byteLength + this.pairs.byteLength + this.votes.byteLength +
      this.prevSeq.byteLength + this.prevTs.byteLength + this.prevMs.byteLength + this.sameTs.byteLength + this.frameEnded.byteLength +
      this.videoFrames.byteLength + this.nincj.byteLength + this.lsN.byteLength + this.ls.byteLength + this.cand.byteLength
    );
  }

  /** The entry `slot` owns, or -1. */
  entryOf(slot: number): number {
    const e = slot & this.mask;
    return this.owner[e] === slot ? e : -1;
  }

  /** Start inferring `pt` for `slot` from its first packet; false when the entry is busy. */
  begin(slot: number, pt: number, t: number, seq: number, ts: number): boolean {
    const e = slot & this.mask;
    if (this.owner[e] >= 0) return false;
    this.owner[e] = slot;
    this.pt[e] = pt;
    this.packets[e] = 1;
    this.pairs[e] = 0;
    this.votes.fill(0, e * K, e * K + K);
    this.prevSeq[e] = seq;
    this.prevTs[e] = ts;
    this.prevMs[e] = t;
    this.sameTs[e] = 0;
    this.frameEnded[e] = 0;
    this.videoFrames[e] = 0;
    this.nincj[e] = 0;
    this.lsN[e] = 0;
    this.ls.fill(0, e * LS, e * LS + LS);
    const cb = e * K * C.SIZE;
    this.cand.fill(0, cb, cb + K * C.SIZE);
    for (let k = 0; k < K; k++) this.cand[cb + k * C.SIZE + C.MINJ] = Infinity;
    return true;
  }

  release(e: number): void {
    this.owner[e] = -1;
  }

  /**
   * One more packet of the entry's payload type (its timestamp not older than the first's). wsPrevMs:
   * Wireshark's previous packet time; firstMs/sinceFirst: the stream's first arrival and the signed
   * timestamp distance to its first; included: the packet counts in min/mean/max; before: packets
   * before this one; integerClock: Wireshark's clock/1000 integer division.
   */
  sample(
    e: number, t: number, wsPrevMs: number, seq: number, ts: number, marker: number, sinceFirst: number, firstMs: number,
    included: boolean, before: number, integerClock: boolean,
  ): void {
    this.packets[e]++;
    // Votes and video frames: consecutive sequence numbers only (reordering says nothing about the clock).
    const dts = (ts - this.prevTs[e]) | 0;
    const dt = t - this.prevMs[e];
    if (seq === ((this.prevSeq[e] + 1) & 0xffff)) {
      if (dts === 0) {
        this.sameTs[e]++;
        this.frameEnded[e] = marker !== 0 ? 1 : 0;
      } else if (dts > 0) {
        if (this.frameEnded[e] !== 0 && this.sameTs[e] > 0) this.videoFrames[e]++;
        this.pairs[e]++;
        if (dt > 0) {
          const hz = (dts * 1000) / dt;
          for (let k = 0; k < K; k++) {
            if (Math.abs(hz / INFER_CLOCKS[k] - 1) <= VOTE_TOLERANCE) {
              this.votes[e * K + k]++;
              break;
            }
          }
        }
      }
    }
    if (dts !== 0) {
      this.sameTs[e] = 0;
      this.frameEnded[e] = 0;
    }
    // Wireshark's jitter, skew and RFC 3550 A.8 for every candidate (as the engine's nextPacket does for one).
    const cb = e * K * C.SIZE;
    const cd = this.cand;
    const a8dt = t - this.prevMs[e];
    if (included) this.nincj[e]++;
    for (let k = 0; k < K; k++) {
      const o = cb + k * C.SIZE;
      const clock = INFER_CLOCKS[k];
      const div = integerClock ? Math.floor(clock / 1000) : clock / 1000;
      const nominal = sinceFirst / div;
      const expected = wsPrevMs + (nominal - cd[o + C.NOM]);
      const jitter = (15 * cd[o + C.JIT] + Math.abs(t - expected)) / 16;
      cd[o + C.JIT] = jitter;
      cd[o + C.NOM] = nominal;
      const skew = nominal - (t - firstMs);
      cd[o + C.SKEW] = skew;
      if (Math.abs(skew) > Math.abs(cd[o + C.MAXSK])) cd[o + C.MAXSK] = skew;
      if (included) {
        cd[o + C.MEANJ] = (cd[o + C.MEANJ] * (before - 1) + jitter) / before;
        if (jitter > cd[o + C.MAXJ]) cd[o + C.MAXJ] = jitter;
        if (jitter < cd[o + C.MINJ]) cd[o + C.MINJ] = jitter;
        cd[o + C.SUMJ] += jitter;
      }
      const d = Math.abs(a8dt - (dts * 1000) / clock);
      if (d < 1000) cd[o + C.A8] += (d - cd[o + C.A8]) / 16; // as the engine: a second or more is a discontinuity
    }
    const x = t - firstMs;
    const l = e * LS;
    this.lsN[e]++;
    this.ls[l] += x;
    this.ls[l + 1] += sinceFirst;
    this.ls[l + 2] += x * x;
    this.ls[l + 3] += x * sinceFirst;
    this.ls[l + 4] += sinceFirst * sinceFirst;
    this.prevSeq[e] = seq;
    this.prevTs[e] = ts;
    this.prevMs[e] = t;
  }

  /** Index into INFER_CLOCKS once the evidence is enough, -1 to go on, -2 to give up. */
  decide(e: number, spanMs: number, sinceFirst: number): number {
    if (this.videoFrames[e] > 0) return INFER_VIDEO;
    const pairs = this.pairs[e];
    const n = this.lsN[e] + 1; // the first packet is the origin (0, 0): counted, adds nothing to the sums
    if (pairs >= 6) {
      let best = 0;
      let second = 0;
      let bestK = -1;
      for (let k = 0; k < K; k++) {
        const v = this.votes[e * K + k];
        if (v > best) {
          second = best;
          best = v;
          bestK = k;
        } else if (v > second) {
          second = v;
        }
      }
      const meanHz = spanMs > 0 ? (sinceFirst * 1000) / spanMs : 0;
      const ratio = meanHz / INFER_CLOCKS[bestK < 0 ? 0 : bestK];
      if (best >= 4 && best * 4 >= pairs && best >= 2 * second && ratio * VOTE_SPAN_FACTOR >= 1 && ratio <= VOTE_SPAN_FACTOR) {
        if (!NEEDS_CONFIRMATION[bestK]) return bestK;
        if (n >= CONFIRM_MIN_PACKETS && this.prefers(e, n, bestK)) return bestK;
      }
    }
    if (n >= LSQ_MIN_PACKETS && spanMs >= LSQ_MIN_SPAN_MS) {
      const k = this.fit(e, n);
      if (k >= 0) return k;
    }
    return this.packets[e] >= INFER_MAX_PACKETS ? -2 : -1;
  }

  /**
   * True when the least-squares rate, widened by CONFIDENCE_Z standard errors, lies wholly on candidate
   * k's side of the midpoint to its nearest neighbour (however far from k itself: bursts at the start of a
   * short stream move the mean rate more than they move the votes).
   */
  private prefers(e: number, n: number, k: number): boolean {
    const f = this.rate(e, n);
    if (f === null) return false;
    const mid = INFER_CLOCKS[k] * (1 + (NEIGHBOUR_ABOVE[k] ? HALF_GAP[k] : -HALF_GAP[k]));
    const lo = f.hz * (1 - CONFIDENCE_Z * f.relSe);
    const hi = f.hz * (1 + CONFIDENCE_Z * f.relSe);
    return NEIGHBOUR_ABOVE[k] ? hi < mid : lo > mid;
  }

  /** Least-squares rate (Hz) of the entry and its relative standard error; null without a fit. */
  private rate(e: number, n: number): { hz: number; relSe: number } | null {
    const l = e * LS;
    const sx = this.ls[l];
    const sy = this.ls[l + 1];
    const syy = this.ls[l + 4] - (sy * sy) / n;
    if (!(syy > 0) || n < 3) return null;
    const sxy = this.ls[l + 3] - (sx * sy) / n;
    const sxx = this.ls[l + 2] - (sx * sx) / n;
    const msPerTick = sxy / syy;
    if (!(msPerTick > 0)) return null;
    // Residuals in arrival ms; the rate's relative standard error is the slope's.
    const rss = Math.max(0, sxx - sxy * msPerTick);
    return { hz: 1000 / msPerTick, relSe: Math.sqrt(rss / (n - 2) / syy) / msPerTick };
  }

  /**
   * The candidate the least-squares rate fits: within LSQ_TOLERANCE and, for a candidate with a close
   * neighbour, CONFIDENCE_Z standard errors short of the midpoint to it; -1 when none.
   */
  private fit(e: number, n: number): number {
    const f = this.rate(e, n);
    if (f === null) return -1;
    for (let k = 0; k < K; k++) {
      const off = Math.abs(f.hz / INFER_CLOCKS[k] - 1);
      if (off > LSQ_TOLERANCE) continue;
      return !NEEDS_CONFIRMATION[k] || off + CONFIDENCE_Z * f.relSe <= HALF_GAP[k] ? k : -1;
    }
    return -1;
  }

  /** Float64 base of candidate k of entry e in `cand`. */
  candidate(e: number, k: number): number {
    return e * K * C.SIZE + k * C.SIZE;
  }
}
