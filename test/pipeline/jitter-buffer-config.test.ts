/**
 * qos.jitter_buffers through the real pipeline over a generated capture with heavy jitter: the report's
 * MOS follows the configured reference buffer (adaptive by default), `none` and `emulate: false` give the
 * network-loss MOS, and the buffer sizes are the configured ones.
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

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-jb-'));
const file = join(dir, 'calls.pcap');
// Uniform 0..150 ms arrival jitter (kept in order per direction): beyond 50 ms, within 200 ms.
writeScenarioPcap(file, { calls: 2, concurrentCalls: 2, durationS: 0, callDurationS: 20, codec: 'PCMU', lossPct: 1, jitterMs: 150, rtcp: false, seed: 3, startEpochS: 1_700_000_000 });

async function reports(edit: (c: ProbeConfig) => void): Promise<{ finals: QosReport[]; periodic: QosReport[] }> {
  const c = defaultConfig();
  edit(c);
  const finals: QosReport[] = [];
  const periodic: QosReport[] = [];
  const p = new Pipeline(c, new ReportSink([], { onFinalReport: (r: QosReport) => finals.push(r), onReport: (r: QosReport) => { if (r.TYPE === 'PERIODIC') periodic.push(r); } }));
  for await (const cur of openCaptureFile(file).records()) p.processRecords(cur);
  p.finish();
  return { finals, periodic };
}

async function finals(edit: (c: ProbeConfig) => void): Promise<QosReport[]> {
  return (await reports(edit)).finals;
}

describe('qos.jitter_buffers', () => {
  it('scores MOS through the reference buffer, and from network loss only when told so', async () => {
    const def = await finals(() => {});
    expect(def.length).toBe(4);
    for (const r of def) {
      expect(r.JB_REFERENCE).toBe('adaptive');
      expect(r.MOS).toBe(r.MOS_ADAPT);
      expect(r.DISCARDS_F1 as number).toBeGreaterThan(r.DISCARDS_F2 as number);
      expect(r.MOS_F1 as number).toBeLessThan(r.MOS_NET as number);
    }
    const f1 = await finals((c) => { c.qos.jitterBuffers.reference = 'fixed1'; });
    for (const r of f1) expect(r.MOS).toBe(r.MOS_F1);
    const none = await finals((c) => { c.qos.jitterBuffers.reference = 'none'; });
    for (const r of none) {
      expect(r.MOS).toBe(r.MOS_NET);
      expect(r.JB_REFERENCE).toBe('none');
      expect(r.DISCARDS_F1 as number).toBeGreaterThan(0); // still emulated and reported
    }
    const off = await finals((c) => { c.qos.jitterBuffers.emulate = false; });
    for (const r of off) {
      expect(r.MOS).toBe(r.MOS_NET);
      expect(r.DISCARDS_F1).toBe(0);
      expect(r.MOS_F1).toBe(0);
    }
    // The network-only MOS does not depend on the buffers at all.
    expect(off.map((r) => r.MOS_NET)).toEqual(def.map((r) => r.MOS_NET));
    // A larger first buffer discards less.
    const wide = await finals((c) => { c.qos.jitterBuffers.fixed1Ms = 120; });
    wide.forEach((r, i) => expect(r.DISCARDS_F1 as number).toBeLessThan(def[i].DISCARDS_F1 as number));
  });

  it('delay_in_mos: the reference buffer\'s delay is the E-model\'s buffer delay, and each buffer pays for its own', async () => {
    const plain = await reports(() => {});
    const withDelay = await reports((c) => { c.qos.jitterBuffers.delayInMos = true; });
    expect(withDelay.periodic.length).toBeGreaterThan(4);
    for (const r of plain.periodic) expect(r.BUFFER_DELAY_SOURCE).toBe('assumed');
    withDelay.periodic.forEach((r, i) => {
      expect(r.BUFFER_DELAY_SOURCE).toBe('emulated');
      expect(r.BUFFER_DELAY).toBe(r.JB_ADAPT_DELAY);
      expect(r.ONE_WAY_DELAY).toBeCloseTo((r.NETWORK_DELAY as number) + (r.BUFFER_DELAY as number), 2);
      const p = plain.periodic[i];
      expect(r.DISCARDS_F2).toBe(p.DISCARDS_F2); // the same playout, only scored with its delay
      expect(r.MOS_F2 as number).toBeLessThan(p.MOS_F2 as number); // 200 ms costs conversational quality
      expect(r.MOS).toBe(r.MOS_ADAPT);
    });
  });
});
