/**
 * The messages written to one TCP/TLS connection and not yet acknowledged by the peer's TCP, in write
 * order, each with the stream offset its last byte has, their bytes kept to be sent again on the next
 * connection. Three marks: acknowledged < called back (the kernel took it) <= written.
 *
 * The bytes are copied into a ring of this ledger's own (byte at stream offset o at o % size; grown by
 * doubling when the unacknowledged bytes outgrow it), not kept as the messages' Buffers: those live until
 * an acknowledgement is read, long enough at a high rate to be promoted and cost full garbage collections,
 * where a copy costs less.
 */
export class WriteLedger {
  private ring: Buffer = EMPTY;
  private ends: number[] = [];
  private head = 0;
  private done = 0;
  /** Stream offset where the oldest message not acknowledged begins. */
  private ackedEnd = 0;
  /** Bytes written to the connection so far. */
  written = 0;
  /** The connection is gone: what it held was handed back (late callbacks change nothing). */
  closed = false;

  /** Written, not acknowledged (called back or not). */
  get unacked(): number {
    return this.ends.length - this.head;
  }

  /** Called back (the kernel took it), not acknowledged. */
  get calledBackUnacked(): number {
    return this.done - this.head;
  }

  /** Written, not yet called back. */
  get notCalledBack(): number {
    return this.ends.length - this.done;
  }

  /** Stream offset after the last message called back: the bytes the kernel has certainly taken. */
  get calledBackBytes(): number {
    return this.done === 0 ? this.ackedEnd : this.ends[this.done - 1]!;
  }

  push(b: Buffer): void {
    const live = this.written + b.length - this.ackedEnd;
    if (live > this.ring.length) this.grow(live);
    this.copyIn(b, this.written);
    this.ends.push((this.written += b.length));
  }

  /** The oldest message not called back was (callbacks come in write order). */
  calledBack(): void {
    if (this.done < this.ends.length) this.done++;
  }

  /** Acknowledges the called-back messages that end at or before stream offset `bytes`; returns how many. */
  ackThrough(bytes: number): number {
    const from = this.head;
    while (this.head < this.done && this.ends[this.head]! <= bytes) this.head++;
    return this.acked(from);
  }

  /** Acknowledges every called-back message; returns how many. */
  ackCalledBack(): number {
    const from = this.head;
    this.head = this.done;
    return this.acked(from);
  }

  /** Ends the ledger: the messages not acknowledged, oldest first. */
  close(): Buffer[] {
    this.closed = true;
    const rest: Buffer[] = [];
    for (let i = this.head; i < this.ends.length; i++) rest.push(this.copyOut(this.start(i), this.ends[i]!));
    this.ring = EMPTY;
    this.ends = [];
    this.head = this.done = 0;
    return rest;
  }

  /** How many of the newest messages hold the last `bytes` bytes written (a partly taken one included). */
  newestCovering(bytes: number): number {
    let n = 0;
    for (let i = this.ends.length - 1; bytes > 0 && i >= this.head; i--, n++) bytes -= this.ends[i]! - this.start(i);
    return n;
  }

  private start(i: number): number {
    return i === this.head ? this.ackedEnd : this.ends[i - 1]!;
  }

  private acked(from: number): number {
    const n = this.head - from;
    if (n === 0) return 0;
    this.ackedEnd = this.ends[this.head - 1]!;
    if (this.head === this.ends.length) {
      this.ends = [];
      this.head = this.done = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.done -= this.head;
      this.head = 0;
    }
    return n;
  }

  private grow(live: number): void {
    let size = Math.max(MIN_RING, this.ring.length * 2);
    while (size < live) size *= 2;
    const kept = this.copyOut(this.ackedEnd, this.written);
    this.ring = Buffer.allocUnsafeSlow(size);
    this.copyIn(kept, this.ackedEnd);
  }

  private copyIn(b: Buffer, at: number): void {
    const pos = at % this.ring.length;
    // TypedArray.set: Buffer.copy's argument handling costs more than a 1 KB copy.
    if (b.length <= this.ring.length - pos) return this.ring.set(b, pos);
    const first = this.ring.length - pos;
    this.ring.set(b.subarray(0, first), pos);
    this.ring.set(b.subarray(first), 0);
  }

  private copyOut(from: number, to: number): Buffer {
    const out = Buffer.allocUnsafe(to - from);
    if (out.length === 0) return out;
    const pos = from % this.ring.length;
    const first = Math.min(out.length, this.ring.length - pos);
    this.ring.copy(out, 0, pos, pos + first);
    if (first < out.length) this.ring.copy(out, first, 0, out.length - first);
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
const MIN_RING = 64 * 1024;
