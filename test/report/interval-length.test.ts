/**
 * How long report intervals are, from the reports of real replays (the README's "Reports" section): cut at
 * the once-a-second tick of capture time, a stream's first interval runs from its first packet to the
 * first tick interval_s after it (up to a second longer), the next ones are interval_s rounded up to whole
 * seconds; MEAN_MOS weighs each interval by the packets it expected, the longer first one included.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, writeScenarioPcap } from '../../src/gen/index.js';
import type { QosReport } from '../../src/report/index.js';
import { e2eConfig, replayReports } from '../e2e/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-intervals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_700_000_000_000;
const PACKETS_PER_S = 50; // 20 ms packets

/** Two clean 30 s streams of 20 ms packets: one from T0 (on the tick), one from T0 + 530 ms (between ticks). */
function cleanStreams(): string {
  const t = new CaptureTimeline();
  t.rtp(T0, '10.6.0.1', 40000, '10.6.0.2', 50000, { ssrc: 1, seq: 1, ts: 0, count: 1500 });
  t.rtp(T0 + 530, '10.6.0.3', 40002, '10.6.0.4', 50002, { ssrc: 2, seq: 1, ts: 0, count: 1500 });
  const file = join(dir, 'clean.pcap');
  writeFileSync(file, t.pcap());
  return file;
}

const byStream = (reports: QosReport[]) => {
  const m = new Map<number, QosReport[]>();
  for (const r of reports) if (r.TYPE === 'PERIODIC') m.set(r.SSRC as number, [...(m.get(r.SSRC as number) ?? []), r]);
  return m;
};

describe('report interval length', () => {
  it.each([5, 1.5])('interval_s %s: the first interval from the first packet to the first tick interval_s later, the next ones interval_s in whole seconds', async (intervalS) => {
    const reports = await replayReports(cleanStreams(), e2eConfig((c) => (c.reports.intervalS = intervalS)));
    const streams = byStream(reports);
    expect([...streams.keys()].sort()).toEqual([1, 2]);
    for (const [ssrc, periodic] of streams) {
      const [first, ...rest] = periodic;
      expect(first.REPORT_START).toBe(first.RTP_START);
      // The first packet to the tick: at least interval_s, less than a second more.
      expect(first.EXPECTED_PK).toBeGreaterThanOrEqual(intervalS * PACKETS_PER_S);
      expect(first.EXPECTED_PK).toBeLessThanOrEqual((Math.ceil(intervalS) + 1) * PACKETS_PER_S);
      if (ssrc === 2) expect(first.EXPECTED_PK).toBe(Math.ceil(intervalS + 0.53) * PACKETS_PER_S - 26); // 530 ms after the tick
      // Then whole seconds, each period starting with the packet after the previous one's last.
      expect(rest.length).toBeGreaterThan(3);
      for (const [i, r] of rest.entries()) {
        expect(r.EXPECTED_PK, `${ssrc} #${i + 2}`).toBe(Math.ceil(intervalS) * PACKETS_PER_S);
        expect((r.REPORT_START as number) - ((i === 0 ? first : rest[i - 1]).REPORT_END as number)).toBeCloseTo(0.02, 3);
      }
    }
  });

  it('MEAN_MOS weighs each interval by its expected packets, the longer first one included', async () => {
    const file = join(dir, 'lossy.pcap');
    writeScenarioPcap(file, { calls: 2, concurrentCalls: 2, durationS: 30, callDurationS: 24, codec: 'PCMA', lossPct: 6, burstLossPct: 40, jitterMs: 0, rtcp: false, seed: 7, startEpochS: T0 / 1000 });
    const reports = await replayReports(file, e2eConfig((c) => (c.reports.intervalS = 5)));
    const streams = byStream(reports);
    expect(streams.size).toBe(4);
    for (const periodic of streams.values()) {
      expect(periodic[0].EXPECTED_PK as number).toBeGreaterThan(periodic[1].EXPECTED_PK as number); // the first interval is the longer
      let sum = 0;
      let weight = 0;
      for (const r of periodic) {
        sum += (r.MOS as number) * (r.EXPECTED_PK as number);
        weight += r.EXPECTED_PK as number;
        expect(r.MEAN_MOS as number).toBeCloseTo(sum / weight, 2);
      }
      expect(new Set(periodic.map((r) => r.MOS)).size).toBeGreaterThan(1); // the loss varies: the weights matter
    }
  });
});
