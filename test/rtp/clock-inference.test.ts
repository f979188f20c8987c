/**
 * Clock inference on its own: seeded streams of a known clock with the delay variation and loss of an
 * everyday network, fed packet by packet as the engine does; the decision must be the true clock or none.
 */
import { describe, expect, it } from 'vitest';
import { ClockInference, INFER_CLOCKS } from '../../src/rtp/clock-inference.js';
import { SeededRandom } from '../../src/gen/index.js';

/** The clock a stream of `clock` (20 ms packets, 0..jitterMs delay, lossPct loss) is inferred as; 0 = none. */
function infer(clock: number, seed: number, jitterMs: number, lossPct: number): number {
  const r = new SeededRandom(seed);
  const inf = new ClockInference(1);
  const inc = (clock * 20) / 1000;
  let prevArrival = -1;
  let first = -1;
  for (let i = 0; i < 300; i++) {
    if (i > 0 && r.next() * 100 < lossPct) continue;
    // Whole microseconds, order kept (what the generator's network does).
    let t = Math.round((i * 20 + r.next() * jitterMs) * 1000) / 1000;
    if (t <= prevArrival) t = prevArrival + 0.001;
    const seq = (1000 + i) & 0xffff;
    const ts = (5000 + i * inc) | 0;
    if (first < 0) {
      first = t;
      inf.begin(0, 111, t, seq, ts);
    } else {
      inf.sample(0, t, prevArrival, seq, ts, 0, i * inc, first, true, i, true);
      const k = inf.decide(0, t - first, i * inc);
      if (k === -2) return 0;
      if (k >= 0) return INFER_CLOCKS[k];
    }
    prevArrival = t;
  }
  return 0;
}

describe('clock inference: 44.1 and 48 kHz (8.8 % apart) are told apart under delay variation', () => {
  for (const [clock, other] of [[48000, 44100], [44100, 48000]]) {
    it(`${clock / 1000} kHz with 0..4 ms of delay variation and 0..3 % loss: never ${other / 1000} kHz, nearly always decided`, () => {
      const got: number[] = [];
      for (let seed = 1; seed <= 300; seed++) got.push(infer(clock, seed, 4, seed % 4));
      expect(got.filter((c) => c !== clock && c !== 0)).toEqual([]);
      expect(got.filter((c) => c === clock).length).toBeGreaterThan(290);
    });
  }

  it('48 kHz with 0..20 ms of delay variation: never 44.1 kHz', () => {
    const got: number[] = [];
    for (let seed = 1; seed <= 200; seed++) got.push(infer(48000, seed, 20, 2));
    expect(got.filter((c) => c !== 48000 && c !== 0)).toEqual([]);
    expect(got.filter((c) => c === 48000).length).toBeGreaterThan(150);
  });
});
