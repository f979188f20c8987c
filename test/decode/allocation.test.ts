import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { classicPcap, erspan2, ethernet, EtherType, gre, ipv4, rtp, udpFrame, vxlan } from '../../src/gen/index.js';

/**
 * The hot path must not allocate per packet. Allocation shows up as young-generation garbage collections
 * (scavenges): a million packets allocating even 16 bytes each would fill the young generation many times.
 * Measured by counting GC events while a synchronous loop decodes a million packets.
 */
async function scavengesDuring(fn: () => void): Promise<number> {
  let count = 0;
  const obs = new PerformanceObserver((list) => {
    count += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return count;
}

describe('no allocation per packet', () => {
  it('reading and decoding a million packets triggers (almost) no garbage collection', async () => {
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
    let delivered = 0;
    const run = () => {
      for (let r = 0; r < 100; r++) {
        for (const b of readCaptureBuffer(data)) {
          for (let i = 0; i < b.count; i++) if (decoder.decode(b, i, pkt)) delivered += pkt.payloadLength > 0 ? 1 : 0;
        }
      }
    };
    run(); // warm-up: let the JIT settle
    delivered = 0;
    const gcs = await scavengesDuring(run);
    expect(delivered).toBe(1_000_000);
    // A per-packet allocation of >= 16 bytes would be >= 16 MB of garbage: several scavenges at least.
    expect(gcs).toBeLessThanOrEqual(1);
  });
});
