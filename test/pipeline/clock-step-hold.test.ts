/**
 * A host clock step whose first packets are SIP and RTCP: capture time holds for them until the next RTP
 * packet of a running stream measures the step, and they are handled then, at their time before it. A call
 * answered by a 200 OK inside the hold, its answering side's first RTP packet in the hold too, must be
 * measured and dated as in the same capture without the step. Held packets that turn out to follow a real
 * gap wait for the gap's catch-up ticks, which pause when the outputs are full.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocateBatch, openCaptureFile } from '../../src/capture/index.js';
import { capturesMergedMidStream, classicPcap, clockStepAtCallSetup, type PcapRecord } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { putRecord } from './batches.js';

const T0 = 1_700_000_000_000;

/**
 * Every report of one pipeline over `records`, and when it had the call `callId` answered (capture time,
 * ms). Each packet comes in one reused buffer, as a live ring delivers them (a packet kept past its turn
 * must have been copied). `wallTicks`: a live capture's once-a-second timer fires too, on the capture
 * clock (live timestamps are the wall clock), right after a step either way.
 */
function run(records: PcapRecord[], callId: string, wallTicks: boolean): { reports: QosReport[]; answeredMs: number } {
  const reports: QosReport[] = [];
  const p = new Pipeline(defaultConfig(), { qos: (r) => reports.push(r), rtcp: () => {} });
  const batch = allocateBatch(1, 2048);
  let nextTick = Number.NEGATIVE_INFINITY;
  let answeredMs = 0;
  for (const r of records) {
    putRecord(batch, r);
    const rawMs = Number(r.tsNs / 1_000_000n);
    if (wallTicks && (rawMs >= nextTick || rawMs < nextTick - 2000)) {
      p.wallTick(rawMs);
      nextTick = Math.floor(rawMs / 1000) * 1000 + 1000;
    }
    p.processPacket(batch, 0);
    if (answeredMs === 0) answeredMs = p.calls.call(p.calls.callIndexOf(callId))?.answeredMs ?? 0;
  }
  p.finish();
  return { reports, answeredMs };
}

describe('a host clock step first seen by SIP and RTCP', () => {
  for (const [name, stepMs] of [['forward 5 h (past sip.call_max_age_s)', 5 * 3600_000], ['back 90 s', -90_000]] as const) {
    for (const wallTicks of [false, true]) {
      it(`${name}, ${wallTicks ? 'live (timer ticks)' : 'replay'}: every report as without the step, the call answered in it at its 200 OK`, () => {
        const s = clockStepAtCallSetup({ t0Ms: T0, packets: 300, stepMs });
        const want = run(s.reference, s.setUp.callId, wallTicks);
        const got = run(s.records, s.setUp.callId, wallTicks);
        // The 200 OK came 1 ms after the step, before the RTP packet that measured it.
        expect(want.answeredMs).toBe(s.stepAtMs + 1);
        expect(got.answeredMs).toBe(want.answeredMs);
        const ends = got.reports.filter((r) => r.TYPE === 'HANGUP');
        expect(ends.map((r) => [r.CORRELATION_ID, r.TOTAL_PK, r.MAX_DELTA])).toEqual([
          [s.running.callId, 300, 20],
          [s.running.callId, 300, 20],
          [s.setUp.callId, 300, 20],
          [s.setUp.callId, 300, 20],
        ]);
        expect(got.reports).toEqual(want.reports);
      });
    }
  }
});

describe('held packets past a real gap, its catch-up paused for the outputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-hold-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Every report of a replay of `file` (small reads: records straddle windows); `full`: what outputsFull says at each call. */
  async function replay(file: string, full: (() => boolean) | null): Promise<{ reports: QosReport[]; pauses: number }> {
    const reports: QosReport[] = [];
    const p = new Pipeline(defaultConfig(), { qos: (r) => reports.push(r), rtcp: () => {} });
    p.outputsFull = full;
    let pauses = 0;
    for await (const cur of openCaptureFile(file, { chunkBytes: 4096 + 3 }).records()) {
      while (!p.processRecords(cur)) pauses++;
    }
    p.finish();
    return { reports, pauses };
  }

  it('a call 5 h after a capture cut mid-call: the same reports whether the catch-up pauses or not, every stream under its call', async () => {
    const s = capturesMergedMidStream({ t0Ms: T0, packets: 100, gapMs: 5 * 3600_000 });
    const file = join(dir, 'merged-5h.pcap');
    writeFileSync(file, classicPcap(s.records));
    const whole = await replay(file, null);
    let calls = 0;
    const paused = await replay(file, () => ++calls % 3 === 0);
    expect(whole.pauses).toBe(0);
    expect(paused.pauses).toBeGreaterThan(100);
    expect(paused.reports).toEqual(whole.reports);
    const ends = whole.reports.filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
    expect(ends.map((r) => [r.TYPE, r.CORRELATION_ID, r.TOTAL_PK])).toEqual([
      ['FINAL', s.earlier.callId, 100],
      ['FINAL', s.earlier.callId, 100],
      ['HANGUP', s.later.callId, 100],
      ['HANGUP', s.later.callId, 100],
    ]);
  });
});
