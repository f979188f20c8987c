/**
 * What a mirror port carries, captured live as the kernel hands it over: `rtpprobe run` on the `b` end of
 * a veth pair between two network namespaces, tcpdump on the same interface as the reference, tshark
 * reading tcpdump's file. 802.1Q and QinQ frames played into the `a` end arrive with their outer tag taken
 * out by the receiving kernel and put back by libpcap from the packet's auxdata (with rx-vlan offload on
 * and off); VXLAN, GRE and ERSPAN (types II and III) are built by kernel tunnel devices whose underlay is
 * `a`; GRE and ERSPAN (II, III) are also built by the test, as a mirror source sends them, and played into
 * `a`. Each must give the streams, packets and Call-IDs tshark gives, with no filter and with the filter
 * config/rtpprobe.yaml gives as its example. A kernel tunnel whose module is missing (ip_gre, vxlan) is
 * skipped, naming it.
 * Needs root, tcpreplay, tcpdump, tshark, curl and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, erspan2, erspan3, ethernet, EtherType, gre, ipv4, IpProto, scenarioFrames, type PcapRecord } from '../../src/gen/index.js';
import { tsharkStreams } from '../cli/helpers.js';
import { until } from '../wait.js';
import { readNanoPcap } from './helpers.js';
import { canNetns, replayIntoProbe, sh, type ReplayLink } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const canRun = canNetns && existsSync(cli) && has('tcpreplay') && has('tcpdump') && has('tshark') && has('curl');
const hasEthtool = has('ethtool');

/** The capture filter config/rtpprobe.yaml suggests (its `capture.filter` comment): what operators copy. */
const exampleFilter = [...readFileSync(join(root, 'config/rtpprobe.yaml'), 'utf8').split('filter:')[0]!.matchAll(/Example: "([^"]+)"/g)].pop()?.[1];

/** The scenario's frames with `tags` (TPID, VLAN id) inserted after the MAC addresses, outermost first. */
function tagged(frames: Uint8Array[], tags: Array<[number, number]>): Uint8Array[] {
  const tagBytes = Buffer.concat(tags.map(([tpid, vid]) => Buffer.from([tpid >> 8, tpid & 0xff, vid >> 8, vid & 0xff])));
  return frames.map((f) => Buffer.concat([f.subarray(0, 12), tagBytes, f.subarray(12)]));
}

/** An SSRC as tshark's stream table writes it: 0x and eight upper-case hex digits. */
const hexSsrc = (ssrc: number) => `0x${(ssrc >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** Each stream's closing report, keyed as tsharkStreams keys it: [packets, Call-ID, VLAN]. */
function probeStreams(jsonl: string): Map<string, [number, string, number]> {
  const out = new Map<string, [number, string, number]>();
  for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as Record<string, string | number>;
    if (r.TYPE !== 'HANGUP' && r.TYPE !== 'FINAL') continue;
    const ssrc = hexSsrc(Number(r.SSRC));
    out.set(`${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}#${ssrc}`, [Number(r.TOTAL_PK), String(r.RTP_SIP_CALL_ID), Number(r.VLAN)]);
  }
  return out;
}

/** tshark's Call-ID of each RTP stream (the SIP message whose SDP set it up), keyed as tsharkStreams keys it. */
function tsharkCallIds(file: string): Map<string, string> {
  const fields = (filter: string, ...f: string[]) =>
    sh('tshark', '-n', '-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x])).trim().split('\n').filter(Boolean).map((l) => l.split('|'));
  const callIdOfFrame = new Map(fields('sip', 'frame.number', 'sip.Call-ID').map(([n, id]) => [n!, id!]));
  const last = (v: string) => v.split(',').pop()!; // a tunnelled packet lists the outer address first
  const out = new Map<string, string>();
  for (const [src, sp, dst, dp, ssrc, setup] of fields('rtp', 'ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'rtp.ssrc', 'rtp.setup-frame')) {
    const key = `${last(src!)}:${last(sp!)}>${last(dst!)}:${last(dp!)}#${hexSsrc(Number(ssrc))}`;
    out.set(key, callIdOfFrame.get(setup!) ?? '');
  }
  return out;
}

/** tcpdump writing a nanosecond pcap of `iface` inside namespace `ns`. */
async function startTcpdump(ns: string, iface: string, file: string): Promise<{ stop(): Promise<string> }> {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-B', '16384', '--time-stamp-precision=nano', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((r) => p.once('close', () => r()));
  if (!(await until(() => err.includes('listening on') || p.exitCode !== null, 30_000))) throw new Error(`tcpdump did not start: ${err}`);
  return {
    async stop() {
      p.kill('SIGINT');
      await closed;
      return err;
    },
  };
}

describe.skipIf(!canRun)('live capture of tagged and tunnelled mirror traffic matches tshark on tcpdump of the same interface', () => {
  const nsA = `mea${process.pid}`;
  const nsB = `meb${process.pid}`;
  const link: ReplayLink = { nsA, nsB, a: 'enca', b: 'encb' };
  let dir = '';
  let frames: Uint8Array[] = [];
  /** Tunnel devices the kernel could not make, with why. */
  const missing = new Map<string, string>();
  const under = ['local', '192.0.2.1', 'remote', '192.0.2.2'];
  const tunnels = [
    { name: 'VXLAN', module: 'vxlan', dev: 'vx0', add: ['type', 'vxlan', 'id', '42', ...under, 'dstport', '4789', 'dev', link.a] },
    { name: 'GRE (Ethernet over GRE)', module: 'ip_gre', dev: 'gt0', add: ['type', 'gretap', ...under, 'dev', link.a] },
    { name: 'ERSPAN type II', module: 'ip_gre', dev: 'es1', add: ['type', 'erspan', ...under, 'seq', 'key', '21', 'erspan_ver', '1', 'erspan', '123', 'dev', link.a] },
    { name: 'ERSPAN type III', module: 'ip_gre', dev: 'es2', add: ['type', 'erspan', ...under, 'seq', 'key', '22', 'erspan_ver', '2', 'erspan_dir', 'egress', 'erspan_hwid', '7', 'dev', link.a] },
  ];

  beforeAll(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', '-n', nsB, 'link', 'set', 'lo', 'up');
    sh('ip', 'link', 'add', link.a, 'netns', nsA, 'type', 'veth', 'peer', 'name', link.b, 'netns', nsB);
    sh('ip', '-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', link.a);
    sh('ip', '-n', nsA, 'link', 'set', link.a, 'up');
    sh('ip', '-n', nsB, 'link', 'set', link.b, 'up');
    // The VXLAN underlay's far end: an address nobody answers ARP for, so its MAC is given.
    sh('ip', '-n', nsA, 'neigh', 'add', '192.0.2.2', 'lladdr', '02:00:00:00:02:02', 'dev', link.a);
    for (const t of tunnels) {
      const made = spawnSync('ip', ['-n', nsA, 'link', 'add', t.dev, ...t.add], { encoding: 'utf8' });
      if (made.status === 0) sh('ip', '-n', nsA, 'link', 'set', t.dev, 'up');
      else missing.set(t.dev, `no ${t.name} device in this kernel (module ${t.module}): ${made.stderr.trim()}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-mirror-encap-'));
    // Two calls, SIP with SDP, RTP both ways and RTCP: every frame well under the VXLAN device's MTU.
    const opts = { calls: 2, concurrentCalls: 2, durationS: 3, callDurationS: 1.5, seed: 11, startEpochS: 1_700_000_000, codec: 'PCMA' as const, ptimeMs: 20, lossPct: 0, jitterMs: 0, rtcp: true };
    frames = [];
    for (const [, f] of scenarioFrames(opts)) frames.push(Uint8Array.from(f)); // the generator reuses what it yields
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Plays `wire` (frames for the `into` interface of nsA) to the probe and to tcpdump on `encb`; the probe
   * stops once tcpdump has every frame (as played, or inside a tunnel's outer headers), then
   * drains what its ring holds. Returns the probe's streams and tshark's streams and Call-IDs.
   */
  async function capture(name: string, wire: Uint8Array[], into: string, args: string[] = []) {
    const pcap = join(dir, `${name}.pcap`);
    const ref = join(dir, `${name}.ref.pcap`);
    const jsonl = join(dir, `${name}.jsonl`);
    const records: PcapRecord[] = wire.map((data, i) => ({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 5_000_000n, data }));
    writeFileSync(pcap, classicPcap(records));
    // A frame as played, at the end of what tcpdump saw (after a tunnel's outer headers, up to 80 bytes).
    const played = new Set(wire.map((f) => Buffer.from(f).toString('hex')));
    const isPlayed = (key: string) => {
      for (let skip = 0; skip <= 160 && skip < key.length; skip += 2) if (played.has(key.slice(skip))) return true;
      return false;
    };
    const seen = () => (existsSync(ref) && readFileSync(ref).length >= 24 ? readNanoPcap(readFileSync(ref)).filter((p) => isPlayed(p.key)).length : 0);
    const dump = await startTcpdump(nsB, link.b, ref);
    let ours: Map<string, [number, string, number]>;
    try {
      await replayIntoProbe({ cli, link: { ...link, a: into }, pcap, jsonl, workers: 1, args, replayArgs: ['--pps', '400'], stopWhen: () => seen() >= frames.length });
      ours = probeStreams(jsonl);
    } finally {
      const err = await dump.stop();
      expect(err).toMatch(/\b0 packets dropped by kernel/);
    }
    return { ours, theirs: tsharkStreams(ref), callIds: tsharkCallIds(ref) };
  }

  function expectSame(r: Awaited<ReturnType<typeof capture>>, vlan: number): void {
    expect(r.theirs.size).toBe(4); // two calls, RTP both ways
    expect(new Set(r.callIds.values()).size).toBe(2);
    const want = [...r.theirs].map(([k, n]) => [k, n, r.callIds.get(k), vlan]).sort();
    const got = [...r.ours].map(([k, [n, id, v]]) => [k, n, id, v]).sort();
    expect(got).toEqual(want);
  }

  const vlanCases = [
    { name: '802.1Q', tags: [[0x8100, 100]] as Array<[number, number]>, vlan: 100 },
    { name: 'QinQ (802.1ad outer, 802.1Q inner)', tags: [[0x88a8, 200], [0x8100, 100]] as Array<[number, number]>, vlan: 200 },
  ];
  for (const c of vlanCases) {
    for (const offload of ['on', 'off']) {
      it.skipIf(offload === 'off' && !hasEthtool)(`${c.name}, rx-vlan offload ${offload}: streams, packets, Call-IDs and outer VLAN as tshark`, async () => {
        if (hasEthtool) sh('ip', 'netns', 'exec', nsB, 'ethtool', '-K', link.b, 'rxvlan', offload, 'rx-vlan-stag-hw-parse', offload);
        expectSame(await capture(`${c.name.slice(0, 5)}-${offload}`, tagged(frames, c.tags), link.a), c.vlan);
      });
    }
    it(`${c.name} with the example capture filter of config/rtpprobe.yaml: every stream captured live and replayed`, async () => {
      expect(exampleFilter).toBeTruthy();
      const name = `${c.name.slice(0, 5)}-filter`;
      expectSame(await capture(name, tagged(frames, c.tags), link.a, ['-f', exampleFilter!]), c.vlan);
      // A file keeps its tags in the frame (no auxdata): the same filter must keep them in `replay` too.
      const replayed = spawnSync(process.execPath, [cli, 'replay', join(dir, `${name}.pcap`), exampleFilter!, '--no-hep', '--table', 'csv'], { encoding: 'utf8' });
      expect(replayed.status, replayed.stderr).toBe(0);
      expect(replayed.stdout.trim().split('\n').slice(1)).toHaveLength(4);
    });
  }

  for (const t of tunnels) {
    it(`${t.name} built by the kernel (the probe on the underlay): the inner streams and Call-IDs as tshark`, async (ctx) => {
      if (missing.has(t.dev)) ctx.skip(missing.get(t.dev));
      expectSame(await capture(t.dev, frames, t.dev), -1);
    });
  }

  // GRE and ERSPAN as a switch or router sends them to a collector port, built here and played into the
  // underlay: these run on a kernel without ip_gre too, where the devices above cannot be made.
  const outer = (inner: Uint8Array) => ethernet(ipv4('192.0.2.1', '192.0.2.2', IpProto.GRE, inner), EtherType.IPV4, { dst: '02:00:00:00:02:02' });
  const sent = [
    { name: 'Ethernet over GRE', wrap: (f: Uint8Array, i: number) => gre(0x6558, f, { key: 9, seq: i }) },
    { name: 'ERSPAN type II', wrap: (f: Uint8Array, i: number) => gre(0x88be, erspan2(f, { session: 5, index: 3 }), { seq: i }) },
    { name: 'ERSPAN type III with its platform subheader', wrap: (f: Uint8Array, i: number) => gre(0x22eb, erspan3(f, { session: 6, timestamp: i * 20_000, platform: true }), { seq: i }) },
  ];
  for (const t of sent) {
    it(`${t.name} as a mirror source sends it (the probe on the underlay): the inner streams and Call-IDs as tshark`, async () => {
      expectSame(await capture(`sent-${t.name.slice(0, 10)}`, frames.map((f, i) => outer(t.wrap(f, i))), link.a), -1);
    });
  }

  it('ERSPAN type II with the example capture filter behind `proto gre or`, as the configuration says', async () => {
    const wire = frames.map((f, i) => outer(sent[1]!.wrap(f, i)));
    expectSame(await capture('sent-erspan-filter', wire, link.a, ['-f', `proto gre or ${exampleFilter!}`]), -1);
  });

  it('VXLAN with the example capture filter: the tunnel is UDP, kept', async (ctx) => {
    if (missing.has('vx0')) ctx.skip(missing.get('vx0'));
    expectSame(await capture('vxlan-filter', frames, 'vx0', ['-f', exampleFilter!]), -1);
  });
});
