import { describe, expect, it } from 'vitest';
import { CallFaults, mediaDirection } from '../../src/report/index.js';
import type { CallFaultEvents } from '../../src/report/index.js';

// CallFaults on hand-fed media times (report/call-faults.ts): when faults start and end.
function recorder(exempt: Set<number> = new Set()) {
  const events: string[] = [];
  const ev: CallFaultEvents = {
    started: (c, fault, dir, now) => void events.push(`${now} start ${fault} ${c.callIndex}${dir >= 0 ? ` dir ${dir}` : ''}`),
    cleared: (c, fault, dir, now) => void events.push(`${now} clear ${fault} ${c.callIndex}${dir >= 0 ? ` dir ${dir}` : ''}`),
    exempt: (i) => exempt.has(i),
  };
  return { events, ev };
}

describe('call faults', () => {
  it('directions: caller to callee is 0 (towards the callee, or from the caller), the rest 1', () => {
    expect([mediaDirection(0, 1), mediaDirection(1, 0), mediaDirection(0, 0), mediaDirection(1, 1)]).toEqual([0, 0, 1, 1]);
  });

  it('no-media starts at the threshold after the answer and clears on the first media; one-way follows the live directions', () => {
    const f = new CallFaults({ noMediaMs: 5000, oneWayMs: 5000 }, 8);
    const { events, ev } = recorder();
    f.answered(3, 1000);
    f.check(5999, ev);
    f.check(6000, ev);
    f.media(3, 0, 500); // before the answer: early media does not count
    f.check(7000, ev);
    f.media(3, 0, 7500);
    f.check(8000, ev);
    // Only direction 0 for 5 s from the answer on (checked at 12.5 s: direction 0 heard at 12 s).
    f.media(3, 0, 12_000);
    f.check(12_500, ev);
    f.media(3, 1, 13_000);
    f.check(13_500, ev);
    expect(events).toEqual(['6000 start no-media 3', '8000 clear no-media 3', '8000 start one-way-rtp 3 dir 0', '13500 clear one-way-rtp 3 dir 0']);
  });

  it('media of another leg on the same addresses counts for no-media only; an exempt call raises nothing', () => {
    const f = new CallFaults({ noMediaMs: 5000, oneWayMs: 5000 }, 8);
    const { events, ev } = recorder(new Set([2]));
    f.answered(1, 0);
    f.answered(2, 0);
    f.sharedMedia(1, 1000);
    f.check(20_000, ev);
    expect(events).toEqual([]);
  });

  it('ending a call clears its open no-media fault and leaves the other watched calls checked', () => {
    const f = new CallFaults({ noMediaMs: 5000, oneWayMs: 0 }, 8);
    const { events, ev } = recorder();
    for (const i of [4, 5, 6]) f.answered(i, 0);
    f.check(5000, ev);
    f.ended(5, 6000, ev);
    f.ended(5, 6500, ev); // twice: nothing more
    expect(f.size).toBe(2);
    f.media(6, 1, 7000);
    f.check(7000, ev);
    f.ended(4, 8000, ev);
    expect(events).toEqual(['5000 start no-media 6', '5000 start no-media 5', '5000 start no-media 4', '6000 clear no-media 5', '7000 clear no-media 6', '8000 clear no-media 4']);
    expect(f.size).toBe(1);
    // The index is free to be answered again as a new call.
    f.answered(5, 9000);
    f.check(13_999, ev);
    expect(events.at(-1)).toBe('8000 clear no-media 4');
  });

  it('a reload turning the checks off ends the faults in progress: one-way at the next check, no-media at the first media', () => {
    const f = new CallFaults({ noMediaMs: 5000, oneWayMs: 5000 }, 8);
    const { events, ev } = recorder();
    f.answered(1, 0);
    f.answered(2, 0);
    f.media(1, 0, 5500);
    f.check(6000, ev);
    f.limits = { noMediaMs: 0, oneWayMs: 0 };
    f.check(7000, ev);
    f.media(2, 1, 7500);
    f.check(8000, ev);
    f.check(20_000, ev);
    expect(events).toEqual(['6000 start no-media 2', '6000 start one-way-rtp 1 dir 0', '7000 clear one-way-rtp 1 dir 0', '8000 clear no-media 2']);
  });

  it('is off with both thresholds 0 (no call is watched)', () => {
    const f = new CallFaults({ noMediaMs: 0, oneWayMs: 0 }, 8);
    f.answered(1, 0);
    expect(f.size).toBe(0);
  });
});
