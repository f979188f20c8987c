/**
 * Mouth-to-ear delay for the E-model's Id term, with what was measured and what assumed (ITU-T P.564
 * asks a model to say so).
 *
 * Network part: a passive probe measures, from RTCP, the round trip between itself and each end of a
 * call leg (rtcp/RttTracker: an SR seen going one way, the RR quoting it coming back). A leg's two ends
 * together give the leg's end-to-end round trip, and half of it is the leg's one-way delay (symmetric
 * paths assumed); the network one-way delay of a stream is the sum over every leg of the call the probe
 * sees (a B2BUA or SBC in the middle makes two or more legs, linked by X-CID or correlation). Each leg has
 * two paths (probe to caller side, probe to callee side):
 *  - every path measured: the sum is measured (DELAY_SOURCE rtcp, DELAY_PATHS_MEASURED = DELAY_PATHS);
 *  - some measured: an unmeasured path counts 0 ms, so the figure is a lower bound (rtcp, fewer
 *    measured paths than paths);
 *  - none measured: the configured nominal network delay (nominal, 0 paths measured).
 * Buffer part: the receiver's jitter-buffer delay, `jitterBufferMs` from the configuration (assumed)
 * unless an emulated buffer's delay is given (withBufferDelay: measured on the stream's own arrivals).
 * Codec and packetisation delays are not added (the probe does not know the endpoints' implementation).
 *
 * The E-model consumes `oneWayDelayMs` = networkOneWayDelayMs + bufferMs (report/qos-state.ts
 * assessInterval); reports carry each part (report/fields.ts: NETWORK_DELAY, BUFFER_DELAY, ONE_WAY_DELAY).
 */
/** The configuration's defaults (qos.jitter_buffer_ms, qos.nominal_one_way_delay_ms; a test keeps them equal). */
export const DEFAULT_JITTER_BUFFER_MS = 0;
export const DEFAULT_NOMINAL_ONE_WAY_DELAY_MS = 0;

export interface DelayAssumptions {
  /** Network one-way delay assumed when no path of the call is measured, ms. */
  nominalOneWayDelayMs: number;
  /** Receiver jitter-buffer delay assumed when no emulated buffer gives one, ms. */
  jitterBufferMs: number;
}

export const DEFAULT_DELAY_ASSUMPTIONS: DelayAssumptions = {
  nominalOneWayDelayMs: DEFAULT_NOMINAL_ONE_WAY_DELAY_MS,
  jitterBufferMs: DEFAULT_JITTER_BUFFER_MS,
};

/** rtcp: at least one path measured; nominal: none. */
export type DelaySource = 'rtcp' | 'nominal';
/** assumed: qos.jitter_buffer_ms; emulated: the delay of the stream's emulated reference buffer. */
export type BufferDelaySource = 'assumed' | 'emulated';

export interface DelayEstimate {
  /** What the E-model uses: network + buffer, ms. */
  oneWayDelayMs: number;
  /** Network one-way delay over every leg seen, ms. */
  networkOneWayDelayMs: number;
  source: DelaySource;
  /** Call legs summed, their paths (2 per leg) and how many of those had a measured round trip. */
  legs: number;
  paths: number;
  pathsMeasured: number;
  bufferMs: number;
  bufferSource: BufferDelaySource;
}

/**
 * Round trips of the legs of a call, flat: [toCallee, toCaller] per leg, ms (NaN or negative =
 * not measured). toCallee is the probe's round trip with the callee side of the leg (the RR about the
 * caller-to-callee stream), toCaller the one with the caller side.
 */
export type LegRoundTrips = ArrayLike<number>;

function measured(x: number): boolean {
  return x >= 0 && Number.isFinite(x);
}

/** Network one-way delay over the legs, plus the assumed buffer delay; into `out` when given (a caller scoring every interval reuses one). */
export function estimatePathDelay(legs: LegRoundTrips, a: DelayAssumptions = DEFAULT_DELAY_ASSUMPTIONS, out?: DelayEstimate): DelayEstimate {
  const paths = legs.length & ~1;
  let sum = 0;
  let pathsMeasured = 0;
  for (let i = 0; i < paths; i++) {
    const rtt = legs[i];
    if (!measured(rtt)) continue;
    sum += rtt;
    pathsMeasured++;
  }
  const network = pathsMeasured > 0 ? sum / 2 : a.nominalOneWayDelayMs;
  const d = out ?? emptyDelayEstimate();
  d.oneWayDelayMs = network + a.jitterBufferMs;
  d.networkOneWayDelayMs = network;
  d.source = pathsMeasured > 0 ? 'rtcp' : 'nominal';
  d.legs = paths / 2;
  d.paths = paths;
  d.pathsMeasured = pathsMeasured;
  d.bufferMs = a.jitterBufferMs;
  d.bufferSource = 'assumed';
  return d;
}

export function emptyDelayEstimate(): DelayEstimate {
  return { oneWayDelayMs: 0, networkOneWayDelayMs: 0, source: 'nominal', legs: 0, paths: 0, pathsMeasured: 0, bufferMs: 0, bufferSource: 'assumed' };
}

const oneLeg = new Float64Array(2);

/**
 * One leg known by one path only: the stream's own round trip (probe to its receiver; null/NaN when
 * unknown), the other path unmeasured.
 */
export function estimateOneWayDelay(rttMs: number | null | undefined, a: DelayAssumptions = DEFAULT_DELAY_ASSUMPTIONS, out?: DelayEstimate): DelayEstimate {
  oneLeg[0] = rttMs ?? Number.NaN;
  oneLeg[1] = Number.NaN;
  return estimatePathDelay(oneLeg, a, out);
}

/** The estimate with an emulated jitter buffer's delay in place of the assumed one (in place when `out` is `d`). */
export function withBufferDelay(d: DelayEstimate, bufferMs: number, out?: DelayEstimate): DelayEstimate {
  const e = out === d ? d : Object.assign(out ?? emptyDelayEstimate(), d);
  e.bufferMs = bufferMs;
  e.bufferSource = 'emulated';
  e.oneWayDelayMs = d.networkOneWayDelayMs + bufferMs;
  return e;
}
