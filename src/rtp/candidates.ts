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

export class CandidateCache {
  readonly keyWords: number;
  readonly mask: number;
  private readonly keys: Int32Array;
  /** Last sequence number of the entry, -1 when the entry is empty. */
  private readonly lastSeq: Int32Array;
  /** Consecutive in-sequence packets ending at the last one. */
  private readonly run: Int32Array;
  /** Pending packets buffered (<= DEPTH) and the ring position of the oldest. */
  private readonly count: Int32Array;
  /** Arrival (ms) of each entry's last packet: a way silent for STALE_MS may be taken by a new flow. */
  private readonly used: Float64Array;
  /** Entry index add() last wrote to, -1 when it could not hold the packet. */
  lastEntry = -1;
  private readonly head: Int32Array;
  // Pending packets, CANDIDATE_DEPTH per entry.
  readonly pSeq: Uint16Array;
  readonly pTs: Uint32Array;
  readonly pMs: Float64Array;
  readonly pPt: Uint8Array;
  readonly pMarker: Uint8Array;
  /** RTP payload bytes (a UDP payload is below 64 KiB). */
  readonly pBytes: Uint16Array;
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
    this.keys = new Int32Array(n * keyWords);
    this.lastSeq = new Int32Array(n).fill(-1);
    this.run = new Int32Array(n);
    this.count = new Int32Array(n);
    this.used = new Float64Array(n);
    this.head = new Int32Array(n);
    this.pSeq = new Uint16Array(n * CANDIDATE_DEPTH);
    this.pTs = new Uint32Array(n * CANDIDATE_DEPTH);
    this.pMs = new Float64Array(n * CANDIDATE_DEPTH);
    this.pPt = new Uint8Array(n * CANDIDATE_DEPTH);
    this.pMarker = new Uint8Array(n * CANDIDATE_DEPTH);
    this.pBytes = new Uint16Array(n * CANDIDATE_DEPTH);
  }

  get byteSize(): number {
    return (
      this.keys.byteLength + this.lastSeq.byteLength + this.run.byteLength + this.count.byteLength + this.head.byteLength + this.used.byteLength +
      this.pSeq.byteLength + this.pTs.byteLength + this.pMs.byteLength + this.pPt.byteLength + this.pMarker.byteLength + this.pBytes.byteLength
    );
  }

  /** Entry of hash h holding exactly `key`, or -1. */
  find(h: number, key: Int32Array): number {
    const set = h & this.mask & ~3;
    const ks = this.keys;
    const kw = this.keyWords;
    for (let i = set; i < set + 4; i++) {
      if (this.lastSeq[i] < 0) continue;
      const b = i * kw;
      let w = 0;
      while (w < kw && ks[b + w] === key[w]) w++;
      if (w === kw) return i;
    }
    return -1;
  }

  /** The way of hash h's set a new flow arriving at `ms` takes: an empty one, else a stale one, else -1. */
  private victim(h: number, ms: number): number {
    const set = h & this.mask & ~3;
    let best = set;
    for (let i = set; i < set + 4; i++) {
      if (this.lastSeq[i] < 0) return i;
      if (this.used[i] < this.used[best]) best = i;
    }
    return ms - this.used[best] >= STALE_MS || ms < this.used[best] ? best : -1;
  }

  /**
   * Buffer one packet of `key` (taking the entry over from another flow if needed) and return the length
   * of its consecutive run. `counts` false: buffered (it belongs to the flow) but breaks the run.
   */
  add(h: number, key: Int32Array, counts: boolean, seq: number, ts: number, ms: number, pt: number, marker: number, bytes: number): number {
    let i = this.find(h, key);
    if (i < 0) {
      i = this.victim(h, ms);
      this.lastEntry = i;
      if (i < 0) {
        this.discarded++;
        return 0;
      }
      if (this.lastSeq[i] >= 0) this.discarded += this.count[i];
      const b = i * this.keyWords;
      for (let w = 0; w < this.keyWords; w++) this.keys[b + w] = key[w];
      this.count[i] = 0;
      this.head[i] = 0;
      this.run[i] = 0;
    } else if (seq === this.lastSeq[i]) {
      // A duplicate (SPAN ports copy both directions of a link): a packet of the flow that neither
      // extends nor breaks the run, or a flow whose every packet arrives twice would never pass.
      counts = false;
    } else if (!counts || seq !== ((this.lastSeq[i] + 1) & 0xffff)) {
      this.run[i] = 0;
    }
    if (counts) this.run[i]++;
    this.lastSeq[i] = seq;
    this.used[i] = ms;
    this.lastEntry = i;
    // Full ring: the oldest packet is dropped (only when min_consecutive > DEPTH or the flow keeps breaking).
    let c = this.count[i];
    if (c === CANDIDATE_DEPTH) {
      this.head[i] = (this.head[i] + 1) & DMASK;
      this.discarded++;
      c--;
    }
    const p = i * CANDIDATE_DEPTH + ((this.head[i] + c) & DMASK);
    this.pSeq[p] = seq;
    this.pTs[p] = ts;
    this.pMs[p] = ms;
    this.pPt[p] = pt;
    this.pMarker[p] = marker;
    this.pBytes[p] = bytes;
    this.count[i] = c + 1;
    return this.run[i];
  }

  /** Consecutive in-sequence packets ending at entry i's last one. */
  runLength(i: number): number {
    return this.run[i];
  }

  /**
   * Pending packets at the end of entry i in consecutive sequence numbers (a duplicate neither counts nor
   * breaks), whatever their payload types: the run of a flow whose payload type only its SDP assigns.
   */
  sequentialTail(i: number): number {
    const n = this.count[i];
    if (n === 0) return 0;
    let run = 1;
    let next = this.pSeq[this.pending(i, n - 1)];
    for (let k = n - 2; k >= 0; k--) {
      const s = this.pSeq[this.pending(i, k)];
      if (s === next) continue;
      if (((s + 1) & 0xffff) !== next) break;
      run++;
      next = s;
    }
    return run;
  }

  /** Packets buffered in every entry now (a scan of the table: for counters read once a second). */
  heldPackets(): number {
    let n = 0;
    for (let i = 0; i <= this.mask; i++) if (this.lastSeq[i] >= 0) n += this.count[i];
    return n;
  }

  /** Every entry emptied, its packets counted as discarded (end of input). */
  discardAll(): void {
    for (let i = 0; i <= this.mask; i++) {
      if (this.lastSeq[i] >= 0) this.discarded += this.count[i];
      this.clear(i);
    }
  }

  /** Packets buffered in entry i, oldest first: index k of pending(i, k) runs 0..pendingCount-1. */
  pendingCount(i: number): number {
    return this.count[i];
  }

  /** Array index (into pSeq/pTs/...) of the k-th oldest pending packet of entry i. */
  pending(i: number, k: number): number {
    return i * CANDIDATE_DEPTH + ((this.head[i] + k) & DMASK);
  }

  clear(i: number): void {
    this.lastSeq[i] = -1;
    this.count[i] = 0;
    this.run[i] = 0;
  }
}
