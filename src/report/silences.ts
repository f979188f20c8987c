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
  /** Completed silences of the stream: how many, their total and the longest, ms. */
  readonly count: Uint32Array;
  readonly totalMs: Float64Array;
  readonly maxMs: Float64Array;
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
    this.count = new Uint32Array(maxStreams);
    this.totalMs = new Float64Array(maxStreams);
    this.maxMs = new Float64Array(maxStreams);
  }

  reset(slot: number): void {
    this.pauseFromMs[slot] = 0;
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

  /** The pause starts: the stream's cumulative counts and mean packet spacing at this point. */
  pause(slot: number, lastSeenMs: number, expected: number, packets: number, meanSpacingMs: number): void {
    this.pauseFromMs[slot] = lastSeenMs;
    this.expectedAt[slot] = expected;
    this.packetsAt[slot] = packets;
    this.spacingMs[slot] = meanSpacingMs > 0 ? meanSpacingMs : 20;
  }

  /** Length of the pause in progress at nowMs, 0 when none. */
  currentMs(slot: number, nowMs: number): number {
    const from = this.pauseFromMs[slot];
    return from > 0 && nowMs > from ? nowMs - from : 0;
  }

  /**
   * Packets arrived again: classifies the pause from the counts now (cumulative expected and received,
   * latest arrival). The first packet after the pause is placed one spacing per packet received since
   * before the latest arrival (ticks see the stream once a second, not at each packet).
   */
  resumed(slot: number, lastSeenMs: number, expected: number, packets: number): PauseEnd {
    const from = this.pauseFromMs[slot];
    const spacing = this.spacingMs[slot];
    const received = packets - this.packetsAt[slot];
    const missing = expected - this.expectedAt[slot] - received;
    let firstBack = lastSeenMs - (received > 1 ? (received - 1) * spacing : 0);
    if (firstBack < from + this.minMs) firstBack = Math.min(lastSeenMs, from + this.minMs);
    const pauseMs = firstBack - from;
    this.pauseFromMs[slot] = 0;
    this.lastPauseMs = pauseMs;
    if (missing * spacing >= pauseMs / 2) return PauseEnd.loss;
    this.count[slot]++;
    this.totalMs[slot] += pauseMs;
    if (pauseMs > this.maxMs[slot]) this.maxMs[slot] = pauseMs;
    return PauseEnd.silence;
  }
}
