/**
 * Fixed-capacity FIFO of encoded packets. When full, push() evicts the OLDEST packet and reports it:
 * during an outage the freshest reports (including the final reports of the most recent calls) survive,
 * and the queue never grows, so memory stays flat however long a collector is down.
 */
export class BoundedPacketQueue {
  private readonly ring: (Buffer | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be an integer >= 1, got ${capacity}`);
    this.ring = new Array<Buffer | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** O(1). Returns 1 when an old packet was evicted to make room, else 0. */
  push(b: Buffer): number {
    const cap = this.capacity;
    if (this.count === cap) {
      this.ring[(this.head + this.count) % cap] = b; // overwrites the oldest slot (== head)
      this.head = (this.head + 1) % cap;
      return 1;
    }
    this.ring[(this.head + this.count) % cap] = b;
    this.count++;
    return 0;
  }

  shift(): Buffer | undefined {
    if (this.count === 0) return undefined;
    const b = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
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
