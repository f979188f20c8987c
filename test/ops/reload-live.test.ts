/**
 * A configuration reload (SIGHUP) during a live run: `rtpprobe run -i lo` in a child process, a lossy RTP
 * stream (20 %, every 5th packet missing) sent by ANOTHER process (python3), the reports read from the
 * JSON-lines file the probe writes. The stream starts under a base interval of an hour; a reload to 2 s
 * reports it at once (the interval changes in place), where its rule fires; a reload that keeps the rule
 * sends no second ALERT; a reload that raises its threshold above the loss sends its CLEARED at the
 * stream's next report, while the stream goes on; a reload of settings only a restart applies says so.
 * A pause in progress when a reload turns the silence check off still sends its CLEARED when the stream
 * resumes. The live call page and the HTML call report keep what they showed before a reload. A reload that
 * moves the webhook to another URL clears the firing alert at the receiver that got its ALERT; the new
 * receiver, as one a reload sets where there was none, gets no CLEARED without its ALERT. So does one that moves HEP to another collector.
 * Needs root (packet capture on lo) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackCallReport, type PackedCallReport } from '../../src/callreport/index.js';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { startUdpSink, type UdpSink } from '../hep/helpers.js';
import { waitFor } from '../wait.js';
import { takePorts } from '../port-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

/** PCMA every 20 ms from port+2 to port, every 5th sequence number missing, until killed (or 5 minutes). */
const SENDER = String.raw`
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', port + 2))
t0 = time.monotonic(); i = 0
while time.monotonic() - t0 < 300:
    if i % 5 != 0:
        s.sendto(struct.pack('!BBHII', 0x80, 8, i & 0xffff, (i * 160) & 0xffffffff, 0x5eed) + b'\xd5' * 160, ('127.0.0.1', port))
    i += 1
    d = t0 + i * 0.02 - time.monotonic()
    if d > 0: time.sleep(d)
`;

/**
 * A call set up by SIP to port argv[3] (INVITE offering port+2, 200 OK answering port: the silence check
 * pages only streams of a call), then PCMA every 20 ms from port+2 to port: 1.5 s, a pause until the file
 * argv[2] exists, then on (sequence unbroken).
 */
const PAUSING_SENDER = String.raw`
import os, socket, struct, sys, time
port, resume, sip = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', port + 2))
def sdp(p): return b'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\n' % p
def msg(first, body, to_tag=b''):
    return (first + b'\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=fa\r\nTo: <sip:b@127.0.0.1>' % (port + 2) + to_tag +
            b'\r\nCall-ID: pause@probe.test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
s.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', sdp(port + 2)), ('127.0.0.1', sip))
time.sleep(0.02)
s.sendto(msg(b'SIP/2.0 200 OK', sdp(port), b';tag=tb'), ('127.0.0.1', sip))
time.sleep(0.05)
def send(i): s.sendto(struct.pack('!BBHII', 0x80, 8, i & 0xffff, (i * 160) & 0xffffffff, 0x51e7) + b'\xd5' * 160, ('127.0.0.1', port))
for i in range(75): send(i); time.sleep(0.02)
t0 = time.monotonic()
while not os.path.exists(resume) and time.monotonic() - t0 < 120: time.sleep(0.05)
i = 75 + int((time.monotonic() - t0) / 0.02)
t0 = time.monotonic()
while time.monotonic() - t0 < 300: send(i); i += 1; time.sleep(0.02)
`;

/**
 * An even port for the stream's receiver, the sender on port + 2: of this test only, above the ephemeral
 * ports (a filter on an ephemeral port also takes another process's socket that got it).
 */
async function testEvenPort(): Promise<number> {
  const first = await takePorts(4);
  return first + (first & 1);
}

describe.skipIf(!canRun)('SIGHUP during a live run: the interval changes in place, ALERT and CLEARED stay pairs', () => {
  let dir: string;
  let probe: ChildProcess;
  let sender: ChildProcess;
  let exit: Promise<number | null>;
  let log = '';
  let metricsPort: number;
  const cfg = () => join(dir, 'probe.yaml');
  const jsonl = () => join(dir, 'reports.jsonl');
  const writeConfig = (intervalS: number, threshold: number, more = '') =>
    writeFileSync(cfg(), `reports:\n  interval_s: ${intervalS}\n  rules:\n    - { name: lossy, when: "loss_pct > ${threshold}", interval_s: 1 }\n  jsonl: { enabled: true, path: ${jsonl()} }\n${more}`);
  const reports = (): Array<{ TYPE: string; ALERT_RULE?: string; NODE?: string; BUFFER_DELAY?: number }> =>
    existsSync(jsonl()) ? readFileSync(jsonl(), 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l)) : [];
  const count = (type: string) => reports().filter((r) => r.TYPE === type).length;
  const reloads = () => log.split('"msg":"configuration reloaded"').length - 1;
  /** Sends SIGHUP and waits until the probe has applied the file and written `periodic` more interval reports. */
  async function reload(periodic: number): Promise<void> {
    const done = reloads() + 1;
    probe.kill('SIGHUP');
    await waitFor(() => reloads() === done, 30_000, 'the reload');
    const after = count('PERIODIC') + periodic;
    await waitFor(() => count('PERIODIC') >= after, 30_000, `${periodic} interval reports after the reload`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-alerts-'));
    const port = await testEvenPort();
    writeConfig(3600, 2);
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', `udp port ${port}`, '-c', cfg(), '--no-hep', '--metrics-port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exit = new Promise((r) => probe.on('exit', (code) => r(code)));
    await waitFor(() => log.includes('capture open'), 30_000, 'capture open');
    metricsPort = Number(/"port":(\d+)[^\n]*"msg":"metrics and health endpoint listening"/.exec(log)?.[1]);
    sender = spawn('python3', ['-c', SENDER, String(port)], { stdio: 'ignore' });
  });

  afterAll(() => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a stream due in an hour: a reload to 2 s reports it within seconds, and its rule fires once', async () => {
    // Only this stream passes the capture filter.
    await waitFor(async () => /^rtpprobe_streams_active (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1] === '1', 30_000, 'the stream');
    expect(count('PERIODIC')).toBe(0);
    writeConfig(2, 2);
    await reload(1);
    await waitFor(() => count('ALERT') === 1, 30_000, 'the ALERT');
    expect(reports().find((r) => r.TYPE === 'ALERT')?.ALERT_RULE).toBe('lossy');
  });

  it('a reload that keeps the rule: it goes on firing, no second ALERT', async () => {
    await reload(3);
    expect(count('ALERT')).toBe(1);
    expect(count('CLEARED')).toBe(0);
  });

  it('a reload that raises the threshold above the loss: one CLEARED at the next report, the stream goes on', async () => {
    writeConfig(2, 50);
    await reload(1);
    await waitFor(() => count('CLEARED') === 1, 30_000, 'the CLEARED');
    const types = reports().map((r) => r.TYPE);
    expect(types.filter((t) => t === 'ALERT' || t === 'CLEARED')).toEqual(['ALERT', 'CLEARED']);
    expect(reports().find((r) => r.TYPE === 'CLEARED')?.ALERT_RULE).toBe('lossy');
    expect(types).not.toContain('FINAL');
    expect(log).toContain('"msg":"alert lossy cleared"');
  });

  it('a reload of settings read only at start: one warning names them, the reports keep the running values', async () => {
    const before = reports().at(-1)!;
    writeConfig(2, 50, 'qos:\n  jitter_buffer_ms: 150\nhep:\n  node_name: renamed-probe\n');
    const from = log.length;
    await reload(2);
    const warnings = log.slice(from).split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      settings: ['qos.jitter_buffer_ms', 'hep.node_name'],
      msg: 'configuration reload: qos.jitter_buffer_ms, hep.node_name changed but only a restart applies them: the running values stay',
    });
    const last = reports().at(-1)!;
    expect([last.NODE, last.BUFFER_DELAY]).toEqual([before.NODE, 0]);
  });

  it('stops with 0', async () => {
    sender.kill('SIGKILL');
    probe.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(count('ALERT')).toBe(1);
  });
});

describe.skipIf(!canRun)('SIGHUP turning the silence check off while a pause is in progress', () => {
  let dir: string;
  let probe: ChildProcess;
  let sender: ChildProcess;
  let log = '';
  const cfg = () => join(dir, 'probe.yaml');
  const jsonl = () => join(dir, 'reports.jsonl');
  let sipPort = 0;
  const writeConfig = (silenceS: number) =>
    writeFileSync(cfg(), `sip: { ports: [${sipPort}] }\nreports:\n  interval_s: 60\n  faults: { silence_s: ${silenceS}, no_media_s: 0, one_way_s: 0 }\n  jsonl: { enabled: true, path: ${jsonl()} }\n`);
  const alerts = (): string[] =>
    existsSync(jsonl()) ? readFileSync(jsonl(), 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as { TYPE: string; ALERT_RULE?: string }).filter((r) => r.ALERT_RULE !== undefined).map((r) => `${r.TYPE} ${r.ALERT_RULE}`) : [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-faults-'));
    const port = await testEvenPort();
    sipPort = await takePorts(1);
    writeConfig(2);
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', `udp port ${port} or udp port ${sipPort}`, '-c', cfg(), '--no-hep', '--metrics-port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('capture open'), 30_000, 'capture open');
    sender = spawn('python3', ['-c', PAUSING_SENDER, String(port), join(dir, 'resume'), String(sipPort)], { stdio: 'ignore' });
  });

  afterAll(() => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the pause alerted before the reload is CLEARED when the stream resumes', async () => {
    await waitFor(() => alerts().length === 1, 30_000, 'the silence ALERT');
    expect(alerts()).toEqual(['ALERT silence']);
    writeConfig(0);
    probe.kill('SIGHUP');
    await waitFor(() => log.includes('"msg":"configuration reloaded"'), 30_000, 'the reload');
    writeFileSync(join(dir, 'resume'), '');
    await waitFor(() => alerts().length === 2, 30_000, 'the CLEARED');
    expect(alerts()).toEqual(['ALERT silence', 'CLEARED silence']);
  });
});

describe.skipIf(!canRun)('SIGHUP and the call reports: the live call page and the HTML report keep the run before it', () => {
  let dir: string;
  let probe: ChildProcess;
  let sender: ChildProcess;
  let log = '';
  let base = '';
  const cfg = () => join(dir, 'probe.yaml');
  const html = () => join(dir, 'calls.html');
  const writeConfig = (intervalS: number) =>
    writeFileSync(cfg(), `metrics: { live_page: true }\nreports:\n  interval_s: ${intervalS}\n  html: { path: ${html()} }\n`);
  /** The live page's one stream: packets and chart points (null before its first report, or 503). */
  async function livePage(): Promise<{ packets: number; points: number } | null> {
    const res = await fetch(`${base}/api/callreport`);
    if (res.status === 503) return null;
    const s = unpackCallReport((await res.json()) as PackedCallReport).streams[0];
    return s ? { packets: s.packets, points: s.series.t.length } : null;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-callreport-'));
    const port = await testEvenPort();
    writeConfig(1);
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', `udp port ${port}`, '-c', cfg(), '--no-hep', '--metrics-port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('capture open'), 30_000, 'capture open');
    base = `http://127.0.0.1:${/"port":(\d+)[^\n]*"msg":"metrics and health endpoint listening"/.exec(log)?.[1]}`;
    sender = spawn('python3', ['-c', SENDER, String(port)], { stdio: 'ignore' });
  });

  afterAll(() => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the live page shows the stream from its start after a reload, and the HTML report written at stop does too', async () => {
    await waitFor(async () => ((await livePage())?.points ?? 0) >= 4, 30_000, '4 interval reports on the live page');
    const before = (await livePage())!;
    writeConfig(2);
    probe.kill('SIGHUP');
    await waitFor(() => log.includes('"msg":"configuration reloaded"'), 30_000, 'the reload');
    const after = await livePage();
    expect(after?.packets ?? 0).toBeGreaterThanOrEqual(before.packets);
    expect(after?.points ?? 0).toBeGreaterThanOrEqual(before.points);
    // The HTML report is written once, at stop, and covers the whole run.
    expect(existsSync(html())).toBe(false);
    await waitFor(async () => ((await livePage())?.points ?? 0) > before.points + 1, 30_000, 'reports after the reload');
    const last = (await livePage())!;
    sender.kill('SIGKILL');
    probe.kill('SIGTERM');
    await waitFor(() => probe.exitCode !== null, 30_000, 'the stop');
    const embedded = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(html(), 'utf8'))![1]!;
    const stream = unpackCallReport(JSON.parse(embedded) as PackedCallReport).streams[0]!;
    expect(stream.packets).toBeGreaterThanOrEqual(last.packets);
    expect(stream.series.t.length).toBeGreaterThanOrEqual(last.points);
  });
});

describe.skipIf(!canRun)('SIGHUP changing the webhook while a rule fires', () => {
  let dir: string;
  let probe: ChildProcess;
  let sender: ChildProcess;
  let log = '';
  const servers: Server[] = [];
  const cfg = () => join(dir, 'probe.yaml');
  const writeConfig = (url: string) =>
    writeFileSync(cfg(), `reports:\n  interval_s: 1\n  rules:\n    - { name: lossy, when: "loss_pct > 2", interval_s: 1 }\nwebhook: { url: "${url}" }\n`);
  /** An HTTP receiver on loopback: its URL and the `event rule reason` of each POST. */
  async function receiver(): Promise<{ url: string; got: string[] }> {
    const got: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const p = JSON.parse(body) as { event: string; rule: string; reason: string | null };
        got.push(`${p.event} ${p.rule} ${p.reason}`);
        res.writeHead(200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, got };
  }

  /** The probe on the configuration file (its log in `log`), then the lossy sender; resolves with the probe's exit. */
  async function startLossy(): Promise<{ exit: Promise<unknown> }> {
    const port = await testEvenPort();
    log = '';
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', `udp port ${port}`, '-c', cfg(), '--no-hep', '--metrics-port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exit = new Promise((r) => probe.on('exit', r));
    await waitFor(() => log.includes('capture open'), 30_000, 'capture open');
    sender = spawn('python3', ['-c', SENDER, String(port)], { stdio: 'ignore' });
    return { exit };
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-webhook-'));
  });

  afterAll(() => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    for (const s of servers) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the old receiver gets the CLEARED (reconfigured) of its ALERT, the new one an ALERT (reconfigured) at the switch and its CLEARED when the stream ends', async () => {
    const [before, after] = [await receiver(), await receiver()];
    writeConfig(before.url);
    const { exit } = await startLossy();
    await waitFor(() => before.got.length === 1, 30_000, 'the ALERT');
    writeConfig(after.url);
    probe.kill('SIGHUP');
    await waitFor(() => before.got.length === 2 && after.got.length === 1, 30_000, 'the CLEARED at the old receiver, the ALERT at the new one');
    expect(before.got).toEqual(['ALERT lossy null', 'CLEARED lossy reconfigured']);
    expect(after.got).toEqual(['ALERT lossy reconfigured']);
    // The rule goes on firing; the stream ends at the stop: its CLEARED goes to the new receiver.
    sender.kill('SIGKILL');
    probe.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(log).toContain('"msg":"alert lossy cleared (stream ended)"');
    expect(after.got).toEqual(['ALERT lossy reconfigured', 'CLEARED lossy stream-ended']);
    expect(before.got).toHaveLength(2);
  });

  it('a webhook set where there was none gets an ALERT (reconfigured) at the reload for the rule firing, and its CLEARED when the stream ends', async () => {
    const rx = await receiver();
    writeConfig('');
    const { exit } = await startLossy();
    await waitFor(() => log.includes('"msg":"alert lossy started"'), 30_000, 'the rule firing');
    writeConfig(rx.url);
    probe.kill('SIGHUP');
    await waitFor(() => rx.got.length === 1, 30_000, 'the ALERT at the receiver the reload added');
    expect(rx.got).toEqual(['ALERT lossy reconfigured']);
    sender.kill('SIGKILL');
    probe.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(log).toContain('"msg":"alert lossy cleared (stream ended)"');
    expect(rx.got).toEqual(['ALERT lossy reconfigured', 'CLEARED lossy stream-ended']);
  });
});

describe.skipIf(!canRun)('SIGHUP moving HEP to another collector while a rule fires', () => {
  let dir: string;
  let probe: ChildProcess;
  let sender: ChildProcess;
  let log = '';
  const sinks: UdpSink[] = [];
  const cfg = () => join(dir, 'probe.yaml');
  const writeConfig = (collector: UdpSink) =>
    writeFileSync(cfg(), `reports:\n  interval_s: 1\n  rules:\n    - { name: lossy, when: "loss_pct > 2", interval_s: 1 }\nhep:\n  collectors: [{ host: 127.0.0.1, port: ${collector.port}, transport: udp }]\n`);
  /** The `TYPE rule reason` of each ALERT and CLEARED a collector decoded (reports.qos_hep_type 35). */
  const alertsAt = (s: UdpSink) =>
    s.packets
      .map((p) => decodeHep3Strict(p))
      .filter((m) => m.protoType === 35)
      .map((m) => JSON.parse(m.payload.toString()) as { TYPE: string; ALERT_RULE?: string; CLEAR_REASON?: string })
      .filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED')
      .map((r) => `${r.TYPE} ${r.ALERT_RULE} ${r.CLEAR_REASON ?? '-'}`);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-hep-'));
  });

  afterAll(async () => {
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    await Promise.all(sinks.map((s) => s.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the old collector gets the CLEARED (reconfigured) of its ALERT, the new one the ALERT at the switch and its CLEARED when the stream ends', async () => {
    const [before, after] = [await startUdpSink(), await startUdpSink()];
    sinks.push(before, after);
    const port = await testEvenPort();
    writeConfig(before);
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', `udp port ${port}`, '-c', cfg(), '--metrics-port', '0', '--log-format', 'json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    probe.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exit = new Promise((r) => probe.on('exit', r));
    await waitFor(() => log.includes('capture open'), 30_000, 'capture open');
    sender = spawn('python3', ['-c', SENDER, String(port)], { stdio: 'ignore' });
    await waitFor(() => alertsAt(before).length === 1, 30_000, 'the ALERT');
    writeConfig(after);
    probe.kill('SIGHUP');
    await waitFor(() => alertsAt(before).length === 2 && alertsAt(after).length === 1, 30_000, 'the CLEARED at the old collector, the ALERT at the new one');
    expect(alertsAt(before)).toEqual(['ALERT lossy -', 'CLEARED lossy reconfigured']);
    expect(alertsAt(after)).toEqual(['ALERT lossy -']);
    // The rule goes on firing; the stream ends at the stop: its CLEARED goes to the new collector.
    sender.kill('SIGKILL');
    probe.kill('SIGTERM');
    expect(await exit).toBe(0);
    await waitFor(() => alertsAt(after).length === 2, 30_000, 'the CLEARED at the new collector');
    expect(alertsAt(after)).toEqual(['ALERT lossy -', 'CLEARED lossy stream-ended']);
    expect(alertsAt(before)).toHaveLength(2);
  });
});
