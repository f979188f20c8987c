/**
 * `rtpprobe run` fed a capture as fast as a veth pair carries it (tcpreplay --topspeed from another network
 * namespace): twelve calls' 20 s of SIP and RTP arrive within 13-52 ms, faster than one thread handles
 * them, so SIP waits in the backlog and the RTP of its calls waits behind it. As long as the kernel drops
 * nothing, every stream is measured as `rtpprobe replay` of the same file measures it: the same streams,
 * each under its Call-ID, with its packets and its loss; nothing split, nothing "not measured". In one
 * thread and with media workers. Needs root, tcpreplay, curl and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

interface Final {
  TYPE: string;
  SRC_IP: string;
  SRC_PORT: number;
  DST_IP: string;
  DST_PORT: number;
  SSRC: number;
  CORRELATION_ID: string;
  TOTAL_PK: number;
  PACKET_LOSS: number;
  EXPECTED_PK: number;
}

interface Summary {
  msg: string;
  packets: number;
  streams: number;
  rtpNotMeasured: number;
}

/** Each stream's closing report (HANGUP or FINAL) in a JSON-lines file, as "src>dst ssrc" -> [Call-ID, packets, lost, expected]. */
function closingReports(file: string): Map<string, [string, number, number, number]> {
  const out = new Map<string, [string, number, number, number]>();
  const finals = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Final).filter((r) => r.TYPE === 'HANGUP' || r.TYPE === 'FINAL');
  for (const r of finals) {
    const key = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT} ${r.SSRC}`;
    // A stream split in two would close twice under one key: keep both to see it.
    out.set(out.has(key) ? `${key} (again)` : key, [r.CORRELATION_ID, r.TOTAL_PK, r.PACKET_LOSS, r.EXPECTED_PK]);
  }
  return out;
}

function summaryOf(log: string): Summary | undefined {
  return log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Summary).find((l) => l.msg === 'run summary');
}

describe.skipIf(!canRun)('rtpprobe run fed by tcpreplay --topspeed on a veth pair', () => {
  const nsA = `tsa${process.pid}`;
  const nsB = `tsb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'ta', 'tb');
  let dir = '';
  let pcap = '';
  let reference = new Map<string, [string, number, number, number]>();
  let records = 0;

  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-topspeed-'));
    pcap = join(dir, 'calls.pcap');
    // 12 calls of 10 s at once (24 streams, 12,000 RTP packets less 2 % lost, SIP and RTCP): 2.6 MB, which
    // the capture's 64 MB ring holds whole however far behind the probe falls.
    sh(process.execPath, join(root, 'dist/gen/scenario-cli.js'), pcap, '--calls', '12', '--concurrent', '12', '--call-duration', '10', '--loss', '2', '--seed', '7');
    const jsonl = join(dir, 'replay.jsonl');
    const r = spawnSync(process.execPath, [cli, 'replay', pcap, '--no-hep', '--table', 'none', '--jsonl', jsonl], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    reference = closingReports(jsonl);
    expect(reference.size).toBe(24);
    expect([...reference.values()].every(([callId]) => /^scn7-\d+@rtpprobe\.gen$/.test(callId))).toBe(true);
    expect([...reference.values()].some(([, , lost]) => lost > 0)).toBe(true);
    expect(summaryOf(r.stderr)).toMatchObject({ streams: 24, rtpNotMeasured: 0 });
    records = summaryOf(r.stderr)!.packets;
  });

  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: the streams, Call-IDs, packets and loss of replay of the file`, async () => {
      const jsonl = join(dir, `live-${workers}.jsonl`);
      const args = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'tb', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--set', 'metrics.listen=127.0.0.1'];
      args.push('--set', `capture.workers=${workers}`, '--log-format', 'json');
      const probe = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      probe.stderr.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((r) => probe.on('exit', r));
      try {
        expect(await until(() => log.includes('"msg":"capture open"') || probe.exitCode !== null), log).toBe(true);
        const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
        const replay = spawnSync('ip', ['netns', 'exec', nsA, 'tcpreplay', '--topspeed', '-i', 'ta', pcap], { encoding: 'utf8' });
        expect(replay.status, replay.stderr).toBe(0);
        let text = '';
        const metric = (name: string): number => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
        const handled = (): number => ['sip', 'rtp', 'rtcp', 'other'].reduce((n, p) => n + (metric(`rtpprobe_packets_total{protocol="${p}"}`) || 0), 0);
        // The file's packets captured and handled (the veth pair may add a few of its own: IPv6 neighbour
        // discovery; handled packets are published once a second).
        const caughtUp = (): boolean => {
          text = spawnSync('ip', ['netns', 'exec', nsB, 'curl', '-sf', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' }).stdout;
          return metric('rtpprobe_capture_packets_received_total{interface="tb"}') >= records && handled() >= records && !(metric('rtpprobe_sip_backlog') > 0);
        };
        expect(await until(caughtUp, 60_000, 200), text).toBe(true);
        // The probe had the capacity: the ring held the burst.
        expect(metric('rtpprobe_capture_packets_dropped_kernel_total{interface="tb"}'), text).toBe(0);
        probe.kill('SIGTERM');
        expect(await exited, log).toBe(0);
      } finally {
        if (probe.exitCode === null) probe.kill('SIGKILL');
      }
      expect(summaryOf(log), log).toMatchObject({ streams: 24, rtpNotMeasured: 0 });
      const live = closingReports(jsonl);
      // Packets, expected and lost as replay counts them (capture times differ: tcpreplay's, not the file's).
      expect(Object.fromEntries(live)).toEqual(Object.fromEntries(reference));
    }, 120_000);
  }
});
