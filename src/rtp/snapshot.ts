import { emptyJitterBufferCounters, emptyJitterBufferXr, type JitterBufferCounters, type JitterBufferXr } from './jitter-buffer.js';

/**
 * What the RTP engine hands to reporting: a plain read of one stream's typed-array state, taken at a
 * report tick or at stream end (never per packet). The engine fills a caller-owned instance.
 * Times are milliseconds since the epoch (fractional); durations and jitter/delta/skew are milliseconds.
 */
export interface StreamCounters {
  packets: number;
  bytes: number;
  /** RFC 3550 A.3 expected count over the period. */
  expected: number;
  /**
   * expected - distinct packets received (packets - duplicates): a duplicate does not cancel a lost packet
   * as in RFC 3550 A.3's received count. Negative only with packets from before the stream's first
   * sequence number (late beyond the reorder window).
   */
  lost: number;
  /** Wireshark's "sequence errors": +1 per gap, +1 per late or duplicate packet. */
  seqErrors: number;
  outOfOrder: number;
  duplicates: number;
  minDeltaMs: number;
  meanDeltaMs: number;
  maxDeltaMs: number;
  minJitterMs: number;
  meanJitterMs: number;
  maxJitterMs: number;
  /** Skew with the largest absolute value seen in the period, sign kept. */
  maxSkewMs: number;
  /** Gilbert model: P(loss | previous received) and P(received | previous lost); BurstR = 1/(p+q). */
  lossP: number;
  lossQ: number;
  burstR: number;
  /** RFC 3611 4.7 burst/gap densities (fraction 0..1) and mean durations (ms). */
  burstDensity: number;
  gapDensity: number;
  burstDurationMs: number;
  gapDurationMs: number;
  startMs: number;
  endMs: number;
}

export interface StreamSnapshot {
  slot: number;
  ssrc: number;
  ipVersion: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** "00-04-13-29-64-22" form as HOMER shows it; '' when the link layer had none. */
  srcMac: string;
  dstMac: string;
  vlan: number;
  payloadType: number;
  /** 0 when unknown (a payload type nothing explains, clock not inferred yet): no jitter or skew then. */
  clockRate: number;
  /** Where clockRate came from: ClockSource (clock-inference.ts); clockSourceName() gives the report's text. */
  clockSource?: number;
  /** Current RFC 3550 interarrival jitter and current skew, ms. */
  jitterMs: number;
  skewMs: number;
  /** Estimated sender clock drift against capture time, parts per million. */
  clockDriftPpm: number;
  ssrcChanges: number;
  payloadTypeChanges: number;
  markers: number;
  comfortNoise: number;
  telephoneEvents: number;
  /** True when the stream's timestamps came from the host clock (cap backend), not the kernel. */
  hostTimestamps: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
  cumulative: StreamCounters;
  interval: StreamCounters;
  /** Wireshark's current (running) jitter, ms: what its per-packet analysis shows. */
  wiresharkJitterMs?: number;
  /**
   * Wireshark's expected = last seq + wraps * 65536 - first seq + 1 and lost = expected - packets
   * (cumulative). Differs from the RFC 3550 counts after a sequence restart (RFC resyncs, Wireshark
   * counts the jump as loss).
   */
  wiresharkExpected?: number;
  wiresharkLost?: number;
  /** Whether the engine emulates jitter buffers (then `jb` holds their counters). */
  jitterBuffers?: boolean;
  /** Jitter-buffer emulation (jitter-buffer.ts): interval and cumulative counters, RFC 3611 burst/gap. */
  jb?: { interval: JitterBufferCounters; cumulative: JitterBufferCounters; xr: JitterBufferXr };
}

function emptyCounters(): StreamCounters {
  return {
    packets: 0, bytes: 0, expected: 0, lost: 0, seqErrors: 0, outOfOrder: 0, duplicates: 0,
    minDeltaMs: 0, meanDeltaMs: 0, maxDeltaMs: 0, minJitterMs: 0, meanJitterMs: 0, maxJitterMs: 0, maxSkewMs: 0,
    lossP: 0, lossQ: 0, burstR: 1, burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0,
    startMs: 0, endMs: 0,
  };
}

/** A blank snapshot to pass to RtpEngine.snapshot() (allocate once, reuse). */
export function createStreamSnapshot(): StreamSnapshot {
  return {
    slot: -1, ssrc: 0, ipVersion: 0, srcIp: '', srcPort: 0, dstIp: '', dstPort: 0, srcMac: '', dstMac: '', vlan: -1,
    payloadType: 0, clockRate: 0, clockSource: 0, jitterMs: 0, skewMs: 0, clockDriftPpm: 0, ssrcChanges: 0, payloadTypeChanges: 0,
    markers: 0, comfortNoise: 0, telephoneEvents: 0, hostTimestamps: false, firstSeenMs: 0, lastSeenMs: 0,
    cumulative: emptyCounters(), interval: emptyCounters(),
    wiresharkJitterMs: 0, wiresharkExpected: 0, wiresharkLost: 0,
    jitterBuffers: false,
    jb: { interval: emptyJitterBufferCounters(), cumulative: emptyJitterBufferCounters(), xr: emptyJitterBufferXr() },
  };
}
