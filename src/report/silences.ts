/**
 * Long pauses in a stream's arrivals, per stream slot (struct of arrays, nothing allocated per stream).
 *
 * A pause starts when a stream has had no packet for `minMs` (checked once per tick, so it is seen up to
 * a tick late). While no packet arrives a passive probe cannot tell a sender that stopped (DTX, hold,
 * mute) from a network that drops everything, so the start is reported as a pause; the sequence numbers
 * at resumption decide what it was: when the packets missing across the pause would fill less than half
 * of it, the sender stopped and the pause is a silence (counted here, not loss); otherwise the network
 * lost the media and the missing packets are the loss the RTP counters already report.
 */
/** ALERT_RULE of a pause's ALERT and CLEARED reports (reports.faults.silence_s). */
export const SILENCE_RULE = 'silence';

export const enum PauseEnd {
  /** The pause was a silence (no sequence gap covering it). */
  silence = 1,
  /** The pause was a loss outage (the sequence jumped across it). */
  loss = 2,
}

export class StreamSilences {
  /** Capture time (ms) of the last packet before the pause in progress; 0 when none. */
  readonly pauseFromMs: Float64Array;
  /** Cumulative expected and received counts, and the mean packet spacing, when the pause was seen. */
  private readonly expectedAt: Float64Array;
  private readonly packetsAt: Float64Array;
  private readonly spacingMs: Float64Array;
  /** The report interval's largest inter-arrival time when the pause was seen. */
  private readonly maxDeltaAt: Float64Array;
  /** Completed silences of the stream: how many, their total and the longest, ms. */
  readonly count: Uint32Array;
  readonly totalMs: Float64Array;
  readonly maxMs: Float64Array;
  /** 1 while the pause in progress has had its ALERT sent: only such a pause gets a CLEARED. */
  readonly alerted: Uint8Array;
  /** Length of the last completed pause and what it was (set by `resumed`). */
  lastPauseMs = 0;

  constructor(
    maxStreams: number,
    /** A stream with no packet for this long is paused (ms); 0 turns detection off. */
    public minMs: number,
  ) {
    this.pauseFromMs = new Float64Array(maxStreams);
    this.expectedAt = new Float64Array(maxStreams);
    this.packetsAt = new Float64Array(maxStreams);
    this.spacingMs = new Float64Array(maxStreams);
    this.maxDeltaAt = new Float64Array(maxStreams);
    this.alerted = new Uint8Array(maxStreams);
    this.count = new Uint32Array(maxStreams);
    this.totalMs = new Float64Array(maxStreams);
    this.maxMs = new Float64Array(maxStreams);
  }

  reset(slot: number): void {
    this.pauseFromMs[slot] = 0;
    this.alerted[slot] = 0;
    this.count[slot] = 0;
    this.totalMs[slot] = 0;
    this.maxMs[slot] = 0;
  }

  /** True when the slot is in a pause. */
  paused(slot: number): boolean {
    return this.pauseFromMs[slot] > 0;
  }

  /** True when a stream last heard at `lastSeenMs` has just become paused at `nowMs` (call `paused` after). */
  shouldPause(slot: number, lastSeenMs: number, nowMs: number): boolean {
    return this.minMs > 0 && this.pauseFromMs[slot] === 0 && lastSeenMs > 0 && nowMs - lastSeenMs >= this.minMs;
  }

  /**
   * The pause starts: the stream's cumulative counts and mean packet spacing at this point, and the
   * largest inter-arrival time of its report interval so far.
   */
  pause(slot: number, lastSeenMs: number, expected: number, packets: number, meanSpacingMs: number, intervalMaxDeltaMs = 0): void {
    this.pauseFromMs[slot] = lastSeenMs;
    this.expectedAt[slot] = expected;
    this.packetsAt[slot] = packets;
    this.spacingMs[slot] = meanSpacingMs > 0 ? meanSpacingMs : 20;
    this.maxDeltaAt[slot] = intervalMaxDeltaMs;
  }

  /** Length of the pause in progress at nowMs, 0 when none. */
  currentMs(slot: number, nowMs: number): number {
    const from = this.pauseFromMs[slot];
    return from > 0 && nowMs > from ? nowMs - from : 0;
  }

  /**
   * Packets arrived again: classifies the pause from the counts now (cumulative expected and received,
   * latest arrival) and measures it. The pause is the inter-arrival time of the first packet after it:
   * the report interval's largest one when that can only be it (the interval began after the pause, or
   * had none as long before it; Wireshark's rules leave out the delta of a marker packet, which a
   * talkspurt after DTX often is). Otherwise it is estimated: the first packet after the pause is placed
   * one mean spacing per packet received since before the latest arrival (ticks see the stream once a
   * second, not at each packet).
   */
  resumed(slot: number, lastSeenMs: number, expected: number, packets: number, intervalMaxDeltaMs = 0, intervalStartMs = 0): PauseEnd {
    const from = this.pauseFromMs[slot];
    const spacing = this.spacingMs[slot];
    const received = packets - this.packetsAt[slot];
    const missing = expected - this.expectedAt[slot] - received;
    const floor = Math.min(this.minMs, lastSeenMs - from);
    let pauseMs: number;
    const onlyThePause = intervalStartMs > from || this.maxDeltaAt[slot] < floor;
    if (onlyThePause && intervalMaxDeltaMs >= floor && from + intervalMaxDeltaMs <= lastSeenMs + 1e-6) {
      pauseMs = intervalMaxDeltaMs;
    } else {
      const firstBack = lastSeenMs - (received > 1 ? (received - 1) * spacing : 0);
      pauseMs = Math.max(firstBack - from, floor);
    }
    this.pauseFromMs[slot] = 0;
    this.lastPauseMs = pauseMs;
    if (missing * spacing >= pauseMs / 2) return PauseEnd.loss;
    this.count[slot]++;
    this.totalMs[slot] += pauseMs;
    if (pauseMs > this.maxMs[slot]) this.maxMs[slot] = pauseMs;
    return PauseEnd.silence;
  }
}
