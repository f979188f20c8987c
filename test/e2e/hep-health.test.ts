/**
 * Delivery problems of a running probe are visible: `node dist/cli.js run -i lo` with a TCP collector that
 * refuses connections and one whose name does not resolve keeps running, logs each problem once with the
 * collector and the reason, and /healthz says "degraded" (HTTP 200: capture is fine) naming both; once the
 * TCP collector listens, it reconnects and drops out of the list. Needs root (capture on lo) and dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../hep/helpers.js';
import { waitFor } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('ip', ['link', 'show', 'lo']).status === 0;

interface Health {
  status: string;
  delivery?: { degraded: Array<{ destination: string; reason: string }> };
}

async function health(port: number): Promise<{ code: number; body: Health } | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { code: r.status, body: (await r.json()) as Health };
  } catch {
    return null;
  }
}

describe.skipIf(!canRun)('a running probe says when a collector is down', () => {
  let probe: ChildProcess | undefined;
  let server: net.Server | undefined;
  afterAll(async () => {
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    server?.close();
  });

  it('logs refused and unresolvable collectors once each, /healthz degraded until the collector is back', async () => {
    const hepPort = await freePort();
    const metricsPort = await freePort();
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '--filter', 'udp port 9', '--hep', `tcp://127.0.0.1:${hepPort}`, '--hep', 'udp://no-such-host.invalid:9060',
      '--metrics-port', String(metricsPort), '--log-format', 'json', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let h: Awaited<ReturnType<typeof health>> = null;
    await waitFor(() => log.includes('no-such-host.invalid') && log.includes(`tcp://127.0.0.1:${hepPort}`), 30_000, `down logs (log: ${log})`);
    await waitFor(() => {
      void health(metricsPort).then((x) => (h = x));
      return h !== null && h.body.delivery?.degraded.length === 2;
    }, 20_000, 'degraded healthz');
    expect(h!.code).toBe(200);
    expect(h!.body.status).toBe('degraded');
    const reasons = Object.fromEntries(h!.body.delivery!.degraded.map((d) => [d.destination, d.reason]));
    expect(reasons[`tcp://127.0.0.1:${hepPort}`]).toMatch(/ECONNREFUSED/);
    expect(reasons['udp://no-such-host.invalid:9060']).toMatch(/cannot resolve no-such-host\.invalid/);
    // Rate-limited: the retries (every few hundred ms at first) did not each log a line.
    const lines = log.split('\n').filter((l) => l.includes('HEP collector unreachable'));
    expect(lines.filter((l) => l.includes(`tcp://127.0.0.1:${hepPort}`)).length).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, reason: expect.any(String), collector: expect.any(String) });

    server = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server!.listen(hepPort, '127.0.0.1', () => r()));
    await waitFor(() => {
      void health(metricsPort).then((x) => (h = x));
      return h !== null && h.body.delivery?.degraded.length === 1;
    }, 40_000, 'TCP collector back');
    expect(h!.body.delivery!.degraded[0]!.destination).toBe('udp://no-such-host.invalid:9060');
    // Told once the new connection has held (CONNECTION_HOLDS_MS).
    await waitFor(() => log.includes('HEP collector reachable again'), 30_000, 'the recovery logged');
    const exited = new Promise<number | null>((r) => probe!.once('exit', (code) => r(code)));
    probe.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
