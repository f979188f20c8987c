/**
 * File replay walks each window of the file once (Pipeline.processRecords over the file source's cursor)
 * instead of filling PacketBatches (processBatch, still what live capture uses), and without a consumer
 * of PERIODIC/ALERT reports (no HEP, no JSON lines) it scores intervals without building their reports,
 * and without one of the final reports (no table either) it scores the streams' last intervals without
 * building those. None may change a report: the same generated capture through the batch path with every
 * report kept, through the record path (small reads, so records straddle windows), through a sink that
 * only takes the final reports, and through one that takes none, gives the same reports, the same
 * counters, the same report count and the same final MOS for each ended stream (the metrics' event).
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
  /** Each stream end's reason and final MOS, as the pipeline's streamEnded event gives them. */
  ended: Array<[number, number]>;
}

/** Which reports the sink's hooks take: every one, the final ones (the replay's table), none. */
type Taken = 'all' | 'finals' | 'none';

function config(rules: boolean): ProbeConfig {
  const c = defaultConfig();
  c.reports.intervalS = 5;
  // A rule that fires and stops over the capture: ALERT reports and a shorter interval while it holds.
  if (rules) c.reports.rules = [{ name: 'lossy', when: 'loss_pct > 2', intervalS: 2 }];
  return c;
}

async function replay(cfg: ProbeConfig, path: 'batches' | 'records', taken: Taken): Promise<Run> {
  const reports: string[] = [];
  const finals: string[] = [];
  const ended: Array<[number, number]> = [];
  const sink = new ReportSink([], { onReport: taken === 'all' ? (r: QosReport) => reports.push(JSON.stringify(r)) : undefined,
    onFinalReport: taken === 'none' ? undefined : (r: QosReport) => finals.push(JSON.stringify(r)),
  });
  expect(sink.wantsIntervalReports()).toBe(taken === 'all');
  expect(sink.wantsStreamEndReports()).toBe(taken !== 'none');
  const p = new Pipeline(cfg, sink, { streamEnded: (reason, mos) => ended.push([reason, mos]) });
  const source = openCaptureFile(file, { chunkBytes: 64 * 1024 + 7 });
  if (path === 'batches') for await (const b of source.batches()) p.processBatch(b);
  else for await (const cur of source.records()) p.processRecords(cur);
  p.finish();
  return { reports, finals, counts: { ...p.counts }, qosReports: sink.counts.qosReports, ended };
}

describe('file replay paths give the same reports', () => {
  for (const rules of [false, true]) {
    it(`records vs batches, reports built or only counted${rules ? ' (with an adaptive rule)' : ''}`, async () => {
      const cfg = config(rules);
      const batches = await replay(cfg, 'batches', 'all');
      expect(batches.counts).toMatchObject({ packets: stats.records, rtcp: stats.rtcpPackets });
      expect(batches.finals.length).toBe(stats.rtpStreams);
      expect(batches.reports.filter((r) => r.includes('"TYPE":"PERIODIC"')).length).toBeGreaterThan(stats.rtpStreams * 3);
      if (rules) expect(batches.reports.some((r) => r.includes('"TYPE":"ALERT"'))).toBe(true);
      // Streams that end while the rule fires: their CLEARED is among the end's reports the last run counts.
      if (rules) expect(batches.reports.some((r) => r.includes('"CLEAR_REASON":"stream-ended"'))).toBe(true);
      expect(batches.qosReports).toBe(batches.reports.length);
      expect(batches.finals).toEqual(batches.reports.filter((r) => /"TYPE":"(FINAL|HANGUP)"/.test(r)));

      const records = await replay(cfg, 'records', 'all');
      expect(records).toEqual(batches);

      // The final MOS the event gives is the FINAL/HANGUP report's, stream by stream, in end order.
      expect(batches.ended.length).toBe(stats.rtpStreams);
      expect(batches.ended.map(([, mos]) => mos)).toEqual(batches.finals.map((r) => (JSON.parse(r) as QosReport).MOS));
      expect(batches.ended.some(([, mos]) => mos > 0)).toBe(true);

      const finalsOnly = await replay(cfg, 'records', 'finals');
      expect(finalsOnly.reports).toEqual([]);
      expect(finalsOnly.finals).toEqual(batches.finals);
      expect(finalsOnly.counts).toEqual(batches.counts);
      expect(finalsOnly.qosReports).toBe(batches.qosReports);
      expect(finalsOnly.ended).toEqual(batches.ended);

      if (rules) {
        // An alert firing (a silence's, built whatever takes it) is followed until its stream's FINAL ends
        // it: that FINAL is built even when nothing else takes it.
        const sink = new ReportSink([]);
        const alert = JSON.parse(batches.reports.find((r) => r.includes('"TYPE":"ALERT"'))!) as QosReport;
        const same = (r: QosReport) => r.SSRC === alert.SSRC && r.SRC_PORT === alert.SRC_PORT && r.DST_PORT === alert.DST_PORT;
        const final = batches.finals.map((r) => JSON.parse(r) as QosReport).find(same)!;
        const env = { ipVersion: 4, srcIp: String(alert.SRC_IP), srcPort: Number(alert.SRC_PORT), dstIp: String(alert.DST_IP), dstPort: Number(alert.DST_PORT), tsMs: 0 };
        expect(sink.wantsStreamEndReports()).toBe(false);
        sink.qos(alert, env, true, true);
        expect(sink.wantsStreamEndReports()).toBe(true);
        sink.qos(final, env, true, true);
        expect(sink.wantsStreamEndReports()).toBe(false);
      }

      const none = await replay(cfg, 'records', 'none');
      expect(none.reports).toEqual([]);
      expect(none.finals).toEqual([]);
      expect(none.counts).toEqual(batches.counts);
      expect(none.qosReports).toBe(batches.qosReports);
      expect(none.ended).toEqual(batches.ended);
    });
  }
});
