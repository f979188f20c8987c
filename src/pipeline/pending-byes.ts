import type { RtcpFacts } from './pipeline.js';

export type ForwardedBye = RtcpFacts['bye'][number];

/**
 * RTCP BYEs another media worker read, held until this pipeline's capture time reaches theirs. A worker
 * reads its ring every capture.buffer_timeout_ms, so a BYE read elsewhere can arrive before this worker has
 * read its stream's last packets, captured before the BYE: they must count in the stream the BYE ends, as
 * in one pipeline, not start a second one. Rare (one per stream at most): plain arrays.
 */
export class PendingByes {
  private items: ForwardedBye[] = [];
  /** Capture time of the earliest held BYE, ms; Infinity when none. */
  nextMs = Number.POSITIVE_INFINITY;

  add(bye: ForwardedBye): void {
    this.items.push(bye);
    if (bye.atMs < this.nextMs) this.nextMs = bye.atMs;
  }

  /** Removes and returns the BYEs captured at or before `nowMs`, in the order they came. */
  takeDue(nowMs: number): ForwardedBye[] {
    if (nowMs < this.nextMs) return [];
    const due = this.items.filter((b) => b.atMs <= nowMs);
    this.items = this.items.filter((b) => b.atMs > nowMs);
    this.nextMs = this.items.reduce((m, b) => Math.min(m, b.atMs), Number.POSITIVE_INFINITY);
    return due;
  }
}
