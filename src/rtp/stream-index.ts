/**
 * Open-addressing indexes of the RTP engine over keys stored IN the stream records (stream-store.ts,
 * int32 words 0..9 of a slot's hot part), so a lookup that hits reads the very cache line the packet's
 * update needs next. Linear probing, backward-shift deletion (no tombstones). The table is sized
 * 1.5 x slots (not a power of two: multiply-shift maps the hash to a position) and each entry carries
 * low hash bits beside the slot number, so probing past other streams rarely touches their records.
 */
import { L } from './stream-store.js';

/**
 * Hash of the 10-word stream key. Each word gets its own odd multiplier and the products are XORed, so
 * the multiplications are independent (instruction-level parallelism) instead of one serial murmur chain
 * per word; the murmur3 finalizer then spreads the bits. Not keyed: like any unseeded hash, crafted keys
 * can collide (bounded by the load factor and linear probing). native-bench/rtpbench.c uses the same.
 */
export function hashStreamKey(k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number): number {
  const imul = Math.imul; // read once: a third less bytecode, so the engine's onRtp can inline more
  let h =
    imul(k9, 0x9e3779b1) ^ imul(k8, 0x85ebca77) ^ imul(k3, 0xc2b2ae3d) ^ imul(k7, 0x27d4eb2f) ^
    imul(k2 ^ ((k6 << 16) | (k6 >>> 16)), 0x165667b1) ^ imul(k1 ^ ((k5 << 16) | (k5 >>> 16)), 0xd3a2646d) ^
    imul(k0 ^ ((k4 << 16) | (k4 >>> 16)), 0xfd7046c5);
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x7fffffff; // non-negative int32
}

/** Table of (slot, hash tag) entries; `words` key words of a record are compared (10: stream, 9: 5-tuple). */
export class RecordIndex {
  protected readonly table: Int32Array;
  protected readonly size: number;
  /** position = floor(h * scale), h < 2^31. */
  protected readonly scale: number;
  /** Entry = slot << tagBits | (h & tagMask); -1 = empty. */
  protected readonly tagBits: number;
  protected readonly tagMask: number;

  constructor(protected readonly w: Int32Array, slots: number, private readonly words: number) {
    this.size = Math.max(16, Math.ceil(slots * 1.5));
    this.table = new Int32Array(this.size).fill(-1);
    this.scale = this.size / 2147483648;
    let slotBits = 1;
    while (1 << slotBits <= slots) slotBits++;
    this.tagBits = 31 - slotBits;
    this.tagMask = (1 << this.tagBits) - 1;
  }

  get byteSize(): number {
    return this.table.byteLength;
  }

  /** Hash of the key stored in `slot`'s record. */
  hashOf(slot: number): number {
    const w = this.w;
    const b = slot * L.HOT_W;
    return hashStreamKey(w[b], w[b + 1], w[b + 2], w[b + 3], w[b + 4], w[b + 5], w[b + 6], w[b + 7], w[b + 8], this.words === 10 ? w[b + 9] : 0);
  }

  /** Slot whose record holds the same key words as `other`'s record (not `other` itself), or -1. */
  findLike(h: number, other: number): number {
    const t = this.table;
    const w = this.w;
    const ob = other * L.HOT_W;
    let i = (h * this.scale) | 0;
    for (;;) {
      const e = t[i];
      if (e < 0) return -1;
      if (((e ^ h) & this.tagMask) === 0) {
        const s = e >>> this.tagBits;
        const b = s * L.HOT_W;
        let same = s !== other;
        for (let k = 0; same && k < this.words; k++) same = w[b + k] === w[ob + k];
        if (same) return s;
      }
      if (++i === this.size) i = 0;
    }
  }

  /** Index `slot` (its record's key words already written) under hash h. It must not be present. */
  insert(slot: number, h: number): void {
    const t = this.table;
    let i = (h * this.scale) | 0;
    while (t[i] >= 0) if (++i === this.size) i = 0;
    t[i] = (slot << this.tagBits) | (h & this.tagMask);
  }

  /** Remove `slot` (hash recomputed from its record, which must still hold the key). */
  remove(slot: number): boolean {
    const t = this.table;
    const size = this.size;
    let i = (this.hashOf(slot) * this.scale) | 0;
    for (;;) {
      const e = t[i];
      if (e < 0) return false;
      if (e >>> this.tagBits === slot) break;
      if (++i === size) i = 0;
    }
    // Backward shift: pull later entries of the run into the hole when their home allows it.
    let j = i;
    for (;;) {
      if (++j === size) j = 0;
      const e = t[j];
      if (e < 0) break;
      const home = (this.hashOf(e >>> this.tagBits) * this.scale) | 0;
      if ((j - home + size) % size >= (j - i + size) % size) {
        t[i] = e;
        i = j;
      }
    }
    t[i] = -1;
    return true;
  }
}

/** The (5-tuple, SSRC) -> slot index every packet probes, with an unrolled compare fed from locals. */
export class StreamIndex extends RecordIndex {
  constructor(w: Int32Array, slots: number) {
    super(w, slots, 10);
  }

  /** Slot of the key (words as int32: `x | 0`), or -1. */
  find(h: number, k0: number, k1: number, k2: number, k3: number, k4: number, k5: number, k6: number, k7: number, k8: number, k9: number): number {
    const t = this.table;
    const ks = this.w;
    const tagMask = this.tagMask;
    let i = (h * this.scale) | 0;
    for (;;) {
      const e = t[i];
      if (e < 0) return -1;
      if (((e ^ h) & tagMask) === 0) {
        const s = (e >>> this.tagBits) & L.SLOT_MASK; // range for the compiler (stream-store.ts)
        const b = s * L.HOT_W;
        // Most distinctive words first: SSRC, ports, the low address words.
        if (ks[b + 9] === k9 && ks[b + 8] === k8 && ks[b + 3] === k3 && ks[b + 7] === k7 && ks[b] === k0 && ks[b + 1] === k1 &&
          ks[b + 2] === k2 && ks[b + 4] === k4 && ks[b + 5] === k5 && ks[b + 6] === k6) return s;
      }
      if (++i === this.size) i = 0;
    }
  }

}
