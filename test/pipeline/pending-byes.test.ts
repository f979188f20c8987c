/**
 * PendingByes: RTCP BYEs another media worker read, held until this worker's capture time reaches them.
 * Forged BYEs come as fast as a flood sends them: what is held is bounded, and due ones leave from the
 * front in capture-time order.
 */
import { describe, expect, it } from 'vitest';
import { PendingByes, type ForwardedBye } from '../../src/pipeline/pending-byes.js';

const bye = (ssrc: number, atMs: number): ForwardedBye => ({ ssrcs: [ssrc], src: [1, 2, 3, 4], dst: [5, 6, 7, 8], srcPort: 4001, dstPort: 6001, srcRtp: null, dstRtp: null, atMs });
const ssrcs = (l: ForwardedBye[]) => l.map((b) => b.ssrcs[0]);

describe('PendingByes', () => {
  it('BYEs of two workers, each in its capture order, leave in capture-time order once due', () => {
    const p = new PendingByes(100);
    for (const [s, at] of [[1, 10], [2, 30], [3, 20], [4, 30], [5, 5], [6, 40]]) expect(p.add(bye(s!, at!))).toBeNull();
    expect(p.nextMs).toBe(5);
    expect(p.takeDue(4)).toEqual([]);
    expect(ssrcs(p.takeDue(20))).toEqual([5, 1, 3]);
    expect(p.nextMs).toBe(30);
    expect(ssrcs(p.takeDue(30))).toEqual([2, 4]); // equal times in the order they came
    expect(p.length).toBe(1);
    expect(ssrcs(p.takeDue(Number.POSITIVE_INFINITY))).toEqual([6]);
    expect(p.nextMs).toBe(Number.POSITIVE_INFINITY);
  });

  it('a flood of 100,000 held BYEs keeps at most `max`: past it the earliest is given back to be applied at once', () => {
    const max = 1000;
    const p = new PendingByes(max);
    const early: number[] = [];
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      // Two workers' BYEs interleaved, each 1 ms apart in its own order.
      const at = i % 2 === 0 ? i : i - 1.5;
      const out = p.add(bye(i, at));
      if (out !== null) early.push(out.atMs);
      most = Math.max(most, p.length);
    }
    expect(most).toBe(max);
    expect(early.length).toBe(100_000 - max);
    expect(early).toEqual([...early].sort((a, b) => a - b)); // the earliest each time
    const rest = p.takeDue(Number.POSITIVE_INFINITY).map((b) => b.atMs);
    expect(rest.length).toBe(max);
    expect(rest[0]).toBeGreaterThanOrEqual(early[early.length - 1]!);
  });

  it('a retirement takes the held BYEs naming its streams, and leaves the rest in order', () => {
    const p = new PendingByes(100);
    for (const [s, at] of [[1, 10], [2, 20], [1, 30], [3, 40]]) p.add(bye(s!, at!));
    p.add({ ...bye(4, 50), ssrcs: [4, 2] });
    expect(p.takeNaming(9)).toEqual([]);
    expect(p.takeNaming(2).map((b) => b.atMs)).toEqual([20, 50]);
    expect(p.takeNaming(2)).toEqual([]);
    expect(p.length).toBe(3);
    expect(p.nextMs).toBe(10);
    expect(p.takeNaming(1).map((b) => b.atMs)).toEqual([10, 30]);
    expect(p.nextMs).toBe(40);
    expect(ssrcs(p.takeDue(Number.POSITIVE_INFINITY))).toEqual([3]);
    expect(p.takeNaming(3)).toEqual([]); // taken by takeDue: no longer named
  });
});
