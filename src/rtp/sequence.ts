/**
 * Sequence numbers and loss of a stream, two ways side by side, over its record (stream-store.ts):
 *  - Wireshark's (tshark 4.0 `-z rtp,streams`): cycles for its "expected" (first to last number) and
 *    sequence errors (one per gap however many are missing, one per late or duplicate packet);
 *  - RFC 3550's: A.1 validation (MAX_DROPOUT, MAX_MISORDER, a jump past MAX_MISORDER believed once the
 *    next packet follows it), A.3 expected count over all segments, and a 128-packet reorder window that
 *    tells duplicates from out-of-order packets; a number leaving the window goes to the loss model
 *    (loss-model.ts) with its final state, so a late packet is never counted as lost.
 * Extended numbers start one cycle up (W_CYCLES = 65536) so that a restart at number 0 stays positive.
 *
 * The per-packet functions take the record's views and the slot's cold int32 base `cw` (its cold uint16
 * base is cw * 2: both views start the cold region at the same byte).
 */
import type { StreamCounters } from './snapshot.js';
import { lossCopy, lossFeed, lossResolve, lossSetBase } from './loss-model.js';
import { L, type StreamStore } from './stream-store.js';

/** RFC 3550 A.1 limits and the reorder window (a const enum: literals in the per-packet code). */
const enum Seq {
  MAX_DROPOUT = 3000,
  MAX_MISORDER = 100,
  MOD = 65536,
  /** Reorder window for duplicate/out-of-order detection and for finalizing loss states (bits in 4 words). */
  WIN = 128,
}

/**
 * What packetSequence tells of a packet, from where it stands against the highest number before it: the
 * numbers it skips (0 for the next one), or one of these.
 */
export const enum Gap {
  /** Behind the highest number, not seen before. */
  LATE = -1,
  /** A jump past MAX_MISORDER, not yet believed: an outage or a restart once the next packet confirms it. */
  JUMP = -2,
  /** Already counted: the highest number again, or one already in the reorder window. */
  DUPLICATE = -3,
  /**
   * This and above: the packet confirms the JUMP of the packet before it (the number before its own),
   * which so is a number of the stream: an outage (gap - CONFIRMED numbers were skipped before that
   * packet) or a restart (gap = CONFIRMED, nothing skipped). The packet itself is the next number.
   */
  CONFIRMED = 0x10000,
}

/** The stream's first packet (the heuristic or signalling already served as A.1 probation: valid from here). */
export function sequenceStart(st: StreamStore, slot: number, seq: number): void {
  const w = st.w;
  const h16 = st.h;
  const hw = slot * L.HOT_W;
  const hh = slot * L.HOT_H;
  h16[hh + L.H_FIRST_SEQ] = seq;
  h16[hh + L.H_WS_LAST_SEQ] = seq;
  h16[hh + L.H_WS_SEQ] = seq;
  h16[hh + L.H_MAX_SEQ] = seq;
  w[hw + L.W_CYCLES] = Seq.MOD;
  const ext = Seq.MOD + seq;
  w[st.coldW(slot) + L.CW_EXPECTED_OFFSET] = ext;
  w[hw + L.W_FINAL_EXT] = ext;
  w[hw + L.W_BAD_SEQ] = -1;
  w[hw + L.W_REORDER + ((ext >> 5) & 3)] |= 1 << (ext & 31);
}

/**
 * Both bookkeepings for a packet after the first; the packet's gap (see Gap). The next number (not across
 * the wrap) on the same side of the first number as the one before is done here: Wireshark has nothing to
 * count, and one number leaves RFC 3550's reorder window (lossFeed's received step inline when it was
 * received and no loss cluster is open). Any other number takes otherSequence.
 * The engine's onRtp inlines this function under V8's default limits only while its bytecode stays
 * within what the stream lookup leaves of onRtp's budget (372 of about 373 bytes): check a change with
 * `node --trace-turbo-inlining` (native-bench/README.md).
 */
export function packetSequence(w: Int32Array, h16: Uint16Array, u8: Uint8Array, slot: number, cw: number, seq: number): number {
  const hw = slot * L.HOT_W;
  const hh = slot * L.HOT_H;
  const hb = slot * L.HOT_BYTES;
  if (seq !== h16[hh + L.H_MAX_SEQ] + 1 || seq !== h16[hh + L.H_WS_SEQ] + 1 || (u8[hb + L.B_WS_BELOW_FIRST] === 0) !== seq >= h16[hh + L.H_FIRST_SEQ]) {
    return otherSequence(w, h16, u8, slot, cw, seq);
  }
  h16[hh + L.H_WS_SEQ] = seq;
  h16[hh + L.H_WS_LAST_SEQ] = seq;
  h16[hh + L.H_MAX_SEQ] = seq;
  w[hw + L.W_BAD_SEQ] = -1;
  const newMax = w[hw + L.W_CYCLES] + seq;
  const last = newMax - Seq.WIN; // the number leaving the window
  const fin = w[hw + L.W_FINAL_EXT];
  if (fin === last && (w[hw + L.W_REORDER + ((fin >> 5) & 3)] & (1 << (fin & 31))) !== 0 && w[hw + L.W_CLUSTER_LOST] === 0) {
    // Exactly one number leaves the window, received, no loss cluster open: lossFeed's received step. The
    // new highest number takes that number's bit (the window is 128 numbers), which so stays set.
    w[hw + L.W_FINAL_EXT] = fin + 1;
    u8[hb + L.B_LOSS_LAST] = 1;
    w[hw + L.W_RECV_RUN]++;
    return 0;
  }
  if (fin <= last) finalizeUpTo(w, u8, slot, cw, last);
  w[hw + L.W_REORDER + ((newMax >> 5) & 3)] |= 1 << (newMax & 31);
  return 0;
}

/** packetSequence for any number: both bookkeepings in full. */
function otherSequence(w: Int32Array, h16: Uint16Array, u8: Uint8Array, slot: number, cw: number, seq: number): number {
  wiresharkOtherSequence(w, h16, u8, slot, cw, seq);
  return rfcOtherSequence(w, h16, u8, slot, cw, seq);
}

/** Wireshark's bookkeeping for any packet after the first: its cycles and sequence errors. */
function wiresharkOtherSequence(w: Int32Array, h16: Uint16Array, u8: Uint8Array, slotArg: number, cwArg: number, seq: number): void {
  const slot = slotArg & L.SLOT_MASK; // ranges for the compiler (stream-store.ts L.SLOT_MASK)
  const cw = cwArg & L.INDEX_MASK;
  const hh = slot * L.HOT_H;
  const hb = slot * L.HOT_BYTES;
  const firstSeq = h16[hh + L.H_FIRST_SEQ];
  const below = u8[hb + L.B_WS_BELOW_FIRST];
  if (below === 0 ? seq < firstSeq || (seq === 0 && h16[hh + L.H_WS_LAST_SEQ] === 65535) : seq > firstSeq) {
    if (below === 0) {
      h16[cw * 2 + L.CH_WS_CYCLES]++;
      u8[hb + L.B_WS_BELOW_FIRST] = 1;
    } else {
      u8[hb + L.B_WS_BELOW_FIRST] = 0;
    }
  }
  const wsSeq = h16[hh + L.H_WS_SEQ];
  if (wsSeq + 1 === seq || (wsSeq === 65535 && seq === 0)) {
    h16[hh + L.H_WS_SEQ] = seq;
  } else {
    if (wsSeq + 1 < seq || wsSeq - seq > 0xff00) h16[hh + L.H_WS_SEQ] = seq; // a gap: one error however many are missing
    w[cw + L.CW_SEQ_ERRORS]++; // else late or duplicate
  }
  h16[hh + L.H_WS_LAST_SEQ] = seq;
}

/** RFC 3550 A.1 for any packet after the first (a duplicate, a gap, a jump, a late packet, the next one); its gap. */
function rfcOtherSequence(w: Int32Array, h16: Uint16Array, u8: Uint8Array, slotArg: number, cwArg: number, seq: number): number {
  const slot = slotArg & L.SLOT_MASK;
  const cw = cwArg & L.INDEX_MASK;
  const hw = slot * L.HOT_W;
  const hh = slot * L.HOT_H;
  const maxSeq = h16[hh + L.H_MAX_SEQ];
  const udelta = (seq - maxSeq) & 0xffff;
  const cycles = w[hw + L.W_CYCLES];
  const maxExt = cycles + maxSeq;
  if (udelta === 0) {
    w[cw + L.CW_DUPLICATES]++;
    return Gap.DUPLICATE;
  }
  if (udelta <= Seq.MAX_MISORDER) {
    rfcAdvance(w, h16, u8, slot, cw, seq);
    return udelta - 1;
  }
  if (udelta <= Seq.MOD - Seq.MAX_MISORDER) {
    // A jump past the reorder distance: believed only when the next packet follows it (RFC 3550 A.1
    // bad_seq). Taken at once, a single stray packet (corrupted, or injected with the stream's addresses
    // and SSRC) a few hundred numbers ahead would count every number up to it as lost and send the
    // stream's own packets after it into a restart.
    if (seq === w[hw + L.W_BAD_SEQ]) {
      const jump = (seq - 1 - maxSeq) & 0xffff;
      if (jump < Seq.MAX_DROPOUT) {
        // A gap (an outage): the packet that announced it and this one continue the stream.
        rfcAdvance(w, h16, u8, slot, cw, (seq - 1) & 0xffff);
        rfcAdvance(w, h16, u8, slot, cw, seq);
        return Gap.CONFIRMED + jump - 1;
      }
      // A restart. Close the old segment: its expected count is kept, its window is flushed to the loss model.
      finalizeUpTo(w, u8, slot, cw, maxExt);
      // The new segment starts at the packet that announced the jump, so both count as expected.
      const base = Seq.MOD + ((seq - 1) & 0xffff);
      // expected = cycles + max_seq - EXPECTED_OFFSET + 1 keeps the closed segment's maxExt - oldBase + 1.
      w[cw + L.CW_EXPECTED_OFFSET] += base - maxExt - 1;
      w[hw + L.W_CYCLES] = seq === 0 ? 2 * Seq.MOD : Seq.MOD;
      h16[hh + L.H_MAX_SEQ] = seq;
      w[hw + L.W_FINAL_EXT] = base;
      w[hw + L.W_BAD_SEQ] = -1;
      w[hw + L.W_REORDER] = 0; w[hw + L.W_REORDER + 1] = 0; w[hw + L.W_REORDER + 2] = 0; w[hw + L.W_REORDER + 3] = 0;
      w[hw + L.W_REORDER + ((base >> 5) & 3)] |= 1 << (base & 31);
      w[hw + L.W_REORDER + (((base + 1) >> 5) & 3)] |= 1 << ((base + 1) & 31);
      return Gap.CONFIRMED;
    }
    w[hw + L.W_BAD_SEQ] = (seq + 1) & 0xffff;
    return Gap.JUMP;
  }
  // Behind the highest sequence number: a duplicate if already seen inside the window, else late.
  const ext = maxExt - ((maxSeq - seq) & 0xffff);
  if (ext > maxExt - Seq.WIN && ext >= w[hw + L.W_FINAL_EXT]) {
    const wi = hw + L.W_REORDER + ((ext >> 5) & 3);
    const bit = 1 << (ext & 31);
    if ((w[wi] & bit) !== 0) {
      w[cw + L.CW_DUPLICATES]++;
      return Gap.DUPLICATE;
    }
    w[wi] |= bit;
  }
  w[cw + L.CW_OUT_OF_ORDER]++;
  return Gap.LATE;
}

/** `seq`, ahead of the highest number by less than MAX_DROPOUT, becomes the highest (the numbers skipped stay unseen). */
function rfcAdvance(w: Int32Array, h16: Uint16Array, u8: Uint8Array, slot: number, cw: number, seq: number): void {
  const hw = slot * L.HOT_W;
  const hh = slot * L.HOT_H;
  const newCycles = seq < h16[hh + L.H_MAX_SEQ] ? w[hw + L.W_CYCLES] + Seq.MOD : w[hw + L.W_CYCLES];
  w[hw + L.W_CYCLES] = newCycles;
  h16[hh + L.H_MAX_SEQ] = seq;
  w[hw + L.W_BAD_SEQ] = -1;
  const newMax = newCycles + seq;
  if (w[hw + L.W_FINAL_EXT] <= newMax - Seq.WIN) finalizeUpTo(w, u8, slot, cw, newMax - Seq.WIN);
  w[hw + L.W_REORDER + ((newMax >> 5) & 3)] |= 1 << (newMax & 31);
}

/** Feed final received/lost states of extended numbers up to `last` into the loss model. */
function finalizeUpTo(w: Int32Array, u8: Uint8Array, slotArg: number, cw: number, last: number): void {
  const slot = slotArg & L.SLOT_MASK;
  const hw = slot * L.HOT_W;
  const hb = slot * L.HOT_BYTES;
  let e = w[hw + L.W_FINAL_EXT];
  for (; e <= last; e++) {
    const wi = hw + L.W_REORDER + ((e >> 5) & 3);
    const bit = 1 << (e & 31);
    lossFeed(w, u8, hw, hb, cw, (w[wi] & bit) !== 0);
    w[wi] &= ~bit;
  }
  if (e > w[hw + L.W_FINAL_EXT]) w[hw + L.W_FINAL_EXT] = e;
}

/** Wireshark's expected count: first to last number, its cycles counted. */
export function wiresharkExpected(st: StreamStore, slot: number): number {
  const h16 = st.h;
  const hh = slot * L.HOT_H;
  return h16[hh + L.H_WS_LAST_SEQ] + h16[st.coldH(slot) + L.CH_WS_CYCLES] * Seq.MOD - h16[hh + L.H_FIRST_SEQ] + 1;
}

/** RFC 3550 A.3 expected count since the stream started (all segments). */
export function rfcExpected(st: StreamStore, slot: number): number {
  return st.w[slot * L.HOT_W + L.W_CYCLES] + st.h[slot * L.HOT_H + L.H_MAX_SEQ] - st.w[st.coldW(slot) + L.CW_EXPECTED_OFFSET] + 1;
}

/** Loss model as if the stream ended now (window contents taken as final), into the scratch record x. */
export function resolvedLoss(st: StreamStore, slot: number, x: number): void {
  const w = st.w;
  const u8 = st.b;
  const xw = x * L.HOT_W;
  const xb = x * L.HOT_BYTES;
  const xc = st.coldW(x);
  const hw = slot * L.HOT_W;
  lossCopy(w, u8, hw, slot * L.HOT_BYTES, st.coldW(slot), xw, xb, xc);
  const maxExt = w[hw + L.W_CYCLES] + st.h[slot * L.HOT_H + L.H_MAX_SEQ];
  for (let e = w[hw + L.W_FINAL_EXT]; e <= maxExt; e++) {
    lossFeed(w, u8, xw, xb, xc, (w[hw + L.W_REORDER + ((e >> 5) & 3)] & (1 << (e & 31))) !== 0);
  }
  lossResolve(w, xw, xc);
}

/**
 * Packet counts of a snapshot's counter set: cumulative, or the interval's (minus the baselines of
 * setSequenceBase). `expected` is the period's RFC 3550 expected count.
 */
export function fillSequenceCounters(st: StreamStore, slot: number, o: StreamCounters, expected: number, cumulative: boolean): void {
  const w = st.w;
  const cw = st.coldW(slot);
  const bw = cumulative ? 0 : 1; // subtract the interval baselines or not
  const n = w[slot * L.HOT_W + L.W_PACKETS] - bw * w[cw + L.CW_PACKETS_BASE];
  o.packets = n;
  o.bytes = st.f[slot * L.HOT_D + L.D_BYTES] - (cumulative ? 0 : st.f[st.coldD(slot) + L.CD_BYTES_BASE]);
  o.expected = expected;
  o.seqErrors = w[cw + L.CW_SEQ_ERRORS] - bw * w[cw + L.CW_SEQ_ERRORS_BASE];
  o.outOfOrder = w[cw + L.CW_OUT_OF_ORDER] - bw * w[cw + L.CW_OUT_OF_ORDER_BASE];
  o.duplicates = w[cw + L.CW_DUPLICATES] - bw * w[cw + L.CW_DUPLICATES_BASE];
  // Distinct packets: RFC 3550 A.3 counts a duplicate as received, so each one would cancel a lost
  // packet (a mirror port that sees some packets twice would hide real loss).
  o.lost = expected - (n - o.duplicates);
}

/**
 * The interval baselines of the counts and of the loss model (resolved into the scratch record x, unless
 * `resolved`: x already holds this stream's loss model resolved at its current state).
 */
export function setSequenceBase(st: StreamStore, slot: number, x: number, resolved: boolean): void {
  const w = st.w;
  const cw = st.coldW(slot);
  st.f[st.coldD(slot) + L.CD_BYTES_BASE] = st.f[slot * L.HOT_D + L.D_BYTES];
  w[cw + L.CW_EXPECTED_BASE] = rfcExpected(st, slot);
  w[cw + L.CW_PACKETS_BASE] = w[slot * L.HOT_W + L.W_PACKETS];
  w[cw + L.CW_SEQ_ERRORS_BASE] = w[cw + L.CW_SEQ_ERRORS];
  w[cw + L.CW_OUT_OF_ORDER_BASE] = w[cw + L.CW_OUT_OF_ORDER];
  w[cw + L.CW_DUPLICATES_BASE] = w[cw + L.CW_DUPLICATES];
  if (!resolved) resolvedLoss(st, slot, x);
  lossSetBase(w, st.b, x * L.HOT_BYTES, st.coldW(x), slot * L.HOT_BYTES, cw);
}
