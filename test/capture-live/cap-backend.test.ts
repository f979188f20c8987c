import { describe, expect, it } from 'vitest';
import { LinkType } from '../../src/capture/batch.js';
import { openLiveCapture } from '../../src/capture/live/index.js';
import { until } from '../wait.js';
import { collect, compareToReference, isRoot, sendGstRtp, sendUdp, Tcpdump, testPort } from './helpers.js';

describe.skipIf(!isRoot)('live capture, cap fallback backend, on lo', () => {
  it('captures GStreamer RTP from another process: same packets as tcpdump, host-timestamped', async () => {
    const port = testPort();
    const filter = `udp port ${port}`;
    const td = new Tcpdump();
    await td.start(filter);
    const src = await openLiveCapture({ interface: 'lo', backend: 'cap', filter });
    const seen = { n: 0 };
    const ours = collect(src, seen);
    await sendGstRtp(port, 60);
    // Both have every packet before they stop (one RTP packet per GStreamer buffer).
    expect(await until(() => seen.n >= 60 && td.records() >= 60), `ours ${seen.n}, tcpdump ${td.records()}`).toBe(true);
    await src.close();
    const mine = await ours;
    const ref = await td.stop();
    expect(src.backend).toBe('cap');
    expect(src.hostTimestamps).toBe(true);
    expect(src.linkType).toBe(LinkType.EN10MB);
    expect(ref.length).toBeGreaterThanOrEqual(50);
    const cmp = compareToReference(mine, ref);
    expect(cmp).toMatchObject({ matched: ref.length, onlyOurs: 0, onlyRef: 0 });
    // Host stamps are taken in JavaScript when cap's callback runs: close to the kernel's, not equal, and as
    // late as the event loop is (seconds on a loaded machine): the bound only tells a host clock from garbage.
    console.log(`cap backend vs tcpdump: ${cmp.matched} packets, max |Δts| = ${cmp.maxDiffNs} ns`);
    expect(Number(cmp.maxDiffNs)).toBeLessThan(10_000_000_000);
    const st = src.stats();
    expect(st).toMatchObject({ received: mine.length, statsAvailable: false, droppedKernel: 0, droppedInterface: 0 });
  });

  it('applies the BPF filter and rejects a bad one naming it', async () => {
    const port = testPort();
    const src = await openLiveCapture({ interface: 'lo', backend: 'cap', filter: `udp port ${port}` });
    const seen = { n: 0 };
    const ours = collect(src, seen);
    await Promise.all([sendUdp(port, 100, 1000), sendUdp(testPort(), 100, 1000)]);
    expect(await until(() => seen.n >= 100)).toBe(true);
    await src.close();
    const mine = await ours;
    expect(mine.length).toBe(100);
    await expect(openLiveCapture({ interface: 'lo', backend: 'cap', filter: 'udp port and' })).rejects.toMatchObject({
      code: 'EFILTER',
      message: expect.stringContaining('udp port and'),
    });
    await expect(openLiveCapture({ interface: 'nosuchif0', backend: 'cap' })).rejects.toThrow(/nosuchif0/);
  });

  it('auto falls back to cap with a warning when the addon is missing', async () => {
    const saved = process.env['RTPPROBE_PCAP_ADDON'];
    process.env['RTPPROBE_PCAP_ADDON'] = '/nonexistent/rtpprobe_pcap.node';
    try {
      const warnings: string[] = [];
      const src = await openLiveCapture({ interface: 'lo', filter: `udp port ${testPort()}`, onWarning: (m) => warnings.push(m) });
      await src.close();
      expect(src.backend).toBe('cap');
      expect(src.hostTimestamps).toBe(true);
      expect(warnings.join('\n')).toMatch(/not built.*Falling back to the cap backend/s);
      expect(src.warnings).toEqual(warnings);
    } finally {
      if (saved === undefined) delete process.env['RTPPROBE_PCAP_ADDON'];
      else process.env['RTPPROBE_PCAP_ADDON'] = saved;
    }
  });
});
