/**
 * The latest stream starts of a pipeline (slot and capture time), newest first on request. A media worker
 * learns a binding a moment after the SIP that made it was captured: the streams that started since then
 * chose their call without it, and are found here instead of by scanning every stream.
 */
export class RecentStarts {
  private readonly slots: Int32Array;
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.slots = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
  }

  /**
   * A start at capture time `ms`, kept in time order: a stream a media worker held for its binding
   * (Pipeline.holdForBinding) starts at its first packet's time, behind streams started since.
   */
  add(slot: number, ms: number): void {
    const n = this.slots.length;
    if (this.count < n) this.count++;
    // Later starts move up one place (a full ring drops its oldest); usually none is later.
    let i = this.next;
    for (let k = 1; k < this.count; k++) {
      const before = (i - 1 + n) % n;
      if (this.times[before] <= ms) break;
      this.slots[i] = this.slots[before];
      this.times[i] = this.times[before];
      i = before;
    }
    this.slots[i] = slot;
    this.times[i] = ms;
    this.next = (this.next + 1) % n;
  }

  /**
   * Calls `fn` for each start at or after `sinceMs`, newest first (kept in time order, so the walk stops
   * at the first older one). A slot may come twice when it was reused.
   */
  forEachSince(sinceMs: number, fn: (slot: number) => void): void {
    const n = this.slots.length;
    for (let k = 1; k <= this.count; k++) {
      const i = (this.next - k + n) % n;
      if (this.times[i] < sinceMs) return;
      fn(this.slots[i]);
    }
  }
}
