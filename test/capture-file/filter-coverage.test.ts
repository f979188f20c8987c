/**
 * check-config's note on what a capture filter drops of the ways a mirror port carries RTP and SIP
 * (src/capture/filter-coverage.ts). The sample frames of every carriage are written to a pcap and read by
 * `tcpdump -r FILE FILTER`, the reference for which frames a filter keeps; then `rtpprobe check-config`
 * must name exactly the carriages whose frames tcpdump drops while it keeps the untagged packet.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CARRIAGES, SAMPLES } from '../../src/capture/filter-coverage.js';
import { classicPcap, type PcapRecord } from '../../src/gen/index.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-filter-coverage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every sample frame in every carriage, frame i at second i; what each one is. */
const frames: Array<{ carriage: string; what: string; data: Uint8Array }> = [];
for (const s of SAMPLES) {
  for (const c of CARRIAGES) {
    if (c.only !== undefined && c.only !== s.what) continue;
    for (const data of c.frames(s)) frames.push({ carriage: c.name, what: s.what, data });
  }
}
const pcap = join(dir, 'samples.pcap');
writeFileSync(pcap, classicPcap(frames.map((f, i): PcapRecord => ({ tsNs: BigInt(i + 1) * 1_000_000_000n, data: f.data }))));

/** The carriages tcpdump drops (any of their frames) per sample kind, judged against untagged IPv4, as the note does. */
function tcpdumpDrops(filter: string): Record<string, string[]> {
  const r = spawnSync('tcpdump', ['-r', pcap, '-nn', '-tt', filter], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const kept = new Set(r.stdout.split('\n').filter(Boolean).map((l) => Number(l.split('.')[0]) - 1));
  const dropped = new Map<string, Set<string>>();
  frames.forEach((f, i) => {
    if (kept.has(i)) return;
    const key = f.what;
    if (!dropped.has(key)) dropped.set(key, new Set());
    dropped.get(key)!.add(f.carriage);
  });
  const out: Record<string, string[]> = {};
  for (const [what, set] of dropped) {
    if (set.has('untagged IPv4')) continue; // not judged
    out[what] = CARRIAGES.map((c) => c.name).filter((n) => set.has(n));
  }
  return out;
}

function checkConfigNote(filter: string): string {
  const r = spawnSync(process.execPath, [cli, 'check-config', '--no-hep', '--set', `capture.filter=${filter}`], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr.split('\n').find((l) => l.includes('capture.filter')) ?? '';
}

const EXAMPLE = 'udp or (vlan and (udp or (vlan and udp)))';

describe.skipIf(!hasTcpdump || !existsSync(cli))('check-config names the carriages a capture filter drops, as tcpdump -r drops them', () => {
  const cases: Array<[string, Record<string, string[]>]> = [
    // config/rtpprobe.yaml's example: tags kept, GRE / ERSPAN and SIP over TCP dropped.
    [EXAMPLE, { RTP: ['Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III'], SIP: ['Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III', 'TCP'] }],
    // One vlan only: QinQ dropped.
    ['udp or (vlan and udp)', { RTP: ['QinQ', 'Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III'], SIP: ['QinQ', 'Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III', 'TCP'] }],
    // GRE in front, as the README says: only SIP over TCP dropped.
    [`proto gre or ${EXAMPLE}`, { SIP: ['TCP'] }],
    // GRE behind a vlan is tested 4 bytes too far on.
    [`${EXAMPLE} or proto gre`, { RTP: ['Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III'], SIP: ['Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III', 'TCP'] }],
    // Ports: a large INVITE's later fragments have none.
    ['udp port 5060 or udp portrange 16384-32767', { RTP: ['802.1Q', 'QinQ', 'VXLAN', 'Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III'], SIP: ['802.1Q', 'QinQ', 'VXLAN', 'Ethernet over GRE', 'ERSPAN type II', 'ERSPAN type III', 'TCP', 'IPv4 fragments'] }],
    // Everything the probe decodes.
    ['', {}],
  ];
  for (const [filter, want] of cases) {
    it(`${JSON.stringify(filter)}`, () => {
      if (filter !== '') expect(tcpdumpDrops(filter)).toEqual(want);
      const note = checkConfigNote(filter);
      if (Object.keys(want).length === 0) expect(note).toBe('');
      else {
        const parts = Object.entries(want).map(([what, names]) => `${what} in ${names.join(', ')}`);
        expect(note).toContain(`capture.filter: it drops ${parts.join('; ')}, as a mirror port may carry them`);
      }
    });
  }

  it('a filter that drops the samples even untagged is not judged, and says so', () => {
    const filter = 'host 10.9.9.9';
    expect(Object.keys(tcpdumpDrops(filter))).toEqual([]);
    const note = checkConfigNote(filter);
    expect(note).toContain('the sample RTP packet (UDP 192.0.2.10:16384 > 192.0.2.20:16386) is dropped even untagged, so where the filter drops RTP is not judged');
    expect(note).toContain('where the filter drops SIP is not judged');
  });
});
