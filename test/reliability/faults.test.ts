/**
 * Faults around the HEP output during replays (real sockets on 127.0.0.1): a TCP collector that is down
 * when the probe starts and comes up during the run (reports queue, then flow, FINALs included); a TCP
 * collector that refuses (RST on connect) or resets every accepted connection; a UDP collector whose
 * port is closed (ICMP unreachable). The replay always processes every packet and returns OK; failures
 * are counted in the run summary, and the collector's counters add up.
 * Expected stream counts come from the generator's own bookkeeping (ScenarioStats).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScenarioPcap, type ScenarioStats } from '../../src/gen/index.js';
import { HepStreamDeframer, decodeHep3Strict } from '../../src/hep/index.js';
import { ExitCode } from '../../src/ops/exit-codes.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { runReplay } from '../../src/probe.js';
import { until } from '../wait.js';

let dir: string;
let file: string;
let truth: ScenarioStats;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtpprobe-faults-'));
  file = join(dir, 'calls.pcap');
  truth = writeScenarioPcap(file, { calls: 3, durationS: 3, callDurationS: 2, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: false, seed: 5, startEpochS: 1_700_000_000 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(transport: 'tcp' | 'udp', port: number): ProbeConfig {
  const c = defaultConfig();
  c.reports.intervalS = 1;
  c.process.shutdownDeadlineMs = 3000;
  c.hep.collectors = [{ ...c.hep.collectors[0], host: '127.0.0.1', port, transport }];
  // QoS reports only: the counters below add up the reports (SIP and RTCP have their own tests).
  c.hep.sip.enabled = false;
  c.reports.sendRtcp = false;
  return c;
}

/** Runs a replay with a logger whose JSON lines are kept; returns the run summary line. */
async function replay(cfg: ProbeConfig, realtime: boolean): Promise<{ code: number; summary: Record<string, any> }> {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
  const log = pino({ level: 'info' }, sink);
  const code = await runReplay([file], cfg, { realtime, print: () => {} }, log);
  const summary = lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === 'run summary')!;
  return { code, summary };
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

describe('HEP collector faults during a replay', () => {
  it('TCP collector down at start, up 1.2 s later: reports queue, then flow; every stream gets its FINAL', async () => {
    const port = await freeTcpPort();
    const got: { type: string; callId: string }[] = [];
    let server: Server | null = null;
    const timer = setTimeout(() => {
      server = createServer((sock: TcpSocket) => {
        const d = new HepStreamDeframer();
        sock.on('data', (c: Buffer) => {
          for (const m of d.push(c)) {
            const h = decodeHep3Strict(m);
            got.push({ type: (JSON.parse(Buffer.from(h.payload).toString()) as { TYPE: string }).TYPE, callId: h.correlationId });
          }
        });
      }).listen(port, '127.0.0.1');
    }, 1200);
    try {
      const { code, summary } = await replay(config('tcp', port), true);
      expect(code).toBe(0);
      expect(summary.packets).toBe(truth.records);
      const [c] = (summary.outputs as Array<{ output: string; sent: number; failed: number; dropped: number }>).filter((d) => d.output === 'hep');
      // Reports made while the collector was down were queued (none dropped) and arrived after it came up.
      expect(c.dropped).toBe(0);
      // The replay ends once the last report is written to the socket: the server here reads it after that.
      expect(await until(() => got.length >= summary.reports.qosSent, 30_000), `${got.length} of ${summary.reports.qosSent}`).toBe(true);
      expect(got.length).toBe(summary.reports.qosSent);
      expect(got.filter((g) => g.type === 'PERIODIC').length).toBeGreaterThan(0);
      expect(got.filter((g) => g.type === 'FINAL' || g.type === 'HANGUP').length).toBe(truth.rtpStreams);
    } finally {
      clearTimeout(timer);
      await new Promise((r) => (server ? (server as Server).close(r) : r(undefined)));
    }
  });

  it('TCP collector refusing (RST on connect): replay completes, nothing sent, failures accounted', async () => {
    const port = await freeTcpPort();
    const t = Date.now();
    const { code, summary } = await replay(config('tcp', port), false);
    expect(code).toBe(ExitCode.UNDELIVERED); // reports were not delivered: documented exit 5
    expect(summary.packets).toBe(truth.records);
    expect(summary.reports.qosReports).toBeGreaterThanOrEqual(truth.rtpStreams);
    const [c] = (summary.outputs as Array<{ output: string; sent: number; failed: number; dropped: number }>).filter((d) => d.output === 'hep');
    expect(c.sent).toBe(0);
    // Everything queued is abandoned at the shutdown deadline, not waited for forever.
    expect(c.sent + c.failed + c.dropped).toBe(summary.reports.qosSent);
    expect(Date.now() - t).toBeLessThan(3000 + 2000);
  });

  it('TCP collector resetting every accepted connection: replay completes, counters add up', async () => {
    let accepted = 0;
    const server = createServer((sock) => {
      accepted++;
      sock.resetAndDestroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { code, summary } = await replay(config('tcp', (server.address() as { port: number }).port), false);
      expect(code).toBe(ExitCode.UNDELIVERED); // reports were not delivered: documented exit 5
      expect(summary.packets).toBe(truth.records);
      expect(accepted).toBeGreaterThan(0);
      const [c] = (summary.outputs as Array<{ output: string; sent: number; failed: number; dropped: number }>).filter((d) => d.output === 'hep');
      expect(c.sent + c.failed + c.dropped).toBe(summary.reports.qosSent);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('UDP collector unreachable (closed port): sends counted failed, capture continues to the end', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const port = s.address().port;
    s.close();
    const { code, summary } = await replay(config('udp', port), true);
    expect(code).toBe(ExitCode.UNDELIVERED); // reports were not delivered: documented exit 5
    expect(summary.packets).toBe(truth.records);
    const [c] = (summary.outputs as Array<{ output: string; sent: number; failed: number; dropped: number }>).filter((d) => d.output === 'hep');
    expect(c.failed).toBeGreaterThan(0);
    expect(c.sent + c.failed + c.dropped).toBe(summary.reports.qosSent);
  });
});
