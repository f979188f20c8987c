/**
 * Forward error correction streams under their own SSRC: FlexFEC (RFC 8627, `a=rtpmap:N flexfec/90000`,
 * WebRTC's `flexfec-03`) beside video, ULPFEC (RFC 5109, `ulpfec`) beside audio. Each packet is parity
 * over packets of the protected stream, sent at the rate the sender's protection level asks and turned
 * off when the network is clean: nothing about the FEC stream tells the quality of the media.
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
const ULPFEC_PT = 112;
const FLEXFEC_PT = 98;

const sdp = (ip: string, port: number) =>
  sdpBody({
    ip,
    media: [
      { kind: 'audio', port, formats: [111, ULPFEC_PT], rtpmap: [[111, 'opus/48000/2'], [ULPFEC_PT, 'ulpfec/48000']] },
      { kind: 'video', port: port + 2, formats: [96, FLEXFEC_PT], rtpmap: [[96, 'VP8/90000'], [FLEXFEC_PT, 'flexfec-03/90000']], fmtp: [[FLEXFEC_PT, 'repair-window=10000000']] },
    ],
  });

/**
 * 20 s of Opus (every 20 ms) and VP8 (30 fps, frames of 3 packets) from `from` to `to`. With `fec`: a
 * ULPFEC packet after every 4th audio packet for the first 6 s (then the sender turns it off: the network
 * is clean), and a FlexFEC packet after every video frame, each with its own SSRC and sequence.
 */
function media(from: typeof A, to: typeof A, ssrcs: { audio: number; video: number; ulpfec: number; flexfec: number }, fec: boolean, seed: number): FixturePacket[] {
  const j = jitterOf(seed, 3);
  const audio = { src: from.ip, srcPort: from.port, dst: to.ip, dstPort: to.port };
  const video = { ...audio, srcPort: from.port + 2, dstPort: to.port + 2 };
  const out: FixturePacket[] = [];
  for (let i = 0; i < 1000; i++) {
    const p: FixturePacket = { ...audio, ms: i * 20 + j(i), seq: 100 + i, ts: 7000 + i * 960, pt: 111, ssrc: ssrcs.audio, payload: new Uint8Array(80) };
    out.push(p);
    if (fec && i % 4 === 3 && i < 300) out.push({ ...p, ms: p.ms + 0.2, seq: 5000 + (i >> 2), pt: ULPFEC_PT, ssrc: ssrcs.ulpfec, payload: new Uint8Array(94) });
  }
  for (let f = 0; f < 600; f++) {
    const ms = f * (100 / 3) + j(f + 1000);
    for (let k = 0; k < 3; k++) out.push({ ...video, ms: ms + k * 0.3, seq: 900 + f * 3 + k, ts: 3000 * f, pt: 96, ssrc: ssrcs.video, marker: k === 2, payload: new Uint8Array(900) });
    if (fec) out.push({ ...video, ms: ms + 1, seq: 7000 + f, ts: 3000 * f, pt: FLEXFEC_PT, ssrc: ssrcs.flexfec, payload: new Uint8Array(920) });
  }
  return out;
}

function fecCall(): { packets: FixturePacket[]; callId: string } {
  const sip = { callId: 'fec-call@example.com', fromTag: 'a1', cseq: 1 };
  const packets: FixturePacket[] = [
    { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(sipRequest('INVITE', `sip:bob@${B.ip}`, { ...sip, body: sdp(A.ip, A.port) })) },
    { ms: -100, seq: 0, ts: 0, src: B.ip, srcPort: 5060, dst: A.ip, dstPort: 5060, raw: text(sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: sdp(B.ip, B.port) })) },
    ...[
      ...media(A, B, { audio: 0xa0001, video: 0xb0001, ulpfec: 0xc0001, flexfec: 0xd0001 }, true, 1),
      ...media(B, A, { audio: 0xa0002, video: 0xb0002, ulpfec: 0, flexfec: 0 }, false, 2),
    ].sort((x, y) => x.ms - y.ms),
  ];
  return { packets, callId: sip.callId };
}

describe('FEC streams with their own SSRC (FlexFEC, ULPFEC)', () => {
  it('are reported with their numbers as tshark, never scored or alerted on; the call and its other streams as without them', async () => {
    const { packets, callId } = fecCall();
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-fec-'));
    try {
      const file = join(dir, 'fec.pcap');
      writeFileSync(file, fixturePcap(packets));
      const rows = tsharkStreams(file);
      expect(rows.length).toBe(6);
      // A rule that any scored stream fires: a FEC stream, not scored, must not.
      const reports = await replayReports(file, fieldConfig((c) => (c.reports.rules = [{ name: 'any-mos', when: 'mos < 5', intervalS: 5 }])));
      const byKey = new Map(finals(reports).map((r) => [reportKey(r), r]));
      const fec = (ssrc: number) => ssrc >>> 16 === 0xc || ssrc >>> 16 === 0xd;
      for (const row of rows) {
        const rep = byKey.get(streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc));
        expect(rep, `a report for SSRC ${row.ssrc.toString(16)}`).toBeDefined();
        expect(fieldMismatches(rep!, row)).toEqual([]);
        expect(rep!.CORRELATION_ID).toBe(callId);
        // Each FEC stream runs beside the stream it protects on its 5-tuple: neither replaced the other.
        expect(rep!.SSRC_CHG).toBe(0);
        if (fec(row.ssrc)) {
          // tshark: 75 ULPFEC packets (6 s), 600 FlexFEC packets, each sequence unbroken.
          expect([row.packets, row.lost]).toEqual([row.ssrc >>> 16 === 0xc ? 75 : 600, 0]);
          expect([rep!.CODEC_NAME, rep!.MOS, rep!.MIN_MOS, rep!.RFACTOR, rep!.MOS_INTERVALS]).toEqual([row.ssrc >>> 16 === 0xc ? 'ulpfec' : 'flexfec-03', 0, 0, 0, 0]);
        } else {
          expect(rep!.MOS_INTERVALS).toBeGreaterThan(0);
        }
      }
      const alerts = reports.filter((r) => r.TYPE === 'ALERT');
      // Every scored stream fires any-mos; the FEC streams nothing (silence neither: ULPFEC stops after 6 s).
      expect(alerts.filter((r) => fec(r.SSRC >>> 0)).map((r) => r.ALERT_RULE)).toEqual([]);
      expect(new Set(alerts.map((r) => `${r.ALERT_RULE} ${(r.SSRC >>> 0).toString(16)}`))).toEqual(new Set(['any-mos a0001', 'any-mos b0001', 'any-mos a0002', 'any-mos b0002']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
