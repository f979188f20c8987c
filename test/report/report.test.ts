import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecTable, estimateOneWayDelay } from '../../src/qos/index.js';
import {
  StreamQosState, buildQosReport, decideCorrelation, round3, syntheticCallId,
} from '../../src/report/index.js';
import type { ReportContext } from '../../src/report/index.js';
import { counters, snapshot } from './snapshot-fixture.js';

const codecs = new CodecTable();
const ctx: ReportContext = {
  callId: '56a2@pbx', xcid: null, codecName: 'PCMA', nodeName: 'probe-1', dir: 1, party: 0, hostTimestamps: false, oneWayDelayMs: 0,
};
// Every key REFERENCE.md 2 lists for the RTPAgent-style report.
const RTPAGENT_KEYS = `CORRELATION_ID RTP_SIP_CALL_ID REPORT_TS TYPE SSRC SRC_IP SRC_PORT DST_IP DST_PORT SRC_MAC DST_MAC CODEC_PT
  CODEC_NAME CLOCK DIR PARTY REPORT_NAME TOTAL_PK EXPECTED_PK PACKET_LOSS SEQ OUT_ORDER SSRC_CHG TL_BYTE DELTA MAX_DELTA JITTER
  MAX_JITTER MEAN_JITTER SKEW MAX_SKEW MOS MIN_MOS MEAN_MOS RFACTOR MIN_RFACTOR MEAN_RFACTOR REPORT_START REPORT_END RTP_START
  RTP_STOP ONE_WAY_RTP`.split(/\s+/);
const STRING_KEYS = new Set(['CORRELATION_ID', 'RTP_SIP_CALL_ID', 'TYPE', 'SRC_IP', 'DST_IP', 'SRC_MAC', 'DST_MAC', 'CODEC_NAME', 'REPORT_NAME', 'DELAY_SOURCE', 'BUFFER_DELAY_SOURCE', 'CLOCK_SOURCE', 'NODE', 'X_CID', 'ALERT_RULE', 'JB_REFERENCE']);

function scored(loss: Array<[number, number]>) {
  const q = new StreamQosState(8);
  const codec = codecs.resolve('PCMA', 8);
  // Back to back, 20 ms a packet: every interval spans well over FRAGMENT_MS.
  let t = 0;
  for (const [lost, expected] of loss) {
    q.assessInterval(3, counters({ lost, expected, packets: expected - lost, startMs: t, endMs: t + 20 * (expected - 1) }), codec, estimateOneWayDelay(null));
    t += 20 * expected;
  }
  return q;
}

describe('QoS report', () => {
  it('has every RTPAgent key, numbers as numbers, three decimals', () => {
    const q = scored([[5, 100]]);
    const rep = buildQosReport(snapshot(), ctx, 'PERIODIC', q);
    for (const k of RTPAGENT_KEYS) expect(rep, k).toHaveProperty(k);
    for (const [k, v] of Object.entries(rep)) {
      if (STRING_KEYS.has(k)) expect(typeof v, k).toBe('string');
      else {
        expect(typeof v, k).toBe('number');
        expect(Number.isFinite(v), k).toBe(true);
        expect(Math.abs((v as number) * 1000 - Math.round((v as number) * 1000)), k).toBeLessThan(1e-6);
      }
    }
    expect(rep).toMatchObject({
      CORRELATION_ID: '56a2@pbx', RTP_SIP_CALL_ID: '56a2@pbx', TYPE: 'PERIODIC', SSRC: 0xd2bd4e3e, REPORT_TS: 1453461919,
      SRC_IP: '192.168.178.34', SRC_PORT: 58320, DST_IP: '192.168.60.70', DST_PORT: 32728, SRC_MAC: '00-04-13-29-64-22',
      CODEC_PT: 8, CODEC_NAME: 'pcma', CLOCK: 8000, DIR: 1, PARTY: 0, REPORT_NAME: '192.168.178.34:58320',
      TOTAL_PK: 95, EXPECTED_PK: 100, PACKET_LOSS: 5, SEQ: 2, TL_BYTE: 16340, DELTA: 19.98, MAX_DELTA: 35.547, JITTER: 0.023,
      MAX_JITTER: 1.892, MEAN_JITTER: 0.126, SKEW: -0.18, MAX_SKEW: -15.615, PACKET_LOSS_PCT: 5,
      REPORT_START: 1453461918, REPORT_END: 1453461919.99, RTP_START: 1453461900, /* first packet at 1453461900000.5 ms: truncated */ ONE_WAY_RTP: 0, HOST_TIMESTAMPS: 0,
    });
  });

  it('PERIODIC MOS is the interval MOS (REFERENCE vector: G.711 PLC at 5 % -> 3.9231)', () => {
    const q = scored([[0, 100], [5, 100]]);
    const rep = buildQosReport(snapshot(), ctx, 'PERIODIC', q);
    expect(rep.MOS).toBe(round3(3.9231));
    expect(rep.MIN_MOS).toBe(3.923);
    // R = 93.2062077 - 95*5/(5+25.1)
    expect(rep.RFACTOR).toBe(round3(93.2062077 - (95 * 5) / 30.1));
    expect(rep.MEAN_MOS).toBe(round3((4.4094 + 3.9231) / 2));
    expect(rep.MOS_INTERVALS).toBe(2);
  });

  it('FINAL carries cumulative counters and the mean of interval MOS, never MOS from cumulative loss', () => {
    // 10 % in one interval, 0 % in nine: cumulative loss 1 % would give 4.3282; the mean of intervals differs.
    const q = scored([[10, 100], ...Array.from({ length: 9 }, () => [0, 100] as [number, number])]);
    const rep = buildQosReport(snapshot(), ctx, 'FINAL', q);
    expect(rep.TOTAL_PK).toBe(1000);
    expect(rep.EXPECTED_PK).toBe(1000);
    expect(rep.MOS).toBe(round3((3.4112 + 9 * 4.40938) / 10));
    expect(rep.MOS).not.toBe(round3(4.3282));
    expect(rep.MIN_MOS).toBe(3.411);
    expect(rep.LAST_MOS).toBe(4.409);
    expect(buildQosReport(snapshot(), ctx, 'HANGUP', q).TYPE).toBe('HANGUP');
  });

  it('CODEC_NAME has one spelling per codec whatever the SDP wrote (lower case); static name when SDP gave none', () => {
    const q = scored([[0, 100]]);
    expect(buildQosReport(snapshot(), { ...ctx, codecName: 'Pcma' }, 'PERIODIC', q).CODEC_NAME).toBe('pcma');
    expect(buildQosReport(snapshot(), { ...ctx, codecName: 'opus' }, 'PERIODIC', q).CODEC_NAME).toBe('opus');
    expect(buildQosReport(snapshot({ payloadType: 0 }), { ...ctx, codecName: null }, 'PERIODIC', q).CODEC_NAME).toBe('pcmu');
    expect(buildQosReport(snapshot({ payloadType: 18 }), { ...ctx, codecName: null }, 'PERIODIC', q).CODEC_NAME).toBe('g729');
  });

  it('intervals with nothing expected are not scored; no interval at all gives MOS 0', () => {
    const q = scored([[0, 0]]);
    expect(q.count[3]).toBe(0);
    const rep = buildQosReport(snapshot(), ctx, 'FINAL', q);
    expect(rep.MOS).toBe(0);
    expect(rep.MEAN_MOS).toBe(0);
  });

  it('clamps negative loss (duplicates), adds X_CID, ALERT rule, IPv6 report name, host timestamps', () => {
    const q = scored([[0, 100]]);
    const snap = snapshot({ srcIp: '2001:db8::1', hostTimestamps: true, interval: counters({ packets: 102, expected: 100, lost: -2, duplicates: 2 }) });
    const rep = buildQosReport(snap, { ...ctx, xcid: 'a-leg@pbx', reverseStreamSeen: false, captureDrops: 7 }, 'ALERT', q, { alertRule: 'bad_mos', intervalS: 5 });
    expect(rep).toMatchObject({ PACKET_LOSS: 0, DUPLICATES: 2, X_CID: 'a-leg@pbx', ALERT_RULE: 'bad_mos', TYPE: 'ALERT', INTERVAL_S: 5, REPORT_NAME: '[2001:db8::1]:58320', HOST_TIMESTAMPS: 1, ONE_WAY_RTP: 1, CAPTURE_DROPS: 7 });
  });

  it('unknown Call-ID: synthetic id from 5-tuple and SSRC, and the three policies', () => {
    const snap = snapshot();
    expect(syntheticCallId(snap)).toBe('rtpprobe-192.168.178.34-58320-192.168.60.70-32728-d2bd4e3e');
    expect(syntheticCallId({ ...snap, ssrc: 0x1f })).toMatch(/-0000001f$/);
    const rep = buildQosReport(snap, { ...ctx, callId: null }, 'PERIODIC', scored([]));
    expect(rep.CORRELATION_ID).toBe(syntheticCallId(snap));
    expect(rep.SYNTHETIC_ID).toBe(1);
    expect(decideCorrelation(null, 'synthetic', snap)).toMatchObject({ send: true, log: true, synthetic: true });
    expect(decideCorrelation(null, 'log', snap)).toMatchObject({ send: false, log: true });
    expect(decideCorrelation(null, 'drop', snap)).toMatchObject({ send: false, log: false });
    expect(decideCorrelation('x@y', 'drop', snap)).toMatchObject({ correlationId: 'x@y', send: true, synthetic: false });
  });

  it('every report is valid JSON whatever the inputs', () => {
    const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0));
    fc.assert(
      fc.property(num, num, num, fc.string(), fc.string(), fc.nat(200), fc.integer({ min: -50, max: 200 }), (a, b, c, callId, codecName, expected, lost) => {
        const q = new StreamQosState(8);
        const iv = counters({ expected, lost, packets: expected - lost, burstR: a, meanJitterMs: b, maxSkewMs: c, startMs: a, endMs: b });
        q.assessInterval(3, iv, codecs.resolve(codecName, 8), estimateOneWayDelay(c));
        const rep = buildQosReport(snapshot({ interval: iv, jitterMs: a, skewMs: b, firstSeenMs: c }), { ...ctx, callId, codecName, oneWayDelayMs: a }, 'PERIODIC', q);
        const json = JSON.stringify(rep);
        const back = JSON.parse(json);
        for (const [k, v] of Object.entries(back)) if (!STRING_KEYS.has(k)) expect(typeof v, k).toBe('number');
        expect(back.MOS === 0 || (back.MOS >= 1 && back.MOS <= 4.5)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
