/**
 * parseTshark reads every row of tshark's `-z rtp,streams` table (negative times and deltas included, as
 * tshark prints them for a stream whose capture time went back) and fails naming a row it cannot read:
 * a comparison whose reference rows went missing could not fail when the probe misses those streams.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rtp, udpFrame, writePcapFile, type PcapRecord } from '../../src/gen/index.js';
import { CAPTURES, parseTshark, tsharkStreamRows } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-tshark-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000n * 1_000_000_000n;
const MS = 1_000_000n;

describe('parseTshark', () => {
  it('reads a stream whose capture time stepped back (negative end time and mean delta) beside a one-packet stream', () => {
    // 20 packets every 20 ms, the host clock stepping back 10 s after the 10th; and a single packet.
    const records: PcapRecord[] = Array.from({ length: 20 }, (_, k) => ({
      tsNs: T0 + BigInt(k) * 20n * MS - (k >= 10 ? 10_000n * MS : 0n),
      data: udpFrame('10.0.0.1', 4000, '10.0.0.2', 6000, rtp({ pt: 8, seq: k, ts: 160 * k, ssrc: 0x1111 })),
    }));
    records.push({ tsNs: T0 + 1_000n * MS, data: udpFrame('10.0.0.1', 4002, '10.0.0.2', 6002, rtp({ pt: 8, seq: 0, ts: 0, ssrc: 0x2222 })) });
    const pcap = join(dir, 'step.pcap');
    writePcapFile(pcap, records);
    const out = execFileSync('tshark', ['-n', '-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-q', '-z', 'rtp,streams'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const txt = join(dir, 'step.tshark.txt');
    writeFileSync(txt, out);
    const rows = parseTshark(txt);
    expect(rows.map((r) => [r.ssrc, r.packets]).sort(), out).toEqual([[0x1111, 20], [0x2222, 1]]);
    const stepped = rows.find((r) => r.ssrc === 0x1111)!;
    // (9,980 ms back over 19 deltas)
    expect(stepped.minDelta, out).toBeCloseTo(-9980, 3);
    expect(stepped.meanDelta, out).toBeCloseTo((19 * 20 - 10_000) / 19, 3);
    expect(stepped.maxDelta, out).toBeCloseTo(20, 3);
  });

  it('fails naming a row it cannot read, and output with no streams table', () => {
    const header = '========================= RTP Streams ========================';
    const bad = '     0.000000      1.000000        10.0.0.1  4000        10.0.0.2  6000 0x00001111            g711A    20     0 (0.0%)          nan';
    expect(() => tsharkStreamRows([header, bad, '='.repeat(62)].join('\n'), 'x.txt')).toThrow(`x.txt: tshark rtp,streams row not read: ${JSON.stringify(bad)}`);
    expect(() => tsharkStreamRows('tshark: The file "x.pcap" doesn\'t exist.\n', 'y.txt')).toThrow('y.txt: no tshark rtp,streams table');
  });

  it('reads every reference stored with the public captures', () => {
    const files = readdirSync(CAPTURES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tshark.txt'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => parseTshark(join(CAPTURES, f)), f).not.toThrow();
  });
});
