import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openCaptureFile } from '../../src/capture/index.js';

const captures = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));

describe('openCaptureFile on a public capture', () => {
  it('delivers as many packets as capinfos counts', async () => {
    const file = captures + 'SIP_CALL_RTP_G711.pcap';
    const expected = Number(execFileSync('capinfos', ['-T', '-r', '-c', file], { encoding: 'utf8' }).trim().split('\t').pop());
    const src = openCaptureFile(file, { chunkBytes: 65536, batchPackets: 100 });
    let n = 0;
    for await (const b of src.batches()) n += b.count;
    expect(n).toBe(expected);
    expect(src.stats().received).toBe(expected);
  });

  it('knows the capture times of its first and last packets as capinfos shows them, read either way', async () => {
    for (const name of ['SIP_CALL_RTP_G711.pcap', 'field/ndpi-rtp.pcapng']) {
      const file = captures + name;
      const [, first, last] = execFileSync('capinfos', ['-T', '-r', '-a', '-e', '-S', file], { encoding: 'utf8' }).trim().split('\t').map(Number);
      const byRecords = openCaptureFile(file, { chunkBytes: 65536 });
      expect(byRecords.firstPacketMs).toBeNaN();
      for await (const cur of byRecords.records()) while (cur.next());
      const byBatches = openCaptureFile(file, { chunkBytes: 65536, batchPackets: 100 });
      for await (const _b of byBatches.batches());
      for (const src of [byRecords, byBatches]) {
        expect(src.firstPacketMs / 1000, name).toBeCloseTo(first, 6);
        expect(src.lastPacketMs / 1000, name).toBeCloseTo(last, 6);
      }
    }
  });
});
