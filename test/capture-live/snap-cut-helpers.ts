/**
 * The live half of the snap-length tests (SIP and RTP cut short): `rtpprobe run` with a small
 * capture.snap_length in namespace nsB captures what tcpreplay sends from nsA, until the counter `metric`
 * reaches what tshark counted; then it is stopped and its log returned.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { until } from '../wait.js';
import { startProbeIn } from './media-workers-helpers.js';

export interface SnapCutRun {
  cli: string;
  /** Where tcpreplay sends (namespace, interface) and where the probe captures. */
  from: { ns: string; iface: string };
  to: { ns: string; iface: string };
  workers: number;
  snapLength: number;
  pcap: string;
  /** The /metrics series that counts the cut packets, and tshark's count of them. */
  metric: string;
  expected: number;
}

/** Runs the probe over the replayed capture; the counter has reached `expected` exactly and the probe exited 0. */
export async function runWithSnapLength(o: SnapCutRun): Promise<{ lines: Array<Record<string, unknown> & { msg: string }>; log: string }> {
  const probe = await startProbeIn(o.to.ns, o.cli, ['-i', o.to.iface, '--no-hep', '--set', `capture.workers=${o.workers}`, '--set', `capture.snap_length=${o.snapLength}`]);
  try {
    const replay = spawnSync('ip', ['netns', 'exec', o.from.ns, 'tcpreplay', '-i', o.from.iface, o.pcap], { encoding: 'utf8' });
    expect(replay.status, replay.stderr).toBe(0);
    const counted = () => probe.metric(o.metric);
    expect(await until(() => counted() >= o.expected, 30_000, 200), `${counted()} of ${o.expected}\n${probe.log()}`).toBe(true);
    expect(counted()).toBe(o.expected);
    probe.child.kill('SIGTERM');
    expect(await probe.exit, probe.log()).toBe(0);
  } finally {
    if (probe.child.exitCode === null) probe.child.kill('SIGKILL');
  }
  return { lines: probe.lines(), log: probe.log() };
}
