/**
 * A BPF filter on a capture of each link type the decoder reads keeps exactly the records `tcpdump -r`
 * keeps from the same file. The files hold the link type's own headers around IPv4 (IPv6 for
 * LINKTYPE_IPV6) UDP datagrams to three ports; `tcpdump -r FILE FILTER` is the reference. A pcapng file
 * whose interfaces mix link types (mergecap of an Ethernet and a Linux cooked capture), which tcpdump
 * cannot read, keeps what the filter keeps of the interfaces it applies to, as tshark's display filter
 * drops packets without the field it names.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCaptureFile, PacketFilter } from '../../src/capture/index.js';
import { ethernet, EtherType, ipv4, ipv6, loopback, rtp, sll, sll2, udp, writePcapFile } from '../../src/gen/index.js';
import { bundleCli, CAPTURES, ourStreams, runCliSync, tsharkStreams } from '../cli/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-filter-links-'));
const PORTS = [5060, 40376, 8000];
const FILTER = 'udp port 5060 or dst port 8000';

/** [link type, name, how one IP packet is framed for it] */
const LINKS: Array<[number, string, (ip: Uint8Array, v6: boolean) => Uint8Array]> = [
  [1, 'Ethernet', (ip, v6) => ethernet(ip, v6 ? EtherType.IPV6 : EtherType.IPV4)],
  [101, 'RAW (tcpdump on a tun or WireGuard interface)', (ip) => ip],
  [12, 'RAW as DLT_RAW', (ip) => ip],
  [228, 'IPV4', (ip) => ip],
  [113, 'LINUX_SLL', (ip, v6) => sll(ip, v6 ? EtherType.IPV6 : EtherType.IPV4)],
  [276, 'LINUX_SLL2', (ip, v6) => sll2(ip, v6 ? EtherType.IPV6 : EtherType.IPV4)],
  [0, 'NULL', (ip, v6) => loopback(ip, v6 ? 24 : 2)],
  [108, 'LOOP', (ip, v6) => loopback(ip, v6 ? 24 : 2, true)],
];

function writeCapture(linkType: number, frame: (ip: Uint8Array, v6: boolean) => Uint8Array, v6: boolean): string {
  const records = [];
  for (let i = 0; i < 30; i++) {
    const port = PORTS[i % PORTS.length];
    const seg = udp(30000 + i, port, new Uint8Array(40 + i));
    const ip = v6 ? ipv6('2001:db8::1', '2001:db8::2', 17, seg) : ipv4('10.0.0.1', '10.0.0.2', 17, seg);
    records.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 20_000_000n, data: frame(ip, v6) });
  }
  const path = join(tmp, `link-${linkType}${v6 ? '-v6' : ''}.pcap`);
  writePcapFile(path, records, { linkType });
  return path;
}

function tcpdumpKept(path: string, filter: string): number {
  const r = spawnSync('tcpdump', ['-n', '-r', path, filter], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l).length;
}

async function ourKept(path: string, filter: string): Promise<number> {
  let n = 0;
  for await (const cur of openCaptureFile(path, { filter: new PacketFilter(filter) }).records()) while (cur.next()) n++;
  return n;
}

describe('BPF filters on every link type the decoder reads, as tcpdump -r', () => {
  it.each(LINKS)('link type %i (%s)', async (linkType, _name, frame) => {
    const path = writeCapture(linkType, frame, false);
    const kept = tcpdumpKept(path, FILTER);
    expect(kept).toBe(20);
    expect(await ourKept(path, FILTER)).toBe(kept);
  });

  it('link type 229 (IPV6)', async () => {
    const path = writeCapture(229, (ip) => ip, true);
    const kept = tcpdumpKept(path, FILTER);
    expect(kept).toBe(20);
    expect(await ourKept(path, FILTER)).toBe(kept);
  });

  it('replay FILE FILTER on a LINKTYPE_RAW capture reads what tcpdump keeps, exit 0', async () => {
    const { bundle } = await bundleCli();
    const path = writeCapture(101, (ip) => ip, false);
    const r = runCliSync(bundle, ['replay', path, FILTER, '--no-hep', '--table', 'none']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"run summary"'))!) as { packets: number; filteredOut: number };
    expect(summary.packets).toBe(tcpdumpKept(path, FILTER));
    expect(summary.filteredOut).toBe(10);
  });
});

describe('a filter that cannot apply to one interface of a pcapng file', () => {
  const CALL = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');

  /** An RTP stream on a Linux cooked (SLL) capture, merged by mergecap with the Ethernet call into one pcapng. */
  function mixedCapture(): { path: string; sllRecords: number } {
    const records = [];
    for (let i = 0; i < 150; i++) {
      const seg = udp(41000, 42000, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc: 0x5111 }));
      records.push({ tsNs: 1_105_725_483_000_000_000n + BigInt(i) * 20_000_000n, data: sll(ipv4('10.9.0.1', '10.9.0.2', 17, seg), EtherType.IPV4) });
    }
    const sllPath = join(tmp, 'cooked.pcap');
    writePcapFile(sllPath, records, { linkType: 113 });
    const path = join(tmp, 'mixed.pcapng');
    const m = spawnSync('mergecap', ['-F', 'pcapng', '-w', path, CALL, sllPath], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    return { path, sllRecords: records.length };
  }

  it('measures the interfaces it applies to, counts the others in one warning with libpcap\'s reason, exit 0', async () => {
    const { bundle } = await bundleCli();
    const { path, sllRecords } = mixedCapture();
    // libpcap itself has no VLAN test for Linux cooked captures: the filter cannot be compiled for them.
    const r = runCliSync(bundle, ['replay', path, 'not vlan', '--no-hep', '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toBe(
      `${path}: ${sllRecords} records of link type 113 (LINUX_SLL) not analysed: the capture filter "not vlan" cannot apply to them (libpcap: no VLAN support for Linux cooked v1)`,
    );
    // The Ethernet interface's streams, as in the Ethernet capture alone; their packets as tshark counts them.
    const alone = runCliSync(bundle, ['replay', CALL, 'not vlan', '--no-hep', '--log-level', 'warn']);
    expect(alone.status, alone.stderr).toBe(0);
    expect(r.stdout).toBe(alone.stdout);
    const ours = ourStreams(r.stdout);
    const tshark = tsharkStreams(CALL);
    expect(tshark.size).toBeGreaterThanOrEqual(3);
    for (const [key, packets] of tshark) expect(ours.get(key), key).toBe(packets);
  });
});
