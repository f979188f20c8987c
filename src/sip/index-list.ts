/**
 * A doubly linked list threaded through preallocated arrays of indexes 0..capacity-1: O(1) append,
 * unlink and move-to-tail, nothing allocated. The call table keeps two over the same calls (by creation
 * for max age, by last activity for idle expiry and eviction).
 */
export class IndexList {
  /** First index (oldest), -1 when empty. */
  head = -1;
  private tail = -1;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;

  constructor(capacity: number) {
    this.prev = new Int32Array(capacity).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
  }

  append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = -1;
    if (this.tail >= 0) this.next[this.tail] = i;
    else this.head = i;
    this.tail = i;
  }

  unlink(i: number): void {
    const p = this.prev[i];
    const n = this.next[i];
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.prev[i] = -1;
    this.next[i] = -1;
  }

  moveToTail(i: number): void {
    if (this.tail === i) return;
    this.unlink(i);
    this.append(i);
  }
}
