/**
 * A capture interface that is down (`ip link set IF down`, or its link lost): at start the probe waits for
 * it instead of exiting; during a run it says so once when it goes down and once when it is back, /healthz
 * is 503 and rtpprobe_capture_interface_up 0 meanwhile, and the stream goes on once it is up. Two network
 * namespaces made by the test, joined by a veth pair; the probe captures in one, a python3 sender sends RTP
 * from the other. Needs root and a built dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canNetns, sendRtpInNamespace, sh, vethNamespaces } from '../capture-live/media-workers-helpers.js';
import { until } from '../wait.js';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli);

/** GET of the probe's endpoint inside namespace `ns`: status and body (status 0 while unreachable). */
function get(ns: string, port: number, path: string): { status: number; body: string } {
  const out = sh('ip', 'netns', 'exec', ns, 'python3', '-c', `
import urllib.request, urllib.error
try:
    r = urllib.request.urlopen('http://127.0.0.1:${port}${path}', timeout=5); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
except Exception:
    print(0)
`);
  const nl = out.indexOf('\n');
  return { status: Number(out.slice(0, nl)), body: out.slice(nl + 1) };
}

/** RTP packets seq from..to-1 (one SSRC, 20 ms apart) from namespace A to 10.78.0.2:40000. */
const sendRtp = (nsA: string, from: number, to: number) => sendRtpInNamespace(nsA, '10.78.0.1', '10.78.0.2', 0x4321, from, to);

/** RTP packets the probe has counted in streams (-1 when the series is missing). */
function rtpCounted(metrics: string): number {
  const m = /^rtpprobe_packets_total\{protocol="rtp"\} (\d+)/m.exec(metrics);
  return m ? Number(m[1]) : -1;
}

const lines = (log: string) => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; downS?: number; reason?: string });

/** The probe on `db` in namespace B (`ns.b`), RTP from namespace A; its log so far in `log()`. */
async function withProbe(workers: number, downAtStart: boolean, dir: string, body: (p: { nsA: string; nsB: string; port: number; log: () => string; stop: () => Promise<number | null>; jsonl: string }) => Promise<void>): Promise<void> {
  const nsA = `rda${workers}${Number(downAtStart)}${process.pid}`;
  const nsB = `rdb${workers}${Number(downAtStart)}${process.pid}`;
  const veth = vethNamespaces(nsA, nsB, 'da', 'db');
  veth.setup();
  let text = '';
  let probe: ReturnType<typeof spawn> | undefined;
  try {
    sh('ip', '-n', nsA, 'addr', 'add', '10.78.0.1/24', 'dev', 'da');
    sh('ip', '-n', nsB, 'addr', 'add', '10.78.0.2/24', 'dev', 'db');
    if (downAtStart) sh('ip', '-n', nsB, 'link', 'set', 'db', 'down');
    const jsonl = join(dir, `reports-${workers}-${Number(downAtStart)}.jsonl`);
    probe = spawn('ip', ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'db', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--log-format', 'json', '--set', `capture.workers=${workers}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    probe.stderr!.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((r) => probe!.on('exit', r));
    const log = () => text;
    expect(await until(() => log().includes('metrics and health endpoint listening')), log()).toBe(true);
    const port = (JSON.parse(log().split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
    await body({ nsA, nsB, port, log, jsonl, stop: () => (probe!.kill('SIGTERM'), exited) });
  } finally {
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    veth.teardown();
  }
}

/** The one stream's FINAL reports in the JSON-lines file. */
function finalsIn(jsonl: string): Array<Record<string, number | string>> {
  return readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((r) => r.TYPE === 'FINAL');
}

describe.skipIf(!canRun)('capture interface down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-ifdown-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([1, 2])('capture.workers=%i: down at start, the probe waits for it (logged, /healthz 503, gauge 0) and captures once it is up', async (workers) => {
    await withProbe(workers, true, dir, async ({ nsA, nsB, port, log, stop, jsonl }) => {
      expect(await until(() => log().includes('capture interface down at start')), log()).toBe(true);
      const h = get(nsB, port, '/healthz');
      expect(h.status, h.body).toBe(503);
      expect(JSON.parse(h.body)).toMatchObject({ status: 'capture interface down', capture: { interface: { name: 'db', link: 'admin-down' } } });
      expect(get(nsB, port, '/metrics').body).toMatch(/^rtpprobe_capture_interface_up\{interface="db"\} 0$/m);
      sh('ip', '-n', nsB, 'link', 'set', 'db', 'up');
      expect(await until(() => log().includes('"msg":"capture open"'), 60_000), log()).toBe(true);
      expect(await until(() => get(nsB, port, '/healthz').status === 200, 30_000, 200), log()).toBe(true);
      expect(get(nsB, port, '/metrics').body).toMatch(/^rtpprobe_capture_interface_up\{interface="db"\} 1$/m);
      sendRtp(nsA, 0, 50);
      expect(await stop(), log()).toBe(0);
      expect(lines(log()).filter((l) => l.msg === 'capture interface up again'), log()).toHaveLength(1);
      expect(finalsIn(jsonl).map((r) => r.TOTAL_PK)).toEqual([50]);
    });
  }, 240_000);

  it('a stop while it waits for the interface at start ends the start at once with 0', async () => {
    await withProbe(1, true, dir, async ({ log, stop }) => {
      expect(await until(() => log().includes('capture interface down at start')), log()).toBe(true);
      expect(await stop(), log()).toBe(0);
      expect(log()).toContain('"msg":"stopped during start-up: nothing was measured yet"');
      expect(log()).not.toContain('"msg":"capture open"');
    });
  }, 120_000);

  it.each([1, 2])('capture.workers=%i: down during a run, logged once when down and once when up, /healthz 503 and gauge 0 meanwhile; the stream goes on', async (workers) => {
    await withProbe(workers, false, dir, async ({ nsA, nsB, port, log, stop, jsonl }) => {
      expect(await until(() => log().includes('"msg":"capture open"'), 60_000), log()).toBe(true);
      sendRtp(nsA, 0, 50);
      expect(await until(() => rtpCounted(get(nsB, port, '/metrics').body) >= 50, 30_000, 200), log()).toBe(true);
      sh('ip', '-n', nsB, 'link', 'set', 'db', 'down');
      // 503 for as long as it lasts (here until it has been down 2 s), however often it is asked.
      let h = { status: 0, body: '' };
      expect(await until(() => {
        h = get(nsB, port, '/healthz');
        return h.status === 503 && (JSON.parse(h.body) as { capture: { interface: { down_s: number } } }).capture.interface.down_s >= 2;
      }, 30_000, 200), `${h.status} ${h.body}\n${log()}`).toBe(true);
      expect(JSON.parse(h.body)).toMatchObject({ status: 'capture interface down', capture: { interface: { link: 'admin-down' } } });
      expect(get(nsB, port, '/metrics').body).toMatch(/^rtpprobe_capture_interface_up\{interface="db"\} 0$/m);
      sh('ip', '-n', nsB, 'link', 'set', 'db', 'up');
      expect(await until(() => log().includes('capture interface up again'), 30_000), log()).toBe(true);
      expect(await until(() => get(nsB, port, '/healthz').status === 200, 30_000, 200), log()).toBe(true);
      expect(get(nsB, port, '/metrics').body).toMatch(/^rtpprobe_capture_interface_up\{interface="db"\} 1$/m);
      sendRtp(nsA, 50, 100);
      expect(await stop(), log()).toBe(0);
      const all = lines(log());
      expect(all.filter((l) => l.msg.startsWith('capture interface down')), log()).toHaveLength(1);
      expect(all.find((l) => l.msg.startsWith('capture interface down'))!.msg).toBe('capture interface down: nothing is captured until it comes back up');
      const ups = all.filter((l) => l.msg === 'capture interface up again');
      expect(ups, log()).toHaveLength(1);
      expect(ups[0]!.downS).toBeGreaterThanOrEqual(2);
      expect(log()).not.toContain('capture lost');
      // The packets after the link came back are measured in the same stream as the ones before.
      expect(finalsIn(jsonl).map((r) => r.TOTAL_PK)).toEqual([100]);
    });
  }, 240_000);
});
