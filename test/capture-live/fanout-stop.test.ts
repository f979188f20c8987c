/**
 * A stop with capture.workers: each worker reads what its ring holds, and the kernel spreads the flows over
 * the members of the PACKET_FANOUT group by their hash modulo the number of members. A member that leaves
 * the group (its socket closed) hands its flows to the others: a worker still reading would then start a
 * second stream for a flow another worker measured, both ended and reported (two HANGUPs for one SSRC).
 * So a stopped capture keeps its place in the group until close(), and its counters stop at what it read.
 * Two captures of one group on lo, in this process, with real UDP flows that keep coming; needs root.
 */
import { describe, expect, it } from 'vitest';
import { openLiveCapture, type LivePacketSource } from '../../src/capture/live/index.js';
import type { PacketBatch } from '../../src/capture/index.js';
import { CaptureLoop } from '../../src/pipeline/capture-loop.js';
import { waitFor } from '../wait.js';
import { isRoot, startUdpFlows, testFanoutGroup, testPort } from './helpers.js';

const FLOWS = 16;

/** UDP source ports of the packets in `batch` (Ethernet + IPv4 on lo), counted into `seen`. */
function countFlows(batch: PacketBatch, seen: Map<number, number>): void {
  for (let i = 0; i < batch.count; i++) {
    const ip = batch.offset[i]! + 14;
    const srcPort = (batch.buf[ip + (batch.buf[ip]! & 0x0f) * 4]! << 8) | batch.buf[ip + (batch.buf[ip]! & 0x0f) * 4 + 1]!;
    seen.set(srcPort, (seen.get(srcPort) ?? 0) + 1);
  }
}

const total = (m: Map<number, number>) => [...m.values()].reduce((a, n) => a + n, 0);

describe.skipIf(!isRoot)('a stopped capture in a PACKET_FANOUT group', () => {
  it('keeps its flows until it is closed: the member still reading gets none of them, and its counters stop at what it read', async () => {
    const port = testPort();
    // Not an automatic id: a probe another test starts meanwhile may pick that one before this test opens it.
    const group = await testFanoutGroup();
    const open = (): Promise<LivePacketSource> => openLiveCapture({ interface: 'lo', backend: 'pcap', filter: `udp and dst port ${port}`, fanoutGroup: group, bufferTimeoutMs: 10 });
    const log = { error: () => {}, warn: () => {}, info: () => {} };
    const seenA = new Map<number, number>();
    const seenB = new Map<number, number>();
    const a = new CaptureLoop(await open(), { interface: 'lo', open, onBatch: (b) => countFlows(b, seenA), log });
    const b = new CaptureLoop(await open(), { interface: 'lo', open, onBatch: (b) => countFlows(b, seenB), log });
    const runA = a.run();
    const runB = b.run();
    const payload = Buffer.alloc(172, 0xd5);
    const flows = await startUdpFlows(port, FLOWS, 5, () => payload);
    try {
      // Every flow seen, on one member or the other (16 flows all on one member: 1 in 32,768).
      await waitFor(() => seenA.size + seenB.size === FLOWS && seenA.size > 0 && seenB.size > 0, 30_000, 'every flow captured');
      await a.stop();
      await runA;
      const readByA = total(seenA);
      expect(a.totals().received).toBe(readByA);
      // B reads on while the flows go on: as many packets again as both had read before A stopped.
      const target = total(seenB) + readByA + total(seenB);
      await waitFor(() => total(seenB) >= target, 30_000, 'packets read by the member still reading');
      const moved = [...seenB.keys()].filter((p) => seenA.has(p));
      expect(moved, `flows of the stopped member read by the other: ${JSON.stringify(moved)}`).toEqual([]);
      expect(total(seenA)).toBe(readByA);
      expect(a.totals().received).toBe(readByA);
    } finally {
      flows.stop();
      await a.close?.();
      await b.stop();
      await b.close?.();
      await runB;
    }
  });
});
