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
    expect(gaps).toEqual([0, Gap.JUMP, Gap.JUMP, 0]);
    // Both segments counted: 1000..1001, then 30000..30002.
    expect(rfcExpected(st, 1)).toBe(5);
  });
});
