import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFileError, readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import {
  classicPcap, erspan2, erspan3, ethernet, EtherType, gre, ipv4, ipv4Fragments, ipv4Udp, ipv6, ipv6OptionsHeader, IpProto, mpls, pcapng,
  pcapngSections, sll, tcp, tzsp, udp, udpFrame, vxlan,
} from '../../src/gen/index.js';
import { batchOf } from './flows.js';

// Property tests: the decoder never throws and never points outside its buffers; the file reader throws
// nothing but CaptureFileError. fast-check shrinks any failure to a minimal input.

const inner = udpFrame('10.1.1.1', 4000, '10.2.2.2', 5000, new Uint8Array(40).fill(1));
const seeds: Array<[Uint8Array, number]> = [
  [inner, 1],
  [udpFrame('2001:db8::1', 1, '2001:db8::2', 2, new Uint8Array(20), { vlans: [1, 2] }), 1],
  [ethernet(ipv6('::1', '::2', IpProto.UDP, udp(1, 2, new Uint8Array(10)), [[0, ipv6OptionsHeader(1)]]), EtherType.IPV6), 1],
  [ethernet(ipv4('1.1.1.1', '2.2.2.2', 6, tcp(1, 2, 3, new Uint8Array(30))), EtherType.IPV4), 1],
  [ethernet(mpls([1, 2], ipv4Udp('1.1.1.1', 1, '2.2.2.2', 2, new Uint8Array(8))), EtherType.MPLS), 1],
  [ethernet(ipv4('1.1.1.1', '2.2.2.2', 47, gre(0x88be, erspan2(inner), { seq: 1 })), EtherType.IPV4), 1],
  [ethernet(ipv4('1.1.1.1', '2.2.2.2', 47, gre(0x22eb, erspan3(inner, { platform: true }), { seq: 1 })), EtherType.IPV4), 1],
  [udpFrame('1.1.1.1', 1, '2.2.2.2', 4789, vxlan(inner)), 1],
  [udpFrame('1.1.1.1', 1, '2.2.2.2', 37008, tzsp(inner, [[10, Uint8Array.from([1])]])), 1],
  [ethernet(ipv4Fragments('1.1.1.1', '2.2.2.2', 17, udp(1, 2, new Uint8Array(100)), 48, { id: 1 })[0], EtherType.IPV4), 1],
  [sll(ipv4Udp('1.1.1.1', 1, '2.2.2.2', 2, new Uint8Array(8)), 0x0800), 113],
];
const linkTypes = [0, 1, 101, 108, 113, 228, 229, 276];

function checkDecode(decoder: PacketDecoder, frames: Uint8Array[], linkType: number): void {
  const batch = batchOf(frames, linkType);
  const pkt = new DecodedPacket();
  for (let i = 0; i < batch.count; i++) {
    const ok = decoder.decode(batch, i, pkt);
    expect(typeof ok).toBe('boolean');
    if (ok) {
      expect(pkt.payloadOffset).toBeGreaterThanOrEqual(0);
      expect(pkt.payloadLength).toBeGreaterThanOrEqual(0);
      expect(pkt.payloadOffset + pkt.payloadLength).toBeLessThanOrEqual(pkt.payloadBuf.length);
      if (pkt.payloadBuf === batch.buf) expect(pkt.payloadOffset + pkt.payloadLength).toBeLessThanOrEqual(batch.offset[i] + batch.caplen[i]);
      expect(pkt.ipProto === 17 || pkt.ipProto === 6).toBe(true);
    }
    if (pkt.srcMacOffset >= 0) expect(pkt.srcMacOffset + 6).toBeLessThanOrEqual(batch.offset[i] + batch.caplen[i]);
  }
}

const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 });

function mutate(data: Uint8Array, edits: Array<[number, number]>, cut: number): Uint8Array {
  const copy = Uint8Array.from(data);
  for (const [at, v] of edits) copy[at % copy.length] = v;
  return copy.subarray(0, Math.max(0, copy.length - cut));
}

describe('decoder robustness', () => {
  it('random bytes under every link type never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 8 }), fc.constantFrom(...linkTypes), (frames, lt) => {
        checkDecode(new PacketDecoder({ maxFragmentChains: 4, maxFragmentBytes: 4096 }), frames, lt);
      }),
      { numRuns: 1500 },
    );
  });

  it('random mutations and truncations of valid frames never throw', () => {
    const decoder = new PacketDecoder({ maxFragmentChains: 4, maxFragmentBytes: 8192 }); // shared: fragment state accumulates
    fc.assert(
      fc.property(fc.nat({ max: seeds.length - 1 }), mutation, fc.nat({ max: 60 }), (k, edits, cut) => {
        const [frame, lt] = seeds[k];
        checkDecode(decoder, [mutate(frame, edits, cut)], lt);
      }),
      { numRuns: 3000 },
    );
    expect(decoder.counts[0]).toBe(3000);
  });

  it('random fragments never break reassembly bounds', () => {
    const decoder = new PacketDecoder({ maxFragmentChains: 3, maxFragmentBytes: 3000, fragmentTimeoutMs: 50 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 8191 }), fc.boolean(), fc.integer({ min: 0, max: 1500 }), (id, unit, more, len) => {
        const f = ethernet(ipv4('1.1.1.1', '2.2.2.2', 17, new Uint8Array(len).fill(id), { id, fragOffset: unit * 8, moreFragments: more }), EtherType.IPV4);
        checkDecode(decoder, [f], 1);
        expect(decoder.fragmentBytes()).toBeLessThanOrEqual(3000);
        expect(decoder.fragmentChains()).toBeLessThanOrEqual(3);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('file reader robustness', () => {
  const frames = seeds.map(([f]) => f);
  const recs = frames.map((data, i) => ({ tsNs: 1_000_000_000_000n + BigInt(i) * 1000n, data }));
  const files = [
    classicPcap(recs),
    classicPcap(recs, { nanoseconds: true, bigEndian: true }),
    pcapng(recs, [{ linkType: 1, tsresol: 9 }]),
    pcapng(recs, [{ linkType: 1 }], true),
    pcapngSections([{ bigEndian: true, interfaces: [{ linkType: 1, tsresol: 0x80 | 24 }, { linkType: 113 }], records: recs.map((r, i) => ({ ...r, iface: i & 1 })) }]),
  ];

  function readAll(data: Uint8Array): void {
    try {
      for (const b of readCaptureBuffer(data, 'fuzz', 3)) {
        for (let i = 0; i < b.count; i++) {
          expect(b.offset[i] + b.caplen[i]).toBeLessThanOrEqual(b.buf.length);
          expect(b.tsNsec[i]).toBeLessThan(1e9);
          checkDecode(new PacketDecoder(), [b.buf.subarray(b.offset[i], b.offset[i] + b.caplen[i])], b.linkType[i]);
        }
      }
    } catch (e) {
      expect(e).toBeInstanceOf(CaptureFileError);
    }
  }

  it('random bytes with a valid magic throw only CaptureFileError', () => {
    const magics = [files[0].subarray(0, 4), files[1].subarray(0, 4), files[2].subarray(0, 12)];
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.uint8Array({ maxLength: 400 }), (m, rest) => {
        const data = new Uint8Array(magics[m].length + rest.length);
        data.set(magics[m]);
        data.set(rest, magics[m].length);
        readAll(data);
      }),
      { numRuns: 1500 },
    );
  });

  it('mutated and truncated valid files throw only CaptureFileError', () => {
    fc.assert(
      fc.property(fc.nat({ max: files.length - 1 }), mutation, fc.nat({ max: 300 }), (k, edits, cut) => {
        readAll(mutate(files[k], edits, cut));
      }),
      { numRuns: 1500 },
    );
  });
});
