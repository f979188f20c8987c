/**
 * Open-addressing hash from a fixed-width key of 32-bit words to a slot number, all in typed arrays.
 * Linear probing with backward-shift deletion (no tombstones, so probe chains never degrade over a long
 * run). The caller writes the key into `key`, then calls hash()/find()/insert(); nothing allocates.
 */
export class SlotHash {
  /** Scratch key the caller fills before find()/insert(). */
  readonly key: Uint32Array;
  private readonly words: number;
  private readonly slotKeys: Uint32Array;
  private readonly slotHash: Uint32Array;
  /** Position of each slot in `table`, -1 when absent. */
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(slots: number, words: number) {
    this.words = words;
    this.key = new Uint32Array(words);
    this.slotKeys = new Uint32Array(slots * words);
    this.slotHash = new Uint32Array(slots);
    let size = 16;
    while (size < slots * 2) size <<= 1; // load factor <= 0.5
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** Bytes of typed-array state. */
  get byteSize(): number {
    return this.key.byteLength + this.slotKeys.byteLength + this.slotHash.byteLength + this.table.byteLength;
  }

  /** Hash of the scratch key (murmur3-style mixing). */
  hash(): number {
    const k = this.key;
    let h = 0x9747b28c ^ this.words;
    for (let i = 0; i < this.words; i++) {
      let w = Math.imul(k[i], 0xcc9e2d51);
      w = (w << 15) | (w >>> 17);
      h ^= Math.imul(w, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** Slot whose key equals the scratch key, or -1. */
  find(h: number): number {
    const t = this.table;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = t[i];
      if (s < 0) return -1;
      if (this.slotHash[s] === h && this.keyEquals(s)) return s;
      i = (i + 1) & mask;
    }
  }

  /** Store the scratch key for `slot` (which must not be present). */
  insert(slot: number, h: number): void {
    const w = this.words;
    const base = slot * w;
    for (let i = 0; i < w; i++) this.slotKeys[base + i] = this.key[i];
    this.slotHash[slot] = h;
    const t = this.table;
    let i = h & this.mask;
    while (t[i] >= 0) i = (i + 1) & this.mask;
    t[i] = slot;
  }

  /** Remove `slot`; returns false when it was not present. */
  remove(slot: number): boolean {
    const t = this.table;
    const mask = this.mask;
    let i = this.slotHash[slot] & mask;
    for (;;) {
      const s = t[i];
      if (s < 0) return false;
      if (s === slot) break;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the chain into the hole when their home allows it.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = t[j];
      if (s < 0) break;
      const home = this.slotHash[s] & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        t[i] = s;
        i = j;
      }
    }
    t[i] = -1;
    return true;
  }

  /** Word `i` of the key stored for `slot`. */
  slotKeyWord(slot: number, i: number): number {
    return this.slotKeys[slot * this.words + i];
  }

  private keyEquals(slot: number): boolean {
    const w = this.words;
    const base = slot * w;
    const k = this.key;
    for (let i = 0; i < w; i++) if (this.slotKeys[base + i] !== k[i]) return false;
    return true;
  }
}
