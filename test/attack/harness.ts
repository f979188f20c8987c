/**
 * The attack and fault harness: the REAL probe (`node dist/cli.js run -i lo`) in a child process, traffic
 * from other processes (test/attack/sender.mjs, packets from the project's generators) on a 127.N.0.0/16
 * (the probe's BPF filter keeps other suites' loopback traffic out), and a real HEP receiver here that
 * decodes and counts what actually arrives. Nothing is read from the probe's own counters to decide
 * whether a report was delivered; its /metrics are read only for the figures printed (kernel drops).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeHep3Strict, HepStreamDeframer } from '../../src/hep/index.js';
import { until } from '../wait.js';
import { portBlock } from '../port-blocks.js';

export const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const senderScript = join(root, 'test/attack/sender.mjs');

/** Root (capture on lo) and a built dist/ (the probe and the generators the sender imports). */
export const canRun = process.getuid?.() === 0 && existsSync(cli) && existsSync(join(root, 'dist/gen/index.js')) && existsSync('/sys/class/net/lo');

/**
 * The /16 of this run, from the test process's port block (no two running test processes hold the same
 * one): two suites running at once on one host (CI jobs, worktrees) then use different addresses and ports
 * rather than each other's packets and SIP port.
 */
export const NET = `127.${64 + (await portBlock()).index}`;

export interface Report {
  callId: string;
  type: string;
  ssrc: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  totalPk: number;
  lost: number;
  duplicates: number;
}

/** A HEP collector on 127.0.0.1 (UDP or TCP) counting every decoded QoS report that arrives. */
export class HepReceiver {
  readonly reports: Report[] = [];
  /** Date.now() of the latest arrival. */
  lastArrival = 0;
  /** Datagrams or frames that did not decode as HEP v3, or whose JSON payload did not parse. */
  bad = 0;
  /** HEP packets with another payload (SIP). */
  other = 0;
  port = 0;
  private udp?: Socket;
  private tcp?: Server;
  private conns: TcpSocket[] = [];

  constructor(readonly transport: 'udp' | 'tcp') {}

  async start(): Promise<this> {
    if (this.transport === 'udp') {
      const s = (this.udp = createSocket({ type: 'udp4', recvBufferSize: 64 << 20 }));
      s.on('message', (m) => this.take(m));
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      this.port = s.address().port;
    } else {
      const srv = (this.tcp = createServer((c) => {
        this.conns.push(c);
        const d = new HepStreamDeframer();
        c.on('data', (chunk) => {
          for (const frame of d.push(chunk)) this.take(frame);
        });
        c.on('error', () => {});
      }));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      this.port = (srv.address() as { port: number }).port;
    }
    return this;
  }

  get uri(): string {
    return `${this.transport}://127.0.0.1:${this.port}`;
  }

  private take(m: Uint8Array): void {
    this.lastArrival = Date.now();
    let payload: string;
    try {
      payload = Buffer.from(decodeHep3Strict(m).payload).toString('utf8');
    } catch {
      this.bad++;
      return;
    }
    if (!payload.startsWith('{')) {
      this.other++; // SIP messages the probe forwards, and the like
      return;
    }
    try {
      const j = JSON.parse(payload) as Record<string, unknown>;
      if (typeof j.TYPE !== 'string') return; // RTCP JSON (type 5) and others: not QoS reports
      this.reports.push({
        callId: String(j.CORRELATION_ID), type: j.TYPE, ssrc: Number(j.SSRC), srcIp: String(j.SRC_IP), srcPort: Number(j.SRC_PORT),
        dstIp: String(j.DST_IP), dstPort: Number(j.DST_PORT), totalPk: Number(j.TOTAL_PK), lost: Number(j.PACKET_LOSS), duplicates: Number(j.DUPLICATES),
      });
    } catch {
      this.bad++;
    }
  }

  /** Resolves once nothing arrived for quietMs (and the probe has exited), at most ms. */
  settled(quietMs: number, ms: number): Promise<boolean> {
    return until(() => Date.now() - this.lastArrival >= quietMs, ms);
  }

  finals(): Report[] {
    return this.reports.filter((r) => r.type === 'FINAL' || r.type === 'HANGUP');
  }

  close(): void {
    this.udp?.close();
    for (const c of this.conns) c.destroy();
    this.tcp?.close();
  }
}

/** The kernel's UDP receive-buffer overflow count (all sockets): a UDP collector's own losses show here. */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** GET on the probe's metrics endpoint: status and time taken (status 0 = no answer within timeoutMs). */
export function httpGet(port: number, path: string, timeoutMs: number): Promise<{ status: number; ms: number; body: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: Date.now() - t0, body: '' }));
    req.end();
  });
}

export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

export interface ProbeOptions {
  hep: HepReceiver;
  /** Extra YAML appended to the harness's base configuration. */
  yaml?: string;
  args?: string[];
}

/** The probe as operators run it, capturing NET.0.0/16 on lo. */
export class Probe {
  child!: ChildProcess;
  out = '';
  metricsPort = 0;
  exitCode: number | null = null;
  private exited!: Promise<number | null>;
  private dir = '';

  async start(o: ProbeOptions): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'rtpprobe-attack-'));
    this.metricsPort = await freeTcpPort();
    const cfg = join(this.dir, 'probe.yaml');
    writeFileSync(cfg, o.yaml ?? '');
    const args = [cli, 'run', '-i', 'lo', '-f', `udp and net ${NET}.0.0/16`, '-c', cfg, '--hep', o.hep.uri, '--metrics-port', String(this.metricsPort),
      '--metrics-listen', '127.0.0.1', '--log-format', 'json', '--log-level', 'info', ...(o.args ?? [])];
    this.child = spawn(process.execPath, [...(process.env.RTPPROBE_ATTACK_NODE_ARGS ?? '').split(' ').filter(Boolean), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r((this.exitCode = code))));
    if (!(await until(() => this.out.includes('capture open') || this.exitCode !== null, 30_000))) throw new Error(`probe did not open its capture:\n${this.out}`);
    if (this.exitCode !== null) throw new Error(`probe exited with ${this.exitCode}:\n${this.out}`);
    return this;
  }

  /** Resident memory of the probe now, MiB (from /proc). */
  rssMib(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  }

  /** User + system CPU of the probe so far, ms (from /proc). */
  cpuMs(): number {
    const f = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  }

  /** The body of the latest /metrics answered (for checks after the probe stopped). */
  lastMetrics = '';

  async metrics(timeoutMs = 5000) {
    const r = await httpGet(this.metricsPort, '/metrics', timeoutMs);
    if (r.status === 200) this.lastMetrics = r.body;
    return r;
  }

  /** A metric's value (summed over labels), or -1 without an answer. */
  async metric(name: string): Promise<number> {
    const m = await this.metrics();
    return m.status === 200 ? metricValue(m.body, name) : -1;
  }

  /**
   * Wait until the capture has delivered `packets` packets, or its count stopped moving for a second
   * (packets lost before capture never come), at most `ms`. The count reached.
   */
  async waitCaptured(packets: number, ms: number): Promise<number> {
    const end = Date.now() + ms;
    let last = -1;
    let stillSince = Date.now();
    for (;;) {
      const n = await this.metric('rtpprobe_capture_packets_received_total');
      if (n >= packets || Date.now() > end) return n;
      if (n !== last) {
        last = n;
        stillSince = Date.now();
      } else if (Date.now() - stillSince > 1000) return n;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Signal, then wait for exit: code and ms from signal to exit (Infinity if it had to be killed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', deadlineMs = 60_000): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    this.child.kill(signal);
    const code = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadlineMs))]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      return { code: null, ms: Infinity };
    }
    return { code, ms: Date.now() - t0 };
  }

  /** Log lines (JSON) whose msg contains `text`. */
  logLines(text: string): string[] {
    return this.out.split('\n').filter((l) => l.includes(text));
  }

  cleanup(): void {
    if (this.child && this.exitCode === null) this.child.kill('SIGKILL');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SenderRun<T> {
  /** Resolves once the sender has built its packets (only with spec.waitForGo). */
  ready: Promise<void>;
  go(): void;
  done: Promise<T>;
}

/** Run sender.mjs with `spec` in its own process; `done` is its JSON result. */
export function startSender<T = Record<string, unknown>>(spec: Record<string, unknown>): SenderRun<T> {
  const c = spawn(process.execPath, [senderScript, JSON.stringify(spec)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  c.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<T>((resolve, reject) => {
    c.on('exit', (code) => {
      onReady();
      if (code !== 0) reject(new Error(`sender ${String(spec.role)}/${String(spec.kind ?? '')} exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
  return { ready, done, go: () => c.stdin.end('go\n') };
}

export function runSender<T = Record<string, unknown>>(spec: Record<string, unknown>): Promise<T> {
  return startSender<T>(spec).done;
}

export interface SentStream {
  callId: string;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  ssrc: number;
  sent: number;
  lost: number;
  duplicates: number;
}

/**
 * Every real stream must have exactly one closing report (FINAL or HANGUP) at the collector, under its
 * call's Call-ID, with packets, loss and duplicates exactly as sent. The problems found, one line each.
 */
export function checkRealCalls(streams: SentStream[], reports: Report[]): string[] {
  const problems: string[] = [];
  for (const s of streams) {
    const mine = reports.filter((r) => (r.type === 'FINAL' || r.type === 'HANGUP') && r.ssrc === s.ssrc && r.srcIp === s.src && r.srcPort === s.srcPort && r.dstPort === s.dstPort);
    const name = `${s.src}:${s.srcPort}->${s.dst}:${s.dstPort} ssrc ${s.ssrc.toString(16)}`;
    if (mine.length !== 1) {
      problems.push(`${name}: ${mine.length} closing reports (${mine.map((r) => `${r.type} ${r.totalPk}pk ${r.callId}`).join(', ')})`);
      continue;
    }
    const r = mine[0];
    if (r.callId !== s.callId) problems.push(`${name}: Call-ID ${r.callId}, sent ${s.callId}`);
    if (r.totalPk !== s.sent) problems.push(`${name}: ${r.totalPk} packets, sent ${s.sent}`);
    if (r.lost !== s.lost) problems.push(`${name}: loss ${r.lost}, designed ${s.lost}`);
    if (r.duplicates !== s.duplicates) problems.push(`${name}: duplicates ${r.duplicates}, sent ${s.duplicates}`);
  }
  return problems;
}
