/**
 * Forward error correction streams under their own SSRC: FlexFEC (RFC 8627, `a=rtpmap:N flexfec/90000`,
 * WebRTC's `flexfec-03`) beside video, ULPFEC (RFC 5109, `ulpfec`) beside audio. Each packet is parity
 * over packets of the protected stream, sent at the rate the sender's protection level asks and turned
 * off when the network is clean: nothing about the FEC stream tells the quality of the media.
 */
import { describe, expect, it } from 'vitest';
import { sdpBody } from '../../src/gen/index.js';
import { jitterOf, type FixturePacket } from './fixtures.js';
import { A, B, checkRepairCall, sdpCall } from './repair-streams.js';

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

const callId = 'fec-call@example.com';
const packets = sdpCall(callId, sdp, [
  ...media(A, B, { audio: 0xa0001, video: 0xb0001, ulpfec: 0xc0001, flexfec: 0xd0001 }, true, 1),
  ...media(B, A, { audio: 0xa0002, video: 0xb0002, ulpfec: 0, flexfec: 0 }, false, 2),
]);

describe('FEC streams with their own SSRC (FlexFEC, ULPFEC)', () => {
  it('are reported with their numbers as tshark, never scored or alerted on; the call and its other streams as without them', async () => {
    const ulpfec = (ssrc: number) => ssrc >>> 16 === 0xc;
    const fec = (ssrc: number) => ulpfec(ssrc) || ssrc >>> 16 === 0xd;
    const { rows, alerts } = await checkRepairCall(packets, callId, fec, (ssrc) => (ulpfec(ssrc) ? 'ulpfec' : 'flexfec-03'));
    expect(rows.length).toBe(6);
    // tshark: 75 ULPFEC packets (6 s), 600 FlexFEC packets, each sequence unbroken.
    expect(rows.filter((r) => fec(r.ssrc)).map((r) => [r.ssrc.toString(16), r.packets, r.lost]).sort()).toEqual([['c0001', 75, 0], ['d0001', 600, 0]]);
    // Every scored stream fires any-mos; the FEC streams nothing (silence neither: ULPFEC stops after 6 s).
    expect(new Set(alerts.map((r) => `${r.ALERT_RULE} ${(r.SSRC >>> 0).toString(16)}`))).toEqual(new Set(['any-mos a0001', 'any-mos b0001', 'any-mos a0002', 'any-mos b0002']));
  });
});
