import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtp, sipRequest, sipResponse, tcpFrame, text, udpFrame } from '../../src/gen/index.js';
import type { SdpSpec } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { decodeHep3Strict, encodeHep3 } from '../../src/hep/index.js';
import { LiveState } from '../../src/ops/live-state.js';
import { Pipeline, mediaFaultLimits } from '../../src/pipeline/index.js';
import { BindingMirror } from '../../src/pipeline/workers/binding-mirror.js';
import { SipInFlight } from '../../src/pipeline/workers/sip-in-flight.js';
import type { MainToWorker } from '../../src/pipeline/workers/messages.js';
import { SignallingOwner } from '../../src/pipeline/workers/signalling.js';
import type { QosReport } from '../../src/report/index.js';
import { e2eConfig, replayReports } from '../e2e/helpers.js';
import { recordsBatch } from '../pipeline/batches.js';
import type { E2eReport } from '../e2e/helpers.js';

/** SIP in flight to the owner, unbounded: these tests hand each message to the owner at once. */
const unboundedSip = () => new SipInFlight(SipInFlight.memory(), Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);

// Media faults that are not loss, from generated captures replayed through runReplay (the CLI's path):
// the call shapes are written here with the generator's SIP dialog and RTP timeline, and the reports
// are read back as JSON lines.
const T0 = 1_700_000_000_000;
const A = { ip: '10.1.0.10', port: 40000, ssrc: 0x1111aaaa };
const B = { ip: '10.2.0.20', port: 50000, ssrc: 0x2222bbbb };
/** A second call's endpoints (tests with two calls). */
const C = { ip: '10.1.0.11', port: 41000 };
const D = { ip: '10.2.0.21', port: 51000 };
const audio = (ip: string, port: number, direction?: SdpSpec['direction']): SdpSpec => ({ ip, media: [{ port, formats: [8], direction }] });
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Other traffic of the mirror port, a non-RTP datagram every 250 ms, as a live capture sees beside a call:
 * replay's once-a-second checks then run at packets through pauses (over a gap with no packets at all
 * they run when the next packet comes: 'a packet-less gap in a replayed capture' below).
 */
function background(t: CaptureTimeline, untilMs: number): void {
  for (let ms = T0; ms <= untilMs; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
}

/** A call between A and B answered (200 OK) 50 ms after its INVITE at T0. */
function answeredCall(t: CaptureTimeline, callId: string, sdpB: SdpSpec = audio(B.ip, B.port), sdpA: SdpSpec = audio(A.ip, A.port)): DialogWriter {
  return answeredBetween(t, callId, A, B, sdpA, sdpB);
}

/** A re-offer in the dialog at `at` (re-INVITE from the caller), its 200 OK 20 ms later and the ACK. */
function reoffer(d: DialogWriter, at: number, offer: SdpSpec, answer: SdpSpec): void {
  const r = d.invite(at, offer, { reinvite: true });
  d.respond(at + 20, 200, r, answer);
  d.ack(at + 30, r);
}

/** An audio call from `x` to `y` answered (200 OK) 50 ms after its INVITE at T0. */
function answeredBetween(t: CaptureTimeline, callId: string, x: { ip: string; port: number }, y: { ip: string; port: number }, sdpX = audio(x.ip, x.port), sdpY = audio(y.ip, y.port)): DialogWriter {
  const d = new DialogWriter(t, callId, x.ip, y.ip);
  const c = d.invite(T0, sdpX);
  d.respond(T0 + 50, 200, c, sdpY);
  d.ack(T0 + 60, c);
  return d;
}

/**
 * An answered call (200 OK at T0 + 50 ms); `media` writes its RTP; BYE at `byeAt` ms after T0. `forked`:
 * another branch of the INVITE (To tag 'busy') answers 486 at T0 + 20 ms, before B's 200 OK. `sdpA`: the offer.
 */
async function replayCall(name: string, byeAt: number, media: (t: CaptureTimeline, start: number, dialog: DialogWriter) => void, sdpB: SdpSpec = audio(B.ip, B.port), forked = false, sdpA?: SdpSpec, keepalive = true): Promise<E2eReport[]> {
  const t = new CaptureTimeline();
  if (keepalive) background(t, T0 + byeAt);
  const d = answeredCall(t, `${name}@gen`, sdpB, sdpA);
  if (forked) {
    const tags = { callId: d.callId, fromTag: 'a', toTag: 'busy', cseq: 1 };
    t.sip(T0 + 20, '10.2.0.99', A.ip, sipResponse(486, { ...tags, cseqMethod: 'INVITE' }));
    t.sip(T0 + 21, A.ip, '10.2.0.99', sipRequest('ACK', 'sip:peer@example.com', tags));
  }
  media(t, T0 + 100, d);
  const bc = d.bye(T0 + byeAt);
  d.respond(T0 + byeAt + 1, 200, bc, null, { method: 'BYE', toCaller: true });
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, t.pcap());
  return replayReports(file, e2eConfig());
}

/** Video on its own m=video line, VIDEO_PORT above the audio's port. */
const VIDEO_PORT = 2;
const withVideo = (ip: string, port: number): SdpSpec => ({
  ip,
  media: [{ port, formats: [8] }, { kind: 'video', port: port + VIDEO_PORT, formats: [96], rtpmap: [[96, 'VP8/90000']] }],
});
/** Audio and video BUNDLEd on one port. */
const bundled = (ip: string, port: number): SdpSpec => ({
  ip,
  media: [{ port, formats: [8], rtcpMux: true }, { kind: 'video', port, formats: [96], rtpmap: [[96, 'VP8/90000']], rtcpMux: true }],
});
/** VP8 at 30 fps, one packet a frame, from `from` to `to` (`portOffset` above their ports), `frames` frames from `start`. */
function video(t: CaptureTimeline, start: number, from: { ip: string; port: number }, to: { ip: string; port: number }, ssrc: number, frames: number, portOffset = VIDEO_PORT): void {
  for (let f = 0; f < frames; f++) t.add(start + f * 33, udpFrame(from.ip, from.port + portOffset, to.ip, to.port + portOffset, rtp({ pt: 96, seq: 500 + f, ts: f * 3000, ssrc, marker: true, payload: new Uint8Array(900) })));
}

const ab = (r: E2eReport) => r.SRC_IP === A.ip && r.DST_IP === B.ip;
const ba = (r: E2eReport) => r.SRC_IP === B.ip && r.DST_IP === A.ip;
const alerts = (reports: E2eReport[], rule: string) => reports.filter((r) => r.ALERT_RULE === rule);

describe('media faults (reports.faults defaults: 5 s each)', () => {
  it('one-way RTP: an ALERT on the flowing stream 5 s after the answer, ONE_WAY_RTP 1 until the call ends', async () => {
    const reports = await replayCall('one-way', 12_000, (t, s) => void t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 }));
    const ow = alerts(reports, 'one-way-rtp');
    expect(ow.filter((r) => r.TYPE === 'ALERT')).toHaveLength(1);
    const alert = ow.find((r) => r.TYPE === 'ALERT')!;
    expect(ab(alert)).toBe(true);
    expect(alert.ONE_WAY_RTP).toBe(1);
    // Checked once per second of capture time: between 5 and 6 s after the 200 OK.
    expect(alert.REPORT_TS).toBeGreaterThanOrEqual(Math.floor((T0 + 50 + 5000) / 1000));
    expect(alert.REPORT_TS).toBeLessThanOrEqual(Math.floor((T0 + 50 + 6000) / 1000) + 1);
    const end = reports.find((r) => r.TYPE === 'HANGUP' && ab(r))!;
    expect(end.ONE_WAY_RTP).toBe(1);
    expect(alerts(reports, 'no-media')).toHaveLength(0);
  });

  it('two-way RTP raises no fault, and ONE_WAY_RTP stays 0', async () => {
    const reports = await replayCall('two-way', 12_000, (t, s) => {
      t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 });
      t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 550 });
    });
    expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED')).toHaveLength(0);
    const ends = reports.filter((r) => r.TYPE === 'HANGUP');
    expect(ends).toHaveLength(2);
    for (const r of ends) expect(r).toMatchObject({ ONE_WAY_RTP: 0, SILENCES: 0, SILENCE_MS: 0 });
  });

  it('an SSRC change mid-call on one 5-tuple (an SBC switching source) is no silence of the old SSRC; a pause of the new one is', async () => {
    const reports = await replayCall('ssrc-change', 20_000, (t, s) => {
      // A to B: 6 s under one SSRC, then at once under another for 6 s, then 7 s of nothing; B to A throughout.
      const next = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 300 });
      t.rtp(s + 6000, A.ip, A.port, B.ip, B.port, { ssrc: 0x3333cccc, seq: 40000, ts: next.ts + 777777, count: 300 });
      t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 950 });
    });
    const silence = alerts(reports, 'silence');
    expect(silence.map((r) => `${r.TYPE} ${(r.SSRC >>> 0).toString(16)}`)).toEqual(['ALERT 3333cccc', 'CLEARED 3333cccc']);
  });

  it('BUNDLE: audio that stops while the video on its 5-tuple goes on is a silence (the video did not replace it)', async () => {
    const reports = await replayCall('bundle-silence', 20_000, (t, s) => {
      // A to B: audio for 6 s, then none; video from 40 ms on to the end. B to A: audio throughout.
      t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 300 });
      video(t, s + 40, A, B, 0x71de0a, 590, 0);
      t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 980 });
    }, bundled(B.ip, B.port), false, bundled(A.ip, A.port));
    const silence = alerts(reports, 'silence');
    expect(silence.map((r) => `${r.TYPE} ${(r.SSRC >>> 0).toString(16)}`)).toEqual([`ALERT ${A.ssrc.toString(16)}`, `CLEARED ${A.ssrc.toString(16)}`]);
    expect(reports.filter((r) => r.TYPE === 'HANGUP').map((r) => r.SSRC_CHG)).toEqual([0, 0, 0]);
  });

  describe('video on its own m=video line (a camera turned off, video muted): faults are about audio', () => {
    const videoCall = (name: string, media: (t: CaptureTimeline, s: number) => void) => replayCall(name, 20_000, (t, s) => {
      // Audio both ways for the whole call.
      t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 980 });
      t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 980 });
      media(t, s);
    }, withVideo(B.ip, B.port), false, withVideo(A.ip, A.port));

    it('video that stops for 10 s while the audio goes on raises no silence ALERT; the pause still counts as a silence of the video stream', async () => {
      const reports = await videoCall('video-paused', (t, s) => {
        // A to B: video 4 s, off 10 s, on again; B to A: video throughout.
        video(t, s + 10, A, B, 0x71de0a, 120);
        video(t, s + 14_010, A, B, 0x71de0a, 140);
        video(t, s + 12, B, A, 0x71de0b, 580);
      });
      expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED').map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual([]);
      const ends = reports.filter((r) => r.TYPE === 'HANGUP');
      expect(ends).toHaveLength(4);
      const paused = ends.find((r) => (r.SSRC >>> 0) === 0x71de0a)!;
      expect(paused).toMatchObject({ SILENCES: 1 });
      expect(paused.SILENCE_MS as number).toBeGreaterThan(9000);
    });

    it('BUNDLE: video on the audio 5-tuple that stops while the audio goes on raises no silence ALERT', async () => {
      const reports = await replayCall('bundle-video-paused', 20_000, (t, s) => {
        t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 980 });
        t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 980 });
        // A to B: video 4 s on the audio's 5-tuple, then none.
        video(t, s + 40, A, B, 0x71de0a, 120, 0);
      }, bundled(B.ip, B.port), false, bundled(A.ip, A.port));
      expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED').map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual([]);
      expect(reports.filter((r) => r.TYPE === 'HANGUP')).toHaveLength(3);
    });

    it('video one way only (the other side sends none) raises no one-way-rtp while audio flows both ways', async () => {
      const reports = await videoCall('video-one-way', (t, s) => video(t, s + 10, A, B, 0x71de0a, 580));
      expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED').map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual([]);
      expect(reports.filter((r) => r.TYPE === 'HANGUP').map((r) => r.ONE_WAY_RTP)).toEqual([0, 0, 0]);
    });

    it('video one way by its SDP (a side without a camera answers recvonly) leaves the audio checked: audio one way is one-way-rtp', async () => {
      const oneWayVideo = (ip: string, port: number, direction: SdpSpec['direction']): SdpSpec => ({
        ip,
        media: [{ port, formats: [8] }, { kind: 'video', port: port + VIDEO_PORT, formats: [96], rtpmap: [[96, 'VP8/90000']], direction }],
      });
      const reports = await replayCall('video-recvonly', 12_000, (t, s) => {
        t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 });
        video(t, s + 10, A, B, 0x71de0a, 330);
      }, oneWayVideo(B.ip, B.port, 'recvonly'), false, oneWayVideo(A.ip, A.port, 'sendonly'));
      expect(alerts(reports, 'one-way-rtp').map((r) => `${r.TYPE} ${(r.SSRC >>> 0).toString(16)} ${r.CLEAR_REASON ?? ''}`)).toEqual([`ALERT ${A.ssrc.toString(16)} `, `CLEARED ${A.ssrc.toString(16)} stream-ended`]);
    });

    it('video both ways and no audio is no media of the call: no-media ALERT', async () => {
      const reports = await replayCall('video-no-audio', 12_000, (t, s) => {
        video(t, s + 10, A, B, 0x71de0a, 300);
        video(t, s + 12, B, A, 0x71de0b, 300);
      }, withVideo(B.ip, B.port), false, withVideo(A.ip, A.port));
      expect(alerts(reports, 'no-media').map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
      expect(alerts(reports, 'one-way-rtp')).toEqual([]);
      expect(alerts(reports, 'silence')).toEqual([]);
    });
  });

  it('a call on hold (sendonly answer) is exempt from one-way alerts', async () => {
    const reports = await replayCall('held', 12_000, (t, s) => void t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 }), audio(B.ip, B.port, 'recvonly'));
    expect(alerts(reports, 'one-way-rtp')).toHaveLength(0);
  });

  it('no media after the answer: a call-level ALERT after 5 s, CLEARED when media arrives', async () => {
    const reports = await replayCall('no-media', 12_000, (t, s) => {
      // Both directions start 8 s after the answer.
      t.rtp(s + 8000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
      t.rtp(s + 8005, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
    });
    const nm = alerts(reports, 'no-media');
    expect(nm.map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    const [alert, cleared] = nm;
    expect(alert).toMatchObject({ CORRELATION_ID: 'no-media@gen', NO_MEDIA: 1, SSRC: 0, SRC_IP: B.ip, SRC_PORT: B.port, DST_IP: A.ip, DST_PORT: A.port });
    expect(alert.NO_MEDIA_MS as number).toBeGreaterThanOrEqual(5000);
    expect(alert.NO_MEDIA_MS as number).toBeLessThan(6100);
    expect(cleared).toMatchObject({ NO_MEDIA: 0, SRC_IP: B.ip, DST_IP: A.ip, CLEAR_REASON: 'rule' });
    expect(cleared.NO_MEDIA_MS as number).toBeGreaterThanOrEqual(8000);
    expect(alerts(reports, 'one-way-rtp')).toHaveLength(0);
  });

  it('a call without any media is cleared at its end; the live view keeps no stream for it', async () => {
    const reports = await replayCall('silent-call', 9_000, () => {});
    const nm = alerts(reports, 'no-media');
    expect(nm.map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    expect(nm[0]).toMatchObject({ REPORT_START: (T0 + 50) / 1000 });
    // Media never came: the call's end, not the condition, cleared it.
    expect(nm[1]).toMatchObject({ NO_MEDIA: 0, CLEAR_REASON: 'stream-ended' });
    const events: string[] = [];
    const live = new LiveState({ onAlert: (e) => events.push(e.event === 'CLEARED' ? `${e.event} ${e.rule} ${e.reason}` : `${e.event} ${e.rule}`) });
    live.observe(nm[0]);
    expect(live.streams()).toHaveLength(1);
    live.observe(nm[1]);
    expect(events).toEqual(['ALERT no-media', 'CLEARED no-media stream-ended']);
    expect(live.streams()).toHaveLength(0);
  });

  it('no no-media for calls whose SDP names no RTP over UDP: MSRP chat, RTP over TCP (RFC 4571) flowing all along', async () => {
    const offers: Array<[string, (ip: string, port: number) => SdpSpec]> = [
      ['msrp', (ip, port) => ({ ip, media: [{ kind: 'message', port, proto: 'TCP/MSRP', formats: [] }] })],
      ['rtp-over-tcp', (ip, port) => ({ ip, media: [{ port, proto: 'TCP/RTP/AVP', formats: [0] }] })],
    ];
    for (const [name, sdp] of offers) {
      const t = new CaptureTimeline();
      background(t, T0 + 9000);
      const d = new DialogWriter(t, `${name}@gen`, A.ip, B.ip);
      const c = d.invite(T0, sdp(A.ip, A.port));
      d.respond(T0 + 50, 200, c, sdp(B.ip, B.port));
      d.ack(T0 + 60, c);
      if (name === 'rtp-over-tcp') {
        // RFC 4571: each RTP packet behind its 16-bit length, on the caller's TCP connection to the callee.
        let seq = 1;
        for (let i = 0; i < 400; i++) {
          const p = rtp({ pt: 0, seq: i + 1, ts: i * 160, ssrc: A.ssrc });
          const framed = new Uint8Array(p.length + 2);
          framed[1] = p.length;
          framed[0] = p.length >> 8;
          framed.set(p, 2);
          t.add(T0 + 100 + i * 20, tcpFrame(A.ip, A.port, B.ip, B.port, seq, framed));
          seq += framed.length;
        }
      }
      const bc = d.bye(T0 + 9000);
      d.respond(T0 + 9001, 200, bc, null, { method: 'BYE', toCaller: true });
      const file = join(dir, `${name}.pcap`);
      writeFileSync(file, t.pcap());
      const reports = await replayReports(file, e2eConfig());
      expect(reports.filter((r) => r.TYPE === 'ALERT').map((r) => `${r.CORRELATION_ID} ${r.ALERT_RULE}`), name).toEqual([]);
    }
  });

  // One branch of the INVITE busy (486) before the other answers: the call reopens (src/sip/calls.ts) and
  // its faults are those of the same call without the busy branch.
  const shapes: Array<[string, (t: CaptureTimeline, s: number) => void]> = [
    ['media 8 s late', (t, s) => {
      t.rtp(s + 8000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
      t.rtp(s + 8005, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
    }],
    ['no media', () => {}],
    ['one-way media', (t, s) => void t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 })],
  ];
  for (const [shape, media] of shapes) {
    it(`a forked call (one branch 486, then the 200 OK) with ${shape}: the same fault reports as the call without the busy branch`, async () => {
      const name = shape.replace(/ /g, '-');
      // The reports of each call, its Call-ID written CALL.
      const faults = (callName: string, reports: E2eReport[]) =>
        reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED' || r.TYPE === 'HANGUP').map((r) => JSON.parse(JSON.stringify(r).replaceAll(`${callName}@gen`, 'CALL')) as E2eReport);
      const plain = faults(`plain-${name}`, await replayCall(`plain-${name}`, 12_000, media));
      const forked = faults(`forked-${name}`, await replayCall(`forked-${name}`, 12_000, media, audio(B.ip, B.port), true));
      expect(plain.some((r) => r.TYPE === 'ALERT')).toBe(true);
      expect(forked).toEqual(plain);
    });
  }

  it('a pause with the sequence continuing is a silence; one with the sequence jumping is loss', async () => {
    const reports = await replayCall('pauses', 16_500, (t, s) => {
      // Both directions stop for 7 s. a -> b is silent (DTX, mute): the sequence continues, the timestamps
      // advance by the pause.
      const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
      const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 200 });
      t.rtp(s + 4000 + 7000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq, ts: a.ts + 350 * 160, count: 250 });
      // b -> a: the network loses 7 s (350 packets): the sequence jumps.
      t.rtp(s + 4005 + 7000, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq + 350, ts: b.ts + 350 * 160, count: 250 });
    });
    const sa = alerts(reports, 'silence').filter(ab);
    const sb = alerts(reports, 'silence').filter(ba);
    expect(sa.map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    expect(sb.map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    expect(sa[0].CURRENT_SILENCE_MS as number).toBeGreaterThanOrEqual(5000);
    // Last packet before the pause at +3980 ms, first after it at +11000 ms.
    expect(sa[1].CURRENT_SILENCE_MS).toBe(7020);
    expect(sa[1]).toMatchObject({ PAUSE_WAS_LOSS: 0, SILENCES: 1 });
    expect(sb[1]).toMatchObject({ PAUSE_WAS_LOSS: 1, SILENCES: 0 });
    const endA = reports.find((r) => r.TYPE === 'HANGUP' && ab(r))!;
    const endB = reports.find((r) => r.TYPE === 'HANGUP' && ba(r))!;
    expect(endA).toMatchObject({ SILENCES: 1, PACKET_LOSS: 0 });
    expect(endA).toMatchObject({ MAX_SILENCE_MS: 7020, SILENCE_MS: 7020 });
    expect(endB).toMatchObject({ SILENCES: 0, SILENCE_MS: 0, PACKET_LOSS: 350 });
  });

  it('a pause after a comfort noise packet (RFC 3389: the sender went silent, DTX) counts as a silence and is not paged; the same pause without it is', async () => {
    const reports = await replayCall('dtx', 16_500, (t, s) => {
      // Both directions talk 3 s and pause 7 s, the sequence continuing. a -> b sends one CN packet
      // (PT 13, a noise level byte) as its last before the pause; b -> a just stops.
      const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
      t.add(s + 3000, udpFrame(A.ip, A.port, B.ip, B.port, rtp({ pt: 13, seq: a.seq, ts: a.ts, ssrc: A.ssrc, payload: Uint8Array.of(60) })));
      t.rtp(s + 10_000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: (a.seq + 1) & 0xffff, ts: a.ts + 350 * 160, count: 250 });
      const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
      t.rtp(s + 10_005, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq, ts: b.ts + 350 * 160, count: 250 });
    });
    expect(alerts(reports, 'silence').map((r) => `${r.TYPE} ${r.SRC_IP}`)).toEqual([`ALERT ${B.ip}`, `CLEARED ${B.ip}`]);
    const endA = reports.find((r) => r.TYPE === 'HANGUP' && ab(r))!;
    expect(endA).toMatchObject({ SILENCES: 1, PACKET_LOSS: 0 });
    expect(endA.MAX_SILENCE_MS as number).toBeGreaterThanOrEqual(7000);
  });

  it('early media that pauses while the call rings (183, answered 10 s later) is not paged; the pause counts as a silence', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 15_000);
    const d = new DialogWriter(t, 'ringing@gen', A.ip, B.ip);
    const c = d.invite(T0, audio(A.ip, A.port));
    d.respond(T0 + 50, 183, c, audio(B.ip, B.port));
    // Ringback from B for 2 s, nothing for 8 s, the answer, then the call's media both ways.
    const b = t.rtp(T0 + 100, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 100 });
    d.respond(T0 + 10_000, 200, c, audio(B.ip, B.port));
    d.ack(T0 + 10_010, c);
    t.rtp(T0 + 10_100, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq, ts: b.ts + 400 * 160, count: 200 });
    t.rtp(T0 + 10_105, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
    const bc = d.bye(T0 + 14_500);
    d.respond(T0 + 14_510, 200, bc, null, { method: 'BYE', toCaller: true });
    const file = join(dir, 'ringing.pcap');
    writeFileSync(file, t.pcap());
    const reports = await replayReports(file, e2eConfig());
    expect(alerts(reports, 'silence').map((r) => `${r.TYPE} ${r.SRC_IP}`)).toEqual([]);
    expect(reports.find((r) => r.TYPE === 'HANGUP' && ba(r))).toMatchObject({ TOTAL_PK: 300, SILENCES: 1 });
  });

  it("a silence ALERT after the interval report closed the stream's last packets reports the pause so far as its period", async () => {
    const reports = await replayCall('pause-after-report', 20_000, (t, s) => {
      // Both directions pause from +7980 ms to +14980 ms: the interval report due at +10 s comes first,
      // so the ALERT 5 s into the pause has no packet of its own.
      const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 400 });
      const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 400 });
      t.rtp(s + 7980 + 7000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq, ts: a.ts + 349 * 160, count: 200 });
      t.rtp(s + 7985 + 7000, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq, ts: b.ts + 349 * 160, count: 200 });
    });
    const periodic = reports.find((r) => r.TYPE === 'PERIODIC' && ab(r))!;
    const alert = alerts(reports, 'silence').find((r) => r.TYPE === 'ALERT' && ab(r))!;
    const lastBefore = (T0 + 100 + 7980) / 1000;
    expect(periodic.REPORT_END).toBe(lastBefore);
    expect(alert).toMatchObject({ TOTAL_PK: 0, RTP_STOP: lastBefore, REPORT_START: lastBefore });
    // From the last packet to the check that found the pause: CURRENT_SILENCE_MS long, REPORT_TS its end.
    expect(alert.REPORT_END as number).toBeCloseTo(lastBefore + (alert.CURRENT_SILENCE_MS as number) / 1000, 3);
    expect(alert.REPORT_TS).toBe(Math.floor(alert.REPORT_END as number));
  });

  // How a re-INVITE holds the call: the offer, the answer, and whether the holder sends music on hold.
  const holds: Array<[string, SdpSpec, SdpSpec, boolean]> = [
    ['sendonly, answered recvonly', audio(A.ip, A.port, 'sendonly'), audio(B.ip, B.port, 'recvonly'), true],
    ['inactive, answered inactive', audio(A.ip, A.port, 'inactive'), audio(B.ip, B.port, 'inactive'), false],
    // RFC 2543 hold: the holder's address 0.0.0.0, an answer with its ordinary SDP; neither sends.
    ['c=0.0.0.0 (RFC 2543), answered sendrecv', audio('0.0.0.0', A.port), audio(B.ip, B.port), false],
    // An answerer that says sendrecv to a sendonly offer (RFC 3264 wants recvonly); the holder sends nothing.
    ['sendonly, answered sendrecv', audio(A.ip, A.port, 'sendonly'), audio(B.ip, B.port), false],
  ];
  for (const [how, offer, answer, moh] of holds) {
    it(`a call put on hold by re-INVITE (${how}) for 8 s: no alert for the media the hold stopped`, async () => {
      const reports = await replayCall(`hold-${how.replace(/\W+/g, '-')}`, 16_000, (t, s, dialog) => {
        const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
        const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
        // At +3 s A holds the call; at +11 s it takes it back (sendrecv) and both directions go on.
        reoffer(dialog, s + 3000, offer, answer);
        reoffer(dialog, s + 11_000, audio(A.ip, A.port), audio(B.ip, B.port));
        // Music on hold from A while held, when A only sends.
        if (moh) t.rtp(s + 3000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq, ts: a.ts, count: 400 });
        else t.rtp(s + 11_040, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq, ts: a.ts + 400 * 160, count: 200 });
        t.rtp(s + 11_045, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq, ts: b.ts + 400 * 160, count: 200 });
      });
      // The streams were measured through the hold (both resumed in the same stream).
      expect(reports.filter((r) => r.TYPE === 'HANGUP').length).toBe(2);
      expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED').map((r) => `${r.TYPE} ${r.ALERT_RULE} ${r.SRC_IP}`)).toEqual([]);
    });
  }

  describe('resumed from hold: media is due again from the resume on', () => {
    /**
     * Both directions for 3 s, then A holds the call (inactive) until the resume at +11 s (its 200 OK
     * at +11.02 s); `after` writes what flows from the resume on; BYE at +20 s.
     */
    const heldThenResumed = (name: string, after: (t: CaptureTimeline, resumedAt: number, a: { seq: number; ts: number }, b: { seq: number; ts: number }) => void) =>
      replayCall(name, 20_000, (t, s, dialog) => {
        const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
        const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
        reoffer(dialog, s + 3000, audio(A.ip, A.port, 'inactive'), audio(B.ip, B.port, 'inactive'));
        reoffer(dialog, s + 11_000, audio(A.ip, A.port), audio(B.ip, B.port));
        after(t, s + 11_020, { seq: a.seq, ts: a.ts + 400 * 160 }, { seq: b.seq, ts: b.ts + 400 * 160 });
      });
    const resumedAtS = (T0 + 100 + 11_020) / 1000;
    const faults = (reports: E2eReport[]) => reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED');

    it('the held side coming back 1.5 s after the resume is no one-way RTP', async () => {
      const reports = await heldThenResumed('resume-late-peer', (t, at, a, b) => {
        t.rtp(at + 20, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, ...a, count: 400 });
        t.rtp(at + 1500, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, ...b, count: 300 });
      });
      expect(faults(reports).map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual([]);
    });

    it('one side only after the resume: one-way RTP on the flowing stream and silence of the other, 5 s after the resume, not at once', async () => {
      const reports = await heldThenResumed('resume-one-way', (t, at, a) => void t.rtp(at + 20, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, ...a, count: 400 }));
      const ow = faults(reports).filter((r) => r.ALERT_RULE === 'one-way-rtp');
      expect(ow.map((r) => `${r.TYPE} ${r.ALERT_RULE} ${r.SRC_IP}`)).toEqual([`ALERT one-way-rtp ${A.ip}`, `CLEARED one-way-rtp ${A.ip}`]);
      // The held side's stream paused during the hold (not paged then) and never came back: paged once
      // silence_s has passed since the resume, CLEARED when the call ends.
      const silence = faults(reports).filter((r) => r.ALERT_RULE === 'silence');
      expect(silence.map((r) => `${r.TYPE} ${r.SRC_IP}`)).toEqual([`ALERT ${B.ip}`, `CLEARED ${B.ip}`]);
      expect(silence[0].REPORT_TS).toBeGreaterThanOrEqual(Math.floor(resumedAtS + 5));
      expect(silence[0].REPORT_TS).toBeLessThanOrEqual(Math.floor(resumedAtS + 6) + 1);
      // Checked once per second of capture time: between 5 and 6 s after the resume's 200 OK.
      expect(ow[0].REPORT_TS).toBeGreaterThanOrEqual(Math.floor(resumedAtS + 5));
      expect(ow[0].REPORT_TS).toBeLessThanOrEqual(Math.floor(resumedAtS + 6) + 1);
    });

    it('no media either way after the resume: no-media 5 s after the resume, the time since the resume in NO_MEDIA_MS', async () => {
      const reports = await heldThenResumed('resume-dead', () => {});
      // Both streams paused during the hold, neither came back: each paged as a silence too.
      expect(faults(reports).filter((r) => r.ALERT_RULE === 'silence' && r.TYPE === 'ALERT').map((r) => r.SRC_IP).sort()).toEqual([A.ip, B.ip]);
      const nm = faults(reports).filter((r) => r.ALERT_RULE === 'no-media');
      expect(nm.map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual(['ALERT no-media', 'CLEARED no-media']);
      expect(nm[0]).toMatchObject({ CORRELATION_ID: 'resume-dead@gen', NO_MEDIA: 1, REPORT_START: resumedAtS });
      expect(nm[0].NO_MEDIA_MS as number).toBeGreaterThanOrEqual(5000);
      expect(nm[0].NO_MEDIA_MS as number).toBeLessThan(6100);
      expect(nm[1]).toMatchObject({ CLEAR_REASON: 'stream-ended' });
    });
  });

  it('thresholds come from reports.faults; 0 turns a check off', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 12_000);
    answeredCall(t, 'off@gen');
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 });
    const file = join(dir, 'off.pcap');
    writeFileSync(file, t.pcap());
    const off = await replayReports(file, e2eConfig((cfg) => void (cfg.reports.faults.oneWayS = 0)));
    expect(alerts(off, 'one-way-rtp')).toHaveLength(0);
    const late = await replayReports(file, e2eConfig((cfg) => void (cfg.reports.faults.oneWayS = 9)));
    const alert = alerts(late, 'one-way-rtp').find((r) => r.TYPE === 'ALERT')!;
    expect(alert.REPORT_TS).toBeGreaterThanOrEqual(Math.floor((T0 + 50 + 9000) / 1000));
  });

  it('a configuration reload changes the thresholds of a running pipeline (off at start, on after)', () => {
    const t = new CaptureTimeline();
    background(t, T0 + 12_000);
    answeredCall(t, 'reload@gen');
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 550 });
    const batch = recordsBatch(t.records());
    const run = (reload: boolean): QosReport[] => {
      const config = defaultConfig();
      config.reports.faults = { noMediaS: 0, oneWayS: 0, silenceS: 0 };
      const out: QosReport[] = [];
      const p = new Pipeline(config, { qos: (r) => out.push(r), rtcp: () => {} });
      if (reload) p.faults.setLimits(mediaFaultLimits({ noMediaS: 0, oneWayS: 3, silenceS: 0 }));
      p.processBatch(batch);
      p.finish();
      return out;
    };
    expect(run(false).filter((r) => r.TYPE === 'ALERT')).toHaveLength(0);
    const alert = run(true).filter((r) => r.TYPE === 'ALERT');
    expect(alert.map((r) => r.ALERT_RULE)).toEqual(['one-way-rtp']);
    expect(alert[0].REPORT_TS).toBeLessThanOrEqual(Math.floor((T0 + 50 + 4000) / 1000) + 1);
  });
});

describe('a packet-less gap in a replayed capture', () => {
  it('ticks through it as a live timer would: the same reports as with other traffic all along (silence paged, stream timed out, new stream after)', async () => {
    // Both directions lose 60 s of packets (the sequence jumps), longer than rtp.silence_timeout_s (30 s).
    const outage = (t: CaptureTimeline, s: number): void => {
      const a = t.rtp(s, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
      const b = t.rtp(s + 5, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 200 });
      t.rtp(s + 4000 + 60_000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq + 3000, ts: a.ts + 3000 * 160, count: 200 });
      t.rtp(s + 4005 + 60_000, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: b.seq + 3000, ts: b.ts + 3000 * 160, count: 200 });
    };
    const gap = await replayCall('outage-gap', 68_200, outage, undefined, false, undefined, false);
    const timer = await replayCall('outage-timer', 68_200, outage);
    const shape = (reports: E2eReport[]) => reports.map((r) => [r.TYPE, r.ALERT_RULE ?? '', r.SSRC, r.TOTAL_PK, r.REPORT_TS, r.CURRENT_SILENCE_MS ?? '']);
    expect(shape(gap)).toEqual(shape(timer));
    const sa = alerts(gap, 'silence').filter(ab);
    expect(sa.map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    // Last packet before the gap at +4080 ms: paged at the first tick 5 s after it, ended 30 s after it.
    expect(sa[0].REPORT_TS).toBe(Math.floor((T0 + 100 + 3980 + 5000) / 1000) + 1);
    expect(gap.filter((r) => ab(r) && (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP')).map((r) => [r.TYPE, r.TOTAL_PK])).toEqual([
      ['FINAL', 200],
      ['HANGUP', 200],
    ]);
  });
  it('a gap first reached by a new call while a stream is in progress (capture time held to tell a clock step, a real gap): no report of it before it began, no ticks caught up after its packets', async () => {
    // The first call's streams stop (no BYE: they are in progress, able to tell a host clock step); 120 s
    // later a second call's INVITE comes: its SIP and first RTP wait while capture time holds, and are
    // handled at their own time once the jump proves a real gap, after its ticks. Its media is one-way
    // (caller only).
    const t = new CaptureTimeline();
    answeredCall(t, 'before-gap@gen');
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 100 });
    t.rtp(T0 + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 100 });
    const C = { ip: '10.3.0.30', port: 42000, ssrc: 0x3333cccc };
    const D = { ip: '10.4.0.40', port: 52000 };
    const s2 = T0 + 2100 + 120_000;
    const d = new DialogWriter(t, 'after-gap@gen', C.ip, D.ip);
    const c = d.invite(s2, audio(C.ip, C.port));
    d.respond(s2 + 50, 200, c, audio(D.ip, D.port));
    d.ack(s2 + 60, c);
    t.rtp(s2 + 100, C.ip, C.port, D.ip, D.port, { ssrc: C.ssrc, seq: 1, ts: 0, count: 500 });
    const bye = d.bye(s2 + 10_200);
    d.respond(s2 + 10_201, 200, bye, null, { method: 'BYE' });
    const file = join(dir, 'held-gap.pcap');
    writeFileSync(file, t.pcap());
    const reports = await replayReports(file, e2eConfig());
    const after = reports.filter((r) => r.RTP_SIP_CALL_ID === 'after-gap@gen');
    expect(after.filter((r) => Number(r.REPORT_TS) < Math.floor(s2 / 1000)).map((r) => [r.TYPE, r.ALERT_RULE, r.REPORT_TS])).toEqual([]);
    expect(after.filter((r) => r.TYPE === 'ALERT').map((r) => r.ALERT_RULE)).toEqual(['one-way-rtp']);
    expect(after.filter((r) => r.TYPE === 'HANGUP').map((r) => r.TOTAL_PK)).toEqual([500]);
    expect(reports.filter((r) => r.RTP_SIP_CALL_ID === 'before-gap@gen' && r.TYPE === 'FINAL').map((r) => r.TOTAL_PK)).toEqual([100, 100]);
  });
});

describe('silence of streams no SIP describes', () => {
  it('a stream that stops is not alerted as a silence before its timeout; a pause it resumes from counts as a silence, unalerted', async () => {
    const C = { ip: '10.3.0.30', port: 42000, ssrc: 0x3333cccc };
    const D = { ip: '10.4.0.40', port: 52000, ssrc: 0x4444dddd };
    const t = new CaptureTimeline();
    background(t, T0 + 25_000);
    // A -> B: 4 s of RTP, then nothing (the call ended; its BYE was not captured): FINAL at the 10 s timeout.
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
    // C -> D: 4 s, a 7 s pause with the sequence continuing (a silence), then 5 s more.
    const c = t.rtp(T0 + 100, C.ip, C.port, D.ip, D.port, { ssrc: C.ssrc, seq: 1, ts: 0, count: 200 });
    t.rtp(T0 + 4100 + 7000, C.ip, C.port, D.ip, D.port, { ssrc: C.ssrc, seq: c.seq, ts: c.ts + 350 * 160, count: 250 });
    const file = join(dir, 'no-sip-pauses.pcap');
    writeFileSync(file, t.pcap());
    const reports = await replayReports(file, e2eConfig((cfg) => void (cfg.rtp.silenceTimeoutS = 10)));
    const cd = (r: E2eReport) => r.SRC_IP === C.ip && r.DST_IP === D.ip;
    const endAB = reports.find((r) => r.TYPE === 'FINAL' && ab(r))!;
    const endCD = reports.find((r) => r.TYPE === 'FINAL' && cd(r))!;
    // Both streams were measured and ended; the one that stopped ended at its timeout, not at the end of input.
    expect(endAB).toMatchObject({ TOTAL_PK: 200, SILENCES: 0 });
    expect(endAB.REPORT_TS as number).toBeLessThan(Math.floor((T0 + 25_000) / 1000));
    expect(endCD).toMatchObject({ TOTAL_PK: 450, SILENCES: 1, MAX_SILENCE_MS: 7020, PACKET_LOSS: 0 });
    expect(alerts(reports, 'silence').map((r) => `${r.TYPE} ${r.SRC_IP}`)).toEqual([]);
  });
});

describe('silences in a public capture, against tshark', () => {
  it("SIP_CALL_RTP_G711.pcap: the 5.8 s pause of SSRC 0xD2BD4E3E on both legs is a silence as long as tshark's Max Delta", async () => {
    const file = new URL('../../../shared/captures/SIP_CALL_RTP_G711.pcap', import.meta.url).pathname;
    const tshark = readFileSync(file.replace(/\.pcap$/, '.tshark.txt'), 'utf8');
    // tshark -z rtp,streams rows: ... Src IP, port, Dst IP, port, SSRC, payload, packets, lost, min, mean, max delta ...
    const rows = [...tshark.matchAll(/^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-F]+)\s+\S+\s+\d+\s+\d+ \([^)]*\)\s+[\d.]+\s+[\d.]+\s+([\d.]+)/gm)];
    const reports = await replayReports(file, e2eConfig());
    const finals = reports.filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
    let silent = 0;
    for (const [, src, sport, dst, dport, ssrc, maxDelta] of rows) {
      const r = finals.find((f) => f.SRC_IP === src && f.SRC_PORT === +sport && f.DST_IP === dst && f.DST_PORT === +dport && f.SSRC === parseInt(ssrc, 16))!;
      expect(r, `${src}:${sport} > ${dst}:${dport}`).toBeDefined();
      if (+maxDelta >= 5000) {
        silent++;
        expect(r).toMatchObject({ SILENCES: 1, MAX_SILENCE_MS: +maxDelta, PACKET_LOSS: 0 });
      } else expect(r.SILENCES).toBe(0);
    }
    expect(silent).toBe(2);
  });
});

describe('no-media in public captures', () => {
  it('isa-real-sip-call.pcap: a PBX re-INVITEs both legs to one direct media path; the leg whose streams joined the other is not without media', async () => {
    const file = new URL('../../../shared/captures/field/isa-real-sip-call.pcap', import.meta.url).pathname;
    const reports = await replayReports(file, e2eConfig());
    const ends = reports.filter((r) => r.TYPE === 'HANGUP');
    expect(ends.map((r) => r.CORRELATION_ID)).toEqual(['6ec6bf8a55eeede74301b30b42cb039f@10.0.2.15:5060', '6ec6bf8a55eeede74301b30b42cb039f@10.0.2.15:5060']);
    expect(reports.filter((r) => r.TYPE === 'ALERT')).toEqual([]);
  });

  it('SIP_DTMF2.pcap: media starts 15 s after the answer (no-media until then), and flows caller to callee only, through a relay', async () => {
    const reports = await replayReports(new URL('../../../shared/captures/SIP_DTMF2.pcap', import.meta.url).pathname, e2eConfig());
    expect(alerts(reports, 'no-media').map((r) => r.TYPE)).toEqual(['ALERT', 'CLEARED']);
    // Both streams carry the caller's audio: into the relay (from the caller's SDP address) and out of it (to the callee's).
    const ow = alerts(reports, 'one-way-rtp');
    // The capture ends with the audio still one way: each stream's end clears its alert.
    expect(ow.map((r) => `${r.TYPE} ${r.SRC_IP}:${r.SRC_PORT} ${r.CLEAR_REASON ?? ''}`).sort()).toEqual([
      'ALERT 192.168.105.110:4374 ', 'ALERT 192.168.105.172:4376 ', 'CLEARED 192.168.105.110:4374 stream-ended', 'CLEARED 192.168.105.172:4376 stream-ended',
    ]);
  });
});

/** A capture through one pipeline, the reference worker mode is held to; `finish`: its open streams end too. */
function inOnePipeline(t: CaptureTimeline, finish: boolean): QosReport[] {
  const reports: QosReport[] = [];
  const p = new Pipeline(defaultConfig(), { qos: (r) => reports.push(r), rtcp: () => {} });
  p.processBatch(recordsBatch(t.records()));
  if (finish) p.finish();
  return reports;
}

/**
 * A capture through a signalling owner and one media worker's pipeline (no threads): the reports of each.
 * `step`: the capture host's clock steps by `ms` at `atMs` (capture times from then on moved by it); the
 * pool's once-a-second timer runs on the monotonic clock, which does not step.
 */
function inWorkerMode(t: CaptureTimeline, step?: { atMs: number; ms: number }): { fromOwner: QosReport[]; fromWorker: QosReport[] } {
  const reference = t.records();
  const atNs = step ? BigInt(Math.round(step.atMs * 1e6)) : 0n;
  const batch = recordsBatch(step ? reference.map((r) => (r.tsNs >= atNs ? { ...r, tsNs: r.tsNs + BigInt(step.ms) * 1_000_000n } : r)) : reference);
  const config = defaultConfig();
  const fromOwner: QosReport[] = [];
  const fromWorker: QosReport[] = [];
  const pending: MainToWorker[] = [];
  const owner = new SignallingOwner(config, (m) => pending.push(m), undefined, { target: { qos: (r) => fromOwner.push(r), rtcp: () => {} }, nodeName: 'n' });
  let mirror!: BindingMirror;
  const worker = new Pipeline(config, { qos: (r) => fromWorker.push(r), rtcp: () => {} }, {}, (hooks) => (mirror = new BindingMirror(config, hooks, unboundedSip())));
  let nextMs = 0;
  for (let i = 0; i < batch.count; i++) {
    const ms = batch.tsSec[i]! * 1000 + batch.tsNsec[i]! / 1e6;
    const monoMs = Number(reference[i]!.tsNs) / 1e6;
    if (monoMs >= nextMs) {
      // What the pool does once a second: the worker's touched calls and clock offset, then expiry (and the checks).
      nextMs = monoMs + 1000;
      const touched = mirror.takeTouched();
      if (touched) owner.touch(touched.callIndex, touched.callId, touched.mediaAtMs, worker.nowMs);
      owner.workerClock(0, worker.clockOffsetMs, worker.clockSteps, worker.nowMs);
      owner.expire(ms, monoMs);
    }
    for (const m of pending.splice(0)) mirror.apply(m);
    worker.processPacket(batch, i);
    const sip = mirror.takeSip();
    for (const s of sip ?? []) owner.onSip(s, 0);
  }
  worker.finish();
  return { fromOwner, fromWorker };
}

describe('no-media in worker mode (signalling owner + a mirrored pipeline, no threads)', () => {
  it("is checked where the SIP is, from the worker's touches; early media that goes on after the answer counts; a resume from hold makes media due again", () => {
    const t = new CaptureTimeline();
    background(t, T0 + 13_000);
    // Call 1: media 8 s after the answer. Call 2: early media (183) from the start, going on after the
    // answer: its stream started before the answer, so only the worker's later touches tell the owner.
    answeredCall(t, 'late@gen');
    t.rtp(T0 + 8100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 8105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
    const d2 = new DialogWriter(t, 'early@gen', C.ip, D.ip);
    const c2 = d2.invite(T0, audio(C.ip, C.port));
    d2.respond(T0 + 40, 183, c2, audio(D.ip, D.port));
    t.rtp(T0 + 200, D.ip, D.port, C.ip, C.port, { ssrc: 0x33, seq: 1, ts: 0, count: 600 });
    d2.respond(T0 + 3000, 200, c2, audio(D.ip, D.port));
    // Call 3: media both ways for 2 s, held (inactive) at +2.5 s, resumed at +4 s, no media after it.
    const E = { ip: '10.1.0.12', port: 42000 };
    const F = { ip: '10.2.0.22', port: 52000 };
    const d3 = answeredBetween(t, 'resumed@gen', E, F);
    t.rtp(T0 + 100, E.ip, E.port, F.ip, F.port, { ssrc: 0x44, seq: 1, ts: 0, count: 100 });
    t.rtp(T0 + 105, F.ip, F.port, E.ip, E.port, { ssrc: 0x45, seq: 1, ts: 0, count: 100 });
    reoffer(d3, T0 + 2500, audio(E.ip, E.port, 'inactive'), audio(F.ip, F.port, 'inactive'));
    reoffer(d3, T0 + 4000, audio(E.ip, E.port), audio(F.ip, F.port));
    const { fromOwner: all, fromWorker } = inWorkerMode(t);
    const resumed = all.filter((r) => r.CORRELATION_ID === 'resumed@gen');
    // ALERT only: the paused streams' interval reports are no media (the replay ends without a BYE).
    expect(resumed.map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual(['ALERT no-media']);
    expect(resumed[0]).toMatchObject({ REPORT_START: (T0 + 4020) / 1000 });
    const fromOwner = all.filter((r) => r.CORRELATION_ID !== 'resumed@gen');
    const nm = fromOwner.filter((r) => r.ALERT_RULE === 'no-media');
    expect(nm.map((r) => `${r.TYPE} ${r.CORRELATION_ID}`)).toEqual(['ALERT late@gen', 'CLEARED late@gen']);
    expect(nm[0]!.NO_MEDIA_MS as number).toBeGreaterThanOrEqual(5000);
    expect(nm[1]!.NO_MEDIA_MS as number).toBeLessThan(8050 + 2100);
    expect(nm[1]).toMatchObject({ CLEAR_REASON: 'rule' }); // media arrived
    // Worker mode does not check one-way RTP (call 2's audio flows from the callee only).
    expect(fromWorker.filter((r) => r.ALERT_RULE === 'one-way-rtp' || r.ALERT_RULE === 'no-media')).toEqual([]);
  });
});

describe('no-media in worker mode across a host clock step', () => {
  it('a step forward of 1.9 s, the owner checking calls before the worker measured it: no early ALERT, as in one pipeline', () => {
    const t = new CaptureTimeline();
    background(t, T0 + 8000);
    // A call whose RTP measures the step, and one answered at T0 + 50 ms whose media starts 4.45 s later,
    // within reports.faults.no_media_s (5 s).
    answeredBetween(t, 'talk@gen', C, D);
    t.rtp(T0 + 100, C.ip, C.port, D.ip, D.port, { ssrc: 0x33, seq: 1, ts: 0, count: 390 });
    t.rtp(T0 + 105, D.ip, D.port, C.ip, C.port, { ssrc: 0x34, seq: 1, ts: 0, count: 390 });
    answeredCall(t, 'late@gen');
    t.rtp(T0 + 4500, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 4505, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 150 });
    const single = inOnePipeline(t, true);
    const noMedia = (rs: QosReport[]) => rs.filter((r) => r.ALERT_RULE === 'no-media').map((r) => `${r.TYPE} ${r.CORRELATION_ID}`);
    expect(noMedia(single)).toEqual([]);
    expect(noMedia(inWorkerMode(t).fromOwner)).toEqual([]);
    // The step comes 9.5 ms before the timer fires (T0 + 4 s) and the next RTP packet that measures it.
    expect(noMedia(inWorkerMode(t, { atMs: T0 + 3990.5, ms: 1900 }).fromOwner)).toEqual([]);
  });
});

describe('no-media in worker mode: a stream that stopped is no media', () => {
  it("ringback (183) that stops at the answer, nothing after: no-media ALERT, not cleared by the stream's interval reports", () => {
    const t = new CaptureTimeline();
    background(t, T0 + 25_000);
    const d = new DialogWriter(t, 'dead-after-ringback@gen', A.ip, B.ip);
    const c = d.invite(T0, audio(A.ip, A.port));
    d.respond(T0 + 40, 183, c, audio(B.ip, B.port));
    t.rtp(T0 + 100, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 140 });
    d.respond(T0 + 3000, 200, c, audio(B.ip, B.port));
    d.ack(T0 + 3010, c);
    const { fromOwner } = inWorkerMode(t);
    // The replay ends without a BYE: the ALERT stays open, as in a single pipeline.
    expect(fromOwner.map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual(['ALERT no-media']);
    const single = inOnePipeline(t, false);
    expect(single.filter((r) => r.ALERT_RULE === 'no-media').map((r) => `${r.TYPE} ${r.ALERT_RULE}`)).toEqual(['ALERT no-media']);
    expect(fromOwner[0]!.NO_MEDIA_MS).toBe(single.find((r) => r.ALERT_RULE === 'no-media')!.NO_MEDIA_MS);
  });
});

describe('silence in worker mode (signalling owner + a mirrored pipeline, no threads)', () => {
  it('pages the pause of a call that is up or resumed from hold, not that of a call on hold (inactive, or c=0.0.0.0 answered sendrecv), of a call still ringing, of a stream no SIP describes nor of video', () => {
    const t = new CaptureTimeline();
    background(t, T0 + 25_000);
    // Call 1 (A, B): A -> B pauses 7 s, the call up. Call 2 (C, D): held (inactive) from +3 s to +11 s.
    // Both end by BYE at +16 s. E -> F: no SIP, 4 s of RTP, then nothing.
    const E = { ip: '10.3.0.30', port: 42000 };
    const F = { ip: '10.4.0.40', port: 52000 };
    const up = answeredCall(t, 'up@gen');
    const a = t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
    t.rtp(T0 + 4100 + 7000, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: a.seq, ts: a.ts + 350 * 160, count: 250 });
    up.bye(T0 + 16_200);
    const held = new DialogWriter(t, 'held@gen', C.ip, D.ip);
    const c = held.invite(T0, audio(C.ip, C.port));
    held.respond(T0 + 50, 200, c, audio(D.ip, D.port));
    held.ack(T0 + 60, c);
    reoffer(held, T0 + 3100, audio(C.ip, C.port, 'inactive'), audio(D.ip, D.port, 'inactive'));
    reoffer(held, T0 + 11_100, audio(C.ip, C.port), audio(D.ip, D.port));
    const cd = t.rtp(T0 + 100, C.ip, C.port, D.ip, D.port, { ssrc: 0x55, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 11_140, C.ip, C.port, D.ip, D.port, { ssrc: 0x55, seq: cd.seq, ts: cd.ts + 400 * 160, count: 250 });
    held.bye(T0 + 16_300);
    t.rtp(T0 + 100, E.ip, E.port, F.ip, F.port, { ssrc: 0x66, seq: 1, ts: 0, count: 200 });
    // Call 3 (G, H): early media from H for 2 s, answered at +10 s, then media again; BYE at +14 s.
    const G = { ip: '10.1.0.12', port: 43000 };
    const H = { ip: '10.2.0.22', port: 53000 };
    const ringing = new DialogWriter(t, 'ringing@gen', G.ip, H.ip);
    const ri = ringing.invite(T0, audio(G.ip, G.port));
    ringing.respond(T0 + 50, 183, ri, audio(H.ip, H.port));
    const hg = t.rtp(T0 + 100, H.ip, H.port, G.ip, G.port, { ssrc: 0x77, seq: 1, ts: 0, count: 100 });
    ringing.respond(T0 + 10_000, 200, ri, audio(H.ip, H.port));
    ringing.ack(T0 + 10_010, ri);
    t.rtp(T0 + 10_100, H.ip, H.port, G.ip, G.port, { ssrc: 0x77, seq: hg.seq, ts: hg.ts + 400 * 160, count: 200 });
    ringing.bye(T0 + 14_500);
    // Call 4 (J, K): audio both ways; J -> K video 3 s, off 8 s, on again; BYE at +15 s.
    const J = { ip: '10.1.0.13', port: 44000 };
    const K = { ip: '10.2.0.23', port: 54000 };
    const vc = new DialogWriter(t, 'video@gen', J.ip, K.ip);
    const vi = vc.invite(T0, withVideo(J.ip, J.port));
    vc.respond(T0 + 50, 200, vi, withVideo(K.ip, K.port));
    vc.ack(T0 + 60, vi);
    t.rtp(T0 + 100, J.ip, J.port, K.ip, K.port, { ssrc: 0x88, seq: 1, ts: 0, count: 740 });
    t.rtp(T0 + 105, K.ip, K.port, J.ip, J.port, { ssrc: 0x99, seq: 1, ts: 0, count: 740 });
    video(t, T0 + 110, J, K, 0x71de0c, 90);
    video(t, T0 + 11_110, J, K, 0x71de0c, 100);
    vc.bye(T0 + 15_000);
    // Call 5 (L, M): held by L with c=0.0.0.0 (RFC 2543), answered sendrecv, from +3 s to +11 s: L -> M
    // stops meanwhile, to the address of a side whose own SDP stays sendrecv; BYE at +16 s.
    const L = { ip: '10.1.0.14', port: 45000 };
    const M = { ip: '10.2.0.24', port: 55000 };
    const old = answeredBetween(t, 'rfc2543-hold@gen', L, M);
    reoffer(old, T0 + 3100, audio('0.0.0.0', L.port), audio(M.ip, M.port));
    reoffer(old, T0 + 11_100, audio(L.ip, L.port), audio(M.ip, M.port));
    const lm = t.rtp(T0 + 100, L.ip, L.port, M.ip, M.port, { ssrc: 0xaa, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 11_140, L.ip, L.port, M.ip, M.port, { ssrc: 0xaa, seq: lm.seq, ts: lm.ts + 400 * 160, count: 250 });
    old.bye(T0 + 16_300);
    // Call 6 (N, O): both ways, held (inactive) from +3 s to +11 s; after the resume only N sends: O's
    // stream, paused during the hold, is paged 5 s after the resume; BYE at +18 s.
    const N = { ip: '10.1.0.15', port: 46000 };
    const O = { ip: '10.2.0.25', port: 56000 };
    const mute = answeredBetween(t, 'mute-after-resume@gen', N, O);
    reoffer(mute, T0 + 3100, audio(N.ip, N.port, 'inactive'), audio(O.ip, O.port, 'inactive'));
    reoffer(mute, T0 + 11_100, audio(N.ip, N.port), audio(O.ip, O.port));
    const no = t.rtp(T0 + 100, N.ip, N.port, O.ip, O.port, { ssrc: 0xbb, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 105, O.ip, O.port, N.ip, N.port, { ssrc: 0xcc, seq: 1, ts: 0, count: 150 });
    t.rtp(T0 + 11_140, N.ip, N.port, O.ip, O.port, { ssrc: 0xbb, seq: no.seq, ts: no.ts + 400 * 160, count: 340 });
    mute.bye(T0 + 18_000);
    const { fromWorker } = inWorkerMode(t);
    const paged = fromWorker.filter((r) => r.ALERT_RULE === 'silence');
    expect(paged.map((r) => `${r.TYPE} ${r.SRC_IP}`)).toEqual([`ALERT ${A.ip}`, `CLEARED ${A.ip}`, `ALERT ${O.ip}`, `CLEARED ${O.ip}`]);
    expect(paged[2].REPORT_TS).toBeGreaterThanOrEqual(Math.floor((T0 + 11_120 + 5000) / 1000));
    expect(fromWorker.find((r) => (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP') && ((r.SSRC as number) >>> 0) === 0x71de0c)).toMatchObject({ SILENCES: 1 });
    // The pauses that were not paged still count as silences of their streams.
    const end = (ip: string) => fromWorker.find((r) => (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP') && r.SRC_IP === ip)!;
    expect(end(C.ip)).toMatchObject({ SILENCES: 1 });
    expect(end(L.ip)).toMatchObject({ SILENCES: 1 });
    expect(end(E.ip)).toMatchObject({ TOTAL_PK: 200, SILENCES: 0 });
    expect(end(H.ip)).toMatchObject({ TOTAL_PK: 300, SILENCES: 1 });
  });
});

describe('no-media of a call whose answer had no SDP', () => {
  it("names the unknown side 0.0.0.0 port 0, and HEP can carry the report", async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 9000);
    const d = new DialogWriter(t, 'no-sdp-answer@gen', A.ip, B.ip);
    const c = d.invite(T0, audio(A.ip, A.port));
    d.respond(T0 + 50, 200, c, null);
    const file = join(dir, 'no-sdp-answer.pcap');
    writeFileSync(file, t.pcap());
    const reports = await replayReports(file, e2eConfig());
    const alert = reports.find((r) => r.TYPE === 'ALERT' && r.ALERT_RULE === 'no-media')!;
    expect(alert).toMatchObject({ SRC_IP: '0.0.0.0', SRC_PORT: 0, DST_IP: A.ip, DST_PORT: A.port });
    const bytes = encodeHep3({ ipFamily: 4, ipProto: 17, srcIp: String(alert.SRC_IP), dstIp: String(alert.DST_IP), srcPort: alert.SRC_PORT, dstPort: alert.DST_PORT, tsSec: 1, tsUsec: 0, protoType: 35, captureId: 1, correlationId: String(alert.CORRELATION_ID), payload: JSON.stringify(alert) });
    expect(decodeHep3Strict(bytes)).toMatchObject({ srcIp: '0.0.0.0', correlationId: 'no-sdp-answer@gen' });
  });
});
