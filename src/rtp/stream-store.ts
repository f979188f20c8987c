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
 */
import { layoutRecord, type RecordField } from './record-layout.js';

/**
 * The record, declared once (record-layout.ts: offsets by declaration order, each field aligned to its
 * element size). Name prefixes say the view and the part: D_ float64, W_ int32, H_ uint16, B_ uint8 in the
 * hot part; CD_, CW_, CH_, CB_ the same in the cold part. "Interval" fields restart at each report
 * interval (resetInterval); "base" fields hold a cumulative value as it was at the last reset.
 */
export const STREAM_FIELDS = [
  // ---- hot, int32 (words 0..27) ----
  ['W_KEY', 'hot', 'i32', 10], // stream key: src0..3, dst0..3, srcPort << 16 | dstPort, SSRC (words 0..8: the 5-tuple); stream-index.ts compares it in place
  ['W_FIRST_TS', 'hot', 'i32', 1], // RTP timestamp of the first packet (Wireshark's nominal time and skew count from it)
  ['W_A8_PREV_TS', 'hot', 'i32', 1], // RFC 3550 A.8: RTP timestamp of the previous packet
  ['W_CYCLES', 'hot', 'i32', 1], // RFC 3550 A.1 cycles, a multiple of 65536 (starts at 65536 so a restart at 0 stays positive)
  ['W_FINAL_EXT', 'hot', 'i32', 1], // next extended number whose final state (received or lost) the loss model gets
  ['W_BAD_SEQ', 'hot', 'i32', 1], // RFC 3550 A.1 bad_seq: the number that would confirm a jump (-1 none)
  ['W_PACKETS', 'hot', 'i32', 1], // packets (also Wireshark's running-mean divisor)
  ['W_DELTAS', 'hot', 'i32', 1], // deltas in Wireshark's min/mean/max (not after a marker or comfort noise)
  ['W_JITTERS', 'hot', 'i32', 1], // jitter values in Wireshark's min/mean/max (those deltas, with a clock)
  ['W_DRIFT_N', 'hot', 'i32', 1], // points of the clock-drift least-squares fit
  ['W_CLOCK', 'hot', 'i32', 1], // clock rate of the current payload type (Hz), 0 unknown
  ['W_REORDER', 'hot', 'i32', 4], // reorder window: 128 bits, bit (extended number & 127) set when received
  ['W_RECV_RUN', 'hot', 'i32', 1], // loss model: received run since the open cluster's last loss
  ['W_CLUSTER_PKTS', 'hot', 'i32', 1], // loss model: open cluster's packets and losses
  ['W_CLUSTER_LOST', 'hot', 'i32', 1],
  ['W_MARKERS', 'hot', 'i32', 1], // packets with the marker bit
  // ---- hot, uint16 (halves 56..59) ----
  ['H_MAX_SEQ', 'hot', 'u16', 1], // RFC 3550 A.1 max_seq
  ['H_WS_SEQ', 'hot', 'u16', 1], // Wireshark: the number the next in-sequence packet follows
  ['H_WS_LAST_SEQ', 'hot', 'u16', 1], // Wireshark: number of the latest packet (its "expected" ends there)
  ['H_FIRST_SEQ', 'hot', 'u16', 1], // number of the first packet
  // ---- hot, bytes 120..127 ----
  ['B_PT', 'hot', 'u8', 1], // payload type of the latest packet
  ['B_KIND', 'hot', 'u8', 1], // its PayloadKind, and the previous packet's
  ['B_PREV_KIND', 'hot', 'u8', 1],
  ['B_WS_BELOW_FIRST', 'hot', 'u8', 1], // Wireshark's cycle counting: 1 while numbers run below the first packet's
  ['B_A8_STARTED', 'hot', 'u8', 1], // RFC 3550 A.8 has a previous packet (W_A8_PREV_TS, D_A8_PREV_MS)
  ['B_LOSS_LAST', 'hot', 'u8', 1], // loss model: state of the last number fed (0 none, 1 received, 2 lost), and at the interval reset
  ['B_LOSS_LAST_BASE', 'hot', 'u8', 1],
  ['B_FLAGS', 'hot', 'u8', 1], // FLAG_* bits
  // ---- hot, float64 (doubles 16..39), times in ms relative to the engine's epoch ----
  ['D_LAST_MS', 'hot', 'f64', 1], // arrival of the latest and of the first packet
  ['D_FIRST_MS', 'hot', 'f64', 1],
  ['D_WS_NOMINAL', 'hot', 'f64', 1], // Wireshark: nominal time (ms of RTP timestamp since the first packet) of the last packet analysed
  ['D_WS_JITTER', 'hot', 'f64', 1], // Wireshark jitter (ms)
  ['D_WS_PREV_MS', 'hot', 'f64', 1], // Wireshark's "time": arrival of the last packet it analysed (one with a timestamp older than the first's is not)
  ['D_SKEW', 'hot', 'f64', 1], // Wireshark skew of the latest packet (ms)
  ['D_A8_JITTER', 'hot', 'f64', 1], // RFC 3550 A.8 jitter in timestamp units, and the previous packet's arrival
  ['D_A8_PREV_MS', 'hot', 'f64', 1],
  ['D_DRIFT_X', 'hot', 'f64', 1], // clock-drift least-squares sums of (arrival ms, exact nominal ms) since the first packet
  ['D_DRIFT_Y', 'hot', 'f64', 1],
  ['D_DRIFT_XX', 'hot', 'f64', 1],
  ['D_DRIFT_XY', 'hot', 'f64', 1],
  ['D_BYTES', 'hot', 'f64', 1], // payload bytes
  ['D_MEAN_DELTA', 'hot', 'f64', 1], // Wireshark's running means of delta and jitter (cumulative)
  ['D_MEAN_JITTER', 'hot', 'f64', 1],
  ['D_SUM_DELTA', 'hot', 'f64', 1], // sum of the W_DELTAS deltas (the mean packet spacing)
  ['D_IV_MIN_DELTA', 'hot', 'f64', 1], // interval: min/max delta and jitter, max |skew|, sums of delta and jitter, first arrival (NaN: none yet)
  ['D_IV_MAX_DELTA', 'hot', 'f64', 1],
  ['D_IV_MIN_JITTER', 'hot', 'f64', 1],
  ['D_IV_MAX_JITTER', 'hot', 'f64', 1],
  ['D_IV_MAX_SKEW', 'hot', 'f64', 1],
  ['D_IV_SUM_DELTA', 'hot', 'f64', 1],
  ['D_IV_SUM_JITTER', 'hot', 'f64', 1],
  ['D_IV_START_MS', 'hot', 'f64', 1],
  // ---- cold, float64 (doubles 0..5) ----
  ['CD_PRIOR_MIN_DELTA', 'cold', 'f64', 1], // min/max over the intervals before the current one: cumulative = combine(this, interval)
  ['CD_PRIOR_MAX_DELTA', 'cold', 'f64', 1],
  ['CD_PRIOR_MIN_JITTER', 'cold', 'f64', 1],
  ['CD_PRIOR_MAX_JITTER', 'cold', 'f64', 1],
  ['CD_PRIOR_MAX_SKEW', 'cold', 'f64', 1],
  ['CD_BYTES_BASE', 'cold', 'f64', 1],
  // ---- cold, int32 (words 12..17) ----
  ['CW_SEQ_ERRORS', 'cold', 'i32', 1], // Wireshark sequence errors
  ['CW_OUT_OF_ORDER', 'cold', 'i32', 1], // late packets and duplicates (reorder window)
  ['CW_DUPLICATES', 'cold', 'i32', 1],
  ['CW_COMFORT_NOISE', 'cold', 'i32', 1], // comfort-noise and telephone-event packets
  ['CW_EVENTS', 'cold', 'i32', 1],
  ['CW_PT_CHANGES', 'cold', 'i32', 1], // payload-type changes
  // ---- cold, int32 word 18 split: uint16 36, bytes 74..75 ----
  ['CH_SSRC_CHANGES', 'cold', 'u16', 1], // SSRC changes on this 5-tuple before this stream (saturates at 65535)
  ['CB_INFER_PT', 'cold', 'u8', 1], // payload type whose clock the stream inferred (bit 7 set once inference ended, success or not)
  ['CB_CLOCK', 'cold', 'u8', 1], // clock source (ClockSource, bits 0..2) and the inferred clock's index + 1 in INFER_CLOCKS (bits 3..5)
  // ---- cold, int32 (words 19..37) ----
  ['CW_EXPECTED_OFFSET', 'cold', 'i32', 1], // RFC 3550 A.3 expected = cycles + max_seq - this + 1 (base_ext minus packets expected in closed segments)
  ['CW_EXPECTED_BASE', 'cold', 'i32', 1], // interval baselines: expected, packets, sequence errors, out-of-order, duplicates, measured deltas and jitters
  ['CW_PACKETS_BASE', 'cold', 'i32', 1],
  ['CW_SEQ_ERRORS_BASE', 'cold', 'i32', 1],
  ['CW_OUT_OF_ORDER_BASE', 'cold', 'i32', 1],
  ['CW_DUPLICATES_BASE', 'cold', 'i32', 1],
  ['CW_DELTAS_BASE', 'cold', 'i32', 1],
  ['CW_JITTERS_BASE', 'cold', 'i32', 1],
  ['CW_LOSS', 'cold', 'i32', 5], // loss model event counters (loss-model.ts Loss: R->L and L->L transitions, closed bursts' packets, losses and count)
  ['CW_LOSS_BASE', 'cold', 'i32', 5], // the same at the interval reset (resolved as if the stream ended there)
  ['CW_CALL_REF', 'cold', 'i32', 1], // call the stream belongs to (-1 none)
  // ---- cold, uint16 76..77, bytes 156..167 ----
  ['CH_WS_CYCLES', 'cold', 'u16', 1], // Wireshark's sequence cycles
  ['CH_VLAN_PLUS_1', 'cold', 'u16', 1], // VLAN id + 1 (0 = none)
  ['CB_MACS', 'cold', 'u8', 12], // source and destination MAC
] as const satisfies readonly RecordField[];

/** Offsets derived from STREAM_FIELDS, and each part's size in bytes. */
export function streamLayout(): ReturnType<typeof layoutRecord> {
  return layoutRecord(STREAM_FIELDS);
}

/**
 * STREAM_FIELDS' offsets as literals (a const enum: tsc inlines the numbers, so the hot loop indexes with
 * literals; imported module constants would be loads through module cells on every access, measured
 * ~25 % slower). A test checks every field against streamLayout().
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
   * compiler the range, so `slot * HOT_W + W_PACKETS` needs no int32 overflow check (one compare-and-branch
   * and a sign extension less on each of the ~60 record accesses per packet; measured ~5 ns/pkt).
   */
  MAX_SLOTS = 1 << 21,
  SLOT_MASK = MAX_SLOTS - 1,
  INDEX_MASK = (1 << 30) - 1,

  W_KEY = 0,
  W_FIRST_TS = 10,
  W_A8_PREV_TS = 11,
  W_CYCLES = 12,
  W_FINAL_EXT = 13,
  W_BAD_SEQ = 14,
  W_PACKETS = 15,
  W_DELTAS = 16,
  W_JITTERS = 17,
  W_DRIFT_N = 18,
  W_CLOCK = 19,
  W_REORDER = 20,
  W_RECV_RUN = 24,
  W_CLUSTER_PKTS = 25,
  W_CLUSTER_LOST = 26,
  W_MARKERS = 27,
  H_MAX_SEQ = 56,
  H_WS_SEQ = 57,
  H_WS_LAST_SEQ = 58,
  H_FIRST_SEQ = 59,
  B_PT = 120,
  B_KIND = 121,
  B_PREV_KIND = 122,
  B_WS_BELOW_FIRST = 123,
  B_A8_STARTED = 124,
  B_LOSS_LAST = 125,
  B_LOSS_LAST_BASE = 126,
  B_FLAGS = 127,
  D_LAST_MS = 16,
  D_FIRST_MS = 17,
  D_WS_NOMINAL = 18,
  D_WS_JITTER = 19,
  D_WS_PREV_MS = 20,
  D_SKEW = 21,
  D_A8_JITTER = 22,
  D_A8_PREV_MS = 23,
  D_DRIFT_X = 24,
  D_DRIFT_Y = 25,
  D_DRIFT_XX = 26,
  D_DRIFT_XY = 27,
  D_BYTES = 28,
  D_MEAN_DELTA = 29,
  D_MEAN_JITTER = 30,
  D_SUM_DELTA = 31,
  D_IV_MIN_DELTA = 32,
  D_IV_MAX_DELTA = 33,
  D_IV_MIN_JITTER = 34,
  D_IV_MAX_JITTER = 35,
  D_IV_MAX_SKEW = 36,
  D_IV_SUM_DELTA = 37,
  D_IV_SUM_JITTER = 38,
  D_IV_START_MS = 39,
  CD_PRIOR_MIN_DELTA = 0,
  CD_PRIOR_MAX_DELTA = 1,
  CD_PRIOR_MIN_JITTER = 2,
  CD_PRIOR_MAX_JITTER = 3,
  CD_PRIOR_MAX_SKEW = 4,
  CD_BYTES_BASE = 5,
  CW_SEQ_ERRORS = 12,
  CW_OUT_OF_ORDER = 13,
  CW_DUPLICATES = 14,
  CW_COMFORT_NOISE = 15,
  CW_EVENTS = 16,
  CW_PT_CHANGES = 17,
  CH_SSRC_CHANGES = 36,
  CB_INFER_PT = 74,
  CB_CLOCK = 75,
  CW_EXPECTED_OFFSET = 19,
  CW_EXPECTED_BASE = 20,
  CW_PACKETS_BASE = 21,
  CW_SEQ_ERRORS_BASE = 22,
  CW_OUT_OF_ORDER_BASE = 23,
  CW_DUPLICATES_BASE = 24,
  CW_DELTAS_BASE = 25,
  CW_JITTERS_BASE = 26,
  CW_LOSS = 27,
  CW_LOSS_BASE = 32,
  CW_CALL_REF = 37,
  CH_WS_CYCLES = 76,
  CH_VLAN_PLUS_1 = 77,
  CB_MACS = 156,

  // B_FLAGS bits.
  FLAG_IPV6 = 1,
  FLAG_HOST_TS = 2,
  FLAG_HAS_SRC_MAC = 4, // the source MAC (CB_MACS)
  FLAG_IN_TUPLES = 8,
  FLAG_HAS_DST_MAC = 16, // the destination MAC (CB_MACS + 6); Linux cooked captures carry only the source
  FLAG_SHARES_TUPLE = 32, // a later SSRC on the 5-tuple runs beside this stream (BUNDLE, RTX): not replaced by it
}

/** Records for `slots` streams plus one scratch record (index `slots`) for report-time computations. */
export class StreamStore {
  readonly slots: number;
  readonly buffer: ArrayBuffer;
  readonly f: Float64Array;
  readonly w: Int32Array;
  readonly h: Uint16Array;
  readonly b: Uint8Array;
  /** Start of the cold region (records 0..slots, hot region before it) in bytes, and in each view's units. */
  readonly coldStart: number;
  private readonly coldW0: number;
  private readonly coldD0: number;
  private readonly coldH0: number;

  constructor(slots: number) {
    // The scratch record takes index `slots`: it must stay below MAX_SLOTS too.
    if (!Number.isInteger(slots) || slots < 1 || slots >= L.MAX_SLOTS) throw new RangeError(`stream slots must be an integer from 1 to ${L.MAX_SLOTS - 1}, got ${slots}`);
    this.slots = slots;
    const records = slots + 1;
    this.coldStart = records * L.HOT_BYTES;
    this.coldW0 = this.coldStart >> 2;
    this.coldD0 = this.coldStart >> 3;
    this.coldH0 = this.coldStart >> 1;
    this.buffer = new ArrayBuffer(this.coldStart + records * L.COLD_BYTES);
    this.f = new Float64Array(this.buffer);
    this.w = new Int32Array(this.buffer);
    this.h = new Uint16Array(this.buffer);
    this.b = new Uint8Array(this.buffer);
  }

  get byteSize(): number {
    return this.buffer.byteLength;
  }

  /**
   * Index of slot s's cold part in the int32 (CW_ fields), float64 (CD_), uint16 (CH_) and byte (CB_) views;
   * its hot part is at s * HOT_W, HOT_D, HOT_H, HOT_BYTES. Masked for the compiler (see L.SLOT_MASK).
   */
  coldW(s: number): number {
    return (this.coldW0 & L.INDEX_MASK) + (s & L.SLOT_MASK) * L.COLD_W;
  }
  coldD(s: number): number {
    return (this.coldD0 & L.INDEX_MASK) + (s & L.SLOT_MASK) * L.COLD_D;
  }
  coldH(s: number): number {
    return (this.coldH0 & L.INDEX_MASK) + (s & L.SLOT_MASK) * L.COLD_H;
  }
  coldB(s: number): number {
    return (this.coldStart & L.INDEX_MASK) + (s & L.SLOT_MASK) * L.COLD_BYTES;
  }

  /** Zero slot `s`'s hot and cold parts. */
  clear(s: number): void {
    this.b.fill(0, s * L.HOT_BYTES, (s + 1) * L.HOT_BYTES);
    const cb = this.coldB(s);
    this.b.fill(0, cb, cb + L.COLD_BYTES);
  }
}
