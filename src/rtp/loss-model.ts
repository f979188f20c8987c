/**
 * Loss pattern per stream for the E-model: a 2-state Gilbert model (p = P(lost | previous received),
 * q = P(received | previous lost), BurstR = 1/(p+q)) and RFC 3611 4.7 burst/gap metrics with Gmin 16.
 * Fed with the FINAL state of each sequence number (received or lost) in order; the engine feeds a
 * number only once it left the reorder window, so late packets are not counted as losses.
 *
 * Burst rule (RFC 3611 4.7.1): a burst starts and ends with a loss and contains no run of Gmin or more
 * received packets; an isolated loss (a cluster of one) belongs to the gap, as in RFC 3611 Appendix A.2.
 */
export const GMIN = 16;

// Field offsets inside one stream's block of LOSS_FIELDS float64s.
const LAST = 0;
const NRR = 1;
const NRL = 2;
const NLR = 3;
const NLL = 4;
const RECV_RUN = 5;
const CL_PKTS = 6;
const CL_LOST = 7;
const BURST_PKTS = 8;
const BURST_LOST = 9;
const NBURSTS = 10;
const GAP_PKTS = 11;
const GAP_LOST = 12;
export const LOSS_FIELDS = 13;

/** Feed one sequence number's final state. */
export function lossFeed(s: Float64Array, b: number, received: boolean): void {
  const last = s[b + LAST];
  if (received) {
    if (last === 1) s[b + NRR]++;
    else if (last === 2) s[b + NLR]++;
    s[b + LAST] = 1;
    s[b + RECV_RUN]++;
    if (s[b + CL_LOST] > 0 && s[b + RECV_RUN] >= GMIN) closeCluster(s, b);
  } else {
    if (last === 1) s[b + NRL]++;
    else if (last === 2) s[b + NLL]++;
    s[b + LAST] = 2;
    if (s[b + CL_LOST] > 0) {
      s[b + CL_PKTS] += s[b + RECV_RUN] + 1;
      s[b + CL_LOST]++;
    } else {
      s[b + GAP_PKTS] += s[b + RECV_RUN];
      s[b + CL_PKTS] = 1;
      s[b + CL_LOST] = 1;
    }
    s[b + RECV_RUN] = 0;
  }
}

function closeCluster(s: Float64Array, b: number): void {
  if (s[b + CL_LOST] >= 2) {
    s[b + BURST_PKTS] += s[b + CL_PKTS];
    s[b + BURST_LOST] += s[b + CL_LOST];
    s[b + NBURSTS]++;
  } else {
    s[b + GAP_PKTS] += s[b + CL_PKTS];
    s[b + GAP_LOST] += s[b + CL_LOST];
  }
  s[b + CL_PKTS] = 0;
  s[b + CL_LOST] = 0;
}

/** Resolve what is still pending (open cluster, trailing received run) as if the stream ended here. */
export function lossResolve(s: Float64Array, b: number): void {
  if (s[b + CL_LOST] > 0) closeCluster(s, b);
  s[b + GAP_PKTS] += s[b + RECV_RUN];
  s[b + RECV_RUN] = 0;
}

export function lossReset(s: Float64Array, b: number): void {
  for (let i = 0; i < LOSS_FIELDS; i++) s[b + i] = 0;
}

export function lossCopy(from: Float64Array, fb: number, to: Float64Array, tb: number): void {
  for (let i = 0; i < LOSS_FIELDS; i++) to[tb + i] = from[fb + i];
}

/** Output of lossMetrics (a caller-owned object). */
export interface LossMetrics {
  lossP: number;
  lossQ: number;
  burstR: number;
  burstDensity: number;
  gapDensity: number;
  burstDurationMs: number;
  gapDurationMs: number;
}

/**
 * Metrics of the resolved state `s` minus the resolved baseline `base` (pass the same array/offset of a
 * zero block for cumulative values). packetMs converts packet counts to durations.
 */
export function lossMetrics(s: Float64Array, b: number, z: Float64Array, zb: number, packetMs: number, out: LossMetrics): void {
  const rr = s[b + NRR] - z[zb + NRR];
  const rl = s[b + NRL] - z[zb + NRL];
  const lr = s[b + NLR] - z[zb + NLR];
  const ll = s[b + NLL] - z[zb + NLL];
  const p = rr + rl > 0 ? rl / (rr + rl) : 0;
  // No transition out of the lost state observed: treat recovery as certain (q = 1) so that a single
  // trailing loss does not read as an infinite burst.
  const q = lr + ll > 0 ? lr / (lr + ll) : 1;
  out.lossP = p;
  out.lossQ = q;
  out.burstR = rl === 0 ? 1 : 1 / (p + q); // no loss -> 1 by definition
  const bp = s[b + BURST_PKTS] - z[zb + BURST_PKTS];
  const bl = s[b + BURST_LOST] - z[zb + BURST_LOST];
  const nb = s[b + NBURSTS] - z[zb + NBURSTS];
  const gp = s[b + GAP_PKTS] - z[zb + GAP_PKTS];
  const gl = s[b + GAP_LOST] - z[zb + GAP_LOST];
  out.burstDensity = bp > 0 ? bl / bp : 0;
  out.gapDensity = gp > 0 ? gl / gp : 0;
  out.burstDurationMs = nb > 0 ? (bp * packetMs) / nb : 0;
  // Gaps alternate with bursts: one more gap than bursts when there were gap packets at all.
  out.gapDurationMs = gp > 0 ? (gp * packetMs) / (nb + 1) : 0;
}
