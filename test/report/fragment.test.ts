/**
 * A stream's short last period (a fragment, FRAGMENT_MS) and the call-level MOS figures: MEAN_MOS weighs
 * each interval by its expected packets, and MIN_MOS/WORST_MOS are over units, a fragment folded into the
 * interval before it (src/report/qos-state.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { CodecTable, estimateOneWayDelay } from '../../src/qos/index.js';
import { FRAGMENT_MS, QosReporter, StreamQosState, round3, type QosReport } from '../../src/report/index.js';
import { RtpEngine, createStreamSnapshot, type StreamSnapshot } from '../../src/rtp/index.js';
import { synthPacket } from '../rtp/helpers.js';
import { counters } from './snapshot-fixture.js';

const input = { callId: 'c1', xcid: null, codecName: 'PCMU', nodeName: 'n', dir: 0, party: 0, hostTimestamps: false, rttMs: null };

/**
 * `full` clean intervals of 500 PCMU packets (10 s) read as PERIODIC reports, then a last period of
 * `tail` sequence numbers of which `tailLost` (spread inside it, never the last) are missing, read as
 * the FINAL report.
 */
function call(full: number, tail: number, tailLost: number): { periodic: QosReport[]; fin: QosReport; tailSnap: StreamSnapshot } {
  const engine = new RtpEngine({ maxStreams: 2 });
  const rep = new QosReporter({ maxStreams: 2, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
  const pkt = new DecodedPacket();
  const periodic: QosReport[] = [];
  const missing = new Set<number>();
  for (let k = 0; k < tailLost; k++) missing.add(full * 500 + 2 + 2 * k);
  let slot = -1;
  for (let i = 0; i < full * 500 + tail; i++) {
    if (missing.has(i)) continue;
    synthPacket(pkt, rtp({ pt: 0, seq: i, ts: 160 * i, ssrc: 9, payload: new Uint8Array(160) }), 1_000_000 + 20_000 * i);
    const s = engine.onRtp(pkt, true);
    if (s >= 0 && s !== slot) {
      slot = s;
      rep.streamStarted(slot, 0);
    }
    if (i < full * 500 && (i + 1) % 500 === 0) {
      const snap = createStreamSnapshot();
      engine.snapshot(slot, snap);
      periodic.push(rep.onInterval(snap, input, snap.interval.endMs)[0].report);
      engine.resetInterval(slot);
    }
  }
  const tailSnap = createStreamSnapshot();
  engine.snapshot(slot, tailSnap);
  const fin = rep.onStreamEnd(tailSnap, input, 'FINAL', tailSnap.lastSeenMs).at(-1)!.report;
  return { periodic, fin, tailSnap };
}

describe('a short last period', () => {
  it('does not set MIN_MOS on its own: 60 clean seconds and 2 of the last 7 packets lost', () => {
    const { periodic, fin, tailSnap } = call(6, 7, 2);
    expect(tailSnap.interval).toMatchObject({ expected: 7, lost: 2 });
    expect(tailSnap.interval.endMs - tailSnap.interval.startMs).toBe(120);
    const clean = periodic[0].MOS as number;
    expect(periodic.map((r) => r.MOS)).toEqual(Array(6).fill(clean));
    const fragMos = fin.LAST_MOS as number;
    expect(fragMos).toBeLessThan(3); // the fragment's own score, reported as the last interval's
    expect(fin.MOS_INTERVALS).toBe(7);
    // Folded into the last 10 s: the 507 packets' expected-weighted MOS.
    const folded = (500 * clean + 7 * fragMos) / 507;
    expect(fin.MIN_MOS as number).toBeCloseTo(folded, 2);
    expect(fin.MIN_MOS as number).toBeGreaterThan(4.3);
    expect(fin.WORST_MOS).toBe(fin.MIN_MOS);
    expect(fin.WORST_MOS_START).toBe(periodic[5].REPORT_START);
    expect(fin.WORST_MOS_END).toBe(fin.REPORT_END);
    // The mean weighs the 7 packets as 7 of 3007, and FINAL's MOS is that mean.
    expect(fin.MEAN_MOS as number).toBeCloseTo((3000 * clean + 7 * fragMos) / 3007, 2);
    expect(fin.MOS).toBe(fin.MEAN_MOS);
    expect(fin.MEAN_MOS as number).toBeGreaterThan(4.39);
    expect(fin.MIN_RFACTOR as number).toBeGreaterThan(90);
  });

  it('stands as an interval once it spans FRAGMENT_MS: 0.8 s with a quarter lost sets MIN_MOS', () => {
    const { fin, tailSnap } = call(2, 41, 10);
    expect(tailSnap.interval.endMs - tailSnap.interval.startMs).toBeGreaterThanOrEqual(FRAGMENT_MS);
    expect(fin.MIN_MOS).toBe(fin.LAST_MOS);
    expect(fin.MIN_MOS as number).toBeLessThan(3);
    expect(fin.WORST_MOS_START).toBe(round3(tailSnap.interval.startMs / 1000));
  });

  it('is the whole score of a stream that is no longer than it', () => {
    const { periodic, fin } = call(0, 7, 2);
    expect(periodic).toEqual([]);
    expect(fin.MOS_INTERVALS).toBe(1);
    expect(fin.MIN_MOS).toBe(fin.LAST_MOS);
    expect(fin.MEAN_MOS).toBe(fin.LAST_MOS);
    expect(fin.MIN_MOS as number).toBeLessThan(3);
  });
});

describe('StreamQosState units', () => {
  const codec = new CodecTable().resolve('PCMU', 0);
  const delay = estimateOneWayDelay(null);
  /** One period of `expected` packets (20 ms each) from startMs, `lost` of them lost. */
  const period = (startMs: number, expected: number, lost: number) =>
    counters({ expected, lost, packets: expected - lost, startMs, endMs: startMs + 20 * (expected - 1) });

  it('a fragment before a full interval joins it (a stream that paused right after it started)', () => {
    const q = new StreamQosState(4);
    q.reset(1);
    q.assessInterval(1, period(0, 5, 2), codec, delay);
    const frag = q.lastMos[1];
    expect(q.minMos[1]).toBe(frag); // alone so far: it is all there is
    q.assessInterval(1, period(60_000, 500, 0), codec, delay);
    const clean = q.lastMos[1];
    expect(q.minMos[1]).toBeCloseTo((5 * frag + 500 * clean) / 505, 9);
    expect(q.worstStartMs[1]).toBe(0);
    expect(q.worstEndMs[1]).toBe(60_000 + 20 * 499);
    // The next full interval is a unit of its own; the lower one stays the worst.
    q.assessInterval(1, period(70_000, 500, 0), codec, delay);
    expect(q.minMos[1]).toBeCloseTo((5 * frag + 500 * clean) / 505, 9);
    expect(q.worstStartMs[1]).toBe(0);
  });

  it('min and mean equal a naive grouping of the periods into units', () => {
    const arb = fc.array(fc.tuple(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 1, max: 4.5, noNaN: true }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 2 * FRAGMENT_MS })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(arb, (xs) => {
        const q = new StreamQosState(4);
        q.reset(2);
        let t = 0;
        type Unit = { r: number; mos: number; w: number; span: number; start: number; end: number };
        const units: Unit[] = [];
        // Every state a unit was in once it spanned FRAGMENT_MS: the lowest never rises above one of them.
        const heard: Unit[] = [];
        for (const [r, mos, w, span] of xs) {
          q.record(2, { r, mos }, { expected: w, startMs: t, endMs: t + span });
          const u = units[units.length - 1];
          if (u && (span < FRAGMENT_MS || u.span < FRAGMENT_MS)) {
            u.r = (u.r * u.w + r * w) / (u.w + w);
            u.mos = (u.mos * u.w + mos * w) / (u.w + w);
            u.w += w;
            u.span += span;
            u.end = t + span;
          } else units.push({ r, mos, w, span, start: t, end: t + span });
          const last = units[units.length - 1];
          if (last.span >= FRAGMENT_MS) heard.push({ ...last });
          t += span + 1000;
          // Nothing heard yet: the stream's only unit, a fragment so far, stands in.
          const pool = heard.length > 0 ? heard : [last];
          const worst = pool.reduce((a, x) => (x.mos < a.mos ? x : a));
          expect(q.minMos[2]).toBeCloseTo(worst.mos, 9);
          expect(q.worstStartMs[2]).toBe(worst.start);
          expect(q.worstEndMs[2]).toBe(worst.end);
          expect(q.minR[2]).toBeCloseTo(Math.min(...pool.map((x) => x.r)), 9);
        }
        const w = xs.reduce((a, x) => a + x[2], 0);
        expect(q.meanMos(2)).toBeCloseTo(xs.reduce((a, x) => a + x[1] * x[2], 0) / w, 9);
        expect(q.meanR(2)).toBeCloseTo(xs.reduce((a, x) => a + x[0] * x[2], 0) / w, 9);
        expect(q.lastMos[2]).toBe(xs[xs.length - 1][1]);
        expect(q.count[2]).toBe(xs.length);
      }),
    );
  });
});
