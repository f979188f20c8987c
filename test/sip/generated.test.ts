import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { multipartBody, rtp, sdpBody, sipRequest, sipResponse, tcpFrame, text, udpFrame, type SdpSpec } from '../../src/gen/index.js';
import { ourCallIds, tsharkTruth } from './truth.js';
import { pcapOf } from './helpers.js';

/**
 * The project's own scenarios written as a pcap and judged by tshark's SDP tracking (rtp.setup-frame ->
 * SIP Call-ID): re-INVITE moving media, SIP over TCP split across segments and two messages in one
 * segment, IPv6, multipart SDP. Expected Call-IDs come from tshark, not from this test.
 */
const T0 = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-sip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sdp(ip: string, port: number): string {
  return sdpBody({ ip, media: [{ port, formats: [8] }] } satisfies SdpSpec);
}
function inv(callId: string, body: string, cseq = 1, toTag?: string, contentType?: string) {
  return sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'a1', toTag, cseq, body, contentType });
}
function ok(callId: string, body: string, cseq = 1, cseqMethod = 'INVITE') {
  return sipResponse(200, { callId, fromTag: 'a1', toTag: 'b1', cseq, cseqMethod, body });
}
function media(frames: Array<[number, Uint8Array]>, t: number, src: string, sport: number, dst: string, dport: number, ssrc: number, n = 5): void {
  for (let i = 0; i < n; i++) frames.push([T0 + t + i * 20, udpFrame(src, sport, dst, dport, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc }))]);
}

describe('generated scenarios agree with tshark', () => {
  it('re-INVITE, TCP, IPv6 and multipart calls', () => {
    const f: Array<[number, Uint8Array]> = [];
    // g1: UDP call whose caller moves its media with a re-INVITE.
    f.push([T0, udpFrame('10.1.0.1', 5060, '10.2.0.1', 5060, text(inv('g1', sdp('10.1.0.1', 4000))))]);
    f.push([T0 + 10, udpFrame('10.2.0.1', 5060, '10.1.0.1', 5060, text(ok('g1', sdp('10.2.0.1', 6000))))]);
    media(f, 100, '10.1.0.1', 4000, '10.2.0.1', 6000, 0x1001);
    media(f, 110, '10.2.0.1', 6000, '10.1.0.1', 4000, 0x1002);
    f.push([T0 + 1000, udpFrame('10.1.0.1', 5060, '10.2.0.1', 5060, text(inv('g1', sdp('10.1.0.9', 4100), 2, 'b1')))]);
    f.push([T0 + 1010, udpFrame('10.2.0.1', 5060, '10.1.0.1', 5060, text(ok('g1', sdp('10.2.0.1', 6000), 2)))]);
    media(f, 1100, '10.2.0.1', 6002, '10.1.0.9', 4100, 0x1003);
    // g2/g3: SIP over TCP, INVITE split over two segments; 200 OK (g2) and a 180 with SDP (g3) split across segments.
    const i2 = text(inv('g2', sdp('10.3.0.1', 5000)));
    f.push([T0 + 2000, tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 1, i2.subarray(0, 60))]);
    f.push([T0 + 2001, tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 61, i2.subarray(60))]);
    const both = new Uint8Array([...text(ok('g2', sdp('10.4.0.1', 7000))), ...text(sipResponse(180, { callId: 'g3', fromTag: 'x', toTag: 'y', cseq: 1, cseqMethod: 'INVITE', body: sdp('10.4.0.1', 7002) }))]);
    // tshark registers only the first SDP of a frame carrying two SIP messages, so for its judgement the
    // 200 OK and the 180 go out as two segments, the second one cut in the middle of the 180's header.
    const cut = text(ok('g2', sdp('10.4.0.1', 7000))).length + 40;
    f.push([T0 + 2010, tcpFrame('10.4.0.1', 5060, '10.3.0.1', 40000, 1, both.subarray(0, cut))]);
    f.push([T0 + 2011, tcpFrame('10.4.0.1', 5060, '10.3.0.1', 40000, 1 + cut, both.subarray(cut))]);
    media(f, 2100, '10.3.0.1', 5000, '10.4.0.1', 7000, 0x2001);
    media(f, 2110, '10.3.0.1', 5010, '10.4.0.1', 7002, 0x2002);
    // g4: IPv6.
    f.push([T0 + 3000, udpFrame('2001:db8::1', 5060, '2001:db8::2', 5060, text(inv('g4', sdp('2001:db8::1', 8000))))]);
    media(f, 3100, '2001:db8::2', 9000, '2001:db8::1', 8000, 0x3001);
    // g5: SDP inside multipart/mixed.
    const mp = multipartBody([['application/sdp', sdp('10.5.0.1', 8200)], ['application/isup', 'xx']]);
    f.push([T0 + 4000, udpFrame('10.5.0.1', 5060, '10.6.0.1', 5060, text(inv('g5', mp.body, 1, undefined, mp.contentType)))]);
    media(f, 4100, '10.6.0.1', 9200, '10.5.0.1', 8200, 0x5001);

    const file = join(dir, 'generated.pcap');
    writeFileSync(file, pcapOf(f));
    const truth = tsharkTruth(file);
    expect(truth.length).toBe(7);
    const { got } = ourCallIds(file);
    for (const e of truth) {
      const key = `${e.src}:${e.sport}>${e.dst}:${e.dport}`;
      expect({ key, callId: got.get(key) }).toEqual({ key, callId: e.callId });
    }
    expect(truth.filter((e) => e.callId !== '').length).toBe(7);
  });
});
