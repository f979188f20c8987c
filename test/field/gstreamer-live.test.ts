/**
 * Live on lo: a GStreamer udpsink stream (another process) is found by the default heuristic whatever
 * the parity of its ephemeral source port, counted from its first packet as tcpdump saw it.
 */
import { describe, expect, it } from 'vitest';
import { openLiveCapture } from '../../src/capture/live/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { isRoot, sendGstRtp, Tcpdump, testPort } from '../capture-live/helpers.js';
import { until } from '../wait.js';
import { fieldConfig } from './helpers.js';

describe.skipIf(!isRoot)('GStreamer udpsink on lo with the default heuristic', () => {
  it('every run is found: odd and even ephemeral source ports, 60 packets each, counted from the first', async () => {
    const parities = new Set<number>();
    // Each run gets a new ephemeral source port; run until both parities were seen (at most 12 runs).
    for (let run = 0; run < 12 && parities.size < 2; run++) {
      const port = testPort() & ~1; // an even destination, as RTP conventionally uses
      const filter = `udp and dst port ${port}`;
      const td = new Tcpdump();
      await td.start(filter);
      const finals: QosReport[] = [];
      const pipeline = new Pipeline(fieldConfig(), {
        qos: (r) => {
          if (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP') finals.push(r);
        },
        rtcp: () => {},
      });
      const src = await openLiveCapture({ interface: 'lo', backend: 'pcap', filter });
      const loop = (async () => {
        for await (const b of src.batches()) pipeline.processBatch(b);
      })();
      await sendGstRtp(port, 60);
      // Every packet handed over (the last block retires on the buffer timeout) and written by tcpdump.
      // Not the kernel's count: other traffic on lo that reached the socket before its filter was
      // attached is counted there and filtered out by libpcap.
      const all = () => src.stats().received >= 60 && td.records() >= 60;
      expect(await until(all), JSON.stringify(src.stats())).toBe(true);
      await src.close();
      await loop;
      pipeline.finish();
      const ref = await td.stop();
      expect(ref.length, 'tcpdump saw the stream').toBe(60);
      const srcPort = Buffer.from(ref[0].key, 'hex').readUInt16BE(14 + 20); // Ethernet (lo) + IPv4
      parities.add(srcPort & 1);
      expect(finals.map((r) => [r.SRC_PORT, r.DST_PORT, r.TOTAL_PK]), `source port ${srcPort}`).toEqual([[srcPort, port, 60]]);
    }
    expect(parities.size, 'both parities of the ephemeral source port were tried').toBe(2);
  }, 120_000);
});
