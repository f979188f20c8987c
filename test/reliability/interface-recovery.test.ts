/**
 * A mirror interface that disappears and comes back (driver reset, NIC replaced, veth recreated): the probe
 * keeps its streams, reopens the capture with backoff and goes on measuring. Two network namespaces made
 * by the test, joined by a veth pair; the probe captures in one, a python3 sender sends RTP from the other.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRtpInNamespace } from '../capture-live/media-workers-helpers.js';
import { until } from '../wait.js';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('ip', ['netns', 'list']).status === 0;
const nsA = `rpa${process.pid}`;
const nsB = `rpb${process.pid}`;

const sh = (...args: string[]) => {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
};

function linkUp(): void {
  sh('ip', 'link', 'add', 'va', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'vb', 'netns', nsB);
  sh('ip', '-n', nsA, 'addr', 'add', '10.77.0.1/24', 'dev', 'va');
  sh('ip', '-n', nsB, 'addr', 'add', '10.77.0.2/24', 'dev', 'vb');
  sh('ip', '-n', nsA, 'link', 'set', 'va', 'up');
  sh('ip', '-n', nsB, 'link', 'set', 'vb', 'up');
}

/** RTP packets seq from..to-1 (one SSRC, 20 ms apart) from namespace A to 10.77.0.2:40000. */
const sendRtp = (from: number, to: number) => sendRtpInNamespace(nsA, '10.77.0.1', '10.77.0.2', 0x1234, from, to);

/** RTP packets the probe has counted, read from its /metrics inside namespace B (-1 while unreadable). */
function rtpCounted(port: number): number {
  const r = spawnSync('ip', ['netns', 'exec', nsB, 'python3', '-c', `
import urllib.request
print(urllib.request.urlopen('http://127.0.0.1:${port}/metrics', timeout=5).read().decode())
`], { encoding: 'utf8' });
  const m = /^rtpprobe_packets_total\{protocol="rtp"\} (\d+)/m.exec(r.stdout ?? '');
  return m ? Number(m[1]) : -1;
}

describe.skipIf(!canRun)('capture interface lost and recreated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-if-'));
  beforeAll(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', '-n', nsB, 'link', 'set', 'lo', 'up'); // the metrics endpoint listens on 127.0.0.1
    linkUp();
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reopens the capture and keeps the stream: one FINAL with every packet sent before and after', async () => {
    const jsonl = join(dir, 'reports.jsonl');
    const probe = spawn('ip', ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'vb', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    expect(await until(() => log.includes('capture open')), log).toBe(true);
    const listening = log.split('\n').find((l) => l.includes('metrics and health endpoint listening'));
    const port = (JSON.parse(listening!) as { port: number }).port;
    sendRtp(0, 50);
    // The ring's block still open when the interface goes away goes with it (up to one buffer timeout of
    // packets): the link is taken away once the probe has read the first 50.
    expect(await until(() => rtpCounted(port) >= 50, 30_000, 100), log).toBe(true);
    sh('ip', '-n', nsB, 'link', 'del', 'vb'); // takes the peer with it
    expect(await until(() => log.includes('capture lost')), log).toBe(true);
    linkUp();
    expect(await until(() => log.includes('capture reopened')), log).toBe(true);
    sendRtp(50, 100);
    // No wait: a stop still reads what the kernel captured before it.
    probe.kill('SIGTERM');
    const code = await exited;
    expect(code, log).toBe(0);
    expect(log).toContain('capture lost');
    expect(log).toContain('capture reopened');
    const reports = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const finals = reports.filter((r) => r.TYPE === 'FINAL');
    expect(finals).toHaveLength(1);
    expect(finals[0].TOTAL_PK).toBe(100);
    expect(finals[0].EXPECTED_PK).toBe(100);
  });
});
