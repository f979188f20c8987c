/**
 * `rtpprobe run` with capture.workers = 2 (media workers on one PACKET_FANOUT group, SIP state on the main
 * thread), as operators run it: the CLI from dist/ in a child process on lo, SIP + RTP sent by ANOTHER
 * process (python3), reports counted at a real UDP HEP receiver and in the JSON-lines file.
 * Needs root (capture on lo) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { PY_SIP, canNetns, sh, startProbe, vethNamespaces, type RunningProbe } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

const CALLS = 16;
const PACKETS = 50;
const EARLY = 10;

/**
 * CALLS calls, each INVITE/200 OK with SDP (a: base + 4i, b: base + 4i + 2), then PACKETS RTP packets
 * each way. Call 0's a->b stream starts EARLY packets before its INVITE: it runs (heuristic) before its
 * binding exists and must join the call when the binding reaches its worker.
 */
const SENDER = String.raw`
import socket, sys, time
base, calls, packets, early, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
${PY_SIP}
flows = []
for i in range(calls):
    pa, pb = base + 4 * i, base + 4 * i + 2
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', pa))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', pb))
    flows.append([a, pb, 0x1000 + i, 0]); flows.append([b, pa, 0x2000 + i, 0])
for k in range(early):
    f = flows[0]; rtp(f[0], f[1], f[2], f[3]); f[3] += 1
    time.sleep(0.005)
for i in range(calls):
    cid = b'workers-%s-%d@probe.test' % (tag, i)
    sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', cid, sdp(base + 4 * i)), ('127.0.0.1', sip_port))
    sip.sendto(msg(b'SIP/2.0 200 OK', cid, sdp(base + 4 * i + 2), b';tag=tb'), ('127.0.0.1', sip_port))
time.sleep(0.2)
for k in range(packets):
    for f in flows:
        rtp(f[0], f[1], f[2], f[3]); f[3] += 1
    time.sleep(0.004)
print('sent', flush=True)
`;


describe.skipIf(!canRun)('rtpprobe run with capture.workers = 2 on lo', () => {
  let dir: string;
  let probe: RunningProbe;
  let hep: Socket;
  const tag = String(process.pid);
  // Above Linux's ephemeral ports (32768-60999), a block no other test process uses meanwhile: the filter
  // below counts every packet between two of its ports.
  let base = 0;
  const reports: { atMs: number; callId: string; payload: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    base = await takePorts(4 * CALLS + 2);
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-workers-'));
    hep = createSocket('udp4');
    hep.on('message', (m) => {
      const d = decodeHep3Strict(m);
      if (d.protoType === 1) return; // the captured SIP, which the probe sends too: these tests read the reports
      if (d.correlationId.startsWith(`workers-${tag}-`)) reports.push({ atMs: Date.now(), callId: d.correlationId, payload: JSON.parse(Buffer.from(d.payload).toString('utf8')) });
    });
    await new Promise<void>((r) => hep.bind(0, '127.0.0.1', r));
    const cfg = join(dir, 'probe.yaml');
    writeFileSync(cfg, `capture:\n  workers: 2\nsip:\n  ports: [${base + 4 * CALLS}]\nreports:\n  interval_s: 3600\n  send_rtcp: false\n  jsonl:\n    enabled: true\n    path: ${join(dir, 'reports.jsonl')}\n`);
    // Both ends in the test's ports.
    const filter = `udp and src portrange ${base}-${base + 4 * CALLS + 1} and dst portrange ${base}-${base + 4 * CALLS + 1}`;
    probe = await startProbe(cli, ['-i', 'lo', '-f', filter, '-c', cfg, '--hep', `udp://127.0.0.1:${hep.address().port}`]);
  });

  afterAll(() => {
    if (probe && probe.child.exitCode === null) probe.child.kill('SIGKILL');
    hep?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every stream is reported once with its Call-ID and its exact packet count; SIGTERM flushes the finals', async () => {
    const open = probe.log().split('\n').find((l) => l.includes('capture open'))!;
    expect(JSON.parse(open)).toMatchObject({ workers: 2, backend: 'pcap' });
    const sender = spawnSync('python3', ['-c', SENDER, String(base), String(CALLS), String(PACKETS), String(EARLY), tag], { encoding: 'utf8' });
    expect(sender.stdout, sender.stderr).toContain('sent');

    // /metrics sums the workers' counters (published once a second) and reads the calls from the owner:
    // the wait ends when every packet sent is counted (the capture rings hand over their last blocks).
    const sentPackets = 2 * CALLS * PACKETS + EARLY + 2 * CALLS;
    let text = '';
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    // The packet classes sum to every packet captured.
    const allPackets = () => ['sip', 'rtp', 'rtcp', 'other'].reduce((n, p) => n + (metric(`rtpprobe_packets_total{protocol="${p}"}`) || 0), 0);
    expect(
      await until(async () => {
        text = await (await fetch(`http://127.0.0.1:${probe.metricsPort}/metrics`)).text();
        return metric('rtpprobe_streams_active') === 2 * CALLS && allPackets() >= sentPackets;
      }, 30_000),
      text,
    ).toBe(true);
    expect(reports.length).toBe(0); // nothing final before the stop (interval 3600 s, streams still live)
    // Soft: a count off goes on to the finals below, whose per-stream counts name the flows that got the
    // packets (or show that none of this test's streams did), and the failure quotes the counters.
    expect.soft(allPackets(), text).toBe(sentPackets); // the filter lets in only this test's packets
    expect.soft(metric('rtpprobe_packets_total{protocol="rtp"}'), text).toBe(2 * CALLS * PACKETS + EARLY);
    expect.soft(metric('rtpprobe_packets_total{protocol="sip"}'), text).toBe(2 * CALLS);
    expect(metric('rtpprobe_streams_started_total')).toBe(2 * CALLS);
    expect(metric('rtpprobe_calls_active')).toBe(CALLS);
    expect.soft(metric('rtpprobe_capture_packets_received_total{interface="lo"}'), text).toBe(sentPackets);
    expect(metric('rtpprobe_capture_packets_dropped_kernel_total{interface="lo"}')).toBe(0);
    const termAt = Date.now();
    probe.child.kill('SIGTERM');
    expect(await probe.exit).toBe(0);

    const finals = reports.map((r) => r.payload).filter((p) => p.TYPE === 'FINAL');
    const streams = finals.map((f) => `${f.SRC_PORT}>${f.DST_PORT} ${f.TOTAL_PK}`).join(', ');
    expect.soft(finals.length, streams).toBe(2 * CALLS);
    expect(reports.every((r) => r.atMs >= termAt)).toBe(true);
    const byStream = new Map<string, Record<string, unknown>>();
    for (const f of finals) byStream.set(`${f.SRC_PORT}>${f.DST_PORT}`, f);
    expect.soft(byStream.size, streams).toBe(2 * CALLS); // each stream once
    for (let i = 0; i < CALLS; i++) {
      const pa = base + 4 * i;
      const pb = pa + 2;
      const ab = byStream.get(`${pa}>${pb}`)!;
      const ba = byStream.get(`${pb}>${pa}`)!;
      for (const f of [ab, ba]) {
        expect(f.CORRELATION_ID).toBe(`workers-${tag}-${i}@probe.test`);
        expect(f.PACKET_LOSS).toBe(0);
      }
      // Call 0's a->b ran before its binding existed and joined the call when the binding arrived.
      expect.soft(ab.TOTAL_PK, `stream ${pa}>${pb}`).toBe(i === 0 ? PACKETS + EARLY : PACKETS);
      expect.soft(ba.TOTAL_PK, `stream ${pb}>${pa}`).toBe(PACKETS);
    }

    // The JSON-lines file (written by the main thread) holds the same finals, once each.
    const lines = readFileSync(join(dir, 'reports.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = lines.filter((l) => String(l.CORRELATION_ID).startsWith(`workers-${tag}-`) && l.TYPE === 'FINAL');
    expect(mine.length).toBe(2 * CALLS);

    // The flow hash spread the streams over both workers (16 independent calls: all on one worker has p = 2^-15).
    const summary = JSON.parse(probe.log().split('\n').find((l) => l.includes('run summary'))!) as { workers: { packets: number; streams: number; droppedKernel: number }[]; rtpNotMeasured: number; srtcp: number };
    expect(summary.workers.length).toBe(2);
    // Counters of packets not used are the workers' sums too (nothing here is junk).
    expect([summary.rtpNotMeasured, summary.srtcp]).toEqual([0, 0]);
    for (const w of summary.workers) {
      expect(w.streams).toBeGreaterThan(0);
      expect(w.droppedKernel).toBe(0);
    }
  });
});

describe.skipIf(!existsSync(cli))('capture.workers validation', () => {
  it('workers > 1 with backend cap is refused at start, naming the field', () => {
    const r = spawnSync(process.execPath, [cli, 'check-config', '--set', 'capture.workers=2', '--set', 'capture.backend=cap'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/capture\.workers: 2 is not allowed with backend "cap"/);
  });
});

/**
 * A media worker that dies takes the probe down with exit code 1 and a log line naming it (no in-process
 * restart: systemd restarts the whole probe). The death here is a real one: the capture interface goes
 * away and, when it comes back, the workers cannot reopen it because the probe has switched to an
 * unprivileged user (process.user): EPERM ends their capture loop. Two network namespaces, a veth pair.
 */
const canNetnsHere = canNetns && existsSync(cli) && spawnSync('id', ['nobody']).status === 0;

describe.skipIf(!canNetnsHere)('a media worker dying', () => {
  const net = vethNamespaces(`rwa${process.pid}`, `rwb${process.pid}`, 'wa', 'wb');
  const nsB = `rwb${process.pid}`;
  beforeAll(() => net.setup());
  afterAll(() => net.teardown());

  it('is logged and the probe exits 1', async () => {
    const probe = spawn('ip', ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'wb', '--no-hep', '--metrics-port', '0', '--set', 'capture.workers=2', '--set', 'process.user=nobody', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    expect(await until(() => log.includes('dropped root privileges')), log).toBe(true);
    sh('ip', '-n', nsB, 'link', 'del', 'wb');
    // The interface comes back once the capture has noticed it gone.
    expect(await until(() => log.includes('"msg":"capture lost"'), 30_000), log).toBe(true);
    net.linkUp();
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    if (code === 'still running') probe.kill('SIGKILL');
    expect(code, log).toBe(1);
    const lines = log.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; worker?: number; level: number });
    expect(lines.some((l) => l.msg === 'media worker crashed' && typeof l.worker === 'number'), log).toBe(true);
    expect(lines.some((l) => l.msg === 'capture lost'), log).toBe(true);
  });
});
