/**
 * HeldPackets, the packets a pipeline keeps while capture time holds at a jump: copies that outlive the
 * frame they came in, in the order they came, within both bounds, with room for the packet that ends the
 * hold beyond them.
 */
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { rtp, text, udpFrame } from '../../src/gen/index.js';
import { HeldPackets } from '../../src/pipeline/held-packets.js';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

/** Decodes `frame` (Ethernet) from a buffer of its own into `pkt`; returns that buffer. */
function decode(frame: Uint8Array, pkt: DecodedPacket, tsSec: number): Uint8Array {
  const buf = Uint8Array.from(frame);
  expect(new PacketDecoder().decodeFrame(buf, 0, buf.length, LinkType.EN10MB, tsSec, 500, pkt)).toBe(true);
  return buf;
}

const payloadOf = (p: DecodedPacket) => Array.from(p.payloadBuf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength));
const macsOf = (p: DecodedPacket) => [p.srcMacOffset, p.dstMacOffset].map((o) => Array.from(p.payloadBuf.subarray(o, o + 6)).map((b) => b.toString(16).padStart(2, '0')).join(':'));

describe('HeldPackets', () => {
  it('keeps copies of any packet (RTP with its MACs, SIP) in order, whatever becomes of the frames they came in', () => {
    const held = new HeldPackets(8, 4096);
    const pkt = new DecodedPacket();
    const frames = [
      udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text('OPTIONS sip:b SIP/2.0\r\n\r\n'), { src: MAC_A, dst: MAC_B }),
      udpFrame('10.0.0.1', 4000, '10.0.0.2', 6000, rtp({ pt: 8, seq: 7, ts: 160, ssrc: 0x1234 }), { src: MAC_A, dst: MAC_B }),
    ];
    const want: number[][] = [];
    frames.forEach((f, i) => {
      const buf = decode(f, pkt, 1_700_000_000 + i);
      want.push(payloadOf(pkt));
      expect(held.hold(pkt, buf)).toBe(true);
      buf.fill(0xee); // the ring's memory, reused
    });
    const out = new DecodedPacket();
    for (let i = 0; i < frames.length; i++) {
      held.shift(out);
      expect(payloadOf(out)).toEqual(want[i]);
      expect([out.tsSec, out.tsNsec, out.srcPort]).toEqual([1_700_000_000 + i, 500, i === 0 ? 5060 : 4000]);
      expect(macsOf(out)).toEqual([MAC_A, MAC_B]);
    }
    expect(held.length).toBe(0);
  });

  it('refuses a packet past either bound, and still takes the last one beyond them', () => {
    const pkt = new DecodedPacket();
    const big = decode(udpFrame('10.0.0.1', 4000, '10.0.0.2', 6000, rtp({ pt: 8, seq: 1, ts: 0, ssrc: 1, payload: new Uint8Array(1400) })), pkt, 1_700_000_000);
    const byBytes = new HeldPackets(100, 3 * (1412 + 12));
    for (let i = 0; i < 3; i++) expect(byBytes.hold(pkt, big)).toBe(true);
    expect(byBytes.hold(pkt, big)).toBe(false);
    expect(byBytes.length).toBe(3);
    const jumbo = decode(udpFrame('10.0.0.1', 4000, '10.0.0.2', 6000, new Uint8Array(60_000).fill(0x80)), pkt, 1_700_000_001);
    byBytes.keepLast(pkt, jumbo);
    expect(byBytes.length).toBe(4);

    const byCount = new HeldPackets(2, 1 << 20);
    const small = decode(udpFrame('10.0.0.1', 4000, '10.0.0.2', 6000, rtp({ pt: 8, seq: 1, ts: 0, ssrc: 1 })), pkt, 1_700_000_000);
    expect([byCount.hold(pkt, small), byCount.hold(pkt, small), byCount.hold(pkt, small)]).toEqual([true, true, false]);
    byCount.keepLast(pkt, small);
    expect(byCount.length).toBe(3);
  });
});
