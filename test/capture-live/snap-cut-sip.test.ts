/**
 * `rtpprobe run` with a small capture.snap_length on a veth pair between two network namespaces (calls
 * replayed by tcpreplay from the other side): the SIP packets the snap length cuts are counted as replay
 * counts them in the same capture cut the same way (editcap -s), both equal to tshark's count of SIP
 * shorter than on the wire: in one warning, the run summary and /metrics; in one thread and with media
 * workers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';
import { runWithSnapLength } from './snap-cut-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0;
const SNAP = 200;

interface LogLine {
  msg: string;
  port?: number;
  sipSnapCut?: number;
}

describe.skipIf(!canRun)('rtpprobe run with a small capture.snap_length: SIP cut short is counted', () => {
  const nsA = `sca${process.pid}`;
  const nsB = `scb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'sa', 'sb');
  let dir = '';
  let pcap = '';
  /** tshark's count of SIP packets shorter than on the wire in the capture cut to SNAP bytes. */
  let cutSip = 0;

  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-snap-cut-'));
    pcap = join(dir, 'calls.pcap');
    sh(process.execPath, join(root, 'dist/gen/scenario-cli.js'), pcap, '--calls', '4', '--concurrent', '4', '--call-duration', '2', '--seed', '5');
    const snapped = join(dir, 'snapped.pcap');
    sh('editcap', '-s', String(SNAP), pcap, snapped);
    const t = spawnSync('tshark', ['-n', '-r', snapped, '-Y', 'sip && frame.cap_len < frame.len'], { encoding: 'utf8' });
    cutSip = t.stdout.split('\n').filter((l) => l.trim()).length;
    expect(cutSip).toBeGreaterThanOrEqual(8); // every INVITE and 200 with SDP at least
    const r = spawnSync(process.execPath, [cli, 'replay', snapped, '--no-hep', '--table', 'none'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const replayed = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    expect(replayed.filter((l) => l.msg.includes(`: ${cutSip} SIP packets were cut short by the capture's snap length`)), r.stderr).toHaveLength(1);
    expect(replayed.find((l) => l.msg === 'run summary')?.sipSnapCut, r.stderr).toBe(cutSip);
  });

  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: one warning, the run summary and rtpprobe_sip_snap_cut_total count what replay and tshark count`, async () => {
      const run = await runWithSnapLength({ cli, from: { ns: nsA, iface: 'sa' }, to: { ns: nsB, iface: 'sb' }, workers, snapLength: SNAP, pcap, metric: 'rtpprobe_sip_snap_cut_total', expected: cutSip });
      const lines = () => run.lines as unknown as LogLine[];
      const log = run.log;
      const warnings = lines().filter((l) => l.msg.includes('cut short by the capture'));
      expect(warnings.map((l) => l.msg), log).toEqual([
        `sb: SIP packets are cut short by the capture's snap length (capture.snap_length ${SNAP}): what they carry past the cut (their SDP) is not read, so streams of their calls may lack the Call-ID; raise capture.snap_length (the run summary and rtpprobe_sip_snap_cut_total count them)`,
      ]);
      expect(lines().find((l) => l.msg === 'run summary')?.sipSnapCut, log).toBe(cutSip);
    }, 120_000);
  }
});
