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
});
