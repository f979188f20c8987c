/**
 * The probe as operators run it: `node dist/cli.js run -i lo` in a child process, real packets on 127.0.0.1
 * sent by ANOTHER process (python3), a real UDP HEP receiver here. Checks, in order on one probe process:
 *   - it listens on nothing but its metrics port, bound to the configured address (ss -lntup);
 *   - SIGHUP with an invalid configuration file keeps the running configuration and logs the refusal;
 *   - SIP (INVITE/200 with SDP) + RTP both ways for two calls, one with ANSI escapes, control characters
 *     and invalid UTF-8 in Call-ID and User-Agent; then SIGTERM: one FINAL per open stream reaches the
 *     collector before the process exits with 0; reports (HEP payload and JSON lines) and log lines are
 *     valid JSON with the control characters escaped.
 * Needs root (packet capture on lo) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { until } from '../wait.js';
import { liveApi } from '../live-api.js';
import { takePorts } from '../port-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

/** A TCP port free now (for the probe's metrics endpoint, which names it in its listening line). */
async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** The sender: a separate python3 process; SIP from its own port (argv 5) to 5060, RTP both ways between the SDP ports. */
const SENDER = String.raw`
import socket, sys, time
calls = [(b'normal-call-1@probe.test', b'softphone 1.0', int(sys.argv[1]), int(sys.argv[2])),
         (b'evil-\x1b[31mred\x1b[0m-\x07\x01-\xff\xfe\xc3(-call@probe.test', b'UA \x1b]0;pwn\x07 \xc0\xaf \x1b[2J', int(sys.argv[3]), int(sys.argv[4]))]
sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sip.bind(('127.0.0.1', int(sys.argv[5])))
def sdp(port):
    return b'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n' % port
def msg(first, cid, ua, body, extra=b''):
    return (first + b'\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=fa\r\nTo: <sip:b@127.0.0.1>' + extra +
            b'\r\nCall-ID: ' + cid + b'\r\nCSeq: 1 INVITE\r\nUser-Agent: ' + ua + b'\r\nContact: <sip:a@127.0.0.1:5070>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
socks = []
for cid, ua, pa, pb in calls:
    sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', cid, ua, sdp(pa)), ('127.0.0.1', 5060))
    time.sleep(0.02)
    sip.sendto(msg(b'SIP/2.0 200 OK', cid, ua, sdp(pb), b';tag=tb'), ('127.0.0.1', 5060))
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', pa))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', pb))
    socks.append((a, pb, 0x1111 + pa)); socks.append((b, pa, 0x2222 + pb))
time.sleep(0.05)
for k in range(100):
    for s, dport, ssrc in socks:
        hdr = bytes([0x80, 8]) + (k & 0xffff).to_bytes(2, 'big') + (k * 160).to_bytes(4, 'big') + ssrc.to_bytes(4, 'big')
        s.sendto(hdr + b'\xd5' * 160, ('127.0.0.1', dport))
    time.sleep(0.02)
print('sent', flush=True)
`;

describe.skipIf(!canRun)('probe CLI on lo: listening sockets, SIGHUP with a bad file, SIGTERM flush, escaping', () => {
  let dir: string;
  let child: ChildProcess;
  let exit: Promise<number | null>;
  let hep: Socket;
  let hepPort: number;
  let metricsPort: number;
  /** The sender's RTP ports (even) and SIP port, chosen before the probe starts so its filter takes only this test's traffic. */
  let even: number[];
  let sipPort: number;
  let out = '';
  const reports: { atMs: number; callId: string; payload: string }[] = [];
  const cfgPath = () => join(dir, 'probe.yaml');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-rel-'));
    hep = createSocket('udp4');
    hep.on('message', (m) => {
      const d = decodeHep3Strict(m);
      if (d.protoType === 1) return; // the captured SIP, which the probe sends too: this test reads the reports
      reports.push({ atMs: Date.now(), callId: d.correlationId, payload: Buffer.from(d.payload).toString('utf8') });
    });
    await new Promise<void>((r) => hep.bind(0, '127.0.0.1', r));
    hepPort = hep.address().port;
    metricsPort = await freeTcpPort();
    // Ports of this test only, above the ephemeral range: a filter on an ephemeral port also takes another
    // test's socket that got it, and a port found free may be taken before the sender binds it.
    const first = await takePorts(10);
    const firstEven = first + (first & 1);
    even = [firstEven, firstEven + 2, firstEven + 4, firstEven + 6];
    sipPort = firstEven + 8;
    // Other suites flood lo meanwhile (SIP and media the probe would forward as HEP by the thousand, over a
    // UDP socket that then overflows): the filter keeps the SIP from the sender's port to 5060 and these RTP ports.
    const filter = `udp and ((src port ${sipPort} and dst port 5060) or ${even.map((p) => `port ${p}`).join(' or ')})`;
    writeFileSync(cfgPath(), 'reports:\n  interval_s: 3600\n  jsonl:\n    enabled: true\n    path: ' + join(dir, 'reports.jsonl') + '\nrtp:\n  heuristic:\n    enabled: false\n');
    child = spawn(process.execPath, [cli, 'run', '-i', 'lo', '-f', filter, '-c', cfgPath(), '--hep', `udp://127.0.0.1:${hepPort}`, '--metrics-port', String(metricsPort), '--metrics-listen', '127.0.0.1', '--log-format', 'json', '--log-level', 'debug'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
    exit = new Promise((r) => child.on('exit', (code) => r(code)));
    expect(await until(() => out.includes('capture open'))).toBe(true);
    await until(() => spawnSync('ss', ['-lnt']).stdout.toString().includes(`127.0.0.1:${metricsPort}`));
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    hep?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('listens on nothing but the metrics port, on the configured address', () => {
    const lines = spawnSync('ss', ['-lntupH']).stdout.toString().split('\n').filter((l) => l.includes(`pid=${child.pid},`));
    expect(lines.length, lines.join('\n')).toBe(1);
    expect(lines[0]).toMatch(/^tcp\s+LISTEN/);
    expect(lines[0]).toContain(`127.0.0.1:${metricsPort} `);
  });

  it('SIGHUP with an invalid file: refused and logged, the probe keeps running', async () => {
    writeFileSync(cfgPath(), 'rtp:\n  max_streams: lots\nreports: [unclosed\n');
    const before = out.length;
    child.kill('SIGHUP');
    expect(await until(() => out.slice(before).includes('configuration reload refused'), 30_000)).toBe(true);
    // Still running after the refusal: it answers /metrics.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect(child.exitCode).toBeNull();
  });

  it('SIGTERM: one FINAL per open stream reaches the collector before exit 0; everything escaped', async () => {
    // Only this test's calls: other suites' calls on lo may pass the filter too.
    const ours = (id: string) => id === 'normal-call-1@probe.test' || id.startsWith('evil-');
    // The series appears with the first RTP packet counted.
    const rtpPackets = async () => Number(/^rtpprobe_packets_total\{protocol="rtp"\} (\S+)$/m.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1] ?? 0);
    const rtpBefore = await rtpPackets();
    const sender = spawnSync('python3', ['-c', SENDER, ...even.map(String), String(sipPort)], { encoding: 'utf8' });
    expect(sender.stdout, sender.stderr).toContain('sent');
    // The streams are open when the probe holds both calls and has counted at least the 400 RTP packets
    // sent (other suites' RTP on lo counts too: a lower bound; SIGTERM reads whatever is left in the ring).
    let calls: { callId: string; state: string }[] = [];
    const bothOpen = async () => {
      calls = ((await liveApi<{ calls: typeof calls }>(`http://127.0.0.1:${metricsPort}/api/calls?limit=100000`))?.calls ?? []).filter((c) => ours(c.callId));
      return calls.length === 2 && calls.every((c) => c.state === 'confirmed') && (await rtpPackets()) >= rtpBefore + 400;
    };
    expect(await until(bothOpen, 30_000), JSON.stringify(calls)).toBe(true);
    const termAt = Date.now();
    child.kill('SIGTERM');
    const code = await exit;
    const exitedAt = Date.now();
    expect(code).toBe(0);

    const finals = reports.filter((r) => ours(r.callId) && (JSON.parse(r.payload) as { TYPE: string }).TYPE === 'FINAL');
    // Two calls x two directions = four streams open at SIGTERM; each gets exactly one FINAL.
    expect(finals.length).toBe(4);
    for (const f of finals) expect(f.atMs).toBeLessThanOrEqual(exitedAt);
    expect(finals.every((f) => f.atMs >= termAt)).toBe(true);
    const parsed = finals.map((f) => JSON.parse(f.payload) as Record<string, unknown>);
    expect(parsed.map((p) => p.TOTAL_PK)).toEqual([100, 100, 100, 100]);
    const ids = [...new Set(parsed.map((p) => String(p.CORRELATION_ID)))];
    expect(ids).toContain('normal-call-1@probe.test');
    const evil = ids.find((i) => i.startsWith('evil-'));
    expect(evil).toBeDefined();
    expect(evil).toContain('\u001b[31m'); // kept as data in the value (JSON.parse restored it)...
    for (const f of finals) expect(f.payload).not.toMatch(/[\u0000-\u001f]/); // ...but escaped on the wire

    const jsonl = readFileSync(join(dir, 'reports.jsonl'), 'latin1').trim().split('\n');
    expect(jsonl.length).toBeGreaterThanOrEqual(4);
    for (const line of jsonl) {
      expect(line).not.toMatch(/[\u0000-\u001f]/);
      JSON.parse(line);
    }
    const logLines = out.split('\n').filter((l) => l.trim() !== '');
    for (const line of logLines) {
      expect(line, line).not.toMatch(/[\u0000-\u001f]/);
      // Log lines are JSON; the streams still running at stop follow as a text table (escaped too).
      if (line.startsWith('{')) JSON.parse(line);
    }
    expect(logLines.some((l) => l.startsWith('streams at'))).toBe(true);
  });
});
