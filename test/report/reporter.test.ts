import { describe, expect, it } from 'vitest';
import { QosReporter, round3 } from '../../src/report/index.js';
import type { StreamReportInput } from '../../src/report/index.js';
import { counters, snapshot } from './snapshot-fixture.js';

const input: StreamReportInput = { callId: 'c1@pbx', xcid: null, codecName: 'PCMU', nodeName: 'n', dir: 0, party: 0, hostTimestamps: false, rttMs: null };

describe('QosReporter (report stage end to end)', () => {
  it('periodic, alert on rule start, final with the mean of interval MOS', () => {
    const rep = new QosReporter({ maxStreams: 8, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10, rules: [{ name: 'lossy', when: 'loss_pct > 2', intervalS: 2 }] } });
    rep.streamStarted(2, 0);
    expect(rep.scheduler.due(10_000)).toBe(1);
    const s1 = snapshot({ slot: 2, interval: counters({ expected: 500, packets: 500, startMs: 0, endMs: 10_000 }) });
    const a = rep.onInterval(s1, input, 10_000);
    expect(a.map((o) => o.report.TYPE)).toEqual(['PERIODIC']);
    expect(a[0].report.MOS).toBe(round3(4.4094));
    expect(a[0].report.INTERVAL_S).toBe(10);
    // 5 % loss (REFERENCE vector G.711 PLC -> 3.9231): rule starts -> PERIODIC + ALERT, interval 2 s.
    const s2 = snapshot({ slot: 2, interval: counters({ expected: 500, packets: 475, lost: 25, startMs: 10_000, endMs: 20_000 }) });
    const b = rep.onInterval(s2, input, 20_000);
    expect(b.map((o) => o.report.TYPE)).toEqual(['PERIODIC', 'ALERT']);
    expect(b[1].report).toMatchObject({ ALERT_RULE: 'lossy', MOS: round3(3.9231), INTERVAL_S: 2 });
    expect(rep.scheduler.nextDueMs(2)).toBe(22_000);
    expect(rep.onInterval(s2, input, 22_000).map((o) => o.report.TYPE)).toEqual(['PERIODIC']);
    const end = rep.onStreamEnd(snapshot({ slot: 2, interval: counters() }), input, 'HANGUP', 23_000);
    // The rule still fired: its CLEARED (on the last period, as a CLEARED while the stream runs) before the HANGUP.
    expect(end.map((o) => [o.report.TYPE, o.report.ALERT_RULE, o.report.CLEAR_REASON, o.report.INTERVAL_S])).toEqual([['CLEARED', 'lossy', 'stream-ended', 2], ['HANGUP', undefined, undefined, undefined]]);
    const fin = end[1];
    expect(fin.report.MOS).toBe(round3((4.4094 + 2 * 3.9231) / 3));
    expect(rep.scheduler.isActive(2)).toBe(false);
  });

  it('an interval without packets gives no report and keeps the schedule going', () => {
    const rep = new QosReporter({ maxStreams: 4, unknownCallId: 'synthetic', schedule: { baseIntervalS: 5 } });
    rep.streamStarted(1, 0);
    expect(rep.onInterval(snapshot({ slot: 1, interval: counters() }), input, 5000)).toEqual([]);
    expect(rep.scheduler.nextDueMs(1)).toBe(10_000);
    expect(rep.qos.count[1]).toBe(0);
  });

  it('uses the RTCP round trip for the delay impairment when there is one', () => {
    const rep = new QosReporter({ maxStreams: 4, unknownCallId: 'synthetic', schedule: { baseIntervalS: 5 }, delay: { nominalOneWayDelayMs: 0, jitterBufferMs: 40 } });
    rep.streamStarted(1, 0);
    const s = snapshot({ slot: 1, interval: counters({ expected: 250, packets: 250 }) });
    const [o] = rep.onInterval(s, { ...input, rttMs: 300 }, 5000);
    // d = 300/2 + 40 = 190 ms -> Id = 0.024*190 + 0.11*(190-177.3)
    expect(o.report).toMatchObject({ DELAY_SOURCE: 'rtcp', ONE_WAY_DELAY: 190, ID: round3(0.024 * 190 + 0.11 * 12.7) });
    expect(o.report.RFACTOR).toBe(round3(93.2062077 - 0.024 * 190 - 0.11 * 12.7));
  });

  it('applies the unknown Call-ID policy', () => {
    const s = snapshot({ slot: 0, interval: counters({ expected: 10, packets: 10 }) });
    const mk = (p: 'synthetic' | 'log' | 'drop') => {
      const r = new QosReporter({ maxStreams: 2, unknownCallId: p, schedule: { baseIntervalS: 5 } });
      r.streamStarted(0, 0);
      return [r, r.onInterval(s, { ...input, callId: null }, 5000)] as const;
    };
    expect(mk('synthetic')[1][0]).toMatchObject({ send: true, log: true, report: { SYNTHETIC_ID: 1 } });
    expect(mk('log')[1][0]).toMatchObject({ send: false, log: true });
    const [r, out] = mk('drop');
    expect(out).toEqual([]);
    expect(r.dropped).toBe(1);
  });
});
