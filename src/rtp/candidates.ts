/**
 * Candidate cache of the RTP heuristic: unsignalled (5-tuple, SSRC) flows not yet taken as RTP.
 *
 * 4-way set-associative by key hash. A new flow takes an empty way, else one silent for a second (a
 * flow in probation sends every few tens of ms); when every way is busy the newcomer's packet is not held
 * (counted as discarded) and it gets in once a way frees: flows that keep arriving interleaved would
 * otherwise evict each other forever and none would ever start. Besides the run of consecutive
 * sequence numbers that decides promotion, each entry keeps the packets seen so far (up to DEPTH) so a
 * promoted stream can be fed from its first packet: Wireshark counts a stream from its first packet,
 * and metrics computed from the promoting packet on would miss packets, deltas and jitter samples.
 * Everything lives in preallocated typed arrays; nothing is allocated per packet.
 */

/** Pending packets kept per candidate (a power of two). Promotion needs min_consecutive - 1 of them. */
export const CANDIDATE_DEPTH = 16;
const DMASK = CANDIDATE_DEPTH - 1;
/** A flow in probation silent this long (ms) gives its way to a new flow. */
const STALE_MS = 1000;

// An entry's words, its key after them. One record per entry, and one per pending packet: a new flow
// touches the table at one place per record kind rather than in a dozen arrays (each a cache miss and,
// in a table of 40,000 slots' size, a page first touched).
/** Last sequence number of the entry, -1 when the entry is empty. */
const E_LAST_SEQ = 0;
/** Consecutive in-sequence packets ending at the last one. */
const E_RUN = 1;
/** Pending packets buffered (<= DEPTH) and the ring position of the oldest. */
const E_COUNT = 2;
const E_HEAD = 3;
const E_KEY = 4;
// A pending packet's words (besides its arrival time, a double of its own array).
const P_SEQ = 0;
const P_TS = 1;
/** Payload type, marker bit at 0x100. */
const P_PT_MARKER = 2;
/** RTP payload bytes. */
const P_BYTES = 3;
const P_WORDS = 4;

export class CandidateCache {
  readonly keyWords: number;
  readonly mask: number;
  /** Entry records, `stride` words each (E_*). */
  private readonly entries: Int32Array;
  private readonly stride: number;
  /** Arrival (ms) of each entry's last packet: a way silent for STALE_MS may be taken by a new flow. */
  private readonly used: Float64Array;
  /** Entry index add() last wrote to, -1 when it could not hold the packet. */
  lastEntry = -1;
  // Pending packets, CANDIDATE_DEPTH per entry: P_WORDS words each, and the arrival time.
  private readonly pWords: Uint32Array;
  private readonly pMs: Float64Array;
  /**
   * Packets held that will never be measured: dropped from a full ring, or from an entry another flow took
   * over (a stray packet of another SSRC, junk, a flow too short to pass). Monotonic.
   */
  discarded = 0;

  constructor(slots: number, keyWords: number) {
    let n = 16;
    while (n < slots) n <<= 1;
    this.mask = n - 1;
    this.keyWords = keyWords;
    this.stride = E_KEY + keyWords;
    this.entries = new Int32Array(n * this.stride);
    for (let i = 0; i < n; i++) this.entries[i * this.stride + E_LAST_SEQ] = -1;
    this.used = new Float64Array(n);
    this.pWords = new Uint32Array(n * CANDIDATE_DEPTH * P_WORDS);
    this.pMs = new Float64Array(n * CANDIDATE_DEPTH);
  }

  get byteSize(): number {
    return this.entries.byteLength + this.used.byteLength + this.pWords.byteLength + this.pMs.byteLength;
  }

  /** Entry of hash h holding exactly `key`, or -1. */
  find(h: number, key: Int32Array): number {
    const set = h & this.mask & ~3;
    const e = this.entries;
    const kw = this.keyWords;
    for (let i = set; i < set + 4; i++) {
      const b = i * this.stride;
      if (e[b + E_LAST_SEQ] < 0) continue;
      let w = 0;
      while (w < kw && e[b + E_KEY + w] === key[w]) w++;
      if (w === kw) return i;
    }
    return -1;
  }

  /** The way of hash h's set a new flow arriving at `ms` takes: an empty one, else a stale one, else -1. */
  private victim(h: number, ms: number): number {
    const set = h & this.mask & ~3;
    let best = set;
    for (let i = set; i < set + 4; i++) {
      if (this.entries[i * this.stride + E_LAST_SEQ] < 0) return i;
      if (this.used[i] < this.used[best]) best = i;
    }
    return ms - this.used[best] >= STALE_MS || ms < this.used[best] ? best : -1;
  }

  /**
   * Buffer one packet of `key` (taking the entry over from another flow if needed) and return the length
   * of its consecutive run. `counts` false: buffered (it belongs to the flow) but breaks the run.
   */
  add(h: number, key: Int32Array, counts: boolean, seq: number, ts: number, ms: number, pt: number, marker: number, bytes: number): number {
    const e = this.entries;
    let i = this.find(h, key);
    let b = i * this.stride;
    if (i < 0) {
      i = this.victim(h, ms);
      this.lastEntry = i;
      if (i < 0) {
        this.discarded++;
        return 0;
      }
      b = i * this.stride;
      if (e[b + E_LAST_SEQ] >= 0) this.discarded += e[b + E_COUNT];
      for (let w = 0; w < this.keyWords; w++) e[b + E_KEY + w] = key[w];
      e[b + E_COUNT] = 0;
      e[b + E_HEAD] = 0;
      e[b + E_RUN] = 0;
    } else if (seq === e[b + E_LAST_SEQ]) {
      // A duplicate (SPAN ports copy both directions of a link): a packet of the flow that neither
      // extends nor breaks the run, or a flow whose every packet arrives twice would never pass.
      counts = false;
    } else if (!counts || seq !== ((e[b + E_LAST_SEQ] + 1) & 0xffff)) {
      e[b + E_RUN] = 0;
    }
    if (counts) e[b + E_RUN]++;
    e[b + E_LAST_SEQ] = seq;
    this.used[i] = ms;
    this.lastEntry = i;
    // Full ring: the oldest packet is dropped (only when min_consecutive > DEPTH or the flow keeps breaking).
    let c = e[b + E_COUNT];
    if (c === CANDIDATE_DEPTH) {
      e[b + E_HEAD] = (e[b + E_HEAD] + 1) & DMASK;
      this.discarded++;
      c--;
    }
    const p = i * CANDIDATE_DEPTH + ((e[b + E_HEAD] + c) & DMASK);
    const pw = p * P_WORDS;
    this.pWords[pw + P_SEQ] = seq;
    this.pWords[pw + P_TS] = ts;
    this.pWords[pw + P_PT_MARKER] = pt | (marker !== 0 ? 0x100 : 0);
    this.pWords[pw + P_BYTES] = bytes;
    this.pMs[p] = ms;
    e[b + E_COUNT] = c + 1;
    return e[b + E_RUN];
  }

  /** Consecutive in-sequence packets ending at entry i's last one. */
  runLength(i: number): number {
    return this.entries[i * this.stride + E_RUN];
  }

  /**
   * Pending packets at the end of entry i in consecutive sequence numbers (a duplicate neither counts nor
   * breaks), whatever their payload types: the run of a flow whose payload type only its SDP assigns.
   */
  sequentialTail(i: number): number {
    const n = this.pendingCount(i);
    if (n === 0) return 0;
    let run = 1;
    let next = this.seqAt(this.pending(i, n - 1));
    for (let k = n - 2; k >= 0; k--) {
      const s = this.seqAt(this.pending(i, k));
      if (s === next) continue;
      if (((s + 1) & 0xffff) !== next) break;
      run++;
      next = s;
    }
    return run;
  }

  /** Every entry emptied, its packets counted as discarded (end of input). */
  discardAll(): void {
    for (let i = 0; i <= this.mask; i++) {
      const b = i * this.stride;
      if (this.entries[b + E_LAST_SEQ] >= 0) this.discarded += this.entries[b + E_COUNT];
      this.clear(i);
    }
  }

  /** Packets buffered in entry i, oldest first: index k of pending(i, k) runs 0..pendingCount-1. */
  pendingCount(i: number): number {
    return this.entries[i * this.stride + E_COUNT];
  }

  /** Index (for seqAt, tsAt, ...) of the k-th oldest pending packet of entry i. */
  pending(i: number, k: number): number {
    return i * CANDIDATE_DEPTH + ((this.entries[i * this.stride + E_HEAD] + k) & DMASK);
  }

  /** Fields of pending packet p (an index from pending()). */
  seqAt(p: number): number {
    return this.pWords[p * P_WORDS + P_SEQ];
  }

  tsAt(p: number): number {
    return this.pWords[p * P_WORDS + P_TS];
  }

  msAt(p: number): number {
    return this.pMs[p];
  }

  ptAt(p: number): number {
    return this.pWords[p * P_WORDS + P_PT_MARKER] & 0xff;
  }

  markerAt(p: number): number {
    return this.pWords[p * P_WORDS + P_PT_MARKER] >>> 8;
  }

  bytesAt(p: number): number {
    return this.pWords[p * P_WORDS + P_BYTES];
  }

  clear(i: number): void {
    const b = i * this.stride;
    this.entries[b + E_LAST_SEQ] = -1;
    this.entries[b + E_COUNT] = 0;
    this.entries[b + E_RUN] = 0;
  }
}
