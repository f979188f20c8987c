/**
 * Audio and video on one port (BUNDLE, RFC 8843, as WebRTC gateways send it): each stream is named and
 * clocked from its own media section, as tshark does, and the call's audio counts as media.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { finals, replayReports, reportKey } from '../e2e/helpers.js';
import { parseTshark, streamKey } from '../rtp/helpers.js';
import { fieldConfig, fieldMismatches } from './helpers.js';
import { FIX, fixturePcap, jitterOf, type FixturePacket } from './fixtures.js';

const A = { ip: FIX.src, port: FIX.srcPort };
const B = { ip: FIX.dst, port: FIX.dstPort };

/** An SDP with an Opus and a VP8 section on one address and port, RTCP muxed. */
const bundledSdp = (ip: string, port: number) =>
  sdpBody({
    ip,
    media: [
      { kind: 'audio', port, formats: [111], rtpmap: [[111, 'opus/48000/2']], rtcpMux: true },
      { kind: 'video', port, formats: [96], rtpmap: [[96, 'VP8/90000']], rtcpMux: true },
    ],
  });

/** 8 s of Opus (20 ms) and VP8 (30 fps, frames of 3 packets, the marker on the last) from `from` to `to`. */
function media(from: typeof A, to: typeof A, audioSsrc: number, videoSsrc: number, seed: number): FixturePacket[] {
  const j = jitterOf(seed, 3);
  const ends = { src: from.ip, srcPort: from.port, dst: to.ip, dstPort: to.port };
  const out: FixturePacket[] = [];
  for (let i = 0; i < 400; i++) out.push({ ...ends, ms: i * 20 + j(i), seq: 100 + i, ts: 7000 + i * 960, pt: 111, ssrc: audioSsrc, payload: new Uint8Array(80) });
  for (let f = 0; f < 240; f++) {
    for (let k = 0; k < 3; k++) {
      out.push({ ...ends, ms: f * (100 / 3) + k * 0.3 + j(f + 1000), seq: 900 + f * 3 + k, ts: 3000 * f, pt: 96, ssrc: videoSsrc, marker: k === 2, payload: new Uint8Array(900) });
    }
  }
  return out;
}

describe('BUNDLE: audio and video sections of one SDP on one address and port', () => {
  it('each stream has its own codec and SDP clock (tshark names them alike), numbers as tshark, no no-media alert', async () => {
    const sip = { callId: 'bundle-call@example.com', fromTag: 'a1', cseq: 1 };
    const invite = sipRequest('INVITE', `sip:bob@${B.ip}`, { ...sip, body: bundledSdp(A.ip, A.port) });
    const ok = sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: bundledSdp(B.ip, B.port) });
    const packets: FixturePacket[] = [
      { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(invite) },
      { ms: -100, seq: 0, ts: 0, src: B.ip, srcPort: 5060, dst: A.ip, dstPort: 5060, raw: text(ok) },
      ...[...media(A, B, 0xa0001, 0xb0001, 1), ...media(B, A, 0xa0002, 0xb0002, 2)].sort((x, y) => x.ms - y.ms),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-bundle-'));
    try {
      const file = join(dir, 'bundle.pcap');
      writeFileSync(file, fixturePcap(packets));
      const out = execFileSync('tshark', ['-n', '-r', file, '-q', '-z', 'rtp,streams'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      writeFileSync(join(dir, 'tshark.txt'), out);
      const rows = parseTshark(join(dir, 'tshark.txt'));
      // tshark's Payload column, by SSRC: the encoding name of the SDP section the payload type is in.
      const payloadOf = (ssrc: number) => new RegExp(`0x${ssrc.toString(16).toUpperCase().padStart(8, '0')}\\s+(\\S+)`).exec(out)?.[1];
      expect(rows.length).toBe(4);

      const reports = await replayReports(file, fieldConfig());
      const byKey = new Map(finals(reports).map((r) => [reportKey(r), r]));
      for (const row of rows) {
        const rep = byKey.get(streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc));
        expect(rep, `a report for SSRC ${row.ssrc.toString(16)}`).toBeDefined();
        const audio = row.ssrc >>> 16 === 0xa;
        expect(payloadOf(row.ssrc)).toBe(audio ? 'opus' : 'VP8');
        expect([rep!.CODEC_NAME, rep!.CLOCK, rep!.CLOCK_SOURCE, rep!.CORRELATION_ID]).toEqual([audio ? 'opus' : 'vp8', audio ? 48000 : 90000, 'sdp', sip.callId]);
        expect(fieldMismatches(rep!, row)).toEqual([]);
        // Each SSRC is its own stream all along (tshark's rows): sharing the 5-tuple changes none.
        expect(rep!.SSRC_CHG, `SSRC changes of ${row.ssrc.toString(16)}`).toBe(0);
      }
      // Audio flowed both ways from the answer on: the call had media, in both directions.
      expect(reports.filter((r) => r.TYPE === 'ALERT').map((r) => r.ALERT_RULE)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one-way audio under two-way video on the bundled port is found (one-way-rtp on the audio that flows); audio both ways raises none', async () => {
    const sip = { callId: 'bundle-one-way@example.com', fromTag: 'a1', cseq: 1 };
    const signalling: FixturePacket[] = [
      { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(sipRequest('INVITE', `sip:bob@${B.ip}`, { ...sip, body: bundledSdp(A.ip, A.port) })) },
      { ms: -100, seq: 0, ts: 0, src: B.ip, srcPort: 5060, dst: A.ip, dstPort: 5060, raw: text(sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: bundledSdp(B.ip, B.port) })) },
    ];
    const oneWay = async (packets: FixturePacket[]) => {
      const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-bundle-'));
      try {
        const file = join(dir, 'bundle.pcap');
        writeFileSync(file, fixturePcap([...signalling, ...packets.sort((x, y) => x.ms - y.ms)]));
        const reports = await replayReports(file, fieldConfig());
        return reports.filter((r) => r.ALERT_RULE === 'one-way-rtp').map((r) => `${r.TYPE} ${(r.SSRC >>> 0).toString(16)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    // B sends video only: its audio never comes. The alert is on A's audio (the direction that flows).
    const bVideoOnly = media(B, A, 0xa0002, 0xb0002, 2).filter((p) => p.pt === 96);
    const found = await oneWay([...media(A, B, 0xa0001, 0xb0001, 1), ...bVideoOnly]);
    expect(found[0]).toBe('ALERT a0001');
    expect(found.filter((f) => f.startsWith('ALERT'))).toEqual(['ALERT a0001']);
    expect(await oneWay([...media(A, B, 0xa0001, 0xb0001, 1), ...media(B, A, 0xa0002, 0xb0002, 2)])).toEqual([]);
  });
});
