import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classicPcap, pcapng, rtp, udpFrame } from '../../src/gen/index.js';

// The generator is checked against tshark, an independent reader: what we write is what it decodes.
function tsharkFields(file: string, fields: string[]): string[] {
  const args = ['-r', file, '-T', 'fields', '-d', 'udp.port==5000,rtp', ...fields.flatMap((f) => ['-e', f])];
  return execFileSync('tshark', args, { encoding: 'utf8' }).trim().split('\n');
}

describe('pcap writer and packet builders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-gen-'));
  const records = [0, 1, 2].map((i) => ({
    tsNs: 1_700_000_000_123_456_789n + BigInt(i) * 20_000_000n,
    data: udpFrame(i === 2 ? '2001:db8::1' : '10.0.0.1', 4000, i === 2 ? '2001:db8::2' : '10.0.0.2', 5000, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc: 0x11223344 })),
  }));

  for (const variant of ['us-le', 'ns-be', 'pcapng-ns'] as const) {
    it(`tshark decodes ${variant} files the generator wrote`, () => {
      const file = join(dir, `${variant}.pcap`);
      const buf =
        variant === 'pcapng-ns'
          ? pcapng(records, [{ linkType: 1, tsresol: 9 }])
          : classicPcap(records, { nanoseconds: variant === 'ns-be', bigEndian: variant === 'ns-be' });
      writeFileSync(file, buf);
      const rows = tsharkFields(file, ['frame.time_epoch', 'rtp.seq', 'rtp.ssrc', 'udp.dstport']);
      expect(rows).toHaveLength(3);
      const epoch = rows.map((r) => r.split('\t')[0]);
      expect(epoch[0]).toBe(variant === 'us-le' ? '1700000000.123456000' : '1700000000.123456789');
      expect(rows.map((r) => r.split('\t')[1])).toEqual(['100', '101', '102']);
      expect(rows[2].split('\t')[2]).toBe('0x11223344');
    });
  }
});
