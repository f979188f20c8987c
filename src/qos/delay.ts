/**
 * One-way delay estimate for the E-model's Id term. A passive probe cannot see mouth-to-ear delay, so:
 *  - when RTCP gave a round trip (see rtcp/RttTracker): d = RTT / 2 + jitter-buffer assumption;
 *  - otherwise: d = the configured nominal one-way delay.
 * Assumptions (exposed here so a report can state them):
 *  - DEFAULT_JITTER_BUFFER_MS: 40 ms, two 20 ms frames of an adaptive playout buffer; codec and
 *    packetisation delay are not added (the probe does not know the endpoints' implementation).
 *  - DEFAULT_NOMINAL_ONE_WAY_DELAY_MS: 0 ms, i.e. without delay evidence the probe does not penalise
 *    delay and R equals the G.107 default (93.2 at no loss), as other passive probes report.
 */
export const DEFAULT_JITTER_BUFFER_MS = 40;
export const DEFAULT_NOMINAL_ONE_WAY_DELAY_MS = 0;

export interface DelayAssumptions {
  nominalOneWayDelayMs: number;
  jitterBufferMs: number;
}

export const DEFAULT_DELAY_ASSUMPTIONS: DelayAssumptions = {
  nominalOneWayDelayMs: DEFAULT_NOMINAL_ONE_WAY_DELAY_MS,
  jitterBufferMs: DEFAULT_JITTER_BUFFER_MS,
};

export type DelaySource = 'rtcp' | 'nominal';

export interface DelayEstimate {
  oneWayDelayMs: number;
  source: DelaySource;
}

/** rttMs: round trip from RTCP (null/NaN/negative when unknown). */
export function estimateOneWayDelay(rttMs: number | null | undefined, a: DelayAssumptions = DEFAULT_DELAY_ASSUMPTIONS): DelayEstimate {
  if (rttMs != null && Number.isFinite(rttMs) && rttMs >= 0) {
    return { oneWayDelayMs: rttMs / 2 + a.jitterBufferMs, source: 'rtcp' };
  }
  return { oneWayDelayMs: a.nominalOneWayDelayMs, source: 'nominal' };
}
