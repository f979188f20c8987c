/**
 * Capture drops are charged to the report period whose loss they explain. A capture that stalls (the
 * probe stopped, the ring full) drops a stretch of a call's packets; the drop counter is read when the
 * probe runs again, before it has read what waited in the ring, and the loss shows in a stream only at its
 * next packet after the gap. Wherever a report boundary falls (before the stall, inside it, in the packets
 * read after the reading), the period with the loss holds the drops, each drop is in one period only,
 * and the stream's FINAL holds them all: a rule `lost > 0 and capture_drops == 0` never takes this loss
 * for the network's.
 */
import { describe, expect, it } from 'vitest';
import { generateScenario, type PcapRecord } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { recordsBatch } from './batches.js';

const DROPS = 57;
const GAP_MS = 400;
/** Packets of the stall that were in the ring, unread, when the counter was read. */
const RING_MS = 300;

const records: PcapRecord[] = [...generateScenario({
  calls: 1, concurrentCalls: 1, durationS: 0, callDurationS: 8, codec: 'PCMA', ptimeMs: 20, lossPct: 0, jitterMs: 0, rtcp: false, seed: 7, startEpochS: 1_700_000_000,
})].map((r) => ({ tsNs: r.tsNs, data: r.data.slice() }));
const ms = (r: PcapRecord) => Number(r.tsNs / 1000n) / 1000;

/** The call stalled from `stallMs` (capture time) for GAP_MS; its packets then dropped. */
function replayWithStall(stallMs: number): QosReport[] {
  const reports: QosReport[] = [];
  const c = defaultConfig();
  c.reports.intervalS = 1;
  const p = new Pipeline(c, new ReportSink([], { onReport: (r) => reports.push(r) }));
  const before = (lo: number, hi: number) => records.filter((r) => ms(r) >= lo && ms(r) < hi);
  p.processBatch(recordsBatch(before(0, stallMs - RING_MS)));
  // Read as the probe runs again: the reading comes before what waited in the ring and what followed the gap.
  p.noteCaptureDrops(DROPS, stallMs + GAP_MS - 5);
  p.processBatch(recordsBatch(before(stallMs - RING_MS, stallMs)));
  p.processBatch(recordsBatch(before(stallMs + GAP_MS, Infinity)));
  p.finish();
  return reports;
}

describe('capture drops in the report period of the loss they explain', () => {
  const rtpStart = Math.min(...records.filter((r) => r.data.length > 200).map(ms));

  // Stalls 100 ms apart over two seconds: report boundaries fall before, inside and after each part.
  for (let k = 0; k < 20; k++) {
    const stallMs = rtpStart + 2500 + k * 100;
    it(`stall ${2500 + k * 100} ms into the call`, () => {
      const reports = replayWithStall(stallMs);
      const streams = new Set(reports.map((r) => `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`));
      expect(streams.size).toBe(2);
      for (const s of streams) {
        const of = reports.filter((r) => `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}` === s);
        const brief = of.map((r) => JSON.stringify([r.TYPE, r.REPORT_START, r.REPORT_END, r.PACKET_LOSS, r.PERIOD_CAPTURE_DROPS])).join('\n');
        const periodic = of.filter((r) => r.TYPE === 'PERIODIC');
        const lossy = periodic.filter((r) => Number(r.PACKET_LOSS) > 0);
        expect(lossy.length, brief).toBe(1);
        expect(lossy[0]!.PERIOD_CAPTURE_DROPS, brief).toBe(DROPS);
        // Each drop in one period only; the stream's life holds them all.
        expect(periodic.reduce((n, r) => n + Number(r.PERIOD_CAPTURE_DROPS), 0), brief).toBe(DROPS);
        const end = of.filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
        expect(end.length, brief).toBeGreaterThan(0);
        for (const r of end) expect([r.PERIOD_CAPTURE_DROPS, r.CAPTURE_DROPS], brief).toEqual([DROPS, DROPS]);
      }
    });
  }
});
