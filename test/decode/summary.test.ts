import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CaptureFileError } from '../../src/capture/index.js';
import { formatCaptureSummary, summarizeCapture, type CaptureSummary } from '../../src/decode/index.js';
import { classicPcap, tcpFrame, udpFrame } from '../../src/gen/index.js';

const dir = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));

/** tshark's per-flow packets, bytes, first and last epoch for UDP and TCP. */
function tsharkFlows(file: string): Map<string, { packets: number; bytes: number; first: string; last: string }> {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'tcp.srcport',
    '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'udp.dstport', '-e', 'tcp.dstport', '-Y', 'udp or tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const flows = new Map<string, { packets: number; bytes: number; first: string; last: string }>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const f = line.split('\t').map((v) => v.split(',').pop() ?? '');
    const proto = f[4] ? 'udp' : 'tcp';
    const key = `${proto} ${f[3] || f[2]}|${f[4] || f[5]}|${f[7] || f[6]}|${f[8] || f[9]}`;
    const e = flows.get(key);
    if (e) {
      e.packets++;
      e.bytes += Number(f[1]);
      e.last = f[0];
    } else flows.set(key, { packets: 1, bytes: Number(f[1]), first: f[0], last: f[0] });
  }
  return flows;
}

function ours(s: CaptureSummary) {
  const m = new Map<string, { packets: number; bytes: number; first: string; last: string }>();
  for (const f of s.flows) {
    m.set(`${f.proto} ${f.src}|${f.srcPort}|${f.dst}|${f.dstPort}`, {
      packets: f.packets, bytes: f.bytes, first: `${f.firstSec}.${String(f.firstNsec).padStart(9, '0')}`, last: `${f.lastSec}.${String(f.lastNsec).padStart(9, '0')}`,
    });
  }
  return m;
}

const sortedEntries = <V>(m: Map<string, V>) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));

describe('summarizeCapture agrees with tshark per flow (packets, bytes, first and last time)', () => {
  const files = [...readdirSync(dir).filter((f) => f.endsWith('.pcap')), 'synth/s05_duplicate.pcap'];
  for (const f of files) {
    it(f, async () => {
      const s = await summarizeCapture(dir + f);
      expect(sortedEntries(ours(s))).toEqual(sortedEntries(tsharkFlows(dir + f)));
      const count = Number(execFileSync('capinfos', ['-T', '-r', '-c', dir + f], { encoding: 'utf8' }).trim().split('\t').pop());
      expect(s.packets).toBe(count);
    });
  }

  it('many flows (table growth), and the text report', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-summary-'));
    const file = join(tmp, 'many.pcap');
    const recs = [];
    for (let i = 0; i < 3000; i++) {
      const a = `10.${(i >> 8) & 255}.${i & 255}.1`;
      recs.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data: udpFrame(a, 1000 + (i % 7), '192.0.2.1', 5060, new Uint8Array(20)) });
      if (i % 3 === 0) recs.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1000n + 1n, data: udpFrame(a, 1000 + (i % 7), '192.0.2.1', 5060, new Uint8Array(30)) });
    }
    recs.push({ tsNs: 1_700_000_001_000_000_000n, data: tcpFrame('2001:db8::1', 5061, '2001:db8::2', 40000, 1, new Uint8Array(10)) });
    writeFileSync(file, classicPcap(recs, { nanoseconds: true }));
    const s = await summarizeCapture(file);
    expect(sortedEntries(ours(s))).toEqual(sortedEntries(tsharkFlows(file)));
    expect(s.flows.length).toBe(3001);
    expect(s.flows[0].packets).toBe(2);
    expect(s.protocols.udp).toBe(4000);
    expect(s.protocols.tcp).toBe(1);
    const text = formatCaptureSummary(s, 5);
    expect(text).toContain(`${file}: ${recs.length} packets`);
    expect(text).toContain('flows: 3001');
    expect(text).toContain('... 2996 more flows');
    expect(text).toContain('malformed: none');
    expect(text).toMatch(/udp\s+10\.0\.0\.1:1000\s+->\s+192\.0\.2\.1:5060\s+2\s+/);
  });

  it('rejects with CaptureFileError on a damaged file', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-summary-'));
    const file = join(tmp, 'cut.pcap');
    const data = classicPcap([{ tsNs: 1n, data: udpFrame('1.1.1.1', 1, '2.2.2.2', 2, new Uint8Array(9)) }]);
    writeFileSync(file, data.subarray(0, data.length - 3));
    await expect(summarizeCapture(file)).rejects.toBeInstanceOf(CaptureFileError);
  });
});
