/**
 * SIP call flows an operator's network has, generated and replayed through runReplay (the CLI's path),
 * each stream's packets per Call-ID checked against tshark's: which SDP (rtp.setup-frame) each RTP packet
 * belongs to, counted per stream and the Call-ID of that SDP.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtp, sdpBody, sipRequest, sipResponse, tcpFrame, text, udpFrame } from '../../src/gen/index.js';
import type { SdpSpec } from '../../src/gen/index.js';
import { e2eConfig, finals, replayReports, reportKey } from '../e2e/helpers.js';
import type { E2eReport } from '../e2e/helpers.js';

const T0 = 1_700_000_000_000;
const A = { ip: '10.1.0.10', port: 40000, ssrc: 0x1111aaaa };
const B = { ip: '10.2.0.20', port: 50000, ssrc: 0x2222bbbb };
const audio = (ip: string, port: number, direction?: SdpSpec['direction']): SdpSpec => ({ ip, media: [{ port, formats: [8], direction }] });
/** One 20 ms PCMU packet. */
const rtpPcmu = (seq: number, ts: number, ssrc: number) => rtp({ pt: 0, seq, ts, ssrc });
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-flows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Other traffic of the mirror port, a non-RTP datagram every 250 ms: replay's capture time keeps ticking through pauses. */
function background(t: CaptureTimeline, untilMs: number): void {
  for (let ms = T0; ms <= untilMs; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
}

/**
 * RTP packets per stream and Call-ID as tshark assigns them (the Call-ID of each packet's rtp.setup-frame;
 * of a frame holding several SIP messages, that of the one whose CSeq method carries SDP offers and answers).
 */
function tsharkPacketsPerCall(file: string): Map<string, number> {
  const fields = ['frame.number', 'sip.Call-ID', 'sip.CSeq.method', 'ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'rtp.ssrc', 'rtp.setup-frame'];
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', 'rtp || sip', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  const callIds = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [frame, callId, method, src, srcPort, dst, dstPort, ssrc, setup] = line.split('\t');
    if (callId) {
      const ids = callId.split(',');
      const at = method.split(',').findIndex((m) => ['INVITE', 'ACK', 'PRACK', 'UPDATE'].includes(m));
      callIds.set(frame, ids[Math.max(0, at)]);
    }
    if (!ssrc) continue;
    const key = `${reportKey({ SRC_IP: src, SRC_PORT: +srcPort, DST_IP: dst, DST_PORT: +dstPort, SSRC: parseInt(ssrc, 16) })} ${callIds.get(setup) ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The probe's packets per stream and Call-ID, from its final reports (a stream split in two rows is summed per Call-ID). */
function probePacketsPerCall(reports: E2eReport[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of finals(reports)) {
    const key = `${reportKey(r)} ${r.CORRELATION_ID}`;
    counts.set(key, (counts.get(key) ?? 0) + r.TOTAL_PK);
  }
  return counts;
}

/** A call between A and B answered (200 OK) 50 ms after its INVITE at `at`. */
function answeredCall(t: CaptureTimeline, callId: string, at: number): DialogWriter {
  const d = new DialogWriter(t, callId, A.ip, B.ip);
  const c = d.invite(at, audio(A.ip, A.port));
  d.respond(at + 50, 200, c, audio(B.ip, B.port));
  d.ack(at + 60, c);
  return d;
}

async function replay(name: string, t: CaptureTimeline): Promise<{ file: string; reports: E2eReport[] }> {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, t.pcap());
  return { file, reports: await replayReports(file, e2eConfig()) };
}

describe('a media server reusing its RTP port for the next call', () => {
  for (const ssrc of ['the same SSRC', 'a new SSRC'] as const) {
    it(`two calls on one 5-tuple 2.8 s apart (${ssrc}): each call's packets under its own Call-ID, as tshark assigns them`, async () => {
      const t = new CaptureTimeline();
      background(t, T0 + 14_000);
      for (const k of [0, 1]) {
        const at = T0 + k * 8000;
        const d = answeredCall(t, `reuse-${k}@gen`, at);
        const next = ssrc === 'a new SSRC' ? k : 0;
        t.rtp(at + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc + next, seq: 1 + k * 5000, ts: 0, count: 250 });
        t.rtp(at + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc + next, seq: 1 + k * 5000, ts: 0, count: 250 });
        // BYE 100 ms after the last packet; the next call's INVITE comes 2.7 s later, within sip.media_linger_s.
        const bc = d.bye(at + 5200);
        d.respond(at + 5201, 200, bc, null, { method: 'BYE' });
      }
      const { file, reports } = await replay(`reuse-${ssrc.replace(/ /g, '-')}`, t);
      const tshark = tsharkPacketsPerCall(file);
      expect([...tshark.values()]).toEqual([250, 250, 250, 250]);
      expect(probePacketsPerCall(reports)).toEqual(tshark);
    });
  }
});

const alertsOf = (reports: E2eReport[], rule: string) => reports.filter((r) => r.ALERT_RULE === rule).map((r) => `${r.TYPE} ${reportKey(r)}`);

describe('media that a re-offer or another fork replaced', () => {
  /**
   * An answered call, 200 packets each way; at 4.1 s `move` changes where the media goes (re-INVITE,
   * UPDATE) and `after` writes what flows from then on; BYE at 11 s (background traffic keeps the
   * once-a-second checks going).
   */
  async function movedCall(name: string, move: (t: CaptureTimeline, d: DialogWriter, at: number) => void, after: (t: CaptureTimeline, at: number, b: { seq: number; ts: number }) => void) {
    const t = new CaptureTimeline();
    background(t, T0 + 12_000);
    const d = answeredCall(t, `${name}@gen`, T0);
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
    const b = t.rtp(T0 + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 200 });
    move(t, d, T0 + 4100);
    after(t, T0 + 4150, b);
    const bc = d.bye(T0 + 11_000);
    d.respond(T0 + 11_001, 200, bc, null, { method: 'BYE' });
    return replay(name, t);
  }
  const A2 = { ip: '10.1.0.11', port: 42000, ssrc: 0x3333 };

  it("a re-INVITE moving the caller's media to another address, port and codec: the old stream is no silence; every packet under the call, as tshark", async () => {
    const { file, reports } = await movedCall(
      'moved-caller',
      (t, d, at) => {
        const r = d.invite(at, { ip: A2.ip, media: [{ port: A2.port, formats: [0] }] }, { reinvite: true });
        d.respond(at + 20, 200, r, { ip: B.ip, media: [{ port: B.port, formats: [0] }] });
        d.ack(at + 30, r);
      },
      (t, at, b) => {
        for (let i = 0; i < 300; i++) {
          t.add(at + i * 20, udpFrame(A2.ip, A2.port, B.ip, B.port, rtpPcmu(9000 + i, 777 + i * 160, A2.ssrc)));
          t.add(at + 5 + i * 20, udpFrame(B.ip, B.port, A2.ip, A2.port, rtpPcmu(b.seq + i, b.ts + i * 160, B.ssrc)));
        }
      },
    );
    expect(alertsOf(reports, 'silence')).toEqual([]);
    expect(probePacketsPerCall(reports)).toEqual(tsharkPacketsPerCall(file));
  });

  it("an UPDATE moving the callee's media to another port (late offer: no SDP in the INVITE, the offer in the 200 OK, the answer in the ACK): the old stream is no silence", async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 12_000);
    const callId = 'late-offer-update@gen';
    const tags = { callId, fromTag: 'a', toTag: 'b' };
    t.sip(T0, A.ip, B.ip, sipRequest('INVITE', 'sip:b@example.com', { callId, fromTag: 'a', cseq: 1 }));
    t.sip(T0 + 50, B.ip, A.ip, sipResponse(200, { ...tags, cseq: 1, cseqMethod: 'INVITE', body: sdpBody(audio(B.ip, B.port)) }));
    t.sip(T0 + 60, A.ip, B.ip, sipRequest('ACK', 'sip:b@example.com', { ...tags, cseq: 1, body: sdpBody(audio(A.ip, A.port)) }));
    const a = t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 200 });
    t.rtp(T0 + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 200 });
    // The callee moves to port 50100 by UPDATE (its own request: From tag b) with a new SSRC.
    t.sip(T0 + 4100, B.ip, A.ip, sipRequest('UPDATE', 'sip:a@example.com', { callId, fromTag: 'b', toTag: 'a', cseq: 1, body: sdpBody(audio(B.ip, B.port + 100)) }));
    t.sip(T0 + 4120, A.ip, B.ip, sipResponse(200, { callId, fromTag: 'b', toTag: 'a', cseq: 1, cseqMethod: 'UPDATE', body: sdpBody(audio(A.ip, A.port)) }));
    t.rtp(T0 + 4150, A.ip, A.port, B.ip, B.port + 100, { ssrc: A.ssrc, ...a, count: 300 });
    t.rtp(T0 + 4155, B.ip, B.port + 100, A.ip, A.port, { ssrc: 0x5555, seq: 1, ts: 0, count: 300 });
    t.sip(T0 + 11_000, A.ip, B.ip, sipRequest('BYE', 'sip:b@example.com', { ...tags, cseq: 2 }));
    const { file, reports } = await replay('late-offer-update', t);
    expect(alertsOf(reports, 'silence')).toEqual([]);
    expect(probePacketsPerCall(reports)).toEqual(tsharkPacketsPerCall(file));
  });

  it('a forked INVITE with two 183s (two To tags, two media addresses), one fork answering: the early media of the other is no silence', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 10_000);
    const callId = 'two-early-dialogs@gen';
    const proxy = '10.9.0.1';
    const [f1, f2] = [{ ip: '10.2.0.31', port: 51000 }, { ip: '10.2.0.32', port: 52000 }];
    const reply = (status: number, toTag: string, sdp: SdpSpec | null) => sipResponse(status, { callId, fromTag: 'a', toTag, cseq: 1, cseqMethod: 'INVITE', body: sdp ? sdpBody(sdp) : '' });
    t.sip(T0, A.ip, proxy, sipRequest('INVITE', 'sip:b@example.com', { callId, fromTag: 'a', cseq: 1, body: sdpBody(audio(A.ip, A.port)) }));
    t.sip(T0 + 30, proxy, A.ip, reply(183, 'b1', audio(f1.ip, f1.port)));
    t.sip(T0 + 40, proxy, A.ip, reply(183, 'b2', audio(f2.ip, f2.port)));
    t.rtp(T0 + 100, f1.ip, f1.port, A.ip, A.port, { ssrc: 0x31, seq: 1, ts: 0, count: 100 });
    const ring = t.rtp(T0 + 105, f2.ip, f2.port, A.ip, A.port, { ssrc: 0x32, seq: 1, ts: 0, count: 100 });
    t.sip(T0 + 2500, proxy, A.ip, reply(200, 'b2', audio(f2.ip, f2.port)));
    t.sip(T0 + 2510, A.ip, proxy, sipRequest('ACK', 'sip:b@example.com', { callId, fromTag: 'a', toTag: 'b2', cseq: 1 }));
    t.rtp(T0 + 2600, A.ip, A.port, f2.ip, f2.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 300 });
    t.rtp(T0 + 2605, f2.ip, f2.port, A.ip, A.port, { ssrc: 0x32, ...ring, count: 300 });
    t.sip(T0 + 9000, A.ip, proxy, sipRequest('BYE', 'sip:b@example.com', { callId, fromTag: 'a', toTag: 'b2', cseq: 2 }));
    const { file, reports } = await replay('two-early-dialogs', t);
    expect(alertsOf(reports, 'silence')).toEqual([]);
    expect(probePacketsPerCall(reports)).toEqual(tsharkPacketsPerCall(file));
  });

  it("the new stream's own pause after a move is still paged", async () => {
    const { reports } = await movedCall(
      'moved-then-silent',
      (t, d, at) => {
        const r = d.invite(at, audio(A2.ip, A2.port), { reinvite: true });
        d.respond(at + 20, 200, r, audio(B.ip, B.port));
        d.ack(at + 30, r);
      },
      (t, at, b) => {
        // The caller sends from its new address for 1 s, then nothing until the BYE; the callee goes on.
        t.rtp(at, A2.ip, A2.port, B.ip, B.port, { ssrc: A2.ssrc, seq: 1, ts: 0, count: 50 });
        t.rtp(at + 5, B.ip, B.port, A2.ip, A2.port, { ssrc: B.ssrc, ...b, count: 300 });
      },
    );
    expect(alertsOf(reports, 'silence')).toEqual([`ALERT ${A2.ip}:${A2.port}>${B.ip}:${B.port}#3333`, `CLEARED ${A2.ip}:${A2.port}>${B.ip}:${B.port}#3333`]);
  });
});

describe('flows that correlate as tshark does', () => {
  it('NAT: the caller SDP names a private address, its packets come from a public one (the same port or another: symmetric RTP)', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 10_000);
    const pub = '203.0.113.5';
    for (const [k, natPort] of [[0, A.port], [1, 61234]] as const) {
      const callId = `nat-${k}@gen`;
      const at = T0 + k * 100;
      const tags = { callId, fromTag: 'a', toTag: 'b' };
      const b = { ip: B.ip, port: B.port + 10 * k };
      t.sip(at, pub, b.ip, sipRequest('INVITE', 'sip:b@example.com', { callId, fromTag: 'a', cseq: 1, body: sdpBody(audio('192.168.1.10', A.port + 10 * k)) }));
      t.sip(at + 50, b.ip, pub, sipResponse(200, { ...tags, cseq: 1, cseqMethod: 'INVITE', body: sdpBody(audio(b.ip, b.port)) }));
      t.sip(at + 60, pub, b.ip, sipRequest('ACK', 'sip:b@example.com', { ...tags, cseq: 1 }));
      t.rtp(at + 100, pub, natPort + 10 * k, b.ip, b.port, { ssrc: A.ssrc + k, seq: 1, ts: 0, count: 400 });
      t.rtp(at + 105, b.ip, b.port, pub, natPort + 10 * k, { ssrc: B.ssrc + k, seq: 1, ts: 0, count: 400 });
      t.sip(at + 9000, pub, b.ip, sipRequest('BYE', 'sip:b@example.com', { ...tags, cseq: 2 }));
    }
    const { file, reports } = await replay('nat', t);
    const tshark = tsharkPacketsPerCall(file);
    expect([...tshark.values()]).toEqual([400, 400, 400, 400]);
    expect(probePacketsPerCall(reports)).toEqual(tshark);
    expect(reports.filter((r) => r.TYPE === 'ALERT')).toEqual([]);
  });

  it('SIP over TCP on port 5080 with compact headers: two messages in one segment, one message across two', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 10_000);
    const callId = 'tcp-compact@gen';
    const tags = { callId, fromTag: 'a', toTag: 'b', compact: true };
    let seqA = 1000;
    let seqB = 5000;
    const fromA = (ms: number, s: string) => {
      const bytes = text(s);
      t.add(ms, tcpFrame(A.ip, 40555, B.ip, 5080, seqA, bytes));
      seqA += bytes.length;
    };
    const fromB = (ms: number, s: string) => {
      const bytes = text(s);
      t.add(ms, tcpFrame(B.ip, 5080, A.ip, 40555, seqB, bytes));
      seqB += bytes.length;
    };
    const options = sipRequest('OPTIONS', 'sip:b@example.com', { callId: 'ping@gen', fromTag: 'o', cseq: 1, compact: true });
    fromA(T0, options + sipRequest('INVITE', 'sip:b@example.com', { callId, fromTag: 'a', cseq: 1, compact: true, body: sdpBody(audio(A.ip, A.port)) }));
    const ok = sipResponse(200, { ...tags, cseq: 1, cseqMethod: 'INVITE', body: sdpBody(audio(B.ip, B.port)) });
    const cut = Math.floor(ok.length * 0.6); // inside the SDP
    fromB(T0 + 40, sipResponse(180, { ...tags, cseq: 1, cseqMethod: 'INVITE' }) + ok.slice(0, cut));
    fromB(T0 + 50, ok.slice(cut));
    fromA(T0 + 60, sipRequest('ACK', 'sip:b@example.com', { ...tags, cseq: 1 }));
    t.rtp(T0 + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc, seq: 1, ts: 0, count: 400 });
    t.rtp(T0 + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 400 });
    fromA(T0 + 9000, sipRequest('BYE', 'sip:b@example.com', { ...tags, cseq: 2 }));
    const { file, reports } = await replay('tcp-compact', t);
    const tshark = tsharkPacketsPerCall(file);
    expect([...tshark.values()]).toEqual([400, 400]);
    expect(probePacketsPerCall(reports)).toEqual(tshark);
    expect(finals(reports).map((r) => r.TYPE)).toEqual(['HANGUP', 'HANGUP']);
  });

  it('early media, then CANCEL and 487: the ringback under the call, no fault (never answered)', async () => {
    const t = new CaptureTimeline();
    background(t, T0 + 12_000);
    const d = new DialogWriter(t, 'early-cancelled@gen', A.ip, B.ip);
    const c = d.invite(T0, audio(A.ip, A.port));
    d.respond(T0 + 50, 183, c, audio(B.ip, B.port));
    t.rtp(T0 + 100, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc, seq: 1, ts: 0, count: 400 });
    d.cancel(T0 + 8000, c);
    d.respond(T0 + 8010, 200, c, null, { method: 'CANCEL' });
    d.respond(T0 + 8020, 487, c, null);
    d.ack(T0 + 8030, c);
    const { file, reports } = await replay('early-cancelled', t);
    expect(probePacketsPerCall(reports)).toEqual(tsharkPacketsPerCall(file));
    expect(reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED')).toEqual([]);
  });
});
