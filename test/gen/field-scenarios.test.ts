import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, ipToString, PacketDecoder } from '../../src/decode/index.js';
import { buildFieldScenario, classicPcap, FIELD_KINDS, impair, ipUdp, SeededRandom, WRAPS, type SentPacket } from '../../src/gen/index.js';

const sent = (n: number): SentPacket[] => Array.from({ length: n }, (_, i) => ({ sendNs: i * 20_000_000, ip: ipUdp('10.0.0.1', 4000, '10.0.0.2', 5000, Uint8Array.of(i)) }));
const order = (a: Array<{ ip: Uint8Array }>) => a.map((p) => p.ip[p.ip.length - 1]);

describe('impair: what the network does to one direction', () => {
  it('keeps send order and whole microseconds without reordering asked for', () => {
    const out = impair(sent(200), new SeededRandom(1), { jitterMs: 30 });
    expect(order(out)).toEqual([...Array(200).keys()]);
    for (let i = 1; i < out.length; i++) expect(out[i].tNs).toBeGreaterThan(out[i - 1].tNs);
    expect(out.every((p) => p.tNs % 1000 === 0)).toBe(true);
  });
  it('swaps the first two packets, duplicates and loses on request', () => {
    const first = impair(sent(10), new SeededRandom(2), { swapFirst: true });
    expect(first[0].tNs).toBeGreaterThan(first[1].tNs); // send order out, arrival times swapped
    expect([...first].sort((a, b) => a.tNs - b.tNs).slice(0, 2).map((p) => p.ip[p.ip.length - 1])).toEqual([1, 0]);
    expect(impair(sent(10), new SeededRandom(3), { duplicatePct: 100 })).toHaveLength(20);
    expect(impair(sent(10), new SeededRandom(4), { lossPct: 100 })).toHaveLength(0);
  });
});

describe('field scenarios', () => {
  it('are the same bytes for the same (kind, seed, wrap, IP version)', () => {
    for (const kind of ['basic', 'events-sdp', 'dyn-90k', 'b2bua'] as const) {
      const spec = { kind, seed: 77, wrap: 'gtpu' as const, ipv6: true, slot: 3, startNs: 0 };
      expect(buildFieldScenario(spec).frames).toEqual(buildFieldScenario(spec).frames);
    }
  });

  it('decode, under each wrap, to UDP (TCP for sip-tcp\'s SIP) between the scenario\'s own addresses', () => {
    for (const [w, wrap] of WRAPS.entries()) {
      for (const [i, kind] of FIELD_KINDS.entries()) {
        if (i % WRAPS.length !== w && kind !== 'basic') continue; // every kind under one wrap, basic under all
        const s = buildFieldScenario({ kind, seed: 1000 + i, wrap, ipv6: i % 2 === 1, slot: i, startNs: 0 });
        const data = classicPcap(s.frames.map((f) => ({ tsNs: 1_700_000_000_000_000_000n + BigInt(f.tNs), data: f.data })));
        const decoder = new PacketDecoder();
        const pkt = new DecodedPacket();
        let udp = 0;
        let tcp = 0;
        for (const batch of readCaptureBuffer(data)) {
          for (let k = 0; k < batch.count; k++) {
            expect(decoder.decode(batch, k, pkt), `${kind} ${wrap}`).toBe(true);
            expect(s.addresses).toContain(ipToString(pkt.src0, pkt.src1, pkt.src2, pkt.src3));
            expect(s.addresses).toContain(ipToString(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3));
            udp += pkt.ipProto === 17 ? 1 : 0;
            if (pkt.ipProto === 6 && (pkt.srcPort === 5060 || pkt.dstPort === 5060)) tcp++;
          }
        }
        expect(udp + tcp, `${kind} ${wrap}`).toBe(s.frames.length);
        expect(tcp > 0, `${kind} ${wrap}: SIP over TCP`).toBe(kind === 'sip-tcp');
        expect(udp).toBeGreaterThan(20);
      }
    }
  });
});
