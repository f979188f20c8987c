import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { until } from '../wait.js';

/** Runs a command; throws with its standard error when it fails. */
export function sh(...args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;

/**
 * Two network namespaces joined by a veth pair (`a` in nsA, `b` in nsB, both up): the probe captures on
 * `b` inside nsB. linkUp() re-creates the pair after a test deleted it (the interface "comes back").
 */
export function vethNamespaces(nsA: string, nsB: string, a: string, b: string) {
  const linkUp = () => {
    sh('ip', 'link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
    sh('ip', '-n', nsB, 'link', 'set', b, 'up');
    sh('ip', '-n', nsA, 'link', 'set', a, 'up');
  };
  return {
    linkUp,
    setup(): void {
      sh('ip', 'netns', 'add', nsA);
      sh('ip', 'netns', 'add', nsB);
      sh('ip', '-n', nsB, 'link', 'set', 'lo', 'up');
      linkUp();
    },
    teardown(): void {
      spawnSync('ip', ['netns', 'del', nsA]);
      spawnSync('ip', ['netns', 'del', nsB]);
    },
  };
}

export interface RunningProbe {
  child: ChildProcess;
  /** Everything the probe wrote (JSON log lines). */
  log(): string;
  exit: Promise<number | null>;
  metricsPort: number;
}

/** `node dist/cli.js run ARGS --log-format json` with /metrics on a free port; resolves once the capture is open. */
export async function startProbe(cli: string, args: string[], openWithinMs = 30_000): Promise<RunningProbe> {
  const child = spawn(process.execPath, [cli, 'run', ...args, '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RTPPROBE_METRICS_PORT: '0', RTPPROBE_METRICS_LISTEN: '127.0.0.1' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  if (!(await until(() => out.includes('capture open') || child.exitCode !== null, openWithinMs)) || child.exitCode !== null) throw new Error(`probe did not open its capture:\n${out}`);
  const listening = out.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!;
  return { child, log: () => out, exit, metricsPort: (JSON.parse(listening) as { port: number }).port };
}

/** A probe `startProbeIn` started in a network namespace. */
export interface NamespacedProbe {
  child: ChildProcess;
  exit: Promise<number | null>;
  /** Everything it logged, and its JSON log lines. */
  log(): string;
  lines(): Array<Record<string, unknown> & { msg: string }>;
  /** The value of the /metrics line that starts with `series` (name and labels), or -1 when there is none. */
  metric(series: string): number;
}

/**
 * `rtpprobe run ARGS --log-format json` (`cli`) inside namespace `ns`, /metrics on 127.0.0.1 at a port of
 * its choosing (read with curl inside the namespace); resolves once its capture is open.
 */
export async function startProbeIn(ns: string, cli: string, args: string[]): Promise<NamespacedProbe> {
  const all = ['netns', 'exec', ns, process.execPath, cli, 'run', ...args, '--metrics-port', '0', '--set', 'metrics.listen=127.0.0.1', '--log-format', 'json'];
  // `ip netns exec` runs node in its own place: the child's pid is the probe's (signals reach it).
  const child = spawn('ip', all, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', r));
  const lines = () => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });
  if (!(await until(() => log.includes('"msg":"capture open"') || child.exitCode !== null)) || child.exitCode !== null) throw new Error(`probe did not open its capture:\n${log}`);
  const port = lines().find((l) => l.msg.includes('metrics and health endpoint listening'))!.port as number;
  const metric = (series: string): number => {
    const m = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sf', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' });
    const line = m.stdout.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? -1 : Number(line.slice(series.length + 1));
  };
  return { child, exit, log: () => log, lines, metric };
}

/** RTP packets seq from..to-1 (PCMA, one SSRC, 20 ms apart) from `src`:30000 to `dst`:40000, sent inside namespace `ns`. */
export function sendRtpInNamespace(ns: string, src: string, dst: string, ssrc: number, from: number, to: number): void {
  sh('ip', 'netns', 'exec', ns, 'python3', '-c', `
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${src}', 30000))
for i in range(${from}, ${to}):
    s.sendto(struct.pack('!BBHII', 0x80, 8, i, i * 160, ${ssrc}) + b'\\xd5' * 160, ('${dst}', 40000)); time.sleep(0.02)
`);
}

/**
 * Python for the senders (needs base and calls defined): `sip`, a socket on sip_port + 1 sending to
 * sip_port = base + 4 * calls (SIP on ports of the test's own: other suites send SIP to 5060 meanwhile),
 * sdp(port, payload type 8) mapping the payload type to PCMA, call(i, Call-ID, payload type 8) setting up
 * call i, rtp(socket, port, SSRC, k, payload type 8, marker bit) sending PCMA packet k (sequence number k,
 * timestamp 160 k) to that port, and msg(first line, Call-ID, body, extra To parameters).
 */
export const PY_SIP = String.raw`
sip_port = base + 4 * calls  # SIP on ports of this test only: other suites send SIP to 5060 meanwhile
sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sip.bind(('127.0.0.1', sip_port + 1))
def sdp(port, pt=8):
    return b'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP %d\r\na=rtpmap:%d PCMA/8000\r\na=ptime:20\r\n' % (port, pt, pt)
def call(i, cid, pt=8):
    # Call i: sockets on a = base + 4i and b = base + 4i + 2, its INVITE and 200 OK (SDP mapping pt) sent.
    pa, pb = base + 4 * i, base + 4 * i + 2
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', pa))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', pb))
    sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', cid, sdp(pa, pt)), ('127.0.0.1', sip_port))
    sip.sendto(msg(b'SIP/2.0 200 OK', cid, sdp(pb, pt), b';tag=tb'), ('127.0.0.1', sip_port))
    return a, pa, b, pb
def rtp(s, dport, ssrc, k, pt=8, marker=False):
    hdr = bytes([0x80, pt | (0x80 if marker else 0)]) + (k & 0xffff).to_bytes(2, 'big') + (k * 160).to_bytes(4, 'big') + ssrc.to_bytes(4, 'big')
    s.sendto(hdr + b'\xd5' * 160, ('127.0.0.1', dport))
def msg(first, cid, body, extra=b''):
    return (first + b'\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=fa\r\nTo: <sip:b@127.0.0.1>' + extra +
            b'\r\nCall-ID: ' + cid + b'\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:5070>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
`;

/** Reports that end streams (HANGUP, FINAL) in a JSON-lines file, by `src:port>dst:port`, in file order. */
export function streamEndings(jsonl: string): Map<string, Array<Record<string, unknown>>> {
  const endings = new Map<string, Array<Record<string, unknown>>>();
  for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
    if (line.trim() === '') continue; // none at all: a probe that measured nothing
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.TYPE !== 'HANGUP' && r.TYPE !== 'FINAL') continue;
    const key = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;
    endings.set(key, [...(endings.get(key) ?? []), r]);
  }
  return endings;
}

/** Two namespaces as vethNamespaces made them: tcpreplay plays into `a` in nsA, the probe captures on `b` in nsB. */
export interface ReplayLink {
  nsA: string;
  nsB: string;
  a: string;
  b: string;
}

/**
 * `rtpprobe run` (`cli`) capturing on the link's `b` end with `workers` media workers, reports as JSON
 * lines in `jsonl` (`args` added), while tcpreplay (`replayArgs` added, e.g. a speed) plays `pcap` into the
 * `a` end; SIGTERM once `stopWhen` holds for GETs of its metrics endpoint. Resolves once the probe exited 0
 * (throws with its log otherwise); its reports ending each stream, by `src:port>dst:port`.
 */
export async function replayIntoProbe(o: {
  cli: string;
  link: ReplayLink;
  pcap: string;
  jsonl: string;
  workers: number;
  args?: string[];
  /** A HEP target (`udp://host:port`) in place of --no-hep. */
  hep?: string;
  replayArgs?: string[];
  /** `replayed`: tcpreplay has sent every packet (and exited). */
  stopWhen: (get: (path: string) => string, replayed: boolean) => boolean;
}): Promise<Map<string, Array<Record<string, unknown>>>> {
  const { nsA, nsB, a, b } = o.link;
  rmSync(o.jsonl, { force: true });
  const probeArgs = ['netns', 'exec', nsB, process.execPath, o.cli, 'run', '-i', b, ...(o.hep ? ['--hep', o.hep] : ['--no-hep']), '--jsonl', o.jsonl, '--metrics-port', '0', '--set', `capture.workers=${o.workers}`, '--set', 'reports.interval_s=3600', '--log-format', 'json', ...(o.args ?? [])];
  const probe = spawn('ip', probeArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let replay: ChildProcess | null = null;
  let log = '';
  probe.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => probe.on('exit', r));
  try {
    if (!(await until(() => log.includes('capture open') || probe.exitCode !== null)) || probe.exitCode !== null) throw new Error(`probe did not open its capture:\n${log}`);
    const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
    replay = spawn('ip', ['netns', 'exec', nsA, 'tcpreplay', '-q', ...(o.replayArgs ?? []), '-i', a, o.pcap], { stdio: 'ignore' });
    let text = '';
    const get = (path: string) => (text = sh('ip', 'netns', 'exec', nsB, 'curl', '-s', `http://127.0.0.1:${port}${path}`));
    if (!(await until(() => o.stopWhen(get, replay!.exitCode !== null), 30_000))) throw new Error(`stop condition not reached; last answer:\n${text}\n${log}`);
  } finally {
    probe.kill('SIGTERM');
  }
  const code = await exited;
  replay?.kill();
  if (code !== 0) throw new Error(`probe exited ${code}:\n${log}`);
  return streamEndings(o.jsonl);
}

/** A stop condition: the workers counted `frames` packets on `iface` (their counters reach /metrics once a second). */
export const allCaptured = (iface: string, frames: number) => (get: (path: string) => string) =>
  Number(new RegExp(`^rtpprobe_capture_packets_received_total\\{interface="${iface}"\\} (\\S+)$`, 'm').exec(get('/metrics'))?.[1] ?? NaN) >= frames;

/** Holds an AF_PACKET socket in fanout group argv[2] (mode argv[3]) on interface argv[1] until stdin closes. */
const HOLDER = String.raw`
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind((sys.argv[1], 3))
s.setsockopt(263, 18, int(sys.argv[2]) | (int(sys.argv[3]) << 16))
print('ready', flush=True)
sys.stdin.read()
`;
export const FANOUT_HASH = 0;
export const FANOUT_LB = 1;

/** Starts a fanout group holder; resolves once it holds the group, with a function that releases it. */
export async function holdGroup(iface: string, group: number, mode: number): Promise<() => Promise<void>> {
  const p = spawn('python3', ['-c', HOLDER, iface, String(group), String(mode)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d));
  p.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise((r) => p.once('exit', r));
  if (!(await until(() => out.includes('ready') || p.exitCode !== null, 30_000)) || !out.includes('ready')) throw new Error(`fanout holder: ${out}`);
  return async () => {
    p.stdin!.end();
    await exited;
  };
}
