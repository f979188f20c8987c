import type { RtcpLookup } from '../pipeline.js';

/** A question of RtcpAsks as a worker gets it: question number, the compound's lookup and raw capture time (ms). */
export type RtcpAsk = [seq: number, lookup: RtcpLookup, rawMs: number];

/**
 * A media worker's questions from RtcpAsks it cannot answer yet. A worker reads its ring every
 * capture.buffer_timeout_ms, so RTCP read by another worker can be asked about before this one has read
 * its stream's first packets, captured before the RTCP: the question waits until this worker has read
 * past the compound's capture time (then "none" is the answer one pipeline gives), `wallMs` at most, or
 * the capture is drained. At most as many wait as RtcpAsks lets wait on the main thread.
 */
export class HeldAsks {
  private held: Array<{ ask: RtcpAsk; sinceMs: number }> = [];

  constructor(private readonly wallMs: number) {}

  get length(): number {
    return this.held.length;
  }

  /**
   * Answers for `asks` (held ones first, then the new ones, `nowMs` the wall clock): the id `find` gives,
   * or null once this worker has read through the compound's capture time (`readThroughMs`, raw) or the
   * wait is over; `drained`: no packet comes any more, every question is answered.
   */
  answer(asks: RtcpAsk[], readThroughMs: number, nowMs: number, drained: boolean, find: (l: RtcpLookup) => string | null): Array<[number, string | null]> {
    const out: Array<[number, string | null]> = [];
    const keep: Array<{ ask: RtcpAsk; sinceMs: number }> = [];
    const consider = (ask: RtcpAsk, sinceMs: number) => {
      const id = find(ask[1]);
      if (id !== null || drained || ask[2] <= readThroughMs || nowMs - sinceMs >= this.wallMs) out.push([ask[0], id]);
      else keep.push({ ask, sinceMs });
    };
    for (const h of this.held) consider(h.ask, h.sinceMs);
    for (const a of asks) consider(a, nowMs);
    this.held = keep;
    return out;
  }
}
