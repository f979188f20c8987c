/**
 * `rtpprobe run` with capture.workers = 2 when media follows its SDP within milliseconds, as on a busy
 * port: a worker learns the 200 OK's addresses from the main thread a moment after its RTP may have
 * arrived. Streams that start meanwhile must still end up in the call and on the side the SDP named, as
 * one thread (and `rtpprobe replay`) puts them. Two network namespaces joined by a veth pair; a pcap made
 * by the project's generator is played by tcpreplay on one end, the probe captures on the other and
 * writes its reports as JSON lines. Needs root, tcpreplay and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';
import { until } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const PAIRS = 8;
const FIRST = 25;
const SECOND = 50;

interface Expected {
  callId: string;
  packets: number;
  dir: number;
  party: number;
}

/**
 * PAIRS groups of three calls, 40 ms apart:
 * - x: a calls b (b's media on port 6000), FIRST packets each way, BYE;
 * - y: 150 ms after x's BYE (x's media still lingers, sip.media_linger_s), c calls b, whose 200 OK names
 *   port 6000 again; RTP both ways from 4 ms after that 200 OK;
 * - z: d calls e, answered 300 ms after the INVITE; d's RTP starts 4 ms after the 200 OK.
 * Returns the pcap and each stream's expected ending (`src:port>dst:port`).
 */
function scenario(tag: string): { pcap: Buffer; frames: number; expected: Map<string, Expected> } {
  const t = new CaptureTimeline();
  const expected = new Map<string, Expected>();
  const audio = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  const stream = (ms: number, src: string, sp: number, dst: string, dp: number, ssrc: number, count: number, e: Omit<Expected, 'packets'>) => {
    t.rtp(ms, src, sp, dst, dp, { ssrc, seq: 1, ts: 0, count });
    expected.set(`${src}:${sp}>${dst}:${dp}`, { ...e, packets: count });
  };
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < PAIRS; i++) {
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((h) => `10.77.${i}.${h}`) as [string, string, string, string, string];
    const at = t0 + i * 40;
    const x = new DialogWriter(t, `late-${tag}-${i}-x`, a, b);
    const xc = x.invite(at, audio(a, 4000));
    x.respond(at + 10, 200, xc, audio(b, 6000));
    x.ack(at + 12, xc);
    stream(at + 14, a, 4000, b, 6000, 0x1000 + i, FIRST, { callId: x.callId, dir: 0, party: 1 });
    stream(at + 16, b, 6000, a, 4000, 0x2000 + i, FIRST, { callId: x.callId, dir: 0, party: 0 });
    const xBye = at + 14 + FIRST * 20 + 10;
    x.respond(xBye + 1, 200, x.bye(xBye), null, { method: 'BYE' });

    const yAt = xBye + 150;
    const y = new DialogWriter(t, `late-${tag}-${i}-y`, c, b);
    const yc = y.invite(yAt, audio(c, 5000));
    y.respond(yAt + 10, 200, yc, audio(b, 6000));
    y.ack(yAt + 12, yc);
    stream(yAt + 14, c, 5000, b, 6000, 0x3000 + i, SECOND, { callId: y.callId, dir: 0, party: 1 });
    stream(yAt + 15, b, 6000, c, 5000, 0x4000 + i, SECOND, { callId: y.callId, dir: 0, party: 0 });
    const yBye = yAt + 14 + SECOND * 20 + 10;
    y.respond(yBye + 1, 200, y.bye(yBye), null, { method: 'BYE' });

    const z = new DialogWriter(t, `late-${tag}-${i}-z`, d, e);
    const zc = z.invite(at, audio(d, 7000));
    z.respond(at + 300, 200, zc, audio(e, 8000));
    z.ack(at + 302, zc);
    stream(at + 304, d, 7000, e, 8000, 0x5000 + i, SECOND, { callId: z.callId, dir: 0, party: 1 });
    stream(at + 310, e, 8000, d, 7000, 0x6000 + i, SECOND, { callId: z.callId, dir: 0, party: 0 });
    const zBye = at + 304 + SECOND * 20 + 10;
    z.respond(zBye + 1, 200, z.bye(zBye), null, { method: 'BYE' });
  }
  const records = t.records();
  return { pcap: t.pcap(), frames: records.length, expected };
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2: media right behind its SDP', () => {
  const nsA = `rla${process.pid}`;
  const nsB = `rlb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'la', 'lb');
  let dir: string;
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-late-'));
  });
  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every stream ends once, in the call and on the side its SDP named, with all its packets', async () => {
    const tag = String(process.pid);
    const { pcap, frames, expected } = scenario(tag);
    writeFileSync(join(dir, 'calls.pcap'), pcap);
    const jsonl = join(dir, 'reports.jsonl');
    const args = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'lb', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--set', 'capture.workers=2', '--set', 'reports.interval_s=3600', '--log-format', 'json'];
    const probe = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    try {
      expect(await until(() => log.includes('capture open') || probe.exitCode !== null), log).toBe(true);
      const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
      sh('ip', 'netns', 'exec', nsA, 'tcpreplay', '-q', '-i', 'la', join(dir, 'calls.pcap'));
      // Every frame counted by the workers (their counters reach /metrics once a second).
      let text = '';
      const received = () => Number(/^rtpprobe_capture_packets_received_total\{interface="lb"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
      expect(
        await until(() => {
          text = sh('ip', 'netns', 'exec', nsB, 'curl', '-s', `http://127.0.0.1:${port}/metrics`);
          return received() >= frames;
        }, 30_000),
        text,
      ).toBe(true);
    } finally {
      probe.kill('SIGTERM');
    }
    expect(await exited, log).toBe(0);

    const endings = new Map<string, Array<Record<string, unknown>>>();
    for (const line of readFileSync(jsonl, 'utf8').trim().split('\n')) {
      const r = JSON.parse(line) as Record<string, unknown>;
      if (r.TYPE !== 'HANGUP' && r.TYPE !== 'FINAL') continue;
      const key = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;
      endings.set(key, [...(endings.get(key) ?? []), r]);
    }
    const got = Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => ({ callId: r.CORRELATION_ID, packets: r.TOTAL_PK, dir: r.DIR, party: r.PARTY }))]));
    const want = Object.fromEntries([...expected].map(([k, e]) => [k, [e]]));
    expect(got).toEqual(want);
  });
});
