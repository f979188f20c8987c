/**
 * SIP the probe refuses for its calls, to HOMER or not. A UDP message refused for its Content-Length alone
 * (not a number: tshark's "Invalid content_length") still has the start line, Call-ID and CSeq HOMER's
 * collector needs to store it, and heplify sends it: it goes as HEP type 1, its bytes as captured, with its
 * addresses and capture time, and the run summary counts it (sipMalformedSent). A message HOMER cannot
 * file (no Call-ID), one whose Call-ID is past the bound HOMER's schema stores, and binary junk on the SIP
 * port do not go. Replayed through runReplay (the CLI's path) to a real UDP socket.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { sdpBody, sipRequest, sipResponse, text, udpFrame } from '../../src/gen/index.js';
import { SIP_VALUE_LIMITS } from '../../src/sip/message.js';
import { pcapOf } from '../sip/helpers.js';
import { tshark } from '../sip/truth.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_765_000_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-sip-refused-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const withContentLength = (msg: string, value: string) => msg.replace(/^Content-Length: \d+\r$/m, `Content-Length: ${value}\r`);

describe('SIP refused by the parser, to HOMER', () => {
  it('a bad Content-Length goes as captured and is counted; no Call-ID, an over-long Call-ID or junk does not', async () => {
    const sdp = sdpBody({ ip: '10.1.0.1', media: [{ port: 4000, formats: [8] }] });
    const badInvite = withContentLength(sipRequest('INVITE', 'sip:bob@example.com', { callId: 'bad-cl@probe', fromTag: 'f1', cseq: 1, body: sdp }), 'abc');
    const badRinging = withContentLength(sipResponse(180, { callId: 'bad-cl@probe', fromTag: 'f1', toTag: 't1', cseq: 1, cseqMethod: 'INVITE' }), '0x10');
    const noCallId = withContentLength(sipRequest('OPTIONS', 'sip:bob@example.com', { callId: 'gone@probe', fromTag: 'f2', cseq: 1 }), 'abc').replace(/^Call-ID: .*\r\n/m, '');
    const longCallId = sipRequest('INVITE', 'sip:bob@example.com', { callId: `${'x'.repeat(SIP_VALUE_LIMITS.callIdBytes + 1)}@probe`, fromTag: 'f3', cseq: 1, body: sdp });
    const good = sipRequest('OPTIONS', 'sip:bob@example.com', { callId: 'good@probe', fromTag: 'f4', cseq: 1 });
    const junk = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff);
    expect(noCallId).not.toMatch(/Call-ID/);
    const frames: Array<[number, Uint8Array]> = [
      [T0, udpFrame('10.1.0.1', 5060, '10.2.0.1', 5060, text(badInvite))],
      [T0 + 40, udpFrame('10.2.0.1', 5062, '10.1.0.1', 5060, text(badRinging))],
      [T0 + 60, udpFrame('10.1.0.3', 5060, '10.2.0.1', 5060, text(noCallId))],
      [T0 + 80, udpFrame('10.1.0.4', 5060, '10.2.0.1', 5060, text(longCallId))],
      [T0 + 100, udpFrame('10.1.0.5', 5060, '10.2.0.1', 5060, junk)],
      [T0 + 120, udpFrame('10.1.0.6', 5060, '10.2.0.1', 5060, text(good))],
    ];
    const file = path.join(dir, 'refused.pcap');
    fs.writeFileSync(file, pcapOf(frames));

    // The reference: tshark reads the two as SIP of call bad-cl@probe and flags their Content-Length.
    const ref = tshark(file, ['-Y', 'sip.Call-ID == "bad-cl@probe"', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message']);
    expect(ref.map((f) => f[0])).toEqual(['1', '2']);
    for (const f of ref) expect(f[1]).toMatch(/Invalid content_length/);

    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(c.toString()), cb()) }));
    const sip = (await replayToUdp(file, () => {}, log)).filter((m) => m.protoType === 1);
    expect(sip.map((m) => m.payload.toString('latin1'))).toEqual([badInvite, badRinging, good]);
    expect(sip.slice(0, 2).map((m) => ({ src: `${m.srcIp}:${m.srcPort}`, dst: `${m.dstIp}:${m.dstPort}`, t: m.tsSec * 1e6 + m.tsUsec, proto: m.ipProto }))).toEqual([
      { src: '10.1.0.1:5060', dst: '10.2.0.1:5060', t: T0 * 1000, proto: 17 },
      { src: '10.2.0.1:5062', dst: '10.1.0.1:5060', t: (T0 + 40) * 1000, proto: 17 },
    ]);
    const summary = lines.map((l) => JSON.parse(l)).find((o) => o.sipMalformed !== undefined);
    expect(summary).toMatchObject({
      sipMalformed: { 'bad-content-length': 3, 'value-too-long': 1, 'bad-start-line': 1 },
      sipMalformedSent: 2,
      reports: { sipSent: 3 },
    });
  });
});
