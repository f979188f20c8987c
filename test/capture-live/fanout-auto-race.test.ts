/**
 * Two probes started together on one interface, each with media workers and an automatic fanout group id,
 * racing for the same id: the ids between the first probe's preferred one and the second's are held by
 * another program, so both look at the second's preferred id before either has joined it. Each probe must
 * capture on its own group: every packet sent is received by both. `rtpprobe run` from dist/ on lo.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimAutoFanoutGroup, pickAutoFanoutGroup, preferredAutoFanoutGroup } from '../../src/pipeline/workers/fanout-group.js';
import { FANOUT_HASH, holdGroup } from './media-workers-helpers.js';
import { takePorts } from '../port-blocks.js';
import { until } from '../wait.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;
const FLOWS = 64;

interface Probe {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** `rtpprobe run` with 2 workers, waiting (sh reads a line, then execs node) so its process id is known first. */
function heldProbe(port: number): Probe {
  const child = spawn('sh', ['-c', 'read go; exec "$0" "$@"', process.execPath, cli, 'run', '-i', 'lo', '-f', `udp and port ${port}`, '--no-hep', '--set', 'capture.workers=2', '--log-format', 'json'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, RTPPROBE_METRICS_PORT: '0', RTPPROBE_METRICS_LISTEN: '127.0.0.1' },
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  return { child, log: () => log, exited: new Promise((r) => child.once('exit', r)) };
}

const received = async (p: Probe): Promise<number> => {
  const listening = p.log().split('\n').find((l) => l.includes('metrics and health endpoint listening'));
  if (!listening) return NaN;
  const text = await (await fetch(`http://127.0.0.1:${(JSON.parse(listening) as { port: number }).port}/metrics`)).text();
  return Number(/^rtpprobe_capture_packets_received_total\{interface="lo"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
};

describe('automatic fanout group claims', () => {
  it('an id claimed by another probe is skipped, even while no socket is in its group yet; a claim released is free again', async () => {
    const pid = 1000 + (process.pid % 1000) * 2; // a preferred id and the next, neither at the end of the range
    const preferred = preferredAutoFanoutGroup(pid);
    const other = await claimAutoFanoutGroup(preferred);
    expect(other).not.toBeNull();
    expect(await claimAutoFanoutGroup(preferred)).toBeNull();
    const noneInUse = () => false;
    const picked = await pickAutoFanoutGroup('lo', pid, noneInUse);
    expect([picked.group, picked.skipped]).toEqual([preferred + 1, [preferred]]);
    picked.claim.close();
    await new Promise((r) => other!.close(r));
    const again = await pickAutoFanoutGroup('lo', pid, noneInUse);
    expect([again.group, again.skipped]).toEqual([preferred, []]);
    again.claim.close();
  });
});

describe.skipIf(!canRun)('two probes with automatic fanout groups started together on one interface', () => {
  it('each captures on a group of its own: both receive every packet', async () => {
    const port = await takePorts(1);
    const probes = [heldProbe(port), heldProbe(port)];
    const releases: Array<() => Promise<void>> = [];
    try {
      // First the probe whose preferred id comes first in the range; it skips the held ids to the other's.
      const [first, second] = probes.map((p) => preferredAutoFanoutGroup(p.child.pid!)).sort((a, b) => a - b);
      const between = second! - first!;
      expect(between > 0 && between <= 32, `process ids ${probes.map((p) => p.child.pid).join(', ')}: too far apart to set the race up`).toBe(true);
      for (let g = first!; g < second!; g++) releases.push(await holdGroup('lo', g, FANOUT_HASH));
      for (const p of probes) p.child.stdin!.write('go\n');
      for (const p of probes) expect(await until(() => p.log().includes('capture open') || p.child.exitCode !== null, 30_000), p.log()).toBe(true);
      const opened = probes.filter((p) => p.log().includes('capture open'));
      // A probe may refuse to start, saying why in one line; one that runs has the packets to itself.
      for (const p of probes.filter((x) => !opened.includes(x))) expect(p.log()).toMatch(/fanout group/);
      expect(opened.length).toBeGreaterThan(0);
      const send = spawnSync('python3', ['-c', `import socket, sys\nfor i in range(${FLOWS}):\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x' * 32, ('127.0.0.1', int(sys.argv[1])))\n`, String(port)]);
      expect(send.status).toBe(0);
      // Each probe's workers publish their counters once a second: wait until both stop short of FLOWS no more.
      const counts: number[] = [];
      const all = await until(async () => {
        for (let i = 0; i < opened.length; i++) counts[i] = await received(opened[i]!);
        return counts.every((n) => n === FLOWS);
      }, 10_000, 200);
      expect(all, `${counts.join(' ')}\n${opened.map((p) => p.log()).join('\n')}`).toBe(true);
    } finally {
      for (const p of probes) {
        if (p.child.exitCode === null) p.child.kill('SIGTERM');
        p.child.stdin!.end();
        await p.exited;
      }
      for (const r of releases) await r();
    }
  });
});
