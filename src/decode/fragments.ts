import { ProtocolCounter } from './counters.js';

export interface FragmentLimits {
  /** Chains reassembled at the same time; a new chain beyond it evicts the oldest (default 64). */
  maxFragmentChains: number;
  /** Bytes held by all chains together; exceeding it evicts the oldest chains (default 1 MiB). */
  maxFragmentBytes: number;
  /** A chain not completed within this much capture time is dropped (default 30 s, like Linux ipfrag_time). */
  fragmentTimeoutMs: number;
}

/** Result of FragmentReassembler.add besides a completed length. */
export const FRAGMENT_PENDING = -1;
export const FRAGMENT_BAD = -2;

const MAX_DATAGRAM = 65535;
const UNITS = MAX_DATAGRAM + 8 >> 3; // 8-byte fragment units of the largest datagram
const BITMAP_BYTES = (UNITS + 7) >> 3;
const KEY_WORDS = 11; // version, id, proto (IPv4 only), src 4 words, dst 4 words

/**
 * IPv4 / IPv6 fragment reassembly with bounded memory. Fragments are rare on RTP paths but common for SIP
 * over UDP, so this path may allocate (a chain's buffer, grown on demand and then reused by its slot);
 * the common path of unfragmented packets never comes here. Chains are found by a linear scan: their
 * number is small by configuration.
 *
 * Overlapping fragments overwrite earlier bytes (last one wins) and are counted; a fragment entirely
 * covered by earlier ones is a duplicate, counted and ignored.
 */
export class FragmentReassembler {
  /** The last completed datagram's payload (bytes after the IP header / fragment header). */
  readonly assembled = new Uint8Array(MAX_DATAGRAM);
  /** Protocol (IPv4) or the first fragment's next header (IPv6) of the completed datagram. */
  assembledProto = 0;

  private readonly max: number;
  private readonly key: Uint32Array;
  private readonly active: Uint8Array;
  private readonly startMs: Float64Array;
  private readonly total: Int32Array; // datagram length once the last fragment arrived, else -1
  private readonly held: Int32Array; // highest end seen: the bytes this chain accounts for
  private readonly covered: Int32Array; // 8-byte units received
  private readonly firstProto: Int32Array;
  private readonly bitmap: Uint8Array;
  private readonly data: Uint8Array[];
  private heldTotal = 0;

  constructor(private readonly limits: FragmentLimits, private readonly counts: Float64Array) {
    const n = Math.max(1, limits.maxFragmentChains | 0);
    this.max = n;
    this.key = new Uint32Array(n * KEY_WORDS);
    this.active = new Uint8Array(n);
    this.startMs = new Float64Array(n);
    this.total = new Int32Array(n);
    this.held = new Int32Array(n);
    this.covered = new Int32Array(n);
    this.firstProto = new Int32Array(n);
    this.bitmap = new Uint8Array(n * BITMAP_BYTES);
    this.data = new Array<Uint8Array>(n).fill(EMPTY);
  }

  /**
   * Adds one fragment: `fragOffset` in bytes, `more` the MF flag, data in buf[off..off+len). `proto` is
   * the IPv4 protocol or the IPv6 fragment header's next header. Returns the datagram length when this
   * fragment completed it (bytes in `assembled`), FRAGMENT_PENDING, or FRAGMENT_BAD.
   */
  add(
    version: number, id: number, proto: number,
    s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
    fragOffset: number, more: boolean, buf: Uint8Array, off: number, len: number, nowMs: number,
  ): number {
    const end = fragOffset + len;
    if (end > MAX_DATAGRAM || (more && (len & 7) !== 0) || (more && len === 0)) return FRAGMENT_BAD;
    this.expire(nowMs);
    const keyProto = version === 4 ? proto : 0; // IPv6 chains are (src, dst, id); only the first carries the real next header
    let slot = this.find(version, id, keyProto, s0, s1, s2, s3, d0, d1, d2, d3);
    if (slot < 0) slot = this.open(version, id, keyProto, s0, s1, s2, s3, d0, d1, d2, d3, nowMs);

    const total = this.total[slot];
    if ((total >= 0 && end > total) || (!more && total >= 0 && end !== total) || (!more && end < this.held[slot])) {
      this.drop(slot); // contradicts what earlier fragments said: the chain cannot be trusted
      return FRAGMENT_BAD;
    }
    // Coverage in 8-byte units: count newly covered ones to detect duplicates and overlaps.
    const first = fragOffset >> 3;
    const last = (end + 7) >> 3; // exclusive
    const bm = slot * BITMAP_BYTES;
    let fresh = 0;
    for (let u = first; u < last; u++) {
      const byte = bm + (u >> 3);
      const bit = 1 << (u & 7);
      if ((this.bitmap[byte] & bit) === 0) {
        this.bitmap[byte] |= bit;
        fresh++;
      }
    }
    if (fresh === 0 && last > first) {
      this.counts[ProtocolCounter.FRAGMENT_DUPLICATES]++;
      return FRAGMENT_PENDING;
    }
    if (fresh < last - first) this.counts[ProtocolCounter.FRAGMENT_OVERLAPS]++;
    this.covered[slot] += fresh;

    if (end > this.held[slot]) {
      const grow = end - this.held[slot];
      this.heldTotal += grow;
      this.held[slot] = end;
      if (!this.makeRoom(slot)) return FRAGMENT_BAD;
      if (this.data[slot].length < end) {
        const bigger = new Uint8Array(Math.min(MAX_DATAGRAM, Math.max(end, this.data[slot].length * 2, 2048)));
        bigger.set(this.data[slot]);
        this.data[slot] = bigger;
      }
    }
    this.data[slot].set(buf.subarray(off, off + len), fragOffset);
    if (fragOffset === 0) this.firstProto[slot] = proto;
    if (!more) this.total[slot] = end;

    const t = this.total[slot];
    if (t >= 0 && this.covered[slot] === (t + 7) >> 3) {
      this.assembled.set(this.data[slot].subarray(0, t));
      this.assembledProto = this.firstProto[slot];
      this.drop(slot);
      return t;
    }
    return FRAGMENT_PENDING;
  }

  /** Chains in progress (for tests and stats). */
  chainsInProgress(): number {
    let n = 0;
    for (let i = 0; i < this.max; i++) n += this.active[i];
    return n;
  }

  bytesHeld(): number {
    return this.heldTotal;
  }

  private find(version: number, id: number, proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number): number {
    const k = this.key;
    for (let i = 0; i < this.max; i++) {
      if (this.active[i] === 0) continue;
      const b = i * KEY_WORDS;
      if (k[b] === version && k[b + 1] === id && k[b + 2] === proto && k[b + 3] === s0 && k[b + 4] === s1 && k[b + 5] === s2 &&
        k[b + 6] === s3 && k[b + 7] === d0 && k[b + 8] === d1 && k[b + 9] === d2 && k[b + 10] === d3) return i;
    }
    return -1;
  }

  private open(version: number, id: number, proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, nowMs: number): number {
    let slot = -1;
    for (let i = 0; i < this.max; i++) {
      if (this.active[i] === 0) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      slot = this.oldest(-1);
      this.counts[ProtocolCounter.FRAGMENT_EVICTIONS]++;
      this.drop(slot);
    }
    const b = slot * KEY_WORDS;
    const k = this.key;
    k[b] = version; k[b + 1] = id; k[b + 2] = proto;
    k[b + 3] = s0; k[b + 4] = s1; k[b + 5] = s2; k[b + 6] = s3;
    k[b + 7] = d0; k[b + 8] = d1; k[b + 9] = d2; k[b + 10] = d3;
    this.active[slot] = 1;
    this.startMs[slot] = nowMs;
    this.total[slot] = -1;
    this.held[slot] = 0;
    this.covered[slot] = 0;
    this.firstProto[slot] = -1;
    this.bitmap.fill(0, slot * BITMAP_BYTES, (slot + 1) * BITMAP_BYTES);
    return slot;
  }

  /** Evicts the oldest other chains until the byte budget holds; false when `slot` alone exceeds it. */
  private makeRoom(slot: number): boolean {
    while (this.heldTotal > this.limits.maxFragmentBytes) {
      const victim = this.oldest(slot);
      this.counts[ProtocolCounter.FRAGMENT_EVICTIONS]++;
      if (victim < 0) {
        this.drop(slot);
        return false;
      }
      this.drop(victim);
    }
    return true;
  }

  private oldest(except: number): number {
    let best = -1;
    for (let i = 0; i < this.max; i++) {
      if (this.active[i] === 0 || i === except) continue;
      if (best < 0 || this.startMs[i] < this.startMs[best]) best = i;
    }
    return best;
  }

  private expire(nowMs: number): void {
    const limit = this.limits.fragmentTimeoutMs;
    for (let i = 0; i < this.max; i++) {
      if (this.active[i] !== 0 && nowMs - this.startMs[i] > limit) {
        this.counts[ProtocolCounter.FRAGMENT_TIMEOUTS]++;
        this.drop(i);
      }
    }
  }

  private drop(slot: number): void {
    this.active[slot] = 0;
    this.heldTotal -= this.held[slot];
    this.held[slot] = 0;
  }
}

const EMPTY = new Uint8Array(0);
