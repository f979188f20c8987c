/**
 * The narrowed per-stream state (src/rtp/stream-store.ts): its size, and the two representations it
 * relies on being exact: interval counters kept as baselines with cumulative min/max combined from the
 * intervals, and loss-model counts derived from the expected count instead of stored.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { RtpEngine, createStreamSnapshot, type StreamCounters } from '../../src/rtp/index.js';
import { synthPacket } from './helpers.js';

describe('state size', () => {
  it('is under 512 bytes per stream without the jitter buffers (under 1100 with them), and the parts add up to the arrays allocated', () => {
    for (const n of [1000, 10_000, 100_000]) {
      const bd = new RtpEngine({ maxStreams: n }).stateBreakdown();
      expect(bd.perStream - bd.jitterBuffer / n).toBeLessThan(512);
      expect(bd.perStream).toBeLessThan(1100);
      expect(new RtpEngine({ maxStreams: n, jitterBuffer: null }).stateBreakdown().perStream).toBeLessThan(512);
      expect(bd.recordHot + bd.recordCold + bd.scratch + bd.streamIndex + bd.tupleIndex + bd.lists + bd.fixed + bd.jitterBuffer).toBe(bd.total);
      expect(bd.recordHot / n).toBe(320);
    }
  });

  it('refuses more slots than the record indexes can address as small integers (2^21 - 1: the scratch record takes index max_streams)', () => {
    expect(() => new RtpEngine({ maxStreams: 1 << 21 })).toThrow(/stream slots must be an integer from 1 to 2097151, got 2097152/);
    expect(new RtpEngine({ maxStreams: 2_000_000 }).maxStreams).toBe(2_000_000); // the config's largest max_streams
  });
});

/** A stream with losses, reordering, duplicates, a restart and PT changes, from a fast-check seed. */
const streamArb = fc.array(
  fc.record({
    step: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(1), fc.integer({ min: 2, max: 40 }), fc.integer({ min: -130, max: 0 }), fc.integer({ min: 4000, max: 60000 })),
    pt: fc.constantFrom(0, 0, 0, 0, 8, 13),
    marker: fc.boolean(),
    jitterUs: fc.integer({ min: 0, max: 6000 }),
    reset: fc.integer({ min: 0, max: 30 }),
  }),
  { minLength: 20, maxLength: 400 },
);

function feed(engine: RtpEngine, steps: Array<{ step: number; pt: number; marker: boolean; jitterUs: number; reset: number }>, resets: boolean, intervals?: StreamCounters[]): number {
  const pkt = new DecodedPacket();
  const snap = createStreamSnapshot();
  let seq = 65500;
  let ts = 4_294_960_000;
  let slot = -1;
  steps.forEach((s, i) => {
    seq = (seq + s.step + 65536) & 0xffff;
    ts = (ts + 160) >>> 0;
    synthPacket(pkt, rtp({ pt: s.pt, seq, ts, ssrc: 0x5151, marker: s.marker && i % 3 === 0, payload: new Uint8Array(160) }), i * 20_000 + s.jitterUs);
    slot = engine.onRtp(pkt, true);
    if (resets && s.reset === 0) {
      engine.snapshot(slot, snap);
      intervals?.push({ ...snap.interval });
      engine.resetInterval(slot);
    }
  });
  return slot;
}

describe('interval baselines and derived loss counts', () => {
  it('cumulative values do not depend on interval resets; the intervals add up to them', () => {
    fc.assert(
      fc.property(streamArb, (steps) => {
        const a = new RtpEngine({ maxStreams: 4, signalledMinConsecutive: 1 });
        const b = new RtpEngine({ maxStreams: 4, signalledMinConsecutive: 1 });
        const intervals: StreamCounters[] = [];
        const sa = feed(a, steps, false);
        const sb = feed(b, steps, true, intervals);
        const x = createStreamSnapshot();
        const y = createStreamSnapshot();
        a.snapshot(sa, x);
        b.snapshot(sb, y);
        expect(y.cumulative).toEqual(x.cumulative);
        intervals.push(y.interval);
        const sum = (f: keyof StreamCounters) => intervals.reduce((t, c) => t + c[f], 0);
        for (const f of ['packets', 'bytes', 'expected', 'lost', 'seqErrors', 'outOfOrder', 'duplicates'] as const) expect(sum(f)).toBe(x.cumulative[f]);
        const measured = intervals.filter((c) => c.packets > 0);
        expect(Math.max(...measured.map((c) => c.maxDeltaMs))).toBe(x.cumulative.maxDeltaMs);
        expect(Math.max(...measured.map((c) => c.maxJitterMs))).toBe(x.cumulative.maxJitterMs);
      }),
      { numRuns: 150, seed: 20261123 },
    );
  });

  it('the Gilbert transitions of a loss pattern are counted exactly (R->R, L->R derived from the expected count)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 2, maxLength: 600 }), (received) => {
        received[0] = true; // a stream starts with a received packet
        received[received.length - 1] = true; // and its highest number is one received
        const engine = new RtpEngine({ maxStreams: 2, signalledMinConsecutive: 1 });
        const pkt = new DecodedPacket();
        let slot = -1;
        received.forEach((r, i) => {
          if (!r) return;
          synthPacket(pkt, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 7, payload: new Uint8Array(160) }), i * 20_000);
          slot = engine.onRtp(pkt, true);
        });
        let rr = 0, rl = 0, lr = 0, ll = 0;
        for (let i = 1; i < received.length; i++) {
          const [p, c] = [received[i - 1], received[i]];
          if (p && c) rr++; else if (p) rl++; else if (c) lr++; else ll++;
        }
        const snap = createStreamSnapshot();
        engine.snapshot(slot, snap);
        const c = snap.cumulative;
        expect(c.lossP).toBe(rr + rl > 0 ? rl / (rr + rl) : 0);
        expect(c.lossQ).toBe(lr + ll > 0 ? lr / (lr + ll) : 1);
        expect(c.lost).toBe(received.filter((r) => !r).length);
      }),
      { numRuns: 200, seed: 20261124 },
    );
  });
});
