/**
 * The messages written to one TCP/TLS connection and not yet acknowledged by the peer's TCP, in write
 * order, each with the byte offset its last byte has in the stream, kept to be sent again on the next
 * connection. Three marks: acknowledged < called back (the kernel took it) <= written.
 */
export class WriteLedger {
  private bufs: Buffer[] = [];
  private ends: number[] = [];
  private head = 0;
  private done = 0;
  /** Bytes written to the connection so far. */
  written = 0;
  /** The connection is gone: what it held was handed back (late callbacks change nothing). */
  closed = false;

  /** Written, not acknowledged (called back or not). */
  get unacked(): number {
    return this.bufs.length - this.head;
  }

  /** Called back (the kernel took it), not acknowledged. */
  get calledBackUnacked(): number {
    return this.done - this.head;
  }

  /** Written, not yet called back. */
  get notCalledBack(): number {
    return this.bufs.length - this.done;
  }

  /** Stream offset after the last message called back: the bytes the kernel has certainly taken. */
  get calledBackBytes(): number {
    return this.done === 0 ? 0 : this.ends[this.done - 1]!;
  }

  push(b: Buffer): void {
    this.bufs.push(b);
    this.ends.push((this.written += b.length));
  }

  /** The oldest message not called back was (callbacks come in write order). */
  calledBack(): void {
    if (this.done < this.bufs.length) this.done++;
  }

  /** Acknowledges the called-back messages that end at or before stream offset `bytes`; returns how many. */
  ackThrough(bytes: number): number {
    const from = this.head;
    while (this.head < this.done && this.ends[this.head]! <= bytes) this.head++;
    const n = this.head - from;
    this.compact();
    return n;
  }

  /** Acknowledges the `n` oldest called-back messages (all of them when n is omitted); returns how many. */
  ackCalledBack(n = this.done - this.head): number {
    const k = Math.min(n, this.done - this.head);
    this.head += k;
    this.compact();
    return k;
  }

  /** Ends the ledger: the messages not acknowledged, oldest first. */
  close(): Buffer[] {
    this.closed = true;
    const rest = this.bufs.slice(this.head);
    this.bufs = [];
    this.ends = [];
    this.head = this.done = 0;
    return rest;
  }

  /** How many of the newest messages hold the last `bytes` bytes written (a partly taken one included). */
  newestCovering(bytes: number): number {
    let n = 0;
    for (let i = this.bufs.length - 1; bytes > 0 && i >= this.head; i--, n++) bytes -= this.bufs[i]!.length;
    return n;
  }

  private compact(): void {
    if (this.head === this.bufs.length) {
      this.bufs = [];
      this.ends = [];
      this.head = this.done = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.bufs.length) {
      this.bufs = this.bufs.slice(this.head);
      this.ends = this.ends.slice(this.head);
      this.done -= this.head;
      this.head = 0;
    }
  }
}
