/**
 * Live capture's once-a-second wall-clock timer across a host clock step: capture timestamps and the wall
 * clock step together, and the timer may fire before the first RTP packet after the step measures it.
 * A generated call whose capture clock steps (forward past the call idle timeout, by less than a tick's
 * jump, or back) must end with the same reports as the same call without the step, timer ticks included.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer, type PacketBatch } from '../../src/capture/index.js';
import { buildFieldScenario, classicPcap, clockStepAtCallSetup, type FieldScenario, type PcapRecord } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { copyBatch } from './batches.js';

const EPOCH_NS = 1_700_000_000_000_000_000n;

/** The first generated clock-step call (from seed 1) whose largest capture-time jump satisfies `wanted`. */
function steppedCall(wanted: (jumpMs: number) => boolean): FieldScenario {
  for (let seed = 1; ; seed++) {
    const s = buildFieldScenario({ kind: 'clock-step', seed, wrap: 'none', ipv6: false, slot: 1, startNs: 0 });
    const jumps = s.frames.slice(1).map((f, i) => (f.tNs - s.frames[i]!.tNs) / 1e6);
    const jump = jumps.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
    if (wanted(jump)) return s;
  }
}

/** A generated call's frames as capture records. */
const recordsOf = (frames: FieldScenario['frames']): PcapRecord[] => frames.map((f) => ({ tsNs: EPOCH_NS + BigInt(f.tNs), data: f.data }));

/**
 * Final reports of one pipeline over `records`, its wall-clock timer firing once a second of capture time
 * (the timer's clock is the capture clock: live timestamps are the wall clock), `offsetMs` into each second.
 */
function endings(records: PcapRecord[], offsetMs: number): Record<string, unknown> {
  const reports: QosReport[] = [];
  const p = new Pipeline(defaultConfig(), { qos: (r) => reports.push(r), rtcp: () => {} });
  const batches: PacketBatch[] = [];
  for (const b of readCaptureBuffer(classicPcap(records))) batches.push(copyBatch(b));
  let nextTick = -Infinity;
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      const rawMs = b.tsSec[i]! * 1000 + b.tsNsec[i]! / 1e6;
      // The timer fires on the wall clock: right after a step (either way), before the packet that shows it.
      if (rawMs >= nextTick || rawMs < nextTick - 2000) {
        p.wallTick(rawMs);
        nextTick = Math.floor(rawMs / 1000) * 1000 + 1000 + offsetMs;
      }
      p.processPacket(b, i);
    }
  }
  p.finish();
  const out: Record<string, unknown> = {};
  for (const r of reports) {
    if (r.TYPE !== 'FINAL' && r.TYPE !== 'HANGUP') continue;
    const key = `${r.SRC_PORT}>${r.DST_PORT}/${r.SSRC}`;
    expect(out[key], `${key} ended twice`).toBeUndefined();
    out[key] = { RTP_START: r.RTP_START, RTP_STOP: r.RTP_STOP, TYPE: r.TYPE, CORRELATION_ID: r.CORRELATION_ID, TOTAL_PK: r.TOTAL_PK, PACKET_LOSS: r.PACKET_LOSS, MAX_DELTA: r.MAX_DELTA, MAX_JITTER: r.MAX_JITTER, MEAN_JITTER: r.MEAN_JITTER };
  }
  return out;
}

describe('live wall-clock ticks across a host clock step', () => {
  const cases: Array<[string, (jumpMs: number) => boolean]> = [
    ['forward past the call idle timeout (600 s)', (j) => j > 650_000],
    ['back', (j) => j < -1000],
  ];
  for (const [name, wanted] of cases) {
    it(`a step ${name}: the call's reports equal those of the call without the step`, () => {
      const s = steppedCall(wanted);
      for (const offsetMs of [0, 500]) {
        const want = endings(recordsOf(s.referenceFrames), offsetMs);
        expect(Object.keys(want)).toHaveLength(2);
        expect(Object.values(want).every((r) => String((r as { CORRELATION_ID: string }).CORRELATION_ID).startsWith('clock-step-'))).toBe(true);
        expect(endings(recordsOf(s.frames), offsetMs)).toEqual(want);
      }
    });
  }

  it('a step forward by 1 to 3 s (under a tick jump that holds time), the timer firing right after it: the next RTP packet measures it, reports as without the step', () => {
    for (const stepMs of [1500, 2500]) {
      // The first packets past the step are SIP and RTCP; the running call's RTP comes 9 ms after it.
      const s = clockStepAtCallSetup({ t0Ms: 1_700_000_000_000, packets: 300, stepMs });
      for (const offsetMs of [0, 500]) {
        const want = endings(s.reference, offsetMs);
        expect(Object.keys(want)).toHaveLength(4);
        expect(Object.values(want).map((r) => (r as { MAX_DELTA: number }).MAX_DELTA)).toEqual([20, 20, 20, 20]);
        expect(endings(s.records, offsetMs), `step ${stepMs} ms, ticks ${offsetMs} ms into the second`).toEqual(want);
      }
    }
  });
});
