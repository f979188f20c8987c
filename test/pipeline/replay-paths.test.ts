/**
 * File replay walks each window of the file once (Pipeline.processRecords over the file source's cursor)
 * instead of filling PacketBatches (processBatch, still what live capture uses), and without a consumer
 * of PERIODIC/ALERT reports (no HEP, no JSON lines) it scores intervals without building their reports.
 * Neither may change a report: the same generated capture through the batch path with every report
 * kept, through the record path (small reads, so records straddle windows), and through a sink that only
 * takes the final reports, gives the same reports, the same counters and the same report count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCaptureFile } from '../../src/capture/index.js';
import { writeScenarioPcap } from '../../src/gen/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-paths-'));
const file = join(dir, 'calls.pcap');
const stats = writeScenarioPcap(file, {
  calls: 12, concurrentCalls: 6, durationS: 0, callDurationS: 25, codec: 'PCMU', lossPct: 3, burstLossPct: 30, jitterMs: 6, rtcp: true, seed: 4, startEpochS: 1_700_000_000,
});

interface Run {
  reports: string[];
  finals: string[];
  counts: object;
  qosReports: number;
}

function config(rules: boolean): ProbeConfig {
  const c = defaultConfig();
  c.reports.intervalS = 5;
  // A rule that fires and stops over the capture: ALERT reports and a shorter interval while it holds.
  if (rules) c.reports.rules = [{ name: 'lossy', when: 'loss_pct > 2', intervalS: 2 }];
  return c;
}

async function replay(cfg: ProbeConfig, path: 'batches' | 'records', keepAll: boolean): Promise<Run> {
  const reports: string[] = [];
  const finals: string[] = [];
  const sink = new ReportSink([], { onReport: keepAll ? (r: QosReport) => reports.push(JSON.stringify(r)) : undefined,
    onFinalReport: (r: QosReport) => finals.push(JSON.stringify(r)),
  });
  expect(sink.wantsIntervalReports()).toBe(keepAll);
  const p = new Pipeline(cfg, sink);
  const source = openCaptureFile(file, { chunkBytes: 64 * 1024 + 7 });
  if (path === 'batches') for await (const b of source.batches()) p.processBatch(b);
  else for await (const cur of source.records()) p.processRecords(cur);
  p.finish();
  return { reports, finals, counts: { ...p.counts }, qosReports: sink.counts.qosReports };
}

describe('file replay paths give the same reports', () => {
  for (const rules of [false, true]) {
    it(`records vs batches, reports built or only counted${rules ? ' (with an adaptive rule)' : ''}`, async () => {
      const cfg = config(rules);
      const batches = await replay(cfg, 'batches', true);
      expect(batches.counts).toMatchObject({ packets: stats.records, rtcp: stats.rtcpPackets });
      expect(batches.finals.length).toBe(stats.rtpStreams);
      expect(batches.reports.filter((r) => r.includes('"TYPE":"PERIODIC"')).length).toBeGreaterThan(stats.rtpStreams * 3);
      if (rules) expect(batches.reports.some((r) => r.includes('"TYPE":"ALERT"'))).toBe(true);
      expect(batches.qosReports).toBe(batches.reports.length);
      expect(batches.finals).toEqual(batches.reports.filter((r) => /"TYPE":"(FINAL|HANGUP)"/.test(r)));

      const records = await replay(cfg, 'records', true);
      expect(records).toEqual(batches);

      const finalsOnly = await replay(cfg, 'records', false);
      expect(finalsOnly.reports).toEqual([]);
      expect(finalsOnly.finals).toEqual(batches.finals);
      expect(finalsOnly.counts).toEqual(batches.counts);
      expect(finalsOnly.qosReports).toBe(batches.qosReports);
    });
  }
});
