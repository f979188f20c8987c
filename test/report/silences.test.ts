import { describe, expect, it } from 'vitest';
import { PauseEnd, StreamSilences } from '../../src/report/index.js';

// StreamSilences on hand-made counts: how a pause is measured and classified (report/silences.ts).
describe('stream pauses', () => {
  const T = 1_700_000_000_000;

  it('is not paused before minMs without a packet, then is', () => {
    const s = new StreamSilences(4, 5000);
    expect(s.shouldPause(1, T, T + 4999)).toBe(false);
    expect(s.shouldPause(1, T, T + 5000)).toBe(true);
    s.pause(1, T, 100, 100, 20, 21);
    expect(s.shouldPause(1, T, T + 6000)).toBe(false); // already paused
    expect(s.currentMs(1, T + 6000)).toBe(6000);
    expect(new StreamSilences(4, 0).shouldPause(1, T, T + 1e9)).toBe(false); // 0: off
  });

  it("measures the pause by the interval's largest inter-arrival time when only the pause can be it", () => {
    const s = new StreamSilences(4, 5000);
    s.pause(1, T, 100, 100, 20, 21);
    // 7020 ms later the sequence goes on: 30 packets back, the latest 580 ms after the first.
    expect(s.resumed(1, T + 7020 + 580, 130, 130, 7020, T - 3000)).toBe(PauseEnd.silence);
    expect(s.lastPauseMs).toBe(7020);
    expect([s.count[1], s.totalMs[1], s.maxMs[1]]).toEqual([1, 7020, 7020]);
    expect(s.paused(1)).toBe(false);
  });

  it('estimates it from the mean spacing when the interval cannot tell (marker packet after DTX: delta left out)', () => {
    const s = new StreamSilences(4, 5000);
    s.pause(1, T, 100, 100, 20, 21);
    expect(s.resumed(1, T + 7020 + 580, 130, 130, 21, T - 3000)).toBe(PauseEnd.silence);
    expect(s.lastPauseMs).toBe(7020); // 7600 - 29 x 20
    // An interval that already held a longer gap before the pause is not trusted either.
    s.pause(2, T, 100, 100, 20, 9000);
    s.resumed(2, T + 7020 + 580, 130, 130, 9000, T - 3000);
    expect(s.lastPauseMs).toBe(7020);
  });

  it('is loss when the packets missing across it would fill half of it or more', () => {
    const s = new StreamSilences(4, 5000);
    s.pause(1, T, 100, 100, 20, 21);
    // 7 s without packets and the sequence jumped by 350 (7 s of 20 ms packets).
    expect(s.resumed(1, T + 7000 + 580, 480, 130, 7000, T - 3000)).toBe(PauseEnd.loss);
    expect([s.count[1], s.totalMs[1]]).toEqual([0, 0]);
    // 174 missing (3.48 s of 7 s): still a silence with some loss around it.
    s.pause(1, T, 100, 100, 20, 21);
    expect(s.resumed(1, T + 7000 + 580, 304, 130, 7000, T - 3000)).toBe(PauseEnd.silence);
  });
});
