/**
 * The link-layer addresses reports carry, against tshark on the same file: a call captured on Ethernet,
 * and the same frames as `tcpdump -i any` writes them (Linux cooked SLL and SLL2, which keep only the
 * sender's address).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { sll, sll2, writePcapFile, type PcapRecord } from '../../src/gen/index.js';
import { bundleCli, CAPTURES, runCliSync } from '../cli/helpers.js';

const CAPTURE = join(CAPTURES, 'SIP_DTMF2.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-link-addresses-'));
let bundle = '';

beforeAll(async () => {
  ({ bundle } = await bundleCli());
});

/** The capture's Ethernet frames re-framed by `frame` (the Ethernet source MAC and EtherType kept). */
function reframed(linkType: number, frame: (payload: Uint8Array, etherType: number, src: string) => Uint8Array): string {
  const records: PcapRecord[] = [];
  for (const b of readCaptureBuffer(readFileSync(CAPTURE))) {
    for (let i = 0; i < b.count; i++) {
      const f = b.buf.subarray(b.offset[i], b.offset[i] + b.caplen[i]);
      const src = Array.from(f.subarray(6, 12), (x) => x.toString(16).padStart(2, '0')).join(':');
      records.push({ tsNs: BigInt(b.tsSec[i]) * 1_000_000_000n + BigInt(b.tsNsec[i]), data: frame(f.subarray(14), (f[12] << 8) | f[13], src) });
    }
  }
  const path = join(tmp, `link-${linkType}.pcap`);
  writePcapFile(path, records, { linkType });
  return path;
}

/** tshark's link-layer source and destination of each RTP stream's first packet, by SSRC. */
function tsharkMacs(file: string, srcField: string, dstField: string): Map<number, [string, string]> {
  const r = spawnSync('tshark', ['-n', '-r', file, '-Y', 'rtp', '-T', 'fields', '-e', 'rtp.ssrc', '-e', srcField, '-e', dstField], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const m = new Map<number, [string, string]>();
  for (const line of r.stdout.trim().split('\n')) {
    const [ssrc, src, dst] = line.split('\t');
    const mac = (s: string) => (s ? s.toUpperCase().replaceAll(':', '-') : '');
    if (!m.has(Number(ssrc))) m.set(Number(ssrc), [mac(src), mac(dst)]);
  }
  return m;
}

/** SRC_MAC and DST_MAC of each stream's reports, by SSRC. */
function ourMacs(file: string): Map<number, [string, string]> {
  const r = runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn', '--table', 'none', '--jsonl', '-']);
  expect(r.status, r.stderr).toBe(0);
  const m = new Map<number, [string, string]>();
  for (const line of r.stdout.trim().split('\n')) {
    const rep = JSON.parse(line) as { SSRC: number; SRC_MAC: string; DST_MAC: string };
    if (rep.SSRC !== 0) m.set(rep.SSRC, [rep.SRC_MAC, rep.DST_MAC]); // SSRC 0: a call-level report
  }
  return m;
}

describe('SRC_MAC and DST_MAC are the link-layer addresses tshark shows', () => {
  it('Ethernet: both', () => {
    const t = tsharkMacs(CAPTURE, 'eth.src', 'eth.dst');
    expect(t.size).toBe(2);
    for (const [src, dst] of t.values()) expect(src && dst).toBeTruthy();
    expect(ourMacs(CAPTURE)).toEqual(t);
  });

  it.each([
    [113, 'Linux cooked SLL', (p: Uint8Array, type: number, src: string) => sll(p, type, { src })],
    [276, 'Linux cooked SLL2', (p: Uint8Array, type: number, src: string) => sll2(p, type, { src })],
  ])('link type %i (%s, tcpdump -i any): the sender\'s address, no destination', (linkType, _name, frame) => {
    const file = reframed(linkType, frame);
    const t = tsharkMacs(file, 'sll.src.eth', 'eth.dst');
    expect(t.size).toBe(2);
    for (const [src, dst] of t.values()) {
      expect(src).toMatch(/^([0-9A-F]{2}-){5}[0-9A-F]{2}$/);
      expect(dst).toBe('');
    }
    expect(ourMacs(file)).toEqual(t);
  });
});
