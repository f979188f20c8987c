import { describe, expect, it } from 'vitest';
import { rtcpCompound, rtcpRr, rtcpSr, rtcpXr, xrDlrr, xrRrtr } from '../../src/gen/index.js';
import { RtcpReader, RttTracker, ntpMiddle32, rttFromLsrDlsr } from '../../src/rtcp/index.js';

const reader = new RtcpReader();
const parse = (b: Uint8Array) => {
  expect(reader.read(b, 0, b.length)).toBe(true);
  return reader;
};
/** The samples of one observe(), copied (the tracker reuses its sample objects). */
const observe = (t: RttTracker, b: Uint8Array, ms: number) => t.samples.slice(0, t.observe(parse(b), ms)).map((x) => ({ ...x }));
const rb = (ssrc: number, lsr: number, dlsr: number) => ({ ssrc, fractionLost: 0, cumulativeLost: 0, extHighestSeq: 0, jitter: 0, lsr, dlsr });

describe('RFC 3550 6.4.1 round trip', () => {
  it('A 0xB7108000 - LSR 0xB7052000 - DLSR 0x00054000 = 0x00062000 = 6.125 s', () => {
    expect(rttFromLsrDlsr(0xb7108000, 0xb7052000, 0x00054000)).toBe(6.125);
    expect(((0xb7108000 - 0xb7052000 - 0x00054000) >>> 0).toString(16)).toBe('62000');
  });
  it('wraps in 32 bits', () => {
    // 0x1000 - 0xffff8000 = 0x9000 after wrap; minus DLSR 0x8000 leaves 0x1000.
    expect(rttFromLsrDlsr(0x00001000, 0xffff8000, 0x00008000)).toBe(0x1000 / 65536);
  });
  it('NTP middle 32 bits', () => {
    expect(ntpMiddle32(0xe1d2c3b4, 0x80001234)).toBe(0xc3b48000);
  });
});

describe('RttTracker (passive)', () => {
  const sr = (ssrc: number, ntpSec: number, ntpFrac: number) => rtcpSr({ ssrc, ntpSec, ntpFrac, rtpTs: 0, packets: 1, octets: 160 });

  it('t(RR seen) - t(SR seen) - DLSR, per reporting direction', () => {
    const t = new RttTracker();
    const a = 0xaaaa0001;
    const b = 0xbbbb0002;
    expect(observe(t, sr(a, 0xe1d2c3b4, 0x80000000), 1000)).toEqual([]);
    // B answers 5.25 s (DLSR 0x00054000) after receiving the SR; the probe sees it 5.25 s + 80 ms after the SR.
    const lsr = ntpMiddle32(0xe1d2c3b4, 0x80000000);
    const samples = observe(t, rtcpRr({ ssrc: b, reports: [rb(a, lsr, 0x00054000)] }), 1000 + 5250 + 80);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ reporterSsrc: b, sourceSsrc: a, via: 'RR' });
    expect(samples[0].rttMs).toBeCloseTo(80, 9);
    expect(t.latestRttMs(a)).toBeCloseTo(80, 9);
    expect(t.latestRttMs(b)).toBeNaN();
  });

  it('matches XR RRTR with DLRR, ignores LSR 0 and unknown references', () => {
    const t = new RttTracker();
    observe(t, rtcpCompound(rtcpRr({ ssrc: 7 }), rtcpXr({ ssrc: 7, blocks: [xrRrtr(100, 0x40000000)] })), 0);
    const lrr = ntpMiddle32(100, 0x40000000);
    const s = observe(t, rtcpXr({ ssrc: 9, blocks: [xrDlrr([{ ssrc: 7, lrr, dlrr: 65536 / 2 }, { ssrc: 8, lrr: 5, dlrr: 0 }])] }), 530);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ sourceSsrc: 7, reporterSsrc: 9, via: 'DLRR' });
    expect(s[0].rttMs).toBeCloseTo(30, 9);
    expect(t.unmatched).toBe(1);
    expect(observe(t, rtcpRr({ ssrc: 9, reports: [rb(7, 0, 0)] }), 600)).toEqual([]);
  });

  it('refuses a round trip that would be negative (clock trouble)', () => {
    const t = new RttTracker();
    observe(t, sr(1, 10, 0), 1000);
    expect(observe(t, rtcpRr({ ssrc: 2, reports: [rb(1, ntpMiddle32(10, 0), 65536 * 2)] }), 1500)).toEqual([]);
    expect(t.inconsistent).toBe(1);
  });

  it('stays bounded', () => {
    const t = new RttTracker(4);
    for (let i = 0; i < 10; i++) observe(t, sr(i, 10, i << 16), i);
    // SSRC 0 was evicted: its reference is gone.
    expect(observe(t, rtcpRr({ ssrc: 99, reports: [rb(0, ntpMiddle32(10, 0), 0)] }), 50)).toEqual([]);
    expect(observe(t, rtcpRr({ ssrc: 99, reports: [rb(9, ntpMiddle32(10, 9 << 16), 0)] }), 50)).toHaveLength(1);
  });
});

describe('RttTracker memory bound', () => {
  it('keeps at most maxSsrcs latest round trips however many SSRCs report', () => {
    const t = new RttTracker(10);
    for (let ssrc = 1; ssrc <= 500; ssrc++) {
      t.observe(parse(rtcpSr({ ssrc, ntpSec: 1000 + ssrc, ntpFrac: 0, rtpTs: 0, packets: 1, octets: 1 })), ssrc * 10);
      const lsr = ntpMiddle32(1000 + ssrc, 0);
      t.observe(parse(rtcpRr({ ssrc: 9_000_000 + ssrc, reports: [rb(ssrc, lsr, 0)] })), ssrc * 10 + 5);
    }
    expect(t.latestRttMs(500)).toBeCloseTo(5, 6);
    expect(Number.isNaN(t.latestRttMs(1))).toBe(true); // evicted
    let kept = 0;
    for (let ssrc = 1; ssrc <= 500; ssrc++) if (!Number.isNaN(t.latestRttMs(ssrc))) kept++;
    expect(kept).toBe(10);
  });
});

describe('RttTracker latest results', () => {
  it('are kept per reporting host: one SSRC on two legs (a relay keeping SSRCs) has two round trips', () => {
    const t = new RttTracker();
    const ssrc = 0xa1;
    const lsr = ntpMiddle32(50, 0);
    // The sender's SR seen on each leg (the relay passes it on), then each leg's receiver quoting it.
    t.observe(parse(rtcpSr({ ssrc, ntpSec: 50, ntpFrac: 0, rtpTs: 0, packets: 1, octets: 160 })), 1000, 'a:1', 'x:1', 'a');
    t.observe(parse(rtcpSr({ ssrc, ntpSec: 50, ntpFrac: 0, rtpTs: 0, packets: 1, octets: 160 })), 1000, 'y:1', 'b:1', 'y');
    expect(t.observe(parse(rtcpRr({ ssrc: 0xc2, reports: [rb(ssrc, lsr, 0)] })), 1002, 'x:1', 'a:1', 'x')).toBe(1);
    expect(t.observe(parse(rtcpRr({ ssrc: 0xc2, reports: [rb(ssrc, lsr, 0)] })), 1030, 'b:1', 'y:1', 'b')).toBe(1);
    expect(t.latestRttMs(ssrc, 'x')).toBeCloseTo(2, 9);
    expect(t.latestRttMs(ssrc, 'b')).toBeCloseTo(30, 9);
    expect(t.latestRttMs(ssrc, 'a')).toBeNaN();
  });
});
