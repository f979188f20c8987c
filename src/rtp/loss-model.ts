/**
 * Loss pattern per stream for the E-model: a 2-state Gilbert model (p = P(lost | previous received),
 * q = P(received | previous lost), BurstR = 1/(p+q)) and RFC 3611 4.7 burst/gap metrics with Gmin 16.
 * Fed with the FINAL state of each sequence number (received or lost) in order; the engine feeds a
 * number only once it left the reorder window, so late packets are not counted as losses.
 *
 * Burst rule (RFC 3611 4.7.1): a burst starts and ends with a loss and contains no run of Gmin or more
 * received packets; an isolated loss (a cluster of one) belongs to the gap, as in RFC 3611 Appendix A.2.
 *
 * Stored per stream (stream-store.ts): the last state, the open cluster (packets, losses, received run
 * since its last loss), R->L and L->L transitions, burst packets/losses/count. The rest follows exactly
 * from the number of states fed F (the engine's RFC 3550 expected count once resolved) because the first
 * number fed is always a received one (the stream's first packet):
 *   lost fed L = NRL + NLL; L->R = NRL - [last is lost]; R->R = F - 1 - NRL - NLR - NLL;
 *   F = burst packets + gap packets + open cluster + pending received run, L = burst + gap + open losses.
 */
import { L } from './stream-store.js';
import type { StreamCounters } from './snapshot.js';

export const GMIN = 16;

/** The event counters at L.CW_LOSS (and their interval baseline at L.CW_LOSS_BASE), in this order. */
export const enum Loss {
  /** Transitions received -> lost and lost -> lost. */
  RL = 0,
  LL = 1,
  /** Closed bursts: their packets, losses and number. */
  BURST_PKTS = 2,
  BURST_LOST = 3,
  BURSTS = 4,
  COUNT = 5,
}

/** Feed one number's final state. hw/hb: the slot's hot int32/byte bases; cw: its cold int32 base. */
export function lossFeed(w: Int32Array, b: Uint8Array, hwArg: number, hbArg: number, cwArg: number, received: boolean): void {
  // Ranges for the compiler (stream-store.ts INDEX_MASK): no overflow checks on the offsets below.
  const hw = hwArg & L.INDEX_MASK, hb = hbArg & L.INDEX_MASK, cw = cwArg & L.INDEX_MASK;
  const last = b[hb + L.B_LOSS_LAST];
  if (received) {
    b[hb + L.B_LOSS_LAST] = 1;
    const run = w[hw + L.W_RECV_RUN] + 1;
    w[hw + L.W_RECV_RUN] = run;
    if (run >= GMIN && w[hw + L.W_CLUSTER_LOST] > 0) closeCluster(w, hw, cw);
  } else {
    if (last === 1) w[cw + L.CW_LOSS + Loss.RL]++;
    else if (last === 2) w[cw + L.CW_LOSS + Loss.LL]++;
    b[hb + L.B_LOSS_LAST] = 2;
    if (w[hw + L.W_CLUSTER_LOST] > 0) {
      w[hw + L.W_CLUSTER_PKTS] += w[hw + L.W_RECV_RUN] + 1;
      w[hw + L.W_CLUSTER_LOST]++;
    } else {
      w[hw + L.W_CLUSTER_PKTS] = 1;
      w[hw + L.W_CLUSTER_LOST] = 1;
    }
    w[hw + L.W_RECV_RUN] = 0;
  }
}

function closeCluster(w: Int32Array, hw: number, cw: number): void {
  if (w[hw + L.W_CLUSTER_LOST] >= 2) {
    w[cw + L.CW_LOSS + Loss.BURST_PKTS] += w[hw + L.W_CLUSTER_PKTS];
    w[cw + L.CW_LOSS + Loss.BURST_LOST] += w[hw + L.W_CLUSTER_LOST];
    w[cw + L.CW_LOSS + Loss.BURSTS]++;
  } // else: a gap cluster; gap counts are derived
  w[hw + L.W_CLUSTER_PKTS] = 0;
  w[hw + L.W_CLUSTER_LOST] = 0;
}

/** Resolve what is still pending (open cluster, trailing received run) as if the stream ended here. */
export function lossResolve(w: Int32Array, hw: number, cw: number): void {
  if (w[hw + L.W_CLUSTER_LOST] > 0) closeCluster(w, hw, cw);
  w[hw + L.W_RECV_RUN] = 0;
}

/** Copy the loss state of one record to another (same layout). */
export function lossCopy(w: Int32Array, b: Uint8Array, fromHw: number, fromHb: number, fromCw: number, toHw: number, toHb: number, toCw: number): void {
  b[toHb + L.B_LOSS_LAST] = b[fromHb + L.B_LOSS_LAST];
  w[toHw + L.W_RECV_RUN] = w[fromHw + L.W_RECV_RUN];
  w[toHw + L.W_CLUSTER_PKTS] = w[fromHw + L.W_CLUSTER_PKTS];
  w[toHw + L.W_CLUSTER_LOST] = w[fromHw + L.W_CLUSTER_LOST];
  for (let i = 0; i < Loss.COUNT; i++) w[toCw + L.CW_LOSS + i] = w[fromCw + L.CW_LOSS + i];
}

/** Store a resolved state (at hw/hb/cw) as the slot's interval baseline (cold base baseCw, byte baseHb). */
export function lossSetBase(w: Int32Array, b: Uint8Array, hb: number, cw: number, baseHb: number, baseCw: number): void {
  b[baseHb + L.B_LOSS_LAST_BASE] = b[hb + L.B_LOSS_LAST];
  for (let i = 0; i < Loss.COUNT; i++) w[baseCw + L.CW_LOSS_BASE + i] = w[cw + L.CW_LOSS + i];
}

/** What lossMetrics writes: the loss-pattern fields of a snapshot's counter set (written in place). */
export type LossMetrics = Pick<StreamCounters, 'lossP' | 'lossQ' | 'burstR' | 'burstDensity' | 'gapDensity' | 'burstDurationMs' | 'gapDurationMs'>;

/**
 * Metrics of the resolved state (hb/cw, `fed` numbers fed) minus the slot's resolved interval baseline
 * (baseHb/baseCw, `baseFed` numbers fed then; baseFed 0 = no baseline, cumulative values).
 * packetMs converts packet counts to durations.
 */
export function lossMetrics(
  w: Int32Array, b: Uint8Array, hb: number, cw: number, fed: number,
  baseHb: number, baseCw: number, baseFed: number, packetMs: number, out: LossMetrics,
): void {
  const nrl = w[cw + L.CW_LOSS + Loss.RL];
  const nll = w[cw + L.CW_LOSS + Loss.LL];
  const nlr = fed > 0 ? nrl - (b[hb + L.B_LOSS_LAST] === 2 ? 1 : 0) : 0;
  const nrr = fed > 0 ? fed - 1 - nrl - nlr - nll : 0;
  let bnrl = 0, bnll = 0, bnlr = 0, bnrr = 0, bbp = 0, bbl = 0, bnb = 0;
  if (baseFed > 0) {
    bnrl = w[baseCw + L.CW_LOSS_BASE + Loss.RL];
    bnll = w[baseCw + L.CW_LOSS_BASE + Loss.LL];
    bnlr = bnrl - (b[baseHb + L.B_LOSS_LAST_BASE] === 2 ? 1 : 0);
    bnrr = baseFed - 1 - bnrl - bnlr - bnll;
    bbp = w[baseCw + L.CW_LOSS_BASE + Loss.BURST_PKTS];
    bbl = w[baseCw + L.CW_LOSS_BASE + Loss.BURST_LOST];
    bnb = w[baseCw + L.CW_LOSS_BASE + Loss.BURSTS];
  }
  const rr = nrr - bnrr;
  const rl = nrl - bnrl;
  const lr = nlr - bnlr;
  const ll = nll - bnll;
  const p = rr + rl > 0 ? rl / (rr + rl) : 0;
  // No transition out of the lost state observed: treat recovery as certain (q = 1) so that a single
  // trailing loss does not read as an infinite burst.
  const q = lr + ll > 0 ? lr / (lr + ll) : 1;
  out.lossP = p;
  out.lossQ = q;
  out.burstR = rl === 0 ? 1 : 1 / (p + q); // no loss -> 1 by definition
  const burstPkts = w[cw + L.CW_LOSS + Loss.BURST_PKTS];
  const burstLost = w[cw + L.CW_LOSS + Loss.BURST_LOST];
  const bp = burstPkts - bbp;
  const bl = burstLost - bbl;
  const nb = w[cw + L.CW_LOSS + Loss.BURSTS] - bnb;
  // Resolved: every number fed is in a burst or a gap, every loss too.
  const gp = fed - burstPkts - (baseFed - bbp);
  const gl = nrl + nll - burstLost - (bnrl + bnll - bbl);
  out.burstDensity = bp > 0 ? bl / bp : 0;
  out.gapDensity = gp > 0 ? gl / gp : 0;
  out.burstDurationMs = nb > 0 ? (bp * packetMs) / nb : 0;
  // Gaps alternate with bursts: one more gap than bursts when there were gap packets at all.
  out.gapDurationMs = gp > 0 ? (gp * packetMs) / (nb + 1) : 0;
}
