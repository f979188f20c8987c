/**
 * Worker mode (capture.workers = 2) as operators run and watch it: `rtpprobe run` from dist/ in a child
 * process on lo, SIP + RTP from another process (python3), reports at real UDP HEP receivers, /metrics
 * scraped over HTTP. Covers SIGHUP (report interval and rules change in every worker, the main thread
 * moves to new collectors, an invalid file is refused and changes nothing), the per-worker metric series
 * (worker_up following each worker's capture), and PACKET_FANOUT group ids (automatic ids skip groups in
 * use on the host; a clash with another program's group fails with a clear message).
 * Needs root (capture on lo, AF_PACKET sockets) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { FANOUT_HASH, FANOUT_LB, PY_SIP, canNetns, holdGroup, sh, startProbe, vethNamespaces } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';
import { testFanoutGroup } from './helpers.js';
import { fanoutGroupInUse, pickAutoFanoutGroup, preferredAutoFanoutGroup } from '../../src/pipeline/workers/fanout-group.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

/**
 * The fanout hash is symmetric (both directions of a call's RTP go to one worker): with 16 calls, all on one
 * worker has p = 2 x 2^-16 (8 calls: 1 in 128).
 */
const CALLS = 16;

/**
 * CALLS calls (INVITE/200 OK with SDP), then RTP both ways every 20 ms until a line arrives on standard
 * input; prints how many packets it sent in all.
 */
const SENDER = String.raw`
import select, socket, sys, time
base, calls, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
${PY_SIP}
flows = []
sent = 0
for i in range(calls):
    pa, pb = base + 4 * i, base + 4 * i + 2
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', pa))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', pb))
    flows.append([a, pb, 0x1000 + i]); flows.append([b, pa, 0x2000 + i])
    cid = b'wops-%s-%d@probe.test' % (tag, i)
    sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', cid, sdp(pa)), ('127.0.0.1', sip_port))
    sip.sendto(msg(b'SIP/2.0 200 OK', cid, sdp(pb), b';tag=tb'), ('127.0.0.1', sip_port))
    sent += 2
time.sleep(0.2)
print('rtp', flush=True)
k = 0
while not select.select([sys.stdin], [], [], 0)[0] and k < 3000:
    for s, dport, ssrc in flows:
        s.sendto(bytes([0x80, 8]) + (k & 0xffff).to_bytes(2, 'big') + (k * 160).to_bytes(4, 'big') + ssrc.to_bytes(4, 'big') + b'\xd5' * 160, ('127.0.0.1', dport))
        sent += 1
    k += 1
    time.sleep(0.02)
print('sent %d' % sent, flush=True)
`;

/** Value of `name{labels}` in Prometheus text (NaN when absent). */
const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2 on lo: SIGHUP and per-worker /metrics', () => {
  let dir: string;
  let child: ChildProcess;
  let exit: Promise<number | null>;
  let hepA: Socket;
  let hepB: Socket;
  let sender: ChildProcess;
  let senderOut = '';
  let log: () => string = () => '';
  let metricsPort = 0;
  const tag = String(process.pid);
  // Ports of this test only, above the ephemeral range (see beforeAll).
  let base = 0;
  let sipPort = 0;
  const cfg = () => join(dir, 'probe.yaml');
  const reports: { atMs: number; to: Socket; p: Record<string, unknown> }[] = [];
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  /** The reports received after `sinceMs`, latest per stream (SSRC). */
  const latestSince = (sinceMs: number, type = 'PERIODIC') => {
    const m = new Map<unknown, Record<string, unknown>>();
    for (const r of reports) if (r.atMs >= sinceMs && r.p.TYPE === type) m.set(r.p.SSRC, r.p);
    return m;
  };
  /** The file: two workers, the test's SIP port, one HEP collector (receiver A unless told), `reportsYaml`. */
  const config = (reportsYaml: string, collector = hepA) =>
    `capture:\n  workers: 2\nsip:\n  ports: [${sipPort}]\nhep:\n  collectors:\n    - { host: 127.0.0.1, port: ${collector.address().port}, transport: udp }\nreports:\n  send_rtcp: false\n${reportsYaml}`;
  const receiver = async () => {
    // 8 MiB: a test process stalled for seconds on a loaded host must not lose reports in the kernel.
    const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    sock.on('message', (m) => {
      const d = decodeHep3Strict(m);
      if (d.protoType === 1) return; // the captured SIP, which the probe sends too: these tests read the reports
      if (d.correlationId.startsWith(`wops-${tag}-`)) reports.push({ atMs: Date.now(), to: sock, p: JSON.parse(Buffer.from(d.payload).toString('utf8')) });
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    return sock;
  };

  beforeAll(async () => {
    base = await takePorts(4 * CALLS + 2);
    sipPort = base + 4 * CALLS;
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-wops-'));
    hepA = await receiver();
    hepB = await receiver();
    writeFileSync(cfg(), config('  interval_s: 2\n'));
    // Both ends in the test's ports: other suites' sockets get ephemeral ports (32768-60999) in this range too.
    const filter = `udp and src portrange ${base}-${sipPort + 1} and dst portrange ${base}-${sipPort + 1}`;
    const probe = await startProbe(cli, ['-i', 'lo', '-f', filter, '-c', cfg()]);
    ({ child, exit, metricsPort } = probe);
    log = probe.log;
    sender = spawn('python3', ['-c', SENDER, String(base), String(CALLS), tag], { stdio: ['pipe', 'pipe', 'inherit'] });
    sender.stdout!.on('data', (d: Buffer) => (senderOut += d));
  });

  afterAll(() => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (child && child.exitCode === null) child.kill('SIGKILL');
    hepA?.close();
    hepB?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Sends SIGHUP and waits for the log line that says how it ended; returns the log written meanwhile. */
  const hup = async (done: string) => {
    const from = log().length;
    child.kill('SIGHUP');
    // A reload that loads the rule library waits for each worker's confirmation, at most 10 s.
    expect(await until(() => log().slice(from).includes(done), 45_000), log().slice(from)).toBe(true);
    return log().slice(from);
  };

  it('streams are on both workers: per-worker series on /metrics, both workers up', async () => {
    let text = '';
    const ok = await until(async () => {
      text = await scrape();
      const s0 = metric(text, 'rtpprobe_worker_streams_active{worker="0"}');
      const s1 = metric(text, 'rtpprobe_worker_streams_active{worker="1"}');
      return s0 + s1 === 2 * CALLS;
    });
    expect(ok, text).toBe(true);
    for (const w of ['0', '1']) {
      expect(metric(text, `rtpprobe_worker_up{worker="${w}"}`)).toBe(1);
      // The flow hash gave each worker streams (see CALLS).
      expect(metric(text, `rtpprobe_worker_streams_active{worker="${w}"}`)).toBeGreaterThan(0);
      expect(metric(text, `rtpprobe_worker_capture_packets_received_total{worker="${w}"}`)).toBeGreaterThan(0);
      expect(metric(text, `rtpprobe_worker_capture_packets_dropped_kernel_total{worker="${w}"}`)).toBe(0);
    }
    expect(metric(text, 'rtpprobe_worker_up{worker="2"}')).toBeNaN();
    expect(metric(text, 'rtpprobe_streams_active')).toBe(2 * CALLS); // the existing total is still there
    // The stream table's counters, summed over the workers (nothing to evict or hold back here).
    expect(metric(text, 'rtpprobe_streams_evicted_unconfirmed_total')).toBe(0);
    expect(metric(text, 'rtpprobe_rtp_packets_held_back_total')).toBe(0);
  });

  it('SIGHUP with a new reports.interval_s: every stream, on either worker, reports at the new interval', async () => {
    // Before: every stream reports at 2 s.
    expect(await until(() => latestSince(0).size === 2 * CALLS)).toBe(true);
    for (const p of latestSince(0).values()) expect(p.INTERVAL_S).toBe(2);

    writeFileSync(cfg(), config('  interval_s: 1\n'));
    const log = await hup('configuration reloaded');
    const line = JSON.parse(log.split('\n').find((l) => l.includes('report rules and outputs reloaded'))!) as { workers: number[]; intervalS: number };
    expect(line.workers).toEqual([0, 1]); // both workers confirmed before the reload was logged
    expect(line.intervalS).toBe(1);
    const after = Date.now();
    // Due times stay: each stream's next report comes at its old due time, scheduling the next one 1 s on.
    expect(await until(() => latestSince(after).size === 2 * CALLS, 30_000)).toBe(true);
    for (const p of latestSince(after).values()) expect(p.INTERVAL_S).toBe(1);
  });

  it('SIGHUP with an invalid file: refused, the field and the reason logged, the running interval stays', async () => {
    writeFileSync(cfg(), config('  interval_s: -5\n'));
    const log = await hup('configuration reload refused');
    expect(log).toMatch(/reports\.interval_s: -5 is not allowed: must be a number from 1 to 86400/);
    expect(log).not.toContain('report rules and outputs reloaded');
    const after = Date.now();
    expect(await until(() => latestSince(after).size === 2 * CALLS, 30_000)).toBe(true);
    for (const p of latestSince(after).values()) expect(p.INTERVAL_S).toBe(1);
    expect(child.exitCode).toBeNull();
  });

  it('SIGHUP adding a rule: every stream sends its ALERT and switches to the rule interval', async () => {
    writeFileSync(cfg(), config('  interval_s: 1\n  rules:\n    - { name: after-hup, when: "packets > 0", interval_s: 3 }\n'));
    const sentAt = Date.now(); // no ALERT can come before: the rule did not exist
    const hupLog = await hup('configuration reloaded');
    const line = JSON.parse(hupLog.split('\n').find((l) => l.includes('report rules and outputs reloaded'))!) as { rules: number; workers: number[] };
    expect(line.rules).toBe(1);
    // The first rule loads the expression library in each thread (about half a second of CPU): on a loaded
    // host a worker can miss the confirmation window. Each worker is then named as not confirmed, and
    // applies the rule when it gets there: the ALERTs below come from the streams of both workers.
    const late = hupLog.split('\n').filter((l) => l.includes('reloaded report rules not confirmed')).map((l) => (JSON.parse(l) as { worker: number }).worker);
    expect([...line.workers, ...late].sort(), hupLog).toEqual([0, 1]);
    const alerted = await until(() => latestSince(sentAt, 'ALERT').size === 2 * CALLS, 30_000);
    if (!alerted) {
      // Which streams sent no ALERT, what they sent instead, and what the probe says it sent and dropped.
      const got = latestSince(sentAt, 'ALERT');
      const missing = [...latestSince(sentAt).keys()].filter((ssrc) => !got.has(ssrc));
      const since = reports.filter((r) => r.atMs >= sentAt && missing.includes(r.p.SSRC)).map((r) => `${String(r.p.SSRC)} ${String(r.p.TYPE)} ${String(r.p.INTERVAL_S)}`);
      const counters = (await scrape()).split('\n').filter((l) => /^rtpprobe_(reports|worker_streams_active|rule)/.test(l));
      expect(alerted, JSON.stringify({ alerts: got.size, missing, since, counters }) + '\n' + log().slice(-4000)).toBe(true);
    }
    for (const p of latestSince(sentAt, 'ALERT').values()) {
      expect(p.ALERT_RULE).toBe('after-hup');
      expect(p.INTERVAL_S).toBe(3);
    }
  }, 90_000);

  it('SIGHUP with another collector: the main thread sends every worker\'s reports there, none to the old one', async () => {
    writeFileSync(cfg(), config('  interval_s: 1\n', hepB));
    await hup('configuration reloaded'); // logged once the old collector is drained
    const after = Date.now();
    expect(await until(() => latestSince(after).size === 2 * CALLS, 30_000)).toBe(true);
    // Judged by when each report was built (REPORT_TS, live capture's clock), not when this process read
    // it: under load it reads the old collector's socket late, datagrams sent before the reload included.
    const builtAfter = (r: (typeof reports)[number]) => Number(r.p.REPORT_TS) * 1000 >= after + 1000;
    expect(await until(() => reports.filter(builtAfter).length >= 2 * CALLS, 30_000)).toBe(true);
    expect(reports.filter((r) => builtAfter(r) && r.to === hepA)).toEqual([]);
    expect(reports.filter(builtAfter).every((r) => r.to === hepB)).toBe(true);
    // /metrics follows the new collector: sent reports and its queue gauge.
    const b = `{collector="udp://127.0.0.1:${hepB.address().port}"}`;
    let text = '';
    expect(await until(async () => metric((text = await scrape()), `rtpprobe_reports_sent_total${b}`) >= 2 * CALLS, 30_000), text).toBe(true);
    expect(metric(text, `rtpprobe_hep_queue_depth${b}`)).toBe(0);
  });

  it('per-worker counters add up to the totals and to what was sent; SIGTERM exits 0', async () => {
    sender.stdin!.write('stop\n');
    expect(await until(() => /sent \d+/.test(senderOut), 30_000), senderOut).toBe(true);
    const sent = Number(/sent (\d+)/.exec(senderOut)![1]);
    let text = '';
    const perWorker = (name: string) => metric(text, `${name}{worker="0"}`) + metric(text, `${name}{worker="1"}`);
    const settled = await until(async () => {
      text = await scrape();
      return metric(text, 'rtpprobe_capture_packets_received_total{interface="lo"}') === sent && perWorker('rtpprobe_worker_capture_packets_received_total') === sent;
    }, 30_000);
    expect(settled, `sent ${sent}\n${text}`).toBe(true);
    expect(perWorker('rtpprobe_worker_capture_packets_dropped_kernel_total')).toBe(metric(text, 'rtpprobe_capture_packets_dropped_kernel_total{interface="lo"}'));
    expect(perWorker('rtpprobe_worker_capture_packets_dropped_interface_total')).toBe(metric(text, 'rtpprobe_capture_packets_dropped_interface_total{interface="lo"}'));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe.skipIf(!existsSync(cli))('capture.fanout_group validation', () => {
  it('ids reserved for automatic groups are refused, naming the field and the range', () => {
    const r = spawnSync(process.execPath, [cli, 'check-config', '--set', 'capture.fanout_group=61440'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/capture\.fanout_group: 61440 is not allowed: 61440\.\.65535 are reserved/);
    expect(spawnSync(process.execPath, [cli, 'check-config', '--set', 'capture.fanout_group=61439'], { encoding: 'utf8' }).status).toBe(0);
  });
});

describe.skipIf(!canRun)('PACKET_FANOUT group ids on a shared host', () => {
  it('a group is seen in use exactly while another process holds it, and the check leaves nothing behind', async () => {
    const group = 61440 + ((process.pid * 7) % 4096);
    expect(fanoutGroupInUse('lo', group)).toBe(false);
    // The check's own socket is gone: another program can now create the group in hash mode.
    const release = await holdGroup('lo', group, FANOUT_HASH);
    try {
      expect(fanoutGroupInUse('lo', group)).toBe(true);
      expect(fanoutGroupInUse('lo', group)).toBe(true);
      // The automatic pick skips it (silently joining would split the traffic with that program).
      const pid = group - 61440; // a process id whose preferred automatic id is `group`
      expect(preferredAutoFanoutGroup(pid)).toBe(group);
      const picked = await pickAutoFanoutGroup('lo', pid);
      picked.claim.close();
      expect(picked.skipped).toEqual([group]);
      expect(picked.group).toBe(group === 65535 ? 61440 : group + 1);
    } finally {
      await release();
    }
    expect(fanoutGroupInUse('lo', group)).toBe(false);
  });

  it("the automatic id of `rtpprobe run` avoids a group another process holds with identical settings: every packet is the probe's", async () => {
    const flowPort = await takePorts(1);
    // sh execs node, so the probe's process id (and its preferred automatic id) is known before it starts.
    const probe = spawn('sh', ['-c', 'read go; exec "$0" "$@"', process.execPath, cli, 'run', '-i', 'lo', '-f', `udp and port ${flowPort}`, '--no-hep', '--set', 'capture.workers=2', '--log-format', 'json'], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, RTPPROBE_METRICS_PORT: '0', RTPPROBE_METRICS_LISTEN: '127.0.0.1' },
    });
    let log = '';
    probe.stdout!.on('data', (d: Buffer) => (log += d));
    probe.stderr!.on('data', (d: Buffer) => (log += d));
    const exited = new Promise((r) => probe.once('exit', r));
    const preferred = preferredAutoFanoutGroup(probe.pid!);
    const release = await holdGroup('lo', preferred, FANOUT_HASH);
    try {
      probe.stdin!.write('go\n');
      expect(await until(() => log.includes('capture open'), 30_000), log).toBe(true);
      const lines = log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'automatic fanout group ids already in use on this host were skipped')).toMatchObject({ inUse: [preferred] });
      const open = lines.find((l) => l.msg === 'capture open')!;
      expect(open.fanoutGroup).not.toBe(preferred);
      expect(open.fanoutGroup).toBeGreaterThanOrEqual(61440);
      // 64 flows: had the probe joined the holder's group, about a third of them would go to the holder.
      const port = (lines.find((l) => l.msg === 'metrics and health endpoint listening') as { port: number }).port;
      const send = spawnSync('python3', ['-c', "import socket, sys\nfor i in range(64):\n  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x' * 32, ('127.0.0.1', int(sys.argv[1])))\n", String(flowPort)]);
      expect(send.status).toBe(0);
      let text = '';
      const all = await until(async () => {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return metric(text, 'rtpprobe_capture_packets_received_total{interface="lo"}') === 64;
      }, 30_000);
      expect(all, text).toBe(true);
    } finally {
      probe.kill('SIGTERM');
      await exited;
      await release();
    }
  });

  it('an explicit capture.fanout_group held by another program with other settings: exit 3, the message says why', async () => {
    const group = await testFanoutGroup();
    const release = await holdGroup('lo', group, FANOUT_LB);
    try {
      const r = spawnSync(process.execPath, [cli, 'run', '-i', 'lo', '--no-hep', '--metrics-port', '0', '--set', 'capture.workers=2', '--set', `capture.fanout_group=${group}`, '--log-format', 'json'], { encoding: 'utf8', timeout: 15_000 });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toContain(`capture.fanout_group ${group} is already used on this host by another socket with other settings`);
      expect(r.stderr).toContain('capture.fanout_group is already in use on this host'); // the warning before the attempt
    } finally {
      await release();
    }
  });
});

/**
 * rtpprobe_worker_up follows each worker's capture: the interface vanishes (veth deleted) and comes back.
 * The probe runs in its own network namespace; /metrics is scraped from inside it.
 */
const canNetnsHere = canRun && canNetns && spawnSync('curl', ['--version']).status === 0;

describe.skipIf(!canNetnsHere)('rtpprobe_worker_up when the capture interface goes away', () => {
  const nsB = `rub${process.pid}`;
  const net = vethNamespaces(`rua${process.pid}`, nsB, 'ua', 'ub');
  beforeAll(() => net.setup());
  afterAll(() => net.teardown());

  it('is 1 per worker while capturing, 0 while the interface is gone, 1 again once reopened', async () => {
    const probe = spawn('ip', ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'ub', '--no-hep', '--metrics-port', '0', '--set', 'capture.workers=2', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    try {
      expect(await until(() => log.includes('capture open')), log).toBe(true);
      const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
      let text = '';
      const upAre = (v: number) => async () => {
        text = sh('ip', 'netns', 'exec', nsB, 'curl', '-s', `http://127.0.0.1:${port}/metrics`);
        return metric(text, 'rtpprobe_worker_up{worker="0"}') === v && metric(text, 'rtpprobe_worker_up{worker="1"}') === v;
      };
      expect(await until(upAre(1), 30_000), text).toBe(true);
      sh('ip', '-n', nsB, 'link', 'del', 'ub');
      expect(await until(upAre(0), 30_000), text + log).toBe(true);
      expect(metric(text, 'rtpprobe_capture_running')).toBe(0);
      net.linkUp();
      expect(await until(upAre(1), 30_000), text + log).toBe(true);
      expect(await until(() => log.split('\n').filter((l) => l.includes('"capture reopened"')).length === 2, 30_000), log).toBe(true); // the log may trail /metrics
    } finally {
      probe.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
