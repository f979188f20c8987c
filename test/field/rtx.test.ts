/**
 * Retransmission streams (RFC 4588: `a=rtpmap:N rtx/90000`, `a=fmtp:N apt=M`), as WebRTC sends them on its
 * BUNDLE port: packets the receiver asked again for, each a copy of a lost original under the RTX stream's
 * own SSRC and sequence numbers, sent in bursts when loss happens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { finals, replayReports, reportKey } from '../e2e/helpers.js';
import { streamKey } from '../rtp/helpers.js';
import { fieldConfig, fieldMismatches } from './helpers.js';
import { FIX, fixturePcap, jitterOf, tsharkStreams, type FixturePacket } from './fixtures.js';

const A = { ip: FIX.src, port: FIX.srcPort };
const B = { ip: FIX.dst, port: FIX.dstPort };
const RTX_PT = 97;

const sdp = (ip: string, port: number) =>
  sdpBody({
    ip,
    media: [
      { kind: 'audio', port, formats: [111], rtpmap: [[111, 'opus/48000/2']], rtcpMux: true },
      { kind: 'video', port, formats: [96, RTX_PT], rtpmap: [[96, 'VP8/90000'], [RTX_PT, 'rtx/90000']], fmtp: [[RTX_PT, 'apt=96']], rtcpMux: true },
    ],
  });

/**
 * 20 s of Opus and VP8 (30 fps, frames of 3 packets) from `from` to `to`; the video packets of frames
 * whose number is in `lostFrames` are lost and sent again on the RTX stream 60 ms later (2 bytes of
 * original sequence number before the payload, the original timestamp).
 */
function media(from: typeof A, to: typeof A, ssrcs: { audio: number; video: number; rtx: number }, lostFrames: number[], seed: number): FixturePacket[] {
  const j = jitterOf(seed, 3);
  const ends = { src: from.ip, srcPort: from.port, dst: to.ip, dstPort: to.port };
  const out: FixturePacket[] = [];
  for (let i = 0; i < 1000; i++) out.push({ ...ends, ms: i * 20 + j(i), seq: 100 + i, ts: 7000 + i * 960, pt: 111, ssrc: ssrcs.audio, payload: new Uint8Array(80) });
  let rtxSeq = 3000;
  for (let f = 0; f < 600; f++) {
    for (let k = 0; k < 3; k++) {
      const p: FixturePacket = { ...ends, ms: f * (100 / 3) + k * 0.3 + j(f + 1000), seq: 900 + f * 3 + k, ts: 3000 * f, pt: 96, ssrc: ssrcs.video, marker: k === 2, payload: new Uint8Array(900) };
      if (!lostFrames.includes(f)) {
        out.push(p);
        continue;
      }
      const payload = new Uint8Array(902);
      payload[0] = p.seq >> 8;
      payload[1] = p.seq & 0xff;
      out.push({ ...p, ms: p.ms + 60, seq: rtxSeq++, pt: RTX_PT, ssrc: ssrcs.rtx, payload });
    }
  }
  return out;
}

function rtxCall(): { packets: FixturePacket[]; callId: string } {
  const sip = { callId: 'rtx-call@example.com', fromTag: 'a1', cseq: 1 };
  const packets: FixturePacket[] = [
    { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(sipRequest('INVITE', `sip:bob@${B.ip}`, { ...sip, body: sdp(A.ip, A.port) })) },
    { ms: -100, seq: 0, ts: 0, src: B.ip, srcPort: 5060, dst: A.ip, dstPort: 5060, raw: text(sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: sdp(B.ip, B.port) })) },
    ...[
      ...media(A, B, { audio: 0xa0001, video: 0xb0001, rtx: 0xc0001 }, [30, 31, 250, 251, 252, 560], 1),
      ...media(B, A, { audio: 0xa0002, video: 0xb0002, rtx: 0xc0002 }, [], 2),
    ].sort((x, y) => x.ms - y.ms),
  ];
  return { packets, callId: sip.callId };
}

describe('RTX (RFC 4588) streams', () => {
  it('are reported with their numbers as tshark, never scored or alerted on; the call and its other streams as without them', async () => {
    const { packets, callId } = rtxCall();
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-rtx-'));
    try {
      const file = join(dir, 'rtx.pcap');
      writeFileSync(file, fixturePcap(packets));
      const rows = tsharkStreams(file);
      expect(rows.length).toBe(5);
      // A rule that any scored stream fires: a retransmission stream, not scored, must not.
      const reports = await replayReports(file, fieldConfig((c) => (c.reports.rules = [{ name: 'any-mos', when: 'mos < 5', intervalS: 5 }])));
      const byKey = new Map(finals(reports).map((r) => [reportKey(r), r]));
      const rtx = (ssrc: number) => ssrc >>> 16 === 0xc;
      for (const row of rows) {
        const rep = byKey.get(streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc));
        expect(rep, `a report for SSRC ${row.ssrc.toString(16)}`).toBeDefined();
        expect(fieldMismatches(rep!, row)).toEqual([]);
        expect(rep!.CORRELATION_ID).toBe(callId);
        if (rtx(row.ssrc)) {
          // tshark: the 18 retransmissions, the RTX stream's own sequence unbroken.
          expect([row.packets, row.lost]).toEqual([18, 0]);
          expect([rep!.CODEC_NAME, rep!.MOS, rep!.MIN_MOS, rep!.RFACTOR, rep!.MOS_INTERVALS]).toEqual(['rtx', 0, 0, 0, 0]);
        } else {
          expect(rep!.MOS_INTERVALS).toBeGreaterThan(0);
        }
      }
      const alerts = reports.filter((r) => r.TYPE === 'ALERT');
      expect(alerts.length).toBeGreaterThan(0);
      // Every scored stream fires any-mos; the RTX streams nothing (silence neither: they send in bursts).
      expect(alerts.filter((r) => rtx(r.SSRC >>> 0)).map((r) => r.ALERT_RULE)).toEqual([]);
      expect(new Set(alerts.map((r) => `${r.ALERT_RULE} ${(r.SSRC >>> 0).toString(16)}`))).toEqual(new Set(['any-mos a0001', 'any-mos b0001', 'any-mos a0002', 'any-mos b0002']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
