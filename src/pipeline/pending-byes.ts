import type { RtcpFacts } from './pipeline.js';

export type ForwardedBye = RtcpFacts['bye'][number];

/**
 * RTCP BYEs another media worker read, held until this pipeline's capture time reaches theirs. A worker
 * reads its ring every capture.buffer_timeout_ms, so a BYE read elsewhere can arrive before this worker has
 * read its stream's last packets, captured before the BYE: they must count in the stream the BYE ends, as
 * in one pipeline, not start a second one. One per stream at most, but forged ones come as fast as a
 * flood sends them: held in capture-time order (due ones leave from the front, never by scanning them
 * all), at most `max`; past it the earliest goes at once.
 */
export class PendingByes {
  /** Held BYEs from `head` on, by capture time (equal times in the order they came). */
  private items: ForwardedBye[] = [];
  private head = 0;
  /** Capture time of the earliest held BYE, ms; Infinity when none. */
  nextMs = Number.POSITIVE_INFINITY;
  /** Held BYEs naming each SSRC: takeNaming looks only where one does (a retirement asks per stream). */
  private readonly naming = new Map<number, number>();

  constructor(readonly max: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * Holds `bye`. When more than `max` are held, returns the earliest (taken out) for the caller to apply
   * now; otherwise null.
   */
  add(bye: ForwardedBye): ForwardedBye | null {
    const q = this.items;
    // Each worker's BYEs come in its capture order: nearly always an append.
    let at = q.length;
    if (at > this.head && q[at - 1]!.atMs > bye.atMs) {
      let lo = this.head;
      let hi = at - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (q[mid]!.atMs > bye.atMs) hi = mid;
        else lo = mid + 1;
      }
      at = lo;
    }
    q.splice(at, 0, bye);
    this.count(bye, 1);
    if (this.length <= this.max) {
      this.nextMs = q[this.head]!.atMs;
      return null;
    }
    const early = q[this.head++]!;
    this.count(early, -1);
    this.compact();
    return early;
  }

  /**
   * Removes and returns the held BYEs that name `ssrc` (its stream is about to end otherwise: a call's
   * retirement), in capture-time order.
   */
  takeNaming(ssrc: number): ForwardedBye[] {
    if (!this.naming.has(ssrc >>> 0)) return [];
    const q = this.items;
    const out: ForwardedBye[] = [];
    let keep = this.head;
    for (let i = this.head; i < q.length; i++) {
      const b = q[i]!;
      if (b.ssrcs.some((x) => x >>> 0 === ssrc >>> 0)) {
        out.push(b);
        this.count(b, -1);
      } else q[keep++] = b;
    }
    q.length = keep;
    this.compact();
    return out;
  }

  /** Removes and returns the BYEs captured at or before `nowMs`, earliest first. */
  takeDue(nowMs: number): ForwardedBye[] {
    if (nowMs < this.nextMs) return [];
    const q = this.items;
    const from = this.head;
    while (this.head < q.length && q[this.head]!.atMs <= nowMs) this.count(q[this.head++]!, -1);
    const due = q.slice(from, this.head);
    this.compact();
    return due;
  }

  private count(bye: ForwardedBye, by: 1 | -1): void {
    for (const x of bye.ssrcs) {
      const n = (this.naming.get(x >>> 0) ?? 0) + by;
      if (n > 0) this.naming.set(x >>> 0, n);
      else this.naming.delete(x >>> 0);
    }
  }

  /** Drops the taken front once it is most of the array; sets nextMs. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.nextMs = this.length > 0 ? this.items[this.head]!.atMs : Number.POSITIVE_INFINITY;
  }
}
