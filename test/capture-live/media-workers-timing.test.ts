/**
 * `rtpprobe run` with capture.workers = 2 when what one worker reads decides what another does, within
 * milliseconds, as on a busy port. Each worker reads its ring every capture.buffer_timeout_ms, so:
 * - a worker learns a 200 OK's addresses from the main thread a moment after RTP right behind it may have
 *   arrived: streams that start meanwhile must still end up in the call and on the side the SDP named;
 * - an RTCP BYE read on one worker can reach another before it has read the stream's last packets: they
 *   must count in the stream the BYE ends.
 * Results as one thread (and `rtpprobe replay`) gives them. Two network namespaces joined by a veth pair; a
 * pcap made by the project's generator is played by tcpreplay on one end, the probe captures on the other
 * and writes its reports as JSON lines. Needs root, tcpreplay and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtcpBye, rtcpCompound, rtcpRr, udpFrame } from '../../src/gen/index.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';
import { until } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const PAIRS = 8;
const FIRST = 25;
const SECOND = 50;
const BYE_CALLS = 32;
const BYE_PACKETS = 100;

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
function lateBindings(tag: string): { pcap: Buffer; frames: number; expected: Map<string, Expected> } {
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
  return { pcap: t.pcap(), frames: t.records().length, expected };
}

/**
 * BYE_CALLS calls, 30 ms apart, BYE_PACKETS RTP packets each way; the caller ends its stream with an RTCP
 * BYE (RTCP port to RTCP port) 2 ms after its last RTP packet, and no SIP BYE follows.
 */
function rtcpByes(tag: string): { pcap: Buffer; frames: number; expected: Map<string, Expected> } {
  const t = new CaptureTimeline();
  const expected = new Map<string, Expected>();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < BYE_CALLS; i++) {
    const [a, b, pa, pb] = [`10.78.${i}.1`, `10.78.${i}.2`, 4000, 6000];
    const at = t0 + i * 30;
    const d = new DialogWriter(t, `bye-${tag}-${i}`, a, b);
    const c = d.invite(at, { ip: a, media: [{ port: pa, formats: [8] }] });
    d.respond(at + 20, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
    d.ack(at + 22, c);
    t.rtp(at + 40, a, pa, b, pb, { ssrc: 0x100 + i, seq: 1, ts: 0, count: BYE_PACKETS });
    t.rtp(at + 45, b, pb, a, pa, { ssrc: 0x200 + i, seq: 1, ts: 0, count: BYE_PACKETS });
    t.add(at + 40 + (BYE_PACKETS - 1) * 20 + 2, udpFrame(a, pa + 1, b, pb + 1, rtcpCompound(rtcpRr({ ssrc: 0x100 + i }), rtcpBye({ ssrcs: [0x100 + i] }))));
    expected.set(`${a}:${pa}>${b}:${pb}`, { callId: d.callId, packets: BYE_PACKETS, dir: 0, party: 1 });
    expected.set(`${b}:${pb}>${a}:${pa}`, { callId: d.callId, packets: BYE_PACKETS, dir: 0, party: 0 });
  }
  return { pcap: t.pcap(), frames: t.records().length, expected };
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2: what one worker reads before another', () => {
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

  /** Plays the scenario into `rtpprobe run` with two workers; the reports ending each stream, by `src:port>dst:port`. */
  async function endingsOf(s: { pcap: Buffer; frames: number }): Promise<Record<string, Expected[]>> {
    writeFileSync(join(dir, 'calls.pcap'), s.pcap);
    const jsonl = join(dir, 'reports.jsonl');
    rmSync(jsonl, { force: true });
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
          return received() >= s.frames;
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
    return Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => ({ callId: String(r.CORRELATION_ID), packets: Number(r.TOTAL_PK), dir: Number(r.DIR), party: Number(r.PARTY) }))]));
  }

  const wanted = (expected: Map<string, Expected>) => Object.fromEntries([...expected].map(([k, e]) => [k, [e]]));

  it('media right behind its SDP: every stream ends once, in the call and on the side its SDP named, with all its packets', async () => {
    const s = lateBindings(String(process.pid));
    expect(await endingsOf(s)).toEqual(wanted(s.expected));
  });

  it('an RTCP BYE 2 ms after the last RTP packet: every stream ends once, with all its packets', async () => {
    const s = rtcpByes(String(process.pid));
    expect(await endingsOf(s)).toEqual(wanted(s.expected));
  });
});
