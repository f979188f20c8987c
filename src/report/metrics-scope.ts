import type { StreamSnapshot } from '../rtp/snapshot.js';
import type { StreamQosState } from './qos-state.js';
import { JB_METRIC_VARIABLES, fillJitterBufferVariables } from './jb-fields.js';

/**
 * The variables an adaptive-reporting rule may use (`when: 'mos < 3.6 or loss_pct > 2'`). All are
 * numbers of the interval just ended unless noted:
 *   mos, rfactor        MOS / R of the interval (the last scored interval when this one had no packets)
 *   mean_mos, min_mos   over the stream so far
 *   loss_pct, lost      interval loss in percent and packets (>= 0)
 *   packets, expected   interval packets received / expected
 *   duplicates, out_of_order, seq_errors   interval counts
 *   jitter_ms           current RFC 3550 jitter; mean_jitter_ms, max_jitter_ms over the interval
 *   delta_ms            mean inter-arrival delta; max_delta_ms
 *   skew_ms             current skew; max_skew_ms (largest absolute value, sign kept)
 *   burst_r             Gilbert burst ratio of the interval (1 = random loss)
 *   drift_ppm           sender clock drift estimate
 *   ssrc_changes        SSRC changes seen on the stream (cumulative)
 *   interval_s          length of the interval just ended, seconds
 *   one_way_delay_ms    the delay the E-model assumed
 * and the jitter-buffer / RFC 3611 ones of jb-fields.ts (JB_METRIC_VARIABLES):
 *   mos_net             MOS from network loss only; mos_f1, mos_f2, mos_adapt through each buffer
 *   discards_f1, discards_f2, discards_adapt   interval discards; eff_loss_pct loss + reference discards, %
 *   jb_delay_ms         reference buffer's delay in the interval
 *   xr_*                RFC 3611 4.7 (see jb-fields.ts)
 */
export const METRIC_VARIABLES = [
  'mos', 'rfactor', 'mean_mos', 'min_mos', 'loss_pct', 'lost', 'packets', 'expected', 'duplicates', 'out_of_order',
  'seq_errors', 'jitter_ms', 'mean_jitter_ms', 'max_jitter_ms', 'delta_ms', 'max_delta_ms', 'skew_ms', 'max_skew_ms',
  'burst_r', 'drift_ppm', 'ssrc_changes', 'interval_s', 'one_way_delay_ms',
  ...JB_METRIC_VARIABLES,
] as const;

export type MetricVariable = (typeof METRIC_VARIABLES)[number];

/** One reusable scope object (own numeric properties, fixed shape); fill it per stream, never allocate. */
export class IntervalMetrics implements Record<MetricVariable, number> {
  mos = 0;
  rfactor = 0;
  mean_mos = 0;
  min_mos = 0;
  loss_pct = 0;
  lost = 0;
  packets = 0;
  expected = 0;
  duplicates = 0;
  out_of_order = 0;
  seq_errors = 0;
  jitter_ms = 0;
  mean_jitter_ms = 0;
  max_jitter_ms = 0;
  delta_ms = 0;
  max_delta_ms = 0;
  skew_ms = 0;
  max_skew_ms = 0;
  burst_r = 1;
  drift_ppm = 0;
  ssrc_changes = 0;
  interval_s = 0;
  one_way_delay_ms = 0;
  // jitter buffers and RFC 3611 (jb-fields.ts)
  mos_net = 0;
  mos_f1 = 0;
  mos_f2 = 0;
  mos_adapt = 0;
  discards_f1 = 0;
  discards_f2 = 0;
  discards_adapt = 0;
  eff_loss_pct = 0;
  jb_delay_ms = 0;
  xr_loss_rate = 0;
  xr_discard_rate = 0;
  xr_burst_density = 0;
  xr_gap_density = 0;
  xr_burst_duration_ms = 0;
  xr_gap_duration_ms = 0;
  xr_rtd_ms = 0;
  xr_r = 0;
  xr_mos_lq = 0;
  xr_mos_cq = 0;
  xr_jb_nominal_ms = 0;
  xr_jb_max_ms = 0;
  xr_jb_abs_max_ms = 0;

  /** Reads the interval from the snapshot and the MOS history (record the interval in `qos` first). */
  fill(snap: StreamSnapshot, qos: StreamQosState): this {
    const c = snap.interval;
    const slot = snap.slot;
    const n = qos.count[slot];
    this.mos = n ? qos.lastMos[slot] : 0;
    this.rfactor = n ? qos.lastR[slot] : 0;
    this.mean_mos = qos.meanMos(slot);
    this.min_mos = n ? qos.minMos[slot] : 0;
    this.lost = c.lost > 0 ? c.lost : 0;
    this.loss_pct = c.expected > 0 ? (100 * this.lost) / c.expected : 0;
    this.packets = c.packets;
    this.expected = c.expected;
    this.duplicates = c.duplicates;
    this.out_of_order = c.outOfOrder;
    this.seq_errors = c.seqErrors;
    this.jitter_ms = snap.jitterMs;
    this.mean_jitter_ms = c.meanJitterMs;
    this.max_jitter_ms = c.maxJitterMs;
    this.delta_ms = c.meanDeltaMs;
    this.max_delta_ms = c.maxDeltaMs;
    this.skew_ms = snap.skewMs;
    this.max_skew_ms = c.maxSkewMs;
    this.burst_r = c.burstR > 0 ? c.burstR : 1;
    this.drift_ppm = snap.clockDriftPpm;
    this.ssrc_changes = snap.ssrcChanges;
    this.interval_s = (c.endMs - c.startMs) / 1000;
    this.one_way_delay_ms = qos.lastDelayMs[slot];
    fillJitterBufferVariables(this, snap, qos);
    return this;
  }
}
