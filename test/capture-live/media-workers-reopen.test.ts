/**
 * The capture interface deleted and re-created while streams run (a veth in a test namespace): every
 * stream that goes on afterwards stays one stream, with what was sent during the outage counted as lost,
 * with one thread and with media workers alike. The workers rejoin their fanout group in their first order,
 * so the kernel's flow hash puts each flow on the worker that measured it before.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');
const STREAMS = 8;

/** RTP seq from..to-1 of STREAMS streams (source ports 30000, 30002, ...; SSRC 0x1000 + k), 20 ms apart, from nsA. */
function sendStreams(ns: string, from: number, to: number): void {
  sh('ip', 'netns', 'exec', ns, 'python3', '-c', `
import socket, struct, time
ss = []
for k in range(${STREAMS}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.79.0.1', 30000 + 2 * k)); ss.append(s)
for i in range(${from}, ${to}):
    for k, s in enumerate(ss):
        s.sendto(struct.pack('!BBHII', 0x80, 8, i, i * 160, 0x1000 + k) + b'\\xd5' * 160, ('10.79.0.2', 40000))
    time.sleep(0.02)
`);
}

const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe.skipIf(!(canNetns && existsSync(cli)))('streams across a deleted and re-created capture interface', () => {
  const nsA = `rra${process.pid}`;
  const nsB = `rrb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'ra', 'rb');
  const linkUp = () => {
    net.linkUp();
    sh('ip', '-n', nsA, 'addr', 'add', '10.79.0.1/24', 'dev', 'ra');
    sh('ip', '-n', nsB, 'addr', 'add', '10.79.0.2/24', 'dev', 'rb');
  };
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reopen-'));
  beforeAll(() => {
    net.setup();
    sh('ip', '-n', nsA, 'addr', 'add', '10.79.0.1/24', 'dev', 'ra');
    sh('ip', '-n', nsB, 'addr', 'add', '10.79.0.2/24', 'dev', 'rb');
  });
  afterAll(() => {
    net.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([1, 2])('capture.workers %i: one FINAL per stream, the outage counted as lost', async (workers) => {
    const jsonl = join(dir, `w${workers}.jsonl`);
    const args = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'rb', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--set', `capture.workers=${workers}`, '--set', 'reports.interval_s=3600', '--log-format', 'json'];
    const probe = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    probe.stdout.on('data', (d) => (log += d));
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    const count = (msg: string) => log.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
    /** How many threads logged one of these messages (a media worker's lines name it; the main thread's do not). */
    const workersLogging = (...msgs: string[]) =>
      new Set(log.split('\n').filter((l) => msgs.some((m) => l.includes(`"msg":"${m}"`))).map((l) => (JSON.parse(l) as { worker?: number }).worker ?? 'main')).size;
    try {
      expect(await until(() => log.includes('capture open') || probe.exitCode !== null), log).toBe(true);
      const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
      let text = '';
      const scrape = () => (text = sh('ip', 'netns', 'exec', nsB, 'curl', '-s', `http://127.0.0.1:${port}/metrics`));
      sendStreams(nsA, 0, 50);
      // The ring's block still open when the interface goes away goes with it: deleted once all 400 are read.
      expect(await until(() => metric(scrape(), 'rtpprobe_packets_total{protocol="rtp"}') >= STREAMS * 50, 30_000, 100), text + log).toBe(true);
      sh('ip', '-n', nsB, 'link', 'del', 'rb'); // takes the peer with it
      // Each worker either sees the interface go, or is closed first because another worker saw it (it
      // leaves the fanout group so that all rejoin in order): which one sees it first is the kernel's race.
      const left = () => workersLogging('capture lost', 'capture closed to rejoin the fanout group in order: another media worker lost its capture');
      expect(await until(() => count('capture lost') >= 1 && left() === workers, 30_000), log).toBe(true);
      linkUp();
      expect(await until(() => count('capture reopened') === workers, 30_000), log).toBe(true);
      expect(await until(() => metric(scrape(), 'rtpprobe_capture_running') === 1, 30_000, 100), text + log).toBe(true);
      sendStreams(nsA, 60, 110); // seq 50..59 were "sent during the outage"
    } finally {
      probe.kill('SIGTERM'); // a stop still reads what the kernel captured before it
    }
    expect(await exited, log).toBe(0);
    const finals = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((r) => r.TYPE === 'FINAL');
    const seen = finals.map((r) => `${r.SRC_PORT} ${r.SSRC} ${r.TOTAL_PK}/${r.EXPECTED_PK}`).sort();
    const want = Array.from({ length: STREAMS }, (_, k) => `${30000 + 2 * k} ${0x1000 + k} 100/110`).sort();
    expect(seen, log).toEqual(want);
    expect(log).toContain(`streams at stop (${STREAMS}, worst MOS first)`);
  });
});
