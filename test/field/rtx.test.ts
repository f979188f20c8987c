/**
 * Retransmission streams (RFC 4588: `a=rtpmap:N rtx/90000`, `a=fmtp:N apt=M`), as WebRTC sends them on its
 * BUNDLE port: packets the receiver asked again for, each a copy of a lost original under the RTX stream's
 * own SSRC and sequence numbers, sent in bursts when loss happens.
 */
import { describe, expect, it } from 'vitest';
import { sdpBody } from '../../src/gen/index.js';
import { jitterOf, type FixturePacket } from './fixtures.js';
import { A, B, checkRepairCall, sdpCall } from './repair-streams.js';

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

const callId = 'rtx-call@example.com';
const packets = sdpCall(callId, sdp, [
  ...media(A, B, { audio: 0xa0001, video: 0xb0001, rtx: 0xc0001 }, [30, 31, 250, 251, 252, 560], 1),
  ...media(B, A, { audio: 0xa0002, video: 0xb0002, rtx: 0xc0002 }, [], 2),
]);

describe('RTX (RFC 4588) streams', () => {
  it('are reported with their numbers as tshark, never scored or alerted on; the call and its other streams as without them', async () => {
    const rtx = (ssrc: number) => ssrc >>> 16 === 0xc;
    const { rows, alerts } = await checkRepairCall(packets, callId, rtx, () => 'rtx');
    expect(rows.length).toBe(5);
    // tshark: the 18 retransmissions, the RTX stream's own sequence unbroken.
    expect(rows.filter((r) => rtx(r.ssrc)).map((r) => [r.packets, r.lost])).toEqual([[18, 0]]);
    // Every scored stream fires any-mos; the RTX streams nothing (silence neither: they send in bursts).
    expect(new Set(alerts.map((r) => `${r.ALERT_RULE} ${(r.SSRC >>> 0).toString(16)}`))).toEqual(new Set(['any-mos a0001', 'any-mos b0001', 'any-mos a0002', 'any-mos b0002']));
  });
});
