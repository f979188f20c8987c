/**
 * sequence.ts's per-packet answer to the engine: the gap each sequence number closes (what the jitter
 * buffers are played with), and the RFC 3550 counts it keeps on the way, against hand-worked sequences.
 */
import { describe, expect, it } from 'vitest';
import { StreamStore, L } from '../../src/rtp/stream-store.js';
import { Gap, packetSequence, rfcExpected, sequenceStart, wiresharkExpected } from '../../src/rtp/sequence.js';

/** Feed `seqs` as one stream in slot 1 (the first starts it); the gap of each later packet. */
function feed(seqs: number[]): { gaps: number[]; st: StreamStore } {
  const st = new StreamStore(4);
  const slot = 1;
  const cw = st.coldW(slot);
  sequenceStart(st, slot, seqs[0]);
  st.w[slot * L.HOT_W + L.W_PACKETS] = 1;
  const gaps: number[] = [];
  for (const seq of seqs.slice(1)) {
    st.w[slot * L.HOT_W + L.W_PACKETS]++;
    gaps.push(packetSequence(st.w, st.h, st.b, slot, cw, seq));
  }
  return { gaps, st };
}

describe('packetSequence gaps', () => {
  it('in order: 0 each, nothing lost', () => {
    const { gaps, st } = feed([10, 11, 12, 13]);
    expect(gaps).toEqual([0, 0, 0]);
    expect(rfcExpected(st, 1)).toBe(4);
    expect(st.w[st.coldW(1) + L.CW_SEQ_ERRORS]).toBe(0);
  });

  it('a skip of two numbers, then the late one and a duplicate of it', () => {
    const { gaps, st } = feed([100, 101, 104, 102, 102, 104]);
    expect(gaps).toEqual([0, 2, Gap.LATE, Gap.DUPLICATE, Gap.DUPLICATE]);
    const cw = st.coldW(1);
    expect(st.w[cw + L.CW_OUT_OF_ORDER]).toBe(1);
    expect(st.w[cw + L.CW_DUPLICATES]).toBe(2);
    expect(rfcExpected(st, 1)).toBe(5); // 100..104
  });

  it('across the 16-bit wrap', () => {
    const { gaps, st } = feed([65534, 65535, 0, 2]);
    expect(gaps).toEqual([0, 0, 1]);
    expect(rfcExpected(st, 1)).toBe(5);
    expect(wiresharkExpected(st, 1)).toBe(5);
  });

  it('a jump beyond MAX_DROPOUT is believed when the next number follows it (RFC 3550 A.1 bad_seq)', () => {
    const { gaps, st } = feed([1000, 1001, 30000, 30001, 30002]);
    expect(gaps).toEqual([0, Gap.JUMP, Gap.CONFIRMED, 0]);
    // Both segments counted: 1000..1001, then 30000..30002.
    expect(rfcExpected(st, 1)).toBe(5);
  });
});

describe('a stray number ahead of the stream (a corrupted or injected packet with its 5-tuple and SSRC)', () => {
  const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('one packet 200 or 2,999 numbers ahead, the stream going on where it was: no loss, the stray is not expected', () => {
    for (const ahead of [101, 200, 2999]) {
      const { gaps, st } = feed([...run(0, 9), 9 + ahead, ...run(10, 20)]);
      expect(gaps.slice(8, 11), `+${ahead}`).toEqual([0, Gap.JUMP, 0]);
      expect(rfcExpected(st, 1), `+${ahead}`).toBe(21); // 0..20: the stray is counted as a packet, never as 21..9+ahead lost
    }
  });

  it('a real gap of 500 numbers is believed once the next number follows the packet after it', () => {
    const { gaps, st } = feed([...run(0, 9), 510, 511, 512]);
    expect(gaps.slice(8)).toEqual([0, Gap.JUMP, Gap.CONFIRMED + 500, 0]);
    expect(rfcExpected(st, 1)).toBe(513); // 0..512: 500 lost
  });

  it('a packet up to MAX_MISORDER (100) ahead is taken at once: the numbers it skips may still come late', () => {
    const { gaps, st } = feed([...run(0, 9), 109, 10, 110]);
    expect(gaps.slice(8)).toEqual([0, 99, Gap.LATE, 0]);
    expect(rfcExpected(st, 1)).toBe(111);
  });

  it('a real gap across the 16-bit wrap', () => {
    const { gaps, st } = feed([65000, 65001, 400, 401, 402]);
    expect(gaps).toEqual([0, Gap.JUMP, Gap.CONFIRMED + 934, 0]);
    expect(rfcExpected(st, 1)).toBe(939); // 65000..65535 and 0..402
  });
});
