import type { RtcpLookup } from '../pipeline.js';
import type { Envelope, ReportTarget } from '../report-sink.js';

/** An RTCP compound a worker could not match to a stream without SIP (Pipeline's rtcpUnmatched). */
export interface UnmatchedRtcp {
  json: string;
  env: Envelope;
  lookup: RtcpLookup;
  compound: Uint8Array;
}

/**
 * Worker mode, main thread: RTCP of streams without SIP whose flow the kernel hashed to another worker than
 * their RTP. The reading worker hands the compound here; the other workers are asked for the stream's
 * synthetic id (one message per RTCP compound, nothing per RTP packet). The compound goes to the sink under
 * the first id an answer names, or uncorrelated once every asked worker has answered none, as one pipeline
 * would send it. At most `max` wait for answers (a worker answers as soon as it reads the question): past
 * it, under a flood of RTCP from unknown flows, a compound goes uncorrelated at once (`overflow` counts them).
 */
export class RtcpAsks {
  /** Compounds waiting for answers by question number, with the workers yet to answer. */
  private readonly waiting = new Map<number, { rtcp: UnmatchedRtcp; left: Set<number> }>();
  private nextSeq = 0;
  /** Compounds sent uncorrelated without asking because `max` were waiting. */
  overflow = 0;

  constructor(
    private readonly sink: Pick<ReportTarget, 'rtcp'>,
    readonly max: number,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * `rtcp` to be asked of `workers` (the reader's peers still running): its question number, or -1 when it
   * went to the sink uncorrelated already (no peer, or `max` waiting).
   */
  ask(rtcp: UnmatchedRtcp, workers: number[]): number {
    if (workers.length === 0 || this.waiting.size >= this.max) {
      if (workers.length > 0) this.overflow++;
      this.sink.rtcp(rtcp.json, rtcp.env, null, rtcp.compound);
      return -1;
    }
    const seq = this.nextSeq++;
    this.waiting.set(seq, { rtcp, left: new Set(workers) });
    return seq;
  }

  /** Worker `worker`'s answer to question `seq`: the stream's synthetic id, or null when it holds no such stream. */
  answer(seq: number, worker: number, callId: string | null): void {
    const w = this.waiting.get(seq);
    if (w === undefined || !w.left.delete(worker)) return;
    if (callId !== null) this.settle(seq, callId);
    else if (w.left.size === 0) this.settle(seq, null);
  }

  /** Worker `worker` answers no more (done, or gone): the questions left to it alone go uncorrelated. */
  workerGone(worker: number): void {
    for (const [seq, w] of this.waiting) if (w.left.delete(worker) && w.left.size === 0) this.settle(seq, null);
  }

  private settle(seq: number, callId: string | null): void {
    const { rtcp } = this.waiting.get(seq)!;
    this.waiting.delete(seq);
    this.sink.rtcp(rtcp.json, rtcp.env, callId, rtcp.compound);
  }
}
