/**
 * A video stream of an audio + video call (two m= lines): both bound to the call, measured as tshark,
 * and scored as README says ("Video"): the E-model for speech with its codec's qos.codecs entry.
 */
import { describe, expect, it } from 'vitest';
import { sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { fieldConfig, fieldMismatches } from './helpers.js';
import { FIX, fixtureKey, g711, jitterOf, runFixture, type FixturePacket } from './fixtures.js';

const VIDEO = { srcPort: FIX.srcPort + 2, dstPort: FIX.dstPort + 2, ssrc: 0x71de0 };

const avSdp = (ip: string, port: number) =>
  sdpBody({ ip, media: [{ kind: 'audio', port, formats: [8], rtpmap: [[8, 'PCMA/8000']] }, { kind: 'video', port: port + 2, formats: [96], rtpmap: [[96, 'VP8/90000']] }] });

/** VP8 at 30 fps, frames of 4 packets (one timestamp, the marker on the last); frames 40-41 lost. */
function vp8(): FixturePacket[] {
  const j = jitterOf(9, 2);
  const out: FixturePacket[] = [];
  for (let f = 0; f < 240; f++) {
    if (f === 40 || f === 41) continue;
    for (let k = 0; k < 4; k++) out.push({ ...VIDEO, ms: f * (100 / 3) + k * 0.2 + j(f), seq: 300 + f * 4 + k, ts: 9000 + 3000 * f, pt: 96, marker: k === 3, payload: new Uint8Array(1100) });
  }
  return out;
}

describe('video beside audio in one SDP', () => {
  it('the VP8 stream joins the call, its numbers are tshark, its MOS the E-model with the qos.codecs entry of vp8', async () => {
    const sip = { callId: 'av-call@example.com', fromTag: 'a1', cseq: 1 };
    const packets: FixturePacket[] = [
      { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(sipRequest('INVITE', `sip:bob@${FIX.dst}`, { ...sip, body: avSdp(FIX.src, FIX.srcPort) })) },
      { ms: -100, seq: 0, ts: 0, src: FIX.dst, srcPort: 5060, dst: FIX.src, dstPort: 5060, raw: text(sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: avSdp(FIX.dst, FIX.dstPort) })) },
      ...[...g711(400), ...vp8()].sort((a, b) => a.ms - b.ms),
    ];
    const key = fixtureKey(VIDEO);
    const plain = await runFixture(packets, undefined, packets);
    const row = plain.tshark.get(key)!;
    expect(row.lost, 'tshark counts the 8 packets of the lost frames').toBe(8);
    const video = plain.probe.get(key)!;
    const audio = plain.probe.get(fixtureKey())!;
    expect([video.CORRELATION_ID, video.CODEC_NAME, video.CLOCK, video.CLOCK_SOURCE]).toEqual([sip.callId, 'vp8', 90000, 'sdp']);
    expect(audio.CORRELATION_ID).toBe(sip.callId);
    expect(fieldMismatches(video, row)).toEqual([]);
    // Scored like any stream, with the `default` entry (no vp8 entry); one for vp8 changes its MOS alone.
    expect(video.MOS_INTERVALS).toBeGreaterThan(0);
    const withEntry = await runFixture(packets, fieldConfig((c) => (c.qos.codecs.vp8 = { ie: 30, bpl: 4.3 })), packets);
    expect(withEntry.probe.get(key)!.MOS).toBeLessThan(video.MOS - 0.5);
    expect(withEntry.probe.get(fixtureKey())!.MOS).toBe(audio.MOS);
  });
});
