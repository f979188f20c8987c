/**
 * The jitter-buffer and RFC 3611 report fields and rule variables (src/report/jb-fields.ts): the report
 * carries exactly the keys the table lists and the README names them; the rules see the interval's
 * per-buffer MOS and discards; WORST_MOS says which interval it was.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { IntervalMetrics, JB_METRIC_VARIABLES, JB_REPORT_FIELDS, QosReporter, compileRule } from '../../src/report/index.js';
import { RtpEngine, createStreamSnapshot, type StreamSnapshot } from '../../src/rtp/index.js';
import { R_DEFAULT, delayImpairment, mosFromR } from '../../src/qos/index.js';
import { synthPacket } from '../rtp/helpers.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const input = { callId: 'c1', xcid: null, codecName: 'PCMU', nodeName: 'n', dir: 0, party: 0, hostTimestamps: false, rttMs: null };

/**
 * 30 s of PCMU read every 10 s: the middle 10 s has delay spikes (120 ms) every 10th packet, the other
 * intervals are clean. Returns the three interval snapshots and the final one.
 */
function call(): { intervals: StreamSnapshot[]; final: StreamSnapshot } {
  const engine = new RtpEngine({ maxStreams: 2 });
  const pkt = new DecodedPacket();
  const intervals: StreamSnapshot[] = [];
  let slot = -1;
  for (let i = 0; i < 1500; i++) {
    // A 120 ms stall on every 10th packet of the middle interval; the next 5 queue behind it.
    const us = 1_000_000 + 20_000 * i + (i >= 500 && i < 1000 ? Math.max(120_000 - 20_000 * (i % 10), 0) : 0);
    synthPacket(pkt, rtp({ pt: 0, seq: i, ts: 160 * i, ssrc: 9, payload: new Uint8Array(160) }), us);
    const s = engine.onRtp(pkt, true);
    if (s >= 0) slot = s;
    if ((i + 1) % 500 === 0) {
      const snap = createStreamSnapshot();
      engine.snapshot(slot, snap);
      intervals.push(snap);
      engine.resetInterval(slot);
    }
  }
  const final = createStreamSnapshot();
  engine.snapshot(slot, final);
  return { intervals, final };
}

describe('jitter-buffer report fields', () => {
  it('are exactly the keys of JB_REPORT_FIELDS, each named in the README', () => {
    const { intervals } = call();
    const withJb = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    withJb.streamStarted(intervals[0].slot, 0);
    const rep = withJb.onInterval(intervals[0], input, intervals[0].interval.endMs)[0].report;
    const plain = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    const before = { ...intervals[0], jitterBuffers: false, jb: undefined };
    plain.streamStarted(before.slot, 0);
    const base = plain.onInterval(before, input, before.interval.endMs)[0].report;
    expect(new Set(Object.keys(rep))).toEqual(new Set(Object.keys(base))); // the same keys with emulation off
    expect(base.DISCARDS_F1).toBe(0);
    expect(base.MOS).toBe(base.MOS_NET);
    for (const [k] of JB_REPORT_FIELDS) {
      expect(k in rep, k).toBe(true);
      expect(README, k).toContain(`\`${k}\``);
    }
  });

  it('score the jittery interval lower through the reference buffer and name it as the worst', () => {
    const { intervals, final } = call();
    const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    rep.streamStarted(final.slot, 0);
    const periodic = intervals.map((s) => rep.onInterval(s, input, s.interval.endMs)[0].report);
    expect(periodic.map((r) => r.MOS_NET)).toEqual([4.409, 4.409, 4.409]); // no network loss at all (R 93.2)
    expect(periodic[0].MOS).toBe(4.409);
    expect(periodic[2].MOS).toBe(4.409);
    expect(periodic[1].MOS as number).toBeLessThan(4.2);
    expect(periodic[1].DISCARDS_F1 as number).toBeGreaterThan(0);
    expect(periodic[1].DISCARDS_F2).toBe(0);
    const fin = rep.onStreamEnd(final, input, 'FINAL', final.lastSeenMs).at(-1)!.report;
    expect(fin.WORST_MOS).toBe(periodic[1].MOS);
    expect(fin.WORST_MOS_START).toBe(periodic[1].REPORT_START);
    expect(fin.WORST_MOS_END).toBe(periodic[1].REPORT_END);
    expect(fin.DISCARDS_F1).toBe(periodic[1].DISCARDS_F1);
    expect(fin.XR_DISCARD_RATE as number).toBeGreaterThan(0);
  });
});

describe('RFC 3611 conversational MOS', () => {
  it("XR_MOS_CQ pays for NETWORK_DELAY plus the reference buffer's delay in the interval (JB_ADAPT_DELAY), not the assumed buffer", () => {
    const { intervals } = call();
    // 100 ms of network delay assumed, and a 40 ms buffer the emulated one stands in for.
    const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 }, delay: { nominalOneWayDelayMs: 100, jitterBufferMs: 40 } });
    rep.streamStarted(intervals[0].slot, 0);
    for (const s of intervals) {
      const r = rep.onInterval(s, input, s.interval.endMs)[0].report;
      expect(r).toMatchObject({ NETWORK_DELAY: 100, BUFFER_DELAY: 40, ONE_WAY_DELAY: 140, JB_REFERENCE: 'adaptive' });
      const cqDelay = (r.NETWORK_DELAY as number) + (r.JB_ADAPT_DELAY as number);
      expect(r.XR_MOS_CQ as number).toBeCloseTo(mosFromR(R_DEFAULT - delayImpairment(cqDelay) - (r.IE_EFF as number)), 2);
      expect(r.XR_MOS_LQ as number).toBeCloseTo(mosFromR(R_DEFAULT - (r.IE_EFF as number)), 2);
    }
  });
});

describe('XR_R', () => {
  it("is R within RFC 3611 4.7.5's 0..100: 0 where the E-model's is below (1000 ms delay: 93.206 - 114.497)", () => {
    const { intervals } = call();
    const cases = [[1000, R_DEFAULT - (0.024 * 1000 + 0.11 * (1000 - 177.3)), 0], [100, R_DEFAULT - 2.4, R_DEFAULT - 2.4]];
    for (const [delayMs, rFactor, xrR] of cases) {
      const delay = { nominalOneWayDelayMs: delayMs, jitterBufferMs: 0 };
      const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 }, delay });
      rep.streamStarted(intervals[0].slot, 0);
      const r = rep.onInterval(intervals[0], input, intervals[0].interval.endMs)[0].report; // the clean interval
      expect(r.IE_EFF).toBe(0);
      expect(r.RFACTOR as number).toBeCloseTo(rFactor, 3);
      expect(r.XR_R as number).toBeCloseTo(xrR, 3);
    }
  });
});

describe('RFC 3611 burst and gap metrics of a known loss pattern', () => {
  it('are counted in packets of 20 ms, whatever the loss does to the mean inter-arrival time', () => {
    // 1000 packets of 20 ms on time; lost: one burst of 5 (100..104) and 20 lone packets 50 apart
    // (25, 75, ...: at least Gmin = 16 received on each side, so they lie in gaps).
    const lost = new Set([100, 101, 102, 103, 104]);
    for (let i = 25; i < 1000; i += 50) lost.add(i);
    const engine = new RtpEngine({ maxStreams: 2 });
    const pkt = new DecodedPacket();
    let slot = -1;
    for (let i = 0; i < 1000; i++) {
      if (lost.has(i)) continue;
      synthPacket(pkt, rtp({ pt: 0, seq: i, ts: 160 * i, ssrc: 9, payload: new Uint8Array(160) }), 1_000_000 + 20_000 * i);
      const s = engine.onRtp(pkt, true);
      if (s >= 0) slot = s;
    }
    const final = createStreamSnapshot();
    engine.snapshot(slot, final);
    const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    rep.streamStarted(slot, 0);
    const fin = rep.onStreamEnd(final, input, 'FINAL', final.lastSeenMs).at(-1)!.report;
    // One burst of 5 packets (100 ms), all lost; two gaps of 995 packets together (19.9 s), 20 lost.
    expect(fin).toMatchObject({ PACKET_LOSS: 25, XR_LOSS_RATE: 2.5, XR_DISCARD_RATE: 0, XR_BURST_DENSITY: 100, XR_BURST_DURATION: 100 });
    expect(fin).toMatchObject({ XR_GAP_DENSITY: Math.round((100_000 * 20) / 995) / 1000, XR_GAP_DURATION: (995 * 20) / 2 });
  });
});

describe('jitter-buffer rule variables', () => {
  it('are known to the rules and hold the interval values', () => {
    const { intervals } = call();
    const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    rep.streamStarted(intervals[1].slot, 0);
    rep.onInterval(intervals[0], input, 10_000);
    rep.onInterval(intervals[1], input, 20_000);
    const m = new IntervalMetrics().fill(intervals[1], rep.qos);
    expect(m.discards_f1).toBe(intervals[1].jb!.interval.discards[0]);
    expect(m.mos_adapt).toBe(m.mos);
    expect(m.mos_f2).toBe(m.mos_net);
    expect(m.mos_f1).toBeLessThan(m.mos_f2);
    expect(m.xr_jb_abs_max_ms).toBe(500);
    for (const v of JB_METRIC_VARIABLES) expect(() => compileRule({ name: 'r', when: `${v} > 1`, intervalS: 1 }), v).not.toThrow();
    const rule = compileRule({ name: 'jittery', when: 'mos_f1 < mos_net - 0.5 and discards_f1 > 10', intervalS: 2 });
    expect(rule.code.evaluate({ ...m })).toBe(true);
  });
});
