/**
 * `rtpprobe run` with capture.snap_length 64 (the least it takes) on a veth pair between two network
 * namespaces, IPv6 RTP replayed by tcpreplay from the other side: Ethernet, IPv6 and UDP take 62 bytes, so
 * every RTP header is cut to 2. Each such packet is counted as replay counts them in the same capture cut
 * the same way (editcap -s 64), both equal to tshark's count of UDP shorter than on the wire: in one
 * warning naming capture.snap_length, the run summary and /metrics; in one thread and with media workers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, rtp, udpFrame, type PcapRecord } from '../../src/gen/index.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';
import { runWithSnapLength } from './snap-cut-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0;
const SNAP = 64;

interface LogLine {
  msg: string;
  rtpSnapCut?: number;
  streams?: number;
}

describe.skipIf(!canRun)('rtpprobe run with capture.snap_length 64 and IPv6: RTP cut inside its header is counted', () => {
  const nsA = `rca${process.pid}`;
  const nsB = `rcb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'ra', 'rb');
  let dir = '';
  let pcap = '';
  /** tshark's count of UDP packets shorter than on the wire in the capture cut to SNAP bytes. */
  let cutRtp = 0;

  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-snap-cut-rtp-'));
    pcap = join(dir, 'rtp6.pcap');
    // Two PCMA streams, one each way, 100 packets 20 ms apart.
    const records: PcapRecord[] = [];
    for (let i = 0; i < 100; i++) {
      const tsNs = 1_700_000_000_000_000_000n + BigInt(i) * 20_000_000n;
      records.push({ tsNs, data: udpFrame('fd00::1', 40000, 'fd00::2', 50000, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: 0x1111 })) });
      records.push({ tsNs: tsNs + 1_000_000n, data: udpFrame('fd00::2', 50000, 'fd00::1', 40000, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: 0x2222 })) });
    }
    writeFileSync(pcap, classicPcap(records));
    const snapped = join(dir, 'snapped.pcap');
    sh('editcap', '-s', String(SNAP), pcap, snapped);
    const t = spawnSync('tshark', ['-n', '-r', snapped, '-Y', 'udp && frame.cap_len < frame.len'], { encoding: 'utf8' });
    cutRtp = t.stdout.split('\n').filter((l) => l.trim()).length;
    expect(cutRtp).toBe(200);
    const r = spawnSync(process.execPath, [cli, 'replay', snapped, '--no-hep', '--table', 'none'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const replayed = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    expect(replayed.filter((l) => l.msg.includes(`: ${cutRtp} RTP packets were cut short inside their RTP header`)), r.stderr).toHaveLength(1);
    expect(replayed.find((l) => l.msg === 'run summary')?.rtpSnapCut, r.stderr).toBe(cutRtp);
  });

  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: one warning, the run summary and rtpprobe_rtp_snap_cut_total count what replay and tshark count`, async () => {
      const run = await runWithSnapLength({ cli, from: { ns: nsA, iface: 'ra' }, to: { ns: nsB, iface: 'rb' }, workers, snapLength: SNAP, pcap, metric: 'rtpprobe_rtp_snap_cut_total', expected: cutRtp });
      const lines = () => run.lines as unknown as LogLine[];
      const log = run.log;
      const warnings = lines().filter((l) => l.msg.includes('cut short inside their RTP header'));
      expect(warnings.map((l) => l.msg), log).toEqual([
        `rb: RTP packets are cut short inside their RTP header by the capture's snap length (capture.snap_length ${SNAP}): they are not measured (no stream counts them); raise capture.snap_length (the run summary and rtpprobe_rtp_snap_cut_total count them)`,
      ]);
      const summary = lines().find((l) => l.msg === 'run summary');
      expect(summary?.rtpSnapCut, log).toBe(cutRtp);
      expect(summary?.streams, log).toBe(0);
    }, 120_000);
  }
});
