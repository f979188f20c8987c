/**
 * An oversubscribed capture: `rtpprobe run` with a 1 MiB ring on the `b` end of a veth pair, stopped
 * (SIGSTOP) while a flood of 3,000 frames of 1,400 bytes and a call's RTP arrive, so the kernel drops what
 * the ring cannot hold. A second call starts after the drops. The drops are counted (/metrics, equal to
 * what was sent less what the probe received), logged, and in the reports: CAPTURE_DROPS counts them since
 * the start, PERIOD_CAPTURE_DROPS in the period each report covers, so the first call's loss shows as
 * coming with capture drops, and the second call, which lost nothing, shows none; the rule variable
 * `capture_drops` lets an alert rule leave the capture's loss out.
 * Needs root, tcpreplay, python3, curl and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, scenarioFrames } from '../../src/gen/index.js';
import { until } from '../wait.js';
import { canNetns, sh, startProbeIn, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const canRun = canNetns && existsSync(cli) && has('tcpreplay') && has('curl') && has('python3');

const FLOOD = 3000;

type Report = Record<string, number | string>;

describe.skipIf(!canRun)('capture drops of an oversubscribed ring are reported as capture drops', () => {
  const nsA = `cda${process.pid}`;
  const nsB = `cdb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'cdropa', 'cdropb');
  let dir = '';
  let pcap = '';
  let frames = 0;

  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-capture-drops-'));
    pcap = join(dir, 'calls.pcap');
    // Call 0 from 0 s to about 4 s, call 1 from about 4 s: the drops come in the first second.
    const records = [];
    const opts = { calls: 2, concurrentCalls: 1, durationS: 8, callDurationS: 4, seed: 21, startEpochS: 1_700_000_000, codec: 'PCMA' as const, ptimeMs: 20, lossPct: 0, jitterMs: 0, rtcp: false };
    for (const [t, f] of scenarioFrames(opts)) records.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(t), data: Uint8Array.from(f) });
    frames = records.length;
    writeFileSync(pcap, classicPcap(records));
  });

  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops counted, logged, and in the reports of the periods they fell in only', async () => {
    const jsonl = join(dir, 'reports.jsonl');
    // An alert on any loss, and one on loss that came without capture drops (the network's).
    const rules = ['--rule', 'name=any-loss;when=lost > 0', '--rule', 'name=network-loss;when=lost > 0 and capture_drops == 0'];
    const probe = await startProbeIn(nsB, cli, ['-i', 'cdropb', '--no-hep', '--jsonl', jsonl, '--set', 'capture.buffer_size_mb=1', '--set', 'reports.interval_s=1', ...rules]);
    const metric = (name: string) => probe.metric(`${name}{interface="cdropb"}`);
    let dropped = 0;
    try {
      const replay = spawn('ip', ['netns', 'exec', nsA, 'tcpreplay', '-q', '-i', 'cdropa', pcap], { stdio: 'ignore' });
      const replayed = new Promise((r) => replay.on('exit', r));
      // Stopped once call 0's media flows (its first packets read), the probe reads nothing while the flood
      // fills its ring; the kernel drops the rest, call 0's RTP of that time with it.
      expect(await until(() => metric('rtpprobe_capture_packets_received_total') >= 20, 30_000, 100)).toBe(true);
      probe.child.kill('SIGSTOP');
      sh('ip', 'netns', 'exec', nsA, 'python3', '-c', `
import socket, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('cdropa', 0))
frame = b'\\xff' * 6 + b'\\x02' * 6 + b'\\x88\\xb5' + b'\\x00' * 1386  # local experimental EtherType: no protocol
for i in range(${FLOOD}):
    s.send(frame)
time.sleep(0.3)  # call 0's RTP of these 300 ms is dropped too
`);
      probe.child.kill('SIGCONT');
      await replayed;
      const sent = frames + FLOOD;
      // Everything sent is either received or dropped (the namespace's own few frames come on top).
      expect(await until(() => metric('rtpprobe_capture_packets_received_total') + metric('rtpprobe_capture_packets_dropped_kernel_total') >= sent, 30_000, 200)).toBe(true);
      dropped = metric('rtpprobe_capture_packets_dropped_kernel_total');
    } finally {
      probe.child.kill('SIGCONT');
      probe.child.kill('SIGTERM');
    }
    expect(await probe.exit, probe.log()).toBe(0);
    expect(dropped).toBeGreaterThan(FLOOD / 2);
    expect(probe.lines().filter((l) => l.msg.startsWith('capture drops')).length, probe.log()).toBeGreaterThan(0);

    const reports = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Report).filter((r) => String(r.RTP_SIP_CALL_ID).startsWith('scn21-'));
    const brief = (r: Report) => JSON.stringify([r.TYPE, r.REPORT_START, r.REPORT_END, r.PACKET_LOSS, r.PERIOD_CAPTURE_DROPS, r.CAPTURE_DROPS]);
    const of = (call: number, types: string[]) => reports.filter((r) => r.RTP_SIP_CALL_ID === `scn21-${call}@rtpprobe.gen` && types.includes(String(r.TYPE)));
    const lossy = of(0, ['PERIODIC']).filter((r) => Number(r.PACKET_LOSS) > 0);
    expect(lossy.length, of(0, ['PERIODIC']).map(brief).join('\n')).toBeGreaterThan(0);
    // Each period of call 0 with loss comes with capture drops in it; call 0's whole life holds them all.
    for (const r of lossy) expect(Number(r.PERIOD_CAPTURE_DROPS), brief(r)).toBeGreaterThan(0);
    const ends0 = of(0, ['HANGUP', 'FINAL']);
    expect(ends0).toHaveLength(2);
    for (const r of ends0) expect([r.PERIOD_CAPTURE_DROPS, r.CAPTURE_DROPS]).toEqual([dropped, dropped]);
    // A rule tells the capture's loss from the network's.
    expect(of(0, ['ALERT']).map((r) => r.ALERT_RULE)).toEqual(['any-loss', 'any-loss']);
    expect(reports.filter((r) => r.ALERT_RULE === 'network-loss')).toEqual([]);
    // Call 1 started after the drops: none in any of its periods, though the probe's total is in each.
    const call1 = of(1, ['PERIODIC', 'HANGUP', 'FINAL']);
    expect(call1.length).toBeGreaterThan(2);
    for (const r of call1) expect([r.PACKET_LOSS, r.PERIOD_CAPTURE_DROPS, r.CAPTURE_DROPS], brief(r)).toEqual([0, 0, dropped]);
  });
});
