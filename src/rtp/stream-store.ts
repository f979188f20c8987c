/**
 * Per-stream state of the RTP engine: one ArrayBuffer, a fixed-size record per slot, viewed as float64,
 * int32, uint16 and uint8. Each record has a HOT part (320 B = 5 cache lines, 64-byte aligned: the key the
 * lookup compares plus everything an in-order packet reads or writes) and a COLD part elsewhere in the
 * buffer (168 B: cumulative min/max before the current interval, interval baselines, rare counters, the
 * loss model's event counters and its interval baseline, MACs, VLAN, call reference). A packet touches
 * the 5 adjacent hot lines; cold lines only on losses, sequence errors, markers of some codecs, reports.
 *
 * Types: float64 only for times, jitter, deltas, means, sums (Wireshark agreement needs float64); integer
 * counters, sequence numbers and timestamps are int32/uint16/uint8. Int32 counters hold 2^31 packets
 * (497 days at 50 packets/s), the extended sequence numbers 2^31 as well. The reorder window is a
 * 128-bit set in 4 int32 words. The interval set keeps integer counts as differences from a baseline
 * taken at the interval reset (exact), and its own min/max/sums (float64 differences would not be exact).
 *
 * Offsets below are in units of the view they index: W_ int32 words, H_ uint16, B_ bytes, D_ float64.
 */

/**
 * Record layout (a const enum: tsc inlines the numbers, so the hot loop indexes with literals; imported
 * module constants would be loads through module cells on every access, measured ~25 % slower).
 */
export const enum L {
  /** Bytes of one record's hot part (5 cache lines) and cold part. */
  HOT_BYTES = 320,
  COLD_BYTES = 168,
  HOT_W = HOT_BYTES / 4,
  HOT_D = HOT_BYTES / 8,
  HOT_H = HOT_BYTES / 2,
  COLD_W = COLD_BYTES / 4,
  COLD_D = COLD_BYTES / 8,
  COLD_H = COLD_BYTES / 2,
  /**
   * Slots are below 2^21 (MAX_SLOTS), so every index into any view of the store is below 2^30. The hot
   * paths write `slot & SLOT_MASK` and `base & INDEX_MASK`: a no-op on the value, but it tells V8's
   * compiler the range, so `slot * HOT_W + W_PK` needs no int32 overflow check (one compare-and-branch
   * and a sign extension less on each of the ~60 record accesses per packet; measured ~5 ns/pkt).
   */
  MAX_SLOTS = 1 << 21,
  SLOT_MASK = MAX_SLOTS - 1,
  INDEX_MASK = (1 << 30) - 1,

  // ---- hot, int32 words 0..27 ----
  /** Stream key: src0..3, dst0..3, (srcPort << 16 | dstPort), SSRC. Words 0..8 are the 5-tuple. */
  W_KEY = 0,
  W_FIRST_TS = 10,
  W_A8_PREV_TS = 11,
  /** RFC 3550 A.1 cycles (multiple of 65536, starts at 65536), final-loss cursor, bad_seq (-1 = none). */
  W_CYCLES = 12,
  W_FIN_EXT = 13,
  W_BAD_SEQ = 14,
  /** Cumulative packets (also Wireshark's running-mean divisor), measured deltas, measured jitter samples. */
  W_PK = 15,
  W_NINC = 16,
  W_NINCJ = 17,
  W_LS_N = 18,
  W_CLOCK = 19,
  /** Reorder window: 128 bits, bit (ext & 127). */
  W_WIN = 20,
  // Loss model, the part fed on every in-order packet.
  W_RECV_RUN = 24,
  W_CL_PKTS = 25,
  W_CL_LOST = 26,
  W_MARKERS = 27,
  // ---- hot, uint16 (words 28..29) ----
  H_MAX_SEQ = 56,
  H_WS_SEQ = 57,
  H_STOP_SEQ = 58,
  H_FIRST_SEQ = 59,
  // ---- hot, bytes 120..127 ----
  B_PT = 120,
  B_KIND = 121,
  B_PREV_KIND = 122,
  B_WS_UNDER = 123,
  B_A8_VALID = 124,
  /** Loss model: state of the last fed number (0 none, 1 received, 2 lost), and at the interval reset. */
  B_LAST = 125,
  B_LAST_BASE = 126,
  B_FLAGS = 127,
  FLAG_IPV6 = 1,
  FLAG_HOST_TS = 2,
  FLAG_HAS_MAC = 4,
  FLAG_IN_TUPLES = 8,
  // ---- hot, float64 16..39 (bytes 128..319) ----
  D_LAST_MS = 16,
  D_FIRST_MS = 17,
  D_LAST_NOM = 18,
  D_WS_JIT = 19,
  /** Wireshark's "time": arrival of the last packet it analysed (one with a timestamp older than the first's is not). */
  D_WS_PREV_MS = 20,
  D_SKEW = 21,
  D_A8_J = 22,
  D_A8_PREV_MS = 23,
  D_LS_X = 24,
  D_LS_Y = 25,
  D_LS_XX = 26,
  D_LS_XY = 27,
  /** Cumulative: payload bytes, Wireshark running means, sum of measured deltas. */
  D_BY = 28,
  D_MEAND = 29,
  D_MEANJ = 30,
  D_SUMD = 31,
  /** Interval: min/max delta and jitter, max |skew|, sums, start time. */
  D_I_MIND = 32,
  D_I_MAXD = 33,
  D_I_MINJ = 34,
  D_I_MAXJ = 35,
  D_I_MAXSK = 36,
  D_I_SUMD = 37,
  D_I_SUMJ = 38,
  D_I_START = 39,

  // ---- cold, float64 0..5 (relative to the slot's cold base) ----
  /** Min/max over the intervals before the current one: cumulative = combine(this, interval). */
  D_C_MIND = 0,
  D_C_MAXD = 1,
  D_C_MINJ = 2,
  D_C_MAXJ = 3,
  D_C_MAXSK = 4,
  D_BY_BASE = 5,
  // ---- cold, int32 12..37 ----
  W_SE = 12,
  W_OO = 13,
  W_DU = 14,
  W_CN = 15,
  W_TEV = 16,
  W_PT_CHANGES = 17,
  // int32 word 18 is split: uint16 36, bytes 74..75.
  /** Expected = cycles + max_seq - EXP_OFF + 1 (EXP_OFF = base_ext minus packets expected in closed segments). */
  W_EXP_OFF = 19,
  /** Interval baselines: expected, packets, seq errors, out-of-order, duplicates, measured counts. */
  W_EXP_PRIOR = 20,
  W_B_PK = 21,
  W_B_SE = 22,
  W_B_OO = 23,
  W_B_DU = 24,
  W_B_NINC = 25,
  W_B_NINCJ = 26,
  /** Loss model event counters (see loss-model.ts) and their interval baseline. */
  W_NRL = 27,
  W_NLL = 28,
  W_BURST_PKTS = 29,
  W_BURST_LOST = 30,
  W_NBURSTS = 31,
  W_LB_NRL = 32,
  W_LB_NLL = 33,
  W_LB_BURST_PKTS = 34,
  W_LB_BURST_LOST = 35,
  W_LB_NBURSTS = 36,
  W_CALLREF = 37,
  // ---- cold, uint16 36, bytes 74..75 (in int32 word 18) ----
  /** SSRC changes on this 5-tuple before this stream (saturates at 65535). */
  H_SSRC_CHANGES = 36,
  /** Payload type whose clock the stream inferred (bit 7 set once inference ended, success or not). */
  B_INFER_PT = 74,
  /** Clock source (ClockSource, bits 0..2) and the inferred clock's index + 1 in INFER_CLOCKS (bits 3..5). */
  B_CLK = 75,
  // ---- cold, uint16 76..77, bytes 156..167 ----
  H_WS_CYCLES = 76,
  /** VLAN id + 1 (0 = none). */
  H_VLAN1 = 77,
  B_MACS = 156,
}

/** Records for `slots` streams plus one scratch record (index `slots`) for report-time computations. */
export class StreamStore {
  readonly slots: number;
  readonly buffer: ArrayBuffer;
  readonly f: Float64Array;
  readonly w: Int32Array;
  readonly h: Uint16Array;
  readonly b: Uint8Array;
  /** Start of the cold region in bytes (records 0..slots, hot region before it). */
  readonly coldByte: number;

  constructor(slots: number) {
    // The scratch record takes index `slots`: it must stay below MAX_SLOTS too.
    if (!Number.isInteger(slots) || slots < 1 || slots >= L.MAX_SLOTS) throw new RangeError(`stream slots must be an integer from 1 to ${L.MAX_SLOTS - 1}, got ${slots}`);
    this.slots = slots;
    const records = slots + 1;
    this.coldByte = records * L.HOT_BYTES;
    this.buffer = new ArrayBuffer(this.coldByte + records * L.COLD_BYTES);
    this.f = new Float64Array(this.buffer);
    this.w = new Int32Array(this.buffer);
    this.h = new Uint16Array(this.buffer);
    this.b = new Uint8Array(this.buffer);
  }

  get byteSize(): number {
    return this.buffer.byteLength;
  }

  /** Bases of slot `s` in each view (hot: s * HOT_x; cold: these). */
  coldW(s: number): number {
    return (this.coldByte >> 2) + s * L.COLD_W;
  }
  coldD(s: number): number {
    return (this.coldByte >> 3) + s * L.COLD_D;
  }
  coldH(s: number): number {
    return (this.coldByte >> 1) + s * L.COLD_H;
  }
  coldB(s: number): number {
    return this.coldByte + s * L.COLD_BYTES;
  }

  /** Zero slot `s`'s hot and cold parts. */
  clear(s: number): void {
    this.b.fill(0, s * L.HOT_BYTES, (s + 1) * L.HOT_BYTES);
    const cb = this.coldB(s);
    this.b.fill(0, cb, cb + L.COLD_BYTES);
  }
}
