/**
 * Fixed-capacity FIFO of encoded packets, bounded by count and by bytes. When full, push() evicts the
 * OLDEST packets and reports them: during an outage the freshest reports (including the final reports of
 * the most recent calls) survive, and the queue never grows, so memory stays flat however long a collector
 * is down, whatever the packets' sizes (SIP messages of 64 KB as well as reports of 2 KB).
 */
export class BoundedPacketQueue {
  private readonly ring: (Buffer | undefined)[];
  private head = 0;
  private count = 0;
  /** Bytes of the packets queued. */
  bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
    this.ring = new Array<Buffer | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** Returns how many old packets were evicted to make room (0 mostly; O(1) per packet evicted). */
  push(b: Buffer): number {
    let evicted = 0;
    while (this.count > 0 && (this.count === this.capacity || this.bytes + b.length > this.maxBytes)) {
      this.shift();
      evicted++;
    }
    this.ring[(this.head + this.count) % this.capacity] = b;
    this.count++;
    this.bytes += b.length;
    return evicted;
  }

  /**
   * Puts `packets` (oldest first) back ahead of those queued, as far as the bounds allow: the oldest of
   * them are the ones left out, as push() would evict them. Returns how many were left out.
   */
  requeue(packets: readonly Buffer[]): number {
    let i = packets.length - 1;
    for (; i >= 0; i--) {
      const b = packets[i]!;
      if (this.count === this.capacity || (this.count > 0 && this.bytes + b.length > this.maxBytes)) break;
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.ring[this.head] = b;
      this.count++;
      this.bytes += b.length;
    }
    return i + 1;
  }

  shift(): Buffer | undefined {
    if (this.count === 0) return undefined;
    const b = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    this.bytes -= b.length;
    return b;
  }

  /** Empties the queue; returns how many packets were discarded. */
  clear(): number {
    const n = this.count;
    while (this.count > 0) this.shift();
    return n;
  }
}

/** Exponential backoff with "equal jitter": half fixed, half random, so many probes do not reconnect in step. */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, random: number = Math.random()): number {
  const exp = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (exp / 2) * random);
}
