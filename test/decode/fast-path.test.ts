import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { ethernet, EtherType, ipv4, ipv4Fragments, rtp, tcp, tzsp, udp, udpFrame } from '../../src/gen/index.js';
import { batchOf } from './flows.js';

// The decoder's one-step path for Ethernet (+ one 802.1Q tag) / IPv4 / UDP must give exactly what the
// layer-by-layer path gives: same verdict, same fields, same counters, for valid frames and for frames
// with any header byte changed or cut short (lengths, flags, options, fragments, tunnel ports...).

const payload = rtp({ pt: 8, seq: 7, ts: 160, ssrc: 0x11223344, payload: new Uint8Array(160).fill(0xd5) });
const seeds: Uint8Array[] = [
  udpFrame('10.1.2.3', 40000, '192.168.7.9', 20000, payload),
  udpFrame('10.1.2.3', 40000, '192.168.7.9', 20000, payload, { vlans: [42] }),
  udpFrame('10.1.2.3', 40000, '192.168.7.9', 20000, payload, { vlans: [42, 43] }),
  udpFrame('10.1.2.3', 40000, '192.168.7.9', 4789, payload),
  udpFrame('10.1.2.3', 40000, '192.168.7.9', 37008, tzsp(udpFrame('10.9.9.9', 1000, '10.8.8.8', 2000, payload))),
  ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, new Uint8Array(4))), EtherType.IPV4), // the shortest UDP frame
  ethernet(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 3, new Uint8Array(30))), EtherType.IPV4),
  ethernet(ipv4Fragments('1.1.1.1', '2.2.2.2', 17, udp(1, 2, new Uint8Array(100)), 48, { id: 1 })[0], EtherType.IPV4),
  // A first fragment whose UDP length fits inside it: only the MF flag says it is not a whole datagram.
  ethernet(ipv4('1.1.1.1', '2.2.2.2', 17, udp(1, 2, new Uint8Array(16)), { id: 2, moreFragments: true }), EtherType.IPV4),
];

/** Everything a consumer can read after decode, with the payload as bytes. */
function observe(ok: boolean, p: DecodedPacket): unknown {
  const { payloadBuf, ...fields } = p;
  return { ok, ...fields, payload: ok ? Buffer.from(payloadBuf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toString('hex') : '' };
}

function compare(frames: Uint8Array[]): number {
  const batch = batchOf(frames);
  const fast = new PacketDecoder();
  const general = new PacketDecoder({ fastPath: false });
  const a = new DecodedPacket();
  const b = new DecodedPacket();
  let decoded = 0;
  for (let i = 0; i < batch.count; i++) {
    const okA = fast.decode(batch, i, a);
    const okB = general.decode(batch, i, b);
    expect(observe(okA, a)).toEqual(observe(okB, b));
    if (okA) decoded++;
  }
  expect(Array.from(fast.counts)).toEqual(Array.from(general.counts));
  expect(Array.from(fast.malformed)).toEqual(Array.from(general.malformed));
  return decoded;
}

describe('decoder fast path', () => {
  it('valid frames: same result as the general path', () => {
    expect(compare(seeds)).toBe(seeds.length - 2); // all but the two first fragments
  });

  it('frames alternating between fast-path and other packets leave no stale field', () => {
    const mixed = [seeds[6], seeds[0], seeds[2], seeds[1], seeds[7], seeds[0], seeds[4], seeds[1]];
    expect(compare(mixed)).toBe(7);
  });

  it('any header byte changed, any length cut: same result as the general path', () => {
    // Edits land in the first 64 bytes (Ethernet, VLAN, IPv4, UDP headers) where the fast path decides.
    const edit = fc.tuple(fc.nat({ max: 63 }), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x08, 0x11, 0x20, 0x40, 0x45, 0x46, 0x81, 0xff)));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(edit, { maxLength: 3 }), fc.nat({ max: 240 })), { minLength: 1, maxLength: 6 }), (specs) => {
        const frames = specs.map(([k, edits, cut]) => {
          const f = Uint8Array.from(seeds[k]);
          for (const [at, v] of edits) f[at % f.length] = v;
          return f.subarray(0, Math.max(0, f.length - cut));
        });
        compare(frames);
      }),
      { numRuns: 4000 },
    );
  });
});
