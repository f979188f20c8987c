/**
 * Jitter-buffer emulation per stream: what a receiving phone would play and what it would throw away.
 * Three buffers run side by side on every audio packet, in capture time (VoIPmonitor's set):
 *   F1, F2  fixed playout delay (defaults 50 and 200 ms),
 *   ADAPT   adaptive: the delay follows the spread of the recent network delays.
 * A packet that arrives after its playout time is discarded. Discards and network losses together are
 * the effective loss; its loss runs (packets in sequence order, lost or discarded vs played) feed a
 * Gilbert model per buffer for the E-model's BurstR, and RFC 3611 4.7 burst/gap counters (Gmin 16) for
 * the reference buffer.
 *
 * Model (a test re-implements it from this text):
 *  - Relative transit of a packet: arrival ms - RTP timestamp in ms (both from the stream's first packet).
 *  - Fixed buffer of size D: playout time = anchor transit + D past the packet's media time; late when
 *    transit > anchor + D + EDGE_MS. EDGE_MS (half a microsecond, under a capture timestamp's tick) keeps
 *    a packet exactly at its playout time played: anchors are float32, whose rounding would otherwise put
 *    it a few nanoseconds late. The anchor is the transit of the talkspurt's first packet: the stream's
 *    first audio packet, a packet with the marker bit, the first audio packet after comfort noise or
 *    telephone events. A packet earlier than anchor - D - EDGE_MS would overflow the buffer and one later
 *    than anchor + D + RESYNC_MS is a delay step, not jitter: both re-anchor (played), as a fixed buffer
 *    resyncs.
 *  - Underrun: after UNDERRUN_DISCARDS late packets in a row the buffer has been dry for that long, and
 *    the next late packet re-anchors (played), as a phone restarts playout when its buffer runs empty. A
 *    sender whose clock runs slower than its timestamps, or a delay step within RESYNC_MS, therefore costs
 *    a few discards per underrun instead of every packet after it. The adaptive buffer does the same with
 *    its lo.
 *  - Adaptive buffer: playout time = lo + D past the media time (late past EDGE_MS as above), lo and hi
 *    the 5th and 95th percentiles of the last `history` transits, D = clamp(hi - lo + margin, min, max).
 *    Starts at D = clamp(start, min, max), lo = the first transit. Recomputed as its history fills, when
 *    it holds EARLY_SAMPLES (8), 16, 32, ... samples and when it is full (at most `history`), then once per
 *    history (every `history` audio packets: each sample is looked at once), and at talkspurt starts once
 *    it holds EARLY_SAMPLES (a new delay applies from there; the next recompute is the next of those sizes
 *    while it fills, a history later once full). A jump beyond max + RESYNC_MS restarts its history (D
 *    kept, lo = that transit). A real adaptive buffer starts at a nominal delay and adapts from its first
 *    packets (Asterisk's, which VoIPmonitor plays streams through, starts at 40 ms and recomputes on the
 *    history so far): starting at the minimum and waiting a whole history would discard most of a jittery
 *    stream's first packets.
 *  - Comfort noise and telephone events are not played through the audio buffer (neither played nor
 *    discarded); the audio after them starts a talkspurt. Duplicates are ignored.
 *  - Out-of-order packets are checked against their own playout time (discarded when late). The loss
 *    runs take numbers in sequence order, each once it is final: a number skipped stays open in a window
 *    of the last PEND (8) numbers, and the packet that arrives for it within them (reordered by up to 7)
 *    is played or discarded there; one still missing when it leaves the window, or at a snapshot (taken
 *    on a copy, as if the stream ended there), is lost. A packet reordered further arrives after its
 *    number was fed as lost.
 *  - A jump past the reorder distance (RFC 3550 A.1: more than 100 numbers ahead) starts a talkspurt, and
 *    its number is held until the next packet tells what it was, as the network loss model counts it
 *    (sequence.ts): the next number confirms an outage (the numbers skipped lost, then the held one) or a
 *    restart (the held one, nothing lost), both after the numbers still open; any other number drops it
 *    (a stray packet, no number of the stream).
 *
 * State: a hot and a cold record per slot (fields declared once in JB_FIELDS, offsets derived) plus a
 * Float32 ring of `history` transits per slot. Nothing is allocated per packet.
 */

import { layoutRecord } from './record-layout.js';
import { Gap } from './sequence.js';

/** Buffers, in the order of every per-buffer field. */
export const JB_NAMES = ['F1', 'F2', 'ADAPT'] as const;
export type JitterBufferName = (typeof JB_NAMES)[number];
export const JB_F1 = 0;
export const JB_F2 = 1;
export const JB_ADAPT: number = M.ADAPT;

/**
 * The model's constants, as literals: the packet path reads these (tsc inlines a const enum, where V8
 * loads an exported module constant from its cell and checks it at every use).
 */
const enum M {
  /** A delay change this much beyond a buffer's size is a step (re-anchor), not a late packet. */
  RESYNC_MS = 1000,
  /** How far past its playout time (or before the buffer's early edge) a packet still counts as at it, ms. */
  EDGE_MS = 0.0005,
  /** Percentiles of the adaptive buffer's delay window (low and high). */
  LO_PCT = 5,
  HI_PCT = 95,
  /**
   * Late packets in a row before a buffer treats itself as run dry and re-anchors at the next late one:
   * 8 frames (160 ms at 20 ms) of concealment. A stall's queued packets (late by less than the stall)
   * stay discards as in a plain fixed buffer; a slow sender clock or a delay step, late without end,
   * does not discard everything after it.
   */
  UNDERRUN_DISCARDS = 8,
  /** RFC 3611 4.7.2 Gmin: a burst contains no run of this many received (played) packets. */
  GMIN = 16,
  /** Ranks below this are selected in registers (selectFew). */
  FEW = 4,
  /** Samples the adaptive buffer's history holds at its first recompute (the smallest history allowed). */
  EARLY_SAMPLES = 8,
  /** Numbers the loss runs hold open behind the highest (a skipped number's packet may still come). */
  PEND = 8,
  /** Buffers, and the adaptive one's index. */
  NB = 3,
  ADAPT = 2,
}
const NB: number = M.NB;
/** Indices of JitterBuffers.ms. */
const enum P {
  SIZE1,
  SIZE2,
  MIN,
  MAX,
  MARGIN,
  START,
}

export const RESYNC_MS: number = M.RESYNC_MS;
export const EDGE_MS: number = M.EDGE_MS;
export const LO_PCT: number = M.LO_PCT;
export const HI_PCT: number = M.HI_PCT;
export const UNDERRUN_DISCARDS: number = M.UNDERRUN_DISCARDS;
export const JB_GMIN: number = M.GMIN;
export const EARLY_SAMPLES: number = M.EARLY_SAMPLES;
export const JB_PEND: number = M.PEND;

export interface JitterBufferOptions {
  fixed1Ms: number;
  fixed2Ms: number;
  adaptiveMinMs: number;
  adaptiveMaxMs: number;
  adaptiveMarginMs: number;
  /** The adaptive buffer's delay until its first recompute (held within min..max), ms. */
  adaptiveStartMs: number;
  /** Transits the adaptive buffer keeps per stream (memory: 4 bytes each). */
  adaptiveHistory: number;
  /** Buffer whose discards feed the RFC 3611 burst/gap metrics: 0 F1, 1 F2, 2 ADAPT. */
  reference: number;
}

export const DEFAULT_JITTER_BUFFER: JitterBufferOptions = {
  fixed1Ms: 50,
  fixed2Ms: 200,
  adaptiveMinMs: 20,
  adaptiveMaxMs: 500,
  adaptiveMarginMs: 10,
  adaptiveStartMs: 40,
  adaptiveHistory: 64,
  reference: JB_ADAPT,
};

/**
 * Field table: [name, part, view, count]. A slot's record has a HOT part (64 bytes, one cache line: what
 * an in-order packet touches) and a COLD part (losses, discards, interval baselines, RFC 3611 bursts), in
 * one buffer: hot records first, cold ones after. Offsets are derived by declaration order (layoutRecord;
 * each part declares its float64 fields first, then float32, then int32, so nothing is padded) and
 * mirrored in the const enum J for the hot loop (tsc inlines it); a test checks that the two agree and
 * that no two fields overlap. Delays in the
 * hot part are float32 (relative to D_TREF, a microsecond is far above their precision).
 */
export const JB_FIELDS = [
  // hot
  ['D_TREF', 'hot', 'f64', 1], // arrival ms minus media ms of the stream's first audio packet: transits are relative to it
  ['D_AD_SUM', 'hot', 'f64', 1], // sum of the adaptive delay over its audio packets (cumulative)
  ['F_BASE', 'hot', 'f32', NB], // fixed: anchor transit; adaptive: low percentile (lo)
  ['F_AD', 'hot', 'f32', 1], // adaptive delay D (ms)
  ['F_AD_MAX_I', 'hot', 'f32', 1], // largest D in the interval
  ['W_STATE', 'hot', 'i32', 1], // bit 0: fed a number; 1: the next audio packet starts a talkspurt; 2: D_TREF set; 3..5: the last number fed was lost or discarded in buffer 0..2; 8..11: numbers open in CW_PEND; 12: a jump's number held; 13..15: it was discarded in buffer 0..2
  ['W_FED', 'hot', 'i32', 1], // numbers fed (every buffer sees the same numbers)
  ['W_RUN', 'hot', 'i32', 1], // RFC 3611 (reference buffer): played run since the open cluster's last loss
  ['W_CL_LOST', 'hot', 'i32', 1], // open cluster's losses
  ['W_AD_N', 'hot', 'i32', 1], // audio packets the adaptive buffer checked (cumulative)
  ['W_POS', 'hot', 'i32', 1], // history ring: next write index (bits 0..9), samples held (10..20), packets until the next recompute (21..30, 1..history)
  ['W_LATE_RUN', 'hot', 'i32', 1], // late packets in a row per buffer: bits 0..7 F1, 8..15 F2, 16..23 ADAPT
  // cold, float64
  ['CD_AD_SUM_B', 'cold', 'f64', 1], // D_AD_SUM at the interval reset; largest D before the interval
  ['CD_AD_MAX_C', 'cold', 'f64', 1],
  // cold, int32
  ['CW_DISC', 'cold', 'i32', NB], // discards per buffer (cumulative), and at the interval reset
  ['CW_DISC_B', 'cold', 'i32', NB],
  ['CW_TR', 'cold', 'i32', 3 * NB], // Gilbert transitions per buffer: RL, LR, LL (RR = numbers fed - 1 - those)
  ['CW_TR_B', 'cold', 'i32', 3 * NB],
  ['CW_FED_B', 'cold', 'i32', 1], // W_FED and W_AD_N at the interval reset
  ['CW_AD_N_B', 'cold', 'i32', 1],
  ['CW_FED_LOST', 'cold', 'i32', 1], // RFC 3611 (reference buffer): numbers lost or discarded
  ['CW_CL_PKTS', 'cold', 'i32', 1], // open cluster's packets
  ['CW_BURST_PKTS', 'cold', 'i32', 1], // closed bursts: packets, losses, count
  ['CW_BURST_LOST', 'cold', 'i32', 1],
  ['CW_NBURSTS', 'cold', 'i32', 1],
  ['CW_PEND', 'cold', 'i32', 1], // numbers open (oldest at bit 0): bits 0..7 missing, 8..15 / 16..23 / 24..31 lost or discarded in buffer 0 / 1 / 2
] as const;

/** Offsets derived from JB_FIELDS (the convention of every record: record-layout.ts), and each part's size in bytes. */
export function jbLayout(): ReturnType<typeof layoutRecord> {
  return layoutRecord(JB_FIELDS);
}

/** The offsets of JB_FIELDS as literals for the hot loop (checked against jbLayout() by a test). */
export const enum J {
  /** Hot part: 64 bytes (8 float64, 16 float32 or int32); cold part: 144 bytes (18 float64, 36 int32). */
  HOT_BYTES = 64,
  COLD_BYTES = 144,
  HOT_D = 8,
  HOT_W = 16,
  COLD_D = 18,
  COLD_W = 36,
  D_TREF = 0,
  D_AD_SUM = 1,
  F_BASE = 4,
  F_AD = 7,
  F_AD_MAX_I = 8,
  W_STATE = 9,
  W_FED = 10,
  W_RUN = 11,
  W_CL_LOST = 12,
  W_AD_N = 13,
  W_POS = 14,
  W_LATE_RUN = 15,
  CD_AD_SUM_B = 0,
  CD_AD_MAX_C = 1,
  CW_DISC = 4,
  CW_DISC_B = 7,
  CW_TR = 10,
  CW_TR_B = 19,
  CW_FED_B = 28,
  CW_AD_N_B = 29,
  CW_FED_LOST = 30,
  CW_CL_PKTS = 31,
  CW_BURST_PKTS = 32,
  CW_BURST_LOST = 33,
  CW_NBURSTS = 34,
  CW_PEND = 35,
  // Transition kinds inside CW_TR (+ 3 * buffer).
  RL = 0,
  LR = 1,
  LL = 2,
  // W_STATE bits.
  STARTED = 1,
  TALKSPURT = 2,
  ANCHORED = 4,
  LOST_SHIFT = 3,
  PEND_SHIFT = 8,
  HELD = 4096,
  HELD_SHIFT = 13,
  /** HELD and its discard bits. */
  HELD_MASK = 15 << 12,
  // W_POS fields.
  POS_MASK = 1023,
  HN_SHIFT = 10,
  HN_MASK = 2047,
  UNTIL_SHIFT = 21,
}

/** What a snapshot carries per buffer and for the adaptive delay (period: interval or cumulative). */
export interface JitterBufferCounters {
  /** Packets discarded as late, per buffer (JB_NAMES order). */
  discards: number[];
  /** Gilbert BurstR of the effective loss (losses + discards), per buffer; 1 without loss. */
  burstR: number[];
  /** Mean adaptive delay over the period's audio packets, and its largest value, ms. */
  adaptiveDelayMs: number;
  adaptiveMaxMs: number;
}

/** RFC 3611 4.7 burst/gap of the reference buffer since the stream started (lost or discarded vs played). */
export interface JitterBufferXr {
  burstDensity: number;
  gapDensity: number;
  burstDurationMs: number;
  gapDurationMs: number;
  /** Current adaptive delay (the reference buffer's nominal delay when it is the adaptive one), ms. */
  adaptiveNowMs: number;
}

export function emptyJitterBufferCounters(): JitterBufferCounters {
  return { discards: [0, 0, 0], burstR: [1, 1, 1], adaptiveDelayMs: 0, adaptiveMaxMs: 0 };
}

export function emptyJitterBufferXr(): JitterBufferXr {
  return { burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0, adaptiveNowMs: 0 };
}

export class JitterBuffers {
  readonly opts: JitterBufferOptions;
  /** Hot records (slot * HOT_BYTES), then cold ones (coldByte + slot * COLD_BYTES). */
  readonly buffer: ArrayBuffer;
  readonly f: Float64Array;
  readonly f32: Float32Array;
  readonly w: Int32Array;
  private readonly u8: Uint8Array;
  readonly coldByte: number;
  /** Adaptive history: `hist` float32 transits per slot (relative to D_TREF, so float32 keeps µs precision). */
  readonly ring: Float32Array;
  readonly hist: number;
  /** The packet's arrival and media time for packet(). */
  readonly io = new Float64Array(2);
  private readonly coldD0: number;
  private readonly coldW0: number;
  /** The options' delays (ms), indexed by P: a typed array reads as a plain double in optimized code. */
  private readonly ms = new Float64Array(6);
  private readonly ref: number;
  /** The smallest and largest samples of a recompute, sorted (shared by all streams). */
  private readonly lowest: Float64Array;
  private readonly highest: Float64Array;
  /** A recompute's low and high percentile. */
  private readonly selected = new Float64Array(2);
  /** A slot's records while resolve() has fed its open numbers; the transitions and count resetInterval takes there. */
  private readonly saved = new Uint8Array(J.HOT_BYTES + J.COLD_BYTES);
  private readonly resolvedTr = new Int32Array(3 * M.NB + 1);

  constructor(slots: number, options: Partial<JitterBufferOptions> = {}) {
    const o = (this.opts = { ...DEFAULT_JITTER_BUFFER, ...options });
    if (!(o.adaptiveHistory >= 8 && o.adaptiveHistory <= 1023)) throw new RangeError(`jitter buffer history must be 8..1023 packets, got ${o.adaptiveHistory}`);
    if (!(o.adaptiveMinMs <= o.adaptiveMaxMs)) throw new RangeError(`adaptive jitter buffer min ${o.adaptiveMinMs} ms is above its max ${o.adaptiveMaxMs} ms`);
    this.coldByte = slots * J.HOT_BYTES;
    this.buffer = new ArrayBuffer(this.coldByte + slots * J.COLD_BYTES);
    this.f = new Float64Array(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
    this.w = new Int32Array(this.buffer);
    this.coldD0 = this.coldByte >> 3;
    this.coldW0 = this.coldByte >> 2;
    this.hist = o.adaptiveHistory | 0;
    this.ring = new Float32Array(slots * this.hist);
    const k = Math.floor(((this.hist - 1) * M.LO_PCT) / 100) + Math.ceil(((this.hist - 1) * (100 - M.HI_PCT)) / 100) + 2;
    this.lowest = new Float64Array(k);
    this.highest = new Float64Array(k);
    this.ms[P.SIZE1] = o.fixed1Ms;
    this.ms[P.SIZE2] = o.fixed2Ms;
    this.ms[P.MIN] = o.adaptiveMinMs;
    this.ms[P.MAX] = o.adaptiveMaxMs;
    this.ms[P.MARGIN] = o.adaptiveMarginMs;
    this.ms[P.START] = Math.min(Math.max(o.adaptiveStartMs, o.adaptiveMinMs), o.adaptiveMaxMs);
    this.ref = o.reference | 0;
  }

  get byteSize(): number {
    return this.buffer.byteLength + this.ring.byteLength + this.lowest.byteLength + this.highest.byteLength + this.saved.byteLength + this.resolvedTr.byteLength;
  }

  /** Bytes per stream slot. */
  get bytesPerStream(): number {
    return J.HOT_BYTES + J.COLD_BYTES + this.hist * 4;
  }

  private cd(slot: number): number {
    return this.coldD0 + slot * J.COLD_D;
  }
  private cw(slot: number): number {
    return this.coldW0 + slot * J.COLD_W;
  }

  /** Discards of buffer b since the stream started. */
  discards(slot: number, b: number): number {
    return this.w[this.cw(slot) + J.CW_DISC + b];
  }

  /** A new stream in `slot`. */
  start(slot: number): void {
    const u = this.u8;
    u.fill(0, slot * J.HOT_BYTES, (slot + 1) * J.HOT_BYTES);
    const c = this.coldByte + slot * J.COLD_BYTES;
    u.fill(0, c, c + J.COLD_BYTES);
    this.f32[slot * J.HOT_W + J.F_AD] = this.ms[P.START];
  }

  /**
   * One packet of the stream; its arrival ms in io[0] and its RTP timestamp in ms since the stream's first
   * packet in io[1] (double arguments would be boxed in every call). audio: 1 audio, 0 comfort noise or
   * telephone event; marker: the RTP marker bit; gap: sequence numbers skipped before it (>= 0, in
   * order), -2 = a jump past the reorder distance (re-anchors; its number is held), Gap.CONFIRMED + g =
   * the next number after the held jump, now believed (g numbers skipped before the held one: an outage;
   * 0: a restart), -3 - d = reordered, d (>= 1) numbers behind the highest. Duplicates are not passed.
   *
   * The common packet (the next number of a talkspurt, on time in every buffer, nothing lost before it,
   * no recompute due) takes nextInSpurt, any other otherPacket: both this function and nextInSpurt are
   * under V8's default inlining limit, so the engine's packet function inlines them.
   */
  packet(slot: number, audio: number, marker: number, gap: number): void {
    // One call site of otherPacket: where V8 inlines it (the live path's raised limits), it does so once.
    if ((marker | gap) !== 0 || audio === 0 || this.w[slot * J.HOT_W + J.W_STATE] !== (J.STARTED | J.ANCHORED) || !this.nextInSpurt(slot)) {
      this.otherPacket(slot, audio, marker, gap);
    }
  }

  /**
   * packet() of the next number of an anchored talkspurt with no number lost before it, when it is on
   * time in every buffer, not beyond the adaptive one's restart bound and no recompute is due: true. Else
   * false, nothing written (otherPacket takes it).
   */
  private nextInSpurt(slot: number): boolean {
    const w = this.w;
    const f = this.f;
    const f32 = this.f32;
    const ms = this.ms;
    const io = this.io;
    const hw = slot * J.HOT_W;
    const hd = slot * J.HOT_D;
    const r = io[0] - io[1] - f[hd + J.D_TREF];
    const lo = f32[hw + (J.F_BASE + M.ADAPT)];
    const dAd = f32[hw + J.F_AD];
    const h = this.hist;
    const p = w[hw + J.W_POS];
    // Not late in the adaptive buffer is also not above its restart bound (D <= max).
    if (
      r < f32[hw + J.F_BASE] - ms[P.SIZE1] - M.EDGE_MS ||
      r > f32[hw + J.F_BASE] + ms[P.SIZE1] + M.EDGE_MS ||
      r < f32[hw + (J.F_BASE + 1)] - ms[P.SIZE2] - M.EDGE_MS ||
      r > f32[hw + (J.F_BASE + 1)] + ms[P.SIZE2] + M.EDGE_MS ||
      r > lo + dAd + M.EDGE_MS || r < lo - ms[P.MAX] - M.RESYNC_MS || (p >> J.UNTIL_SHIFT) <= 1
    ) {
      return false;
    }
    const pos = p & J.POS_MASK;
    this.ring[slot * h + pos] = r;
    // One more sample: the write index (wrapping) and the samples held (until full) advance by one, the
    // packets until the recompute go down by one.
    w[hw + J.W_POS] = p + (((p >> J.HN_SHIFT) & J.HN_MASK) < h ? (1 << J.HN_SHIFT) + 1 - (1 << J.UNTIL_SHIFT) : 1 - (1 << J.UNTIL_SHIFT)) - (pos + 1 === h ? h : 0);
    f[hd + J.D_AD_SUM] += dAd;
    w[hw + J.W_AD_N]++;
    if (dAd > f32[hw + J.F_AD_MAX_I]) f32[hw + J.F_AD_MAX_I] = dAd;
    w[hw + J.W_LATE_RUN] = 0; // on time everywhere: every late run ends
    this.played(slot);
    return true;
  }

  /** packet() for any packet: talkspurt starts, late packets, underruns, resyncs, losses, recomputes, comfort noise. */
  private otherPacket(slotArg: number, audio: number, marker: number, gapArg: number): void {
    const slot = slotArg & 0x1fffff;
    const f = this.f;
    const f32 = this.f32;
    const w = this.w;
    const hd = slot * J.HOT_D;
    const hw = slot * J.HOT_W;
    let gap = gapArg;
    let state = w[hw + J.W_STATE];
    if ((state & J.STARTED) === 0) state = J.STARTED | J.TALKSPURT; // the stream's first number fed
    else if (gap >= Gap.CONFIRMED) {
      state = this.confirmJump(slot, state, gap - Gap.CONFIRMED);
      gap = 0;
    } else if (gap >= -2) state &= ~J.HELD_MASK; // a jump not followed (a stray packet), or a new one
    if (audio === 0) {
      // Not played, but its sequence number is no loss: fed as played so runs stay in sequence.
      w[hw + J.W_STATE] = state | J.TALKSPURT | (gap === -2 ? J.HELD : 0);
      if (gap >= 0 || gap < -2) this.settle(slot, gap, 0);
      return;
    }
    const transit = this.io[0] - this.io[1];
    if ((state & J.ANCHORED) === 0) {
      f[hd + J.D_TREF] = transit;
      state |= J.ANCHORED | J.TALKSPURT;
    }
    const r = transit - f[hd + J.D_TREF];
    const spurt = (state & J.TALKSPURT) !== 0 || marker !== 0 || gap === -2;
    w[hw + J.W_STATE] = state & ~J.TALKSPURT;
    let late = 0;
    // Late packets in a row so far, per buffer (8 bits each).
    const runs = w[hw + J.W_LATE_RUN];
    // Fixed buffers.
    if (spurt) {
      f32[hw + J.F_BASE] = r;
      f32[hw + J.F_BASE + 1] = r;
    } else {
      const s1 = this.ms[P.SIZE1];
      const b1 = f32[hw + J.F_BASE];
      if (r < b1 - s1 - M.EDGE_MS || r > b1 + s1 + M.RESYNC_MS) f32[hw + J.F_BASE] = r;
      else if (r > b1 + s1 + M.EDGE_MS) {
        if ((runs & 0xff) >= M.UNDERRUN_DISCARDS) f32[hw + J.F_BASE] = r;
        else late = 1;
      }
      const s2 = this.ms[P.SIZE2];
      const b2 = f32[hw + J.F_BASE + 1];
      if (r < b2 - s2 - M.EDGE_MS || r > b2 + s2 + M.RESYNC_MS) f32[hw + J.F_BASE + 1] = r;
      else if (r > b2 + s2 + M.EDGE_MS) {
        if (((runs >> 8) & 0xff) >= M.UNDERRUN_DISCARDS) f32[hw + J.F_BASE + 1] = r;
        else late |= 2;
      }
    }
    // Adaptive buffer.
    const h = this.hist;
    const rw = slot * h;
    const lo = f32[hw + J.F_BASE + M.ADAPT];
    let dAd = f32[hw + J.F_AD];
    const maxMs = this.ms[P.MAX];
    const p = w[hw + J.W_POS];
    let pos = p & J.POS_MASK;
    let n = (p >> J.HN_SHIFT) & J.HN_MASK;
    let until = (p >> J.UNTIL_SHIFT) - 1;
    if (n === 0 || r > lo + maxMs + M.RESYNC_MS || r < lo - maxMs - M.RESYNC_MS) {
      // First sample, or a jump far beyond any delay the buffer can take: its history restarts here.
      n = 0;
      pos = 0;
      until = M.EARLY_SAMPLES - 1;
      f32[hw + J.F_BASE + M.ADAPT] = r;
    } else if (r > lo + dAd + M.EDGE_MS) {
      if (((runs >> 16) & 0xff) >= M.UNDERRUN_DISCARDS) f32[hw + J.F_BASE + M.ADAPT] = r;
      else late |= 4;
    }
    this.ring[rw + pos] = r;
    pos = pos + 1 === h ? 0 : pos + 1;
    if (n < h) n++;
    if (until <= 0 || (spurt && n >= M.EARLY_SAMPLES)) {
      this.recompute(hw, rw, n);
      // While the history fills: at the next power of two of its samples (or full); then a history on.
      until = n < h ? Math.min(1 << (32 - Math.clz32(n)), h) - n : h;
      dAd = f32[hw + J.F_AD];
    }
    w[hw + J.W_POS] = pos | (n << J.HN_SHIFT) | (until << J.UNTIL_SHIFT);
    f[hd + J.D_AD_SUM] += dAd;
    w[hw + J.W_AD_N]++;
    if (dAd > f32[hw + J.F_AD_MAX_I]) f32[hw + J.F_AD_MAX_I] = dAd;
    if ((runs | late) !== 0) {
      w[hw + J.W_LATE_RUN] =
        ((late & 1) !== 0 ? (runs & 0xff) + 1 : 0) |
        ((late & 2) !== 0 ? (runs & 0xff00) + 0x100 : 0) |
        ((late & 4) !== 0 ? (runs & 0xff0000) + 0x10000 : 0);
    }
    if (late !== 0) {
      const cw = this.cw(slot);
      if ((late & 1) !== 0) w[cw + J.CW_DISC]++;
      if ((late & 2) !== 0) w[cw + J.CW_DISC + 1]++;
      if ((late & 4) !== 0) w[cw + J.CW_DISC + 2]++;
    }
    // feed()'s common case: the next number, played everywhere, after a number played, nothing open.
    if (gap === 0 && (late | (state & ((7 << J.LOST_SHIFT) | (15 << J.PEND_SHIFT)))) === 0) this.played(slot);
    else if (gap >= 0 || gap < -2) this.settle(slot, gap, late);
    else w[hw + J.W_STATE] |= J.HELD | (late << J.HELD_SHIFT); // a jump: its number waits for the next packet
  }

  /**
   * The jump held is believed (an outage of `skipped` numbers, or a restart with none): the numbers still
   * open become final, then the skipped ones are lost and the held one is played or discarded as it was.
   * Returns the state after them.
   */
  private confirmJump(slot: number, state: number, skipped: number): number {
    const w = this.w;
    const hw = slot * J.HOT_W;
    w[hw + J.W_STATE] = state & ~J.HELD_MASK;
    if ((state & (15 << J.PEND_SHIFT)) !== 0) this.flush(slot);
    this.feed(slot, skipped, (state >> J.HELD_SHIFT) & 7);
    return w[hw + J.W_STATE];
  }

  /**
   * A number for the loss runs (gap >= 0: after `gap` skipped ones; gap < -2: a reordered packet, -3 - gap
   * numbers behind the highest), lost in buffer b when bit b of `late`: through the window of open
   * numbers (CW_PEND), whose final head numbers are fed in order.
   */
  private settle(slot: number, gapArg: number, late: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    const cw = this.cw(slot);
    let len = (w[hw + J.W_STATE] >> J.PEND_SHIFT) & 15;
    if (len === 0 && gapArg === 0) {
      this.feed(slot, 0, late);
      return;
    }
    let pend = w[cw + J.CW_PEND];
    let at: number;
    if (gapArg >= 0) {
      let gap = gapArg;
      // Room for the skipped numbers and this one: the oldest open ones become final.
      while (len > 0 && len + gap >= M.PEND) {
        pend = this.feedHead(slot, pend);
        len--;
      }
      if (gap >= M.PEND) {
        // More skipped numbers than the window holds: the oldest of them are lost now.
        this.feed(slot, gap - M.PEND, 7);
        gap = M.PEND - 1;
      }
      pend |= ((1 << gap) - 1) << len;
      at = len + gap;
      len = at + 1;
    } else {
      at = len - 1 - (-3 - gapArg);
      // Further back than the window: its number was already fed as lost.
      if (at < 0 || ((pend >> at) & 1) === 0) return;
      pend &= ~(1 << at);
    }
    pend |= ((late & 1) << (8 + at)) | (((late >> 1) & 1) << (16 + at)) | (((late >> 2) & 1) << (24 + at));
    while (len > 0 && (pend & 1) === 0) {
      pend = this.feedHead(slot, pend);
      len--;
    }
    w[cw + J.CW_PEND] = pend;
    w[hw + J.W_STATE] = (w[hw + J.W_STATE] & ~(15 << J.PEND_SHIFT)) | (len << J.PEND_SHIFT);
  }

  /** Feeds the oldest open number (missing: lost in every buffer) and returns the window without it. */
  private feedHead(slot: number, pend: number): number {
    this.feed(slot, 0, (pend & 1) !== 0 ? 7 : ((pend >> 8) & 1) | ((pend >> 15) & 2) | ((pend >> 22) & 4));
    return (pend >>> 1) & 0x7f7f7f7f;
  }

  /** Feeds every open number, a missing one as lost. */
  private flush(slot: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    const cw = this.cw(slot);
    let pend = w[cw + J.CW_PEND];
    for (let len = (w[hw + J.W_STATE] >> J.PEND_SHIFT) & 15; len > 0; len--) pend = this.feedHead(slot, pend);
    w[cw + J.CW_PEND] = 0;
    w[hw + J.W_STATE] &= ~(15 << J.PEND_SHIFT);
  }

  /** The next number, played in the reference buffer: one more number fed, the played run goes on. */
  private played(slot: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    w[hw + J.W_FED]++;
    const run = w[hw + J.W_RUN] + 1;
    w[hw + J.W_RUN] = run;
    if (run >= M.GMIN && w[hw + J.W_CL_LOST] > 0) this.closeCluster(slot);
  }

  /**
   * Adaptive delay from the history's percentiles. Only the k smallest and k largest samples are needed
   * (k = 4 of 64 for the 5th and 95th percentiles): one pass keeping each set sorted by insertion, not a
   * sort of the history (which cost more than the rest of the packet path together).
   */
  private recompute(hw: number, rw: number, n: number): void {
    const iLo = Math.floor(((n - 1) * M.LO_PCT) / 100); // rank from the bottom
    const iHi = n - 1 - Math.ceil(((n - 1) * M.HI_PCT) / 100); // rank from the top
    if (iLo < M.FEW && iHi < M.FEW) this.selectFew(rw, n, iLo, iHi);
    else this.selectAny(rw, n, iLo, iHi);
    const sel = this.selected;
    const ms = this.ms;
    let d = sel[1] - sel[0] + ms[P.MARGIN];
    if (d < ms[P.MIN]) d = ms[P.MIN];
    if (d > ms[P.MAX]) d = ms[P.MAX];
    this.f32[hw + J.F_BASE + M.ADAPT] = sel[0];
    this.f32[hw + J.F_AD] = d;
  }

  /**
   * selectAny for ranks below FEW (histories up to 80, the default 64): the FEW smallest and largest in
   * locals, which V8 keeps in registers, instead of arrays in memory. Equal values are inserted behind
   * each other as in selectAny, so both pick the same sample.
   */
  private selectFew(rw: number, n: number, iLo: number, iHi: number): void {
    const ring = this.ring;
    let a0 = Infinity;
    let a1 = Infinity;
    let a2 = Infinity;
    let a3 = Infinity;
    let b0 = -Infinity;
    let b1 = -Infinity;
    let b2 = -Infinity;
    let b3 = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = ring[rw + i];
      if (v < a3) {
        if (v >= a2) a3 = v;
        else {
          a3 = a2;
          if (v >= a1) a2 = v;
          else {
            a2 = a1;
            if (v >= a0) a1 = v;
            else {
              a1 = a0;
              a0 = v;
            }
          }
        }
      }
      if (v > b3) {
        if (v <= b2) b3 = v;
        else {
          b3 = b2;
          if (v <= b1) b2 = v;
          else {
            b2 = b1;
            if (v <= b0) b1 = v;
            else {
              b1 = b0;
              b0 = v;
            }
          }
        }
      }
    }
    this.selected[0] = iLo === 0 ? a0 : iLo === 1 ? a1 : iLo === 2 ? a2 : a3;
    this.selected[1] = iHi === 0 ? b0 : iHi === 1 ? b1 : iHi === 2 ? b2 : b3;
  }

  /** The iLo-th smallest and iHi-th largest of the slot's n history samples, into selected[0] and [1]. */
  private selectAny(rw: number, n: number, iLo: number, iHi: number): void {
    const ring = this.ring;
    const lo = this.lowest;
    const hi = this.highest;
    let nLo = 0;
    let nHi = 0;
    // Thresholds to enter each set: +-Infinity until it holds its k values.
    let tLo = Infinity;
    let tHi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = ring[rw + i];
      if (v < tLo) {
        let j = nLo <= iLo ? nLo++ : iLo;
        for (; j > 0 && lo[j - 1] > v; j--) lo[j] = lo[j - 1];
        lo[j] = v;
        if (nLo > iLo) tLo = lo[iLo];
      }
      if (v > tHi) {
        let j = nHi <= iHi ? nHi++ : iHi;
        for (; j > 0 && hi[j - 1] < v; j--) hi[j] = hi[j - 1];
        hi[j] = v;
        if (nHi > iHi) tHi = hi[iHi];
      }
    }
    this.selected[0] = lo[iLo];
    this.selected[1] = hi[iHi];
  }

  /**
   * Feed `gap` lost numbers then one number (lost in buffer b when bit b of lateBits) to every buffer's
   * loss runs. The common case (nothing lost now or before) touches only the hot record.
   */
  private feed(slot: number, gap: number, lateBits: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    const state = w[hw + J.W_STATE];
    let bits = (state >> J.LOST_SHIFT) & 7;
    if (gap > 0) {
      const tr = this.cw(slot) + J.CW_TR;
      if (w[hw + J.W_FED] > 0) {
        w[tr + ((bits & 1) !== 0 ? J.LL : J.RL)]++;
        w[tr + 3 + ((bits & 2) !== 0 ? J.LL : J.RL)]++;
        w[tr + 6 + ((bits & 4) !== 0 ? J.LL : J.RL)]++;
      }
      w[tr + J.LL] += gap - 1;
      w[tr + 3 + J.LL] += gap - 1;
      w[tr + 6 + J.LL] += gap - 1;
      bits = 7;
      this.lossRun(slot, gap);
    }
    if ((bits | lateBits) !== 0) {
      if (w[hw + J.W_FED] > 0) {
        const cw = this.cw(slot);
        for (let b = 0; b < M.NB; b++) {
          const now = (lateBits >> b) & 1;
          const tr = cw + J.CW_TR + 3 * b;
          if (((bits >> b) & 1) !== 0) w[tr + (now !== 0 ? J.LL : J.LR)]++;
          else if (now !== 0) w[tr + J.RL]++;
        }
      }
      w[hw + J.W_STATE] = (state & ~(7 << J.LOST_SHIFT)) | (lateBits << J.LOST_SHIFT);
    }
    // RFC 3611 4.7 clusters for the reference buffer.
    if (((lateBits >> this.ref) & 1) !== 0) this.lossRun(slot, 1);
    else this.played(slot);
  }

  private lossRun(slot: number, g: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    const cw = this.cw(slot);
    w[hw + J.W_FED] += g;
    w[cw + J.CW_FED_LOST] += g;
    if (w[hw + J.W_CL_LOST] > 0) w[cw + J.CW_CL_PKTS] += w[hw + J.W_RUN] + g;
    else w[cw + J.CW_CL_PKTS] = g;
    w[hw + J.W_CL_LOST] += g;
    w[hw + J.W_RUN] = 0;
  }

  private closeCluster(slot: number): void {
    const w = this.w;
    const hw = slot * J.HOT_W;
    const cw = this.cw(slot);
    if (w[hw + J.W_CL_LOST] >= 2) {
      w[cw + J.CW_BURST_PKTS] += w[cw + J.CW_CL_PKTS];
      w[cw + J.CW_BURST_LOST] += w[hw + J.W_CL_LOST];
      w[cw + J.CW_NBURSTS]++;
    }
    w[cw + J.CW_CL_PKTS] = 0;
    w[hw + J.W_CL_LOST] = 0;
  }

  /** Start a new report interval for `slot`. */
  resetInterval(slot: number): void {
    const f = this.f;
    const w = this.w;
    const hd = slot * J.HOT_D;
    const hw = slot * J.HOT_W;
    const cd = this.cd(slot);
    const cw = this.cw(slot);
    for (let i = 0; i < M.NB; i++) w[cw + J.CW_DISC_B + i] = w[cw + J.CW_DISC + i];
    // The loss runs' baseline is the resolved state (open numbers taken as final), as every read takes it.
    const open = this.resolve(slot);
    const tr = this.resolvedTr;
    for (let i = 0; i < 3 * M.NB; i++) tr[i] = w[cw + J.CW_TR + i];
    tr[3 * M.NB] = w[hw + J.W_FED];
    if (open) this.restore(slot);
    for (let i = 0; i < 3 * M.NB; i++) w[cw + J.CW_TR_B + i] = tr[i];
    w[cw + J.CW_FED_B] = tr[3 * M.NB];
    w[cw + J.CW_AD_N_B] = w[hw + J.W_AD_N];
    f[cd + J.CD_AD_SUM_B] = f[hd + J.D_AD_SUM];
    const f32 = this.f32;
    if (f32[hw + J.F_AD_MAX_I] > f[cd + J.CD_AD_MAX_C]) f[cd + J.CD_AD_MAX_C] = f32[hw + J.F_AD_MAX_I];
    f32[hw + J.F_AD_MAX_I] = 0;
  }

  /**
   * The slot's loss runs as if the stream ended now: its open numbers fed (a missing one lost) after the
   * records are saved; false (nothing done) when none is open. restore() puts the records back.
   */
  private resolve(slot: number): boolean {
    if ((this.w[slot * J.HOT_W + J.W_STATE] & (15 << J.PEND_SHIFT)) === 0) return false;
    const u = this.u8;
    const c = this.coldByte + slot * J.COLD_BYTES;
    this.saved.set(u.subarray(slot * J.HOT_BYTES, (slot + 1) * J.HOT_BYTES), 0);
    this.saved.set(u.subarray(c, c + J.COLD_BYTES), J.HOT_BYTES);
    this.flush(slot);
    return true;
  }

  private restore(slot: number): void {
    const u = this.u8;
    u.set(this.saved.subarray(0, J.HOT_BYTES), slot * J.HOT_BYTES);
    u.set(this.saved.subarray(J.HOT_BYTES), this.coldByte + slot * J.COLD_BYTES);
  }

  /** Counters of the interval (cumulative false) or since the stream started (open numbers resolved). */
  read(slot: number, cumulative: boolean, out: JitterBufferCounters): void {
    const open = this.resolve(slot);
    const f = this.f;
    const w = this.w;
    const hd = slot * J.HOT_D;
    const hw = slot * J.HOT_W;
    const cd = this.cd(slot);
    const cw = this.cw(slot);
    const k = cumulative ? 0 : 1;
    // Transitions: one per number fed after the first (in the interval: per number fed since the reset).
    const fed = w[hw + J.W_FED];
    const fedB = w[cw + J.CW_FED_B];
    const transitions = !cumulative && fedB > 0 ? fed - fedB : fed > 0 ? fed - 1 : 0;
    for (let b = 0; b < M.NB; b++) {
      out.discards[b] = w[cw + J.CW_DISC + b] - k * w[cw + J.CW_DISC_B + b];
      const tr = cw + J.CW_TR + 3 * b;
      const trb = cw + J.CW_TR_B + 3 * b;
      const rl = w[tr + J.RL] - k * w[trb + J.RL];
      const lr = w[tr + J.LR] - k * w[trb + J.LR];
      const ll = w[tr + J.LL] - k * w[trb + J.LL];
      const rr = transitions - rl - lr - ll;
      out.burstR[b] = gilbertBurstR(rr, rl, lr, ll);
    }
    const n = w[hw + J.W_AD_N] - k * w[cw + J.CW_AD_N_B];
    out.adaptiveDelayMs = n > 0 ? (f[hd + J.D_AD_SUM] - k * f[cd + J.CD_AD_SUM_B]) / n : 0;
    const maxI = this.f32[hw + J.F_AD_MAX_I];
    out.adaptiveMaxMs = cumulative && f[cd + J.CD_AD_MAX_C] > maxI ? f[cd + J.CD_AD_MAX_C] : maxI;
    if (open) this.restore(slot);
  }

  /** RFC 3611 4.7 burst/gap of the reference buffer since the start, open cluster resolved as if ended here. */
  readXr(slot: number, packetMs: number, out: JitterBufferXr): void {
    const open = this.resolve(slot);
    const w = this.w;
    const hw = slot * J.HOT_W;
    const cw = this.cw(slot);
    let bp = w[cw + J.CW_BURST_PKTS];
    let bl = w[cw + J.CW_BURST_LOST];
    let nb = w[cw + J.CW_NBURSTS];
    if (w[hw + J.W_CL_LOST] >= 2) {
      bp += w[cw + J.CW_CL_PKTS];
      bl += w[hw + J.W_CL_LOST];
      nb++;
    }
    const gp = w[hw + J.W_FED] - bp;
    const gl = w[cw + J.CW_FED_LOST] - bl;
    // Gaps alternate with bursts and the first number fed is played (a gap before the first burst): one
    // more gap than bursts, unless the last number fed ends a burst (late packets at the end of a stream).
    const gaps = w[hw + J.W_CL_LOST] >= 2 && w[hw + J.W_RUN] === 0 ? nb : nb + 1;
    out.burstDensity = bp > 0 ? bl / bp : 0;
    out.gapDensity = gp > 0 ? gl / gp : 0;
    out.burstDurationMs = nb > 0 ? (bp * packetMs) / nb : 0;
    out.gapDurationMs = gp > 0 ? (gp * packetMs) / gaps : 0;
    out.adaptiveNowMs = this.f32[hw + J.F_AD];
    if (open) this.restore(slot);
  }
}

/**
 * BurstR = 1/(p+q) from transition counts, with loss-model.ts's conventions (no loss 1, no recovery q = 1).
 * An interval can hold losses without a received -> lost transition: a run of discards that began in the
 * interval before (p = 0, BurstR = 1/q). An interval that is all one such run (p = q = 0) has no
 * finite BurstR: 1, as the scoring takes any non-finite one.
 */
export function gilbertBurstR(rr: number, rl: number, lr: number, ll: number): number {
  if (rl === 0 && ll === 0) return 1;
  const p = rr + rl > 0 ? rl / (rr + rl) : 0;
  const q = lr + ll > 0 ? lr / (lr + ll) : 1;
  return p + q > 0 ? 1 / (p + q) : 1;
}

/** Buffer index of a configured reference name; -1 for 'none' (the report's MOS from network loss only). */
export function jitterBufferIndex(name: 'adaptive' | 'fixed1' | 'fixed2' | 'none'): number {
  return name === 'fixed1' ? JB_F1 : name === 'fixed2' ? JB_F2 : name === 'adaptive' ? M.ADAPT : -1;
}

/**
 * Runs a scratch stream through every branch of packet() and the bookkeeping it calls (late packets,
 * underruns, overflow and step resyncs, losses, reordering, restarts, comfort noise, recomputes) so that
 * V8 has type feedback for all of them before the packet loop is optimized. A branch first taken inside
 * optimized code deoptimizes the whole inlined capture loop, and recompiling it costs a compiler thread
 * 50-250 ms: at live rates of tens of thousands of packets a second that is more than the packets cost.
 * Methods live on the prototype, so the feedback serves every instance.
 */
export function warmJitterBuffers(options: Partial<JitterBufferOptions>): void {
  const jb = new JitterBuffers(1, options);
  const counters = emptyJitterBufferCounters();
  const xr = emptyJitterBufferXr();
  let media = 0;
  const pkt = (transit: number, audio: number, marker: number, gap: number): void => {
    jb.io[0] = media + transit;
    jb.io[1] = media;
    jb.packet(0, audio, marker, gap);
    media += 20;
  };
  for (let round = 0; round < 2; round++) {
    jb.start(0);
    media = 0;
    pkt(0, 1, 1, 0);
    for (let i = 0; i < 150; i++) pkt(0, 1, 0, 0);
    for (let i = 0; i < UNDERRUN_DISCARDS + 4; i++) pkt(300, 1, 0, 0); // late in every buffer, then underruns
    for (let i = 0; i < 20; i++) pkt(0, 1, 0, 0); // early: overflow resyncs
    pkt(2500, 1, 0, 0); // a step beyond every buffer
    pkt(2500, 1, 0, 3); // losses
    for (let i = 0; i < 40; i++) pkt(2500, 1, 0, i % 9 === 0 ? 1 : 0);
    pkt(2400, 1, 0, -4); // reordered (1 behind), inside the window of open numbers
    pkt(2500, 1, 0, 2); // numbers skipped, then one of them late and one beyond the window
    pkt(2500, 1, 0, -5);
    pkt(2500, 1, 0, -40);
    jb.read(0, false, counters); // open numbers resolved on a copy
    jb.readXr(0, 20, xr);
    jb.resetInterval(0);
    pkt(2500, 1, 0, 12); // more skipped than the window holds
    pkt(-3000, 1, 0, -2); // a jump, far back, confirmed as an outage
    pkt(-3000, 1, 0, Gap.CONFIRMED + 150);
    pkt(-3000, 1, 0, -2); // a jump not followed (a stray), one confirmed as a restart
    pkt(-3000, 1, 0, 0);
    pkt(-3000, 1, 0, -2);
    pkt(-3000, 1, 0, Gap.CONFIRMED);
    pkt(0, 0, 0, 0); // comfort noise / events
    pkt(0, 0, 0, -4);
    pkt(0, 1, 1, 0); // talkspurt
    for (let i = 0; i < 200; i++) pkt((i % 7) * 30, 1, 0, i % 5 === 0 ? 1 : 0);
    jb.resetInterval(0);
    jb.read(0, false, counters);
    jb.read(0, true, counters);
    jb.readXr(0, 20, xr);
  }
}
