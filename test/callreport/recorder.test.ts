import { describe, expect, it } from 'vitest';
import { CallReportRecorder, DEFAULT_CALL_REPORT_LIMITS, parseSipHead, sdpSummary } from '../../src/callreport/index.js';

const at = { srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060 };

function invite(callId: string, tsMs: number) {
  return { ...at, callId, tsMs, text: `INVITE sip:b@x SIP/2.0\r\ni: ${callId}\r\nf: "A" <sip:a@x>;tag=1\r\nt: <sip:b@x>\r\nCSeq: 1 INVITE\r\n\r\n` };
}

function periodic(i: number, t: number, jitter: number, mos: number) {
  return { TYPE: 'PERIODIC', CORRELATION_ID: 'c1', SYNTHETIC_ID: 0, SSRC: 1, SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 4000, RTP_START: 1, REPORT_END: t / 1000, DELTA: 20 + i, JITTER: jitter, PACKET_LOSS_PCT: 0, MOS: mos };
}

describe('call report recorder', () => {
  it('reads the start line, compact headers, From/To addresses and SDP media lines', () => {
    const h = parseSipHead('SIP/2.0 183 Session Progress\r\ni: abc@h\r\nf: <sip:alice@a.example>;tag=9\r\nt: "Bob" <sips:bob@b.example>\r\nCSeq: 7 INVITE\r\n\r\nv=0\r\nc=IN IP4 192.0.2.7\r\nm=audio 4002 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n')!;
    expect(h).toMatchObject({ label: '183 Session Progress', cseq: '7 INVITE', from: 'alice@a.example', to: 'bob@b.example' });
    expect(sdpSummary(h.body)).toEqual(['audio 192.0.2.7:4002 PCMU/8000 telephone-event/8000 sendonly']);
    expect(parseSipHead('not sip at all')).toBeNull();
  });

  it('a call-level fault report (no-media: no stream) adds no stream; its ALERT counts on the call', () => {
    const r = new CallReportRecorder();
    r.onSip(invite('c1', 0));
    const noMedia = { ALERT_RULE: 'no-media', NO_MEDIA_MS: 5000, CORRELATION_ID: 'c1', SYNTHETIC_ID: 0, SSRC: 0, SRC_IP: '10.0.0.2', SRC_PORT: 4000, DST_IP: '10.0.0.1', DST_PORT: 4000 };
    r.onQos({ ...noMedia, TYPE: 'ALERT', NO_MEDIA: 1, REPORT_END: 5 });
    r.onQos({ ...noMedia, TYPE: 'CLEARED', NO_MEDIA: 0, REPORT_END: 6 });
    r.onQos(periodic(0, 6000, 1, 4.4));
    const d = r.build('t', 1);
    expect(d.streams.map((s) => s.ssrc)).toEqual(['0x00000001']);
    expect(d.calls[0]!.flags.alerts).toBe(1);
  });

  it('flags a call with capture drops only when they came while its streams were captured', () => {
    const r = new CallReportRecorder();
    r.onSip(invite('c1', 0));
    r.onSip(invite('c2', 20_000));
    const stream = (callId: string, start: number) => ({ CORRELATION_ID: callId, SYNTHETIC_ID: 0, SSRC: start, SRC_IP: '10.0.0.1', SRC_PORT: 4000 + start, DST_IP: '10.0.0.2', DST_PORT: 4000, RTP_START: start });
    // 40 packets dropped during c1's second interval; c2 starts later, the probe's total still 40.
    r.onQos({ ...stream('c1', 1), TYPE: 'PERIODIC', REPORT_END: 6, TOTAL_PK: 250, PACKET_LOSS: 0, CAPTURE_DROPS: 0, PERIOD_CAPTURE_DROPS: 0 });
    r.onQos({ ...stream('c1', 1), TYPE: 'PERIODIC', REPORT_END: 11, TOTAL_PK: 230, PACKET_LOSS: 20, CAPTURE_DROPS: 40, PERIOD_CAPTURE_DROPS: 40 });
    r.onQos({ ...stream('c2', 21), TYPE: 'PERIODIC', REPORT_END: 26, TOTAL_PK: 250, PACKET_LOSS: 0, CAPTURE_DROPS: 40, PERIOD_CAPTURE_DROPS: 0 });
    const live = r.build('t', 1);
    expect(live.calls.map((c) => [c.callId, c.flags.captureDrops])).toEqual([['c1', true], ['c2', false]]);
    expect(live.streams.map((s) => s.captureDrops)).toEqual([40, 0]);
    r.onQos({ ...stream('c1', 1), TYPE: 'HANGUP', RTP_STOP: 15, TOTAL_PK: 700, PACKET_LOSS: 20, CAPTURE_DROPS: 40, PERIOD_CAPTURE_DROPS: 40 });
    r.onQos({ ...stream('c2', 21), TYPE: 'HANGUP', RTP_STOP: 35, TOTAL_PK: 700, PACKET_LOSS: 0, CAPTURE_DROPS: 40, PERIOD_CAPTURE_DROPS: 0 });
    const done = r.build('t', 1);
    expect(done.calls.map((c) => [c.callId, c.flags.captureDrops])).toEqual([['c1', true], ['c2', false]]);
    expect(done.streams.map((s) => s.captureDrops)).toEqual([40, 0]);
  });

  it("a CLEARED report (an interval's counters) does not stand for the stream's totals", () => {
    const r = new CallReportRecorder();
    r.onSip(invite('c1', 0));
    const s0 = { CORRELATION_ID: 'c1', SYNTHETIC_ID: 0, SSRC: 1, SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 4000, RTP_START: 1 };
    r.onQos({ ...s0, TYPE: 'HANGUP', RTP_STOP: 30, TOTAL_PK: 1500, MOS: 4.4 });
    r.onQos({ ...s0, TYPE: 'CLEARED', ALERT_RULE: 'silence', REPORT_END: 31, TOTAL_PK: 3, RTP_STOP: 31 });
    expect(r.build('t', 1).streams[0]).toMatchObject({ packets: 1500, end: 30_000 });
  });

  it('thins a long series to its bound, each point the worst of those it stands for, without touching what it keeps', () => {
    const r = new CallReportRecorder({ ...DEFAULT_CALL_REPORT_LIMITS, totalPoints: 10, minPointsPerStream: 10 });
    r.onSip(invite('c1', 0));
    for (let i = 0; i < 100; i++) r.onQos(periodic(i, 1000 * (i + 1), i === 37 ? 90 : 1, i === 42 ? 1.5 : 4.4));
    const s = r.build('t', 1).streams[0]!;
    expect(s.thinned).toBe(true);
    expect(s.series.t).toHaveLength(10);
    expect(Math.max(...(s.series.jitter as number[]))).toBe(90);
    expect(Math.min(...(s.series.mos as number[]))).toBe(1.5);
    expect(s.series.t.at(-1)).toBe(100_000);
    // Built again from the recorder's whole series, the same thinning.
    const again = r.build('t', 1).streams[0]!;
    expect(again.series).toEqual(s.series);
  });

  it('a stream longer than its bound keeps one resolution over its whole length, each point the worst of its run', () => {
    const r = new CallReportRecorder({ ...DEFAULT_CALL_REPORT_LIMITS, maxPointsPerStream: 100 });
    r.onSip(invite('c1', 0));
    for (let i = 0; i < 1000; i++) r.onQos(periodic(i, 1000 * (i + 1), i === 3 ? 90 : 1, i === 998 ? 1.5 : 4.4));
    const s = r.build('t', 1).streams[0]!;
    expect(s.thinned).toBe(true);
    expect(s.series.t.length).toBeLessThanOrEqual(100);
    // 1,000 intervals at 100 points: merged in pairs four times, 16 intervals a point, the last point
    // the 8 that remain (1000 - 62 * 16).
    const gaps = s.series.t.slice(1).map((t, i) => t - s.series.t[i]!);
    expect(new Set(gaps.slice(0, -1))).toEqual(new Set([16_000]));
    expect(gaps.at(-1)).toBe(8000);
    expect(s.series.t.at(-1)).toBe(1_000_000);
    expect(s.series.jitter[0]).toBe(90);
    expect(s.series.mos.at(-1)).toBe(1.5);
  });

  it('a live recorder forgets the least recently active dialogs first', () => {
    const r = new CallReportRecorder({ ...DEFAULT_CALL_REPORT_LIMITS, retainDialogs: 2 });
    r.onSip(invite('a', 1));
    r.onSip(invite('b', 2));
    r.onSip(invite('a', 3)); // a is active again: b is now the oldest
    r.onSip(invite('c', 4));
    expect(r.build('t', 1).calls.map((c) => c.callId).sort()).toEqual(['a', 'c']);
  });

  it('a live recorder forgets dialogs without an INVITE (an OPTIONS ping per Call-ID) before a call', () => {
    const r = new CallReportRecorder({ ...DEFAULT_CALL_REPORT_LIMITS, retainDialogs: 3 });
    r.onSip(invite('call', 1));
    for (let i = 0; i < 10; i++) r.onSip({ ...at, callId: `ping-${i}`, tsMs: 2 + i, text: `OPTIONS sip:b@x SIP/2.0\r\ni: ping-${i}\r\nCSeq: 1 OPTIONS\r\n\r\n` });
    const d = r.build('t', 1);
    expect(d.calls.map((c) => [c.callId, c.messages.length])).toEqual([['call', 1]]);
    expect(d.otherDialogs).toBe(2);
  });
});
