import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { classicPcap, erspan2, ethernet, EtherType, gre, ipv4, rtp, udpFrame, vxlan } from '../../src/gen/index.js';

/**
 * The hot path must not allocate per packet. Measured as heap growth: the loop runs in chunks and the heap's
 * growth across each chunk is summed (a chunk in which a collection ran shrinks the heap and is skipped), so
 * the result is bytes allocated per packet. Per-batch objects (iterator results, batch views) come to well
 * under a byte per packet; one allocation per packet would be 16 bytes or more. Counting GC events instead
 * proved load-dependent (the young generation starts small and grows).
 */
function allocatedBytesPerPacket(chunks: number, chunk: () => number): number {
  let grown = 0;
  let packets = 0;
  let counted = 0;
  let before = process.memoryUsage().heapUsed;
  for (let c = 0; c < chunks; c++) {
    const n = chunk();
    const after = process.memoryUsage().heapUsed;
    if (after >= before) {
      grown += after - before;
      packets += n;
      counted++;
    }
    before = after;
  }
  expect(counted).toBeGreaterThan(chunks / 2);
  return grown / packets;
}

describe('no allocation per packet', () => {
  it('reading and decoding packets allocates less than a byte per packet', () => {
    const inner = udpFrame('10.0.0.1', 4000, '10.0.0.2', 5000, rtp({ pt: 8, seq: 1, ts: 160, ssrc: 7 }));
    const frames = [
      inner,
      udpFrame('2001:db8::1', 4000, '2001:db8::2', 5000, rtp({ pt: 8, seq: 1, ts: 160, ssrc: 7 }), { vlans: [5, 6] }),
      ethernet(ipv4('172.16.0.1', '172.16.0.2', 47, gre(0x88be, erspan2(inner), { seq: 1 })), EtherType.IPV4),
      udpFrame('172.16.0.1', 1, '172.16.0.2', 4789, vxlan(inner)),
    ];
    const data = classicPcap(Array.from({ length: 10_000 }, (_, i) => ({ tsNs: BigInt(i) * 1000n, data: frames[i % frames.length] })));
    const decoder = new PacketDecoder();
    const pkt = new DecodedPacket();
    const chunk = () => {
      let delivered = 0;
      for (const b of readCaptureBuffer(data)) {
        for (let i = 0; i < b.count; i++) if (decoder.decode(b, i, pkt)) delivered += pkt.payloadLength > 0 ? 1 : 0;
      }
      return delivered;
    };
    for (let r = 0; r < 100; r++) expect(chunk()).toBe(10_000); // warm-up: let the JIT settle
    expect(allocatedBytesPerPacket(200, chunk)).toBeLessThan(1);
  });
});
