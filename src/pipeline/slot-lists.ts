/**
 * Stream slots grouped by a number >= 0 (a binding id, a call index): each group a doubly linked list through
 * typed arrays, newest slot first, so a group's slots are found without scanning every stream and no
 * array is kept per group. A slot is in at most one group of a SlotLists at a time.
 */
export class SlotLists {
  /** First slot of each group (groups with none are absent). */
  private readonly head = new Map<number, number>();
  /** The group of each slot, -1 when in none. */
  private readonly groupOf: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  constructor(slots: number) {
    this.groupOf = new Int32Array(slots).fill(-1);
    this.next = new Int32Array(slots).fill(-1);
    this.prev = new Int32Array(slots).fill(-1);
  }

  /** Puts `slot` (in no group) at the head of `group`. */
  add(group: number, slot: number): void {
    const head = this.head.get(group) ?? -1;
    this.groupOf[slot] = group;
    this.next[slot] = head;
    this.prev[slot] = -1;
    if (head >= 0) this.prev[head] = slot;
    this.head.set(group, slot);
  }

  /** Takes `slot` out of its group (nothing when in none). */
  remove(slot: number): void {
    const group = this.groupOf[slot];
    if (group < 0) return;
    const next = this.next[slot];
    const prev = this.prev[slot];
    if (prev >= 0) this.next[prev] = next;
    else if (next >= 0) this.head.set(group, next);
    else this.head.delete(group);
    if (next >= 0) this.prev[next] = prev;
    this.groupOf[slot] = -1;
    this.next[slot] = -1;
    this.prev[slot] = -1;
  }

  /** The first slot of `group`, -1 when it has none. */
  first(group: number): number {
    return this.head.get(group) ?? -1;
  }

  /** The slot after `slot` in its group, -1 after the last. */
  after(slot: number): number {
    return this.next[slot];
  }
}
