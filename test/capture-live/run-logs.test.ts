/**
 * The log lines of `rtpprobe run` an operator reads, on traffic replayed by tcpreplay on a veth pair between
 * two network namespaces, the probe capturing inside the second one, in one thread and with media workers:
 * - `call ended` of calls shorter than the report interval (the default 10 s) names the call's streams
 *   and their worst MOS, as the call's HANGUP reports (the JSON lines output) carry them;
 * - the `run summary` at a stop counts the final reports the stop wrote, and is logged also when the
 *   shutdown deadline cuts the stop short;
 * - a forked call (one branch busy, 486, the other answering 5 s later) is one call: one `call started`,
 *   one `call ended` with the BYE, the whole call's duration and its two streams;
 * - a rejected call's `call ended` names the rejection once its early media has ended (sip.media_linger_s),
 *   not when the call table forgets the call 30 s later;
 * - the `status` line counts the reports a failed send lost (reportsFailed), not only the dropped ones.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, forkedCallOneBranchBusy, rejectedCallEarlyMedia } from '../../src/gen/index.js';
import { until } from '../wait.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0;

interface LogLine {
  msg: string;
  time?: string;
  callId?: string;
  reason?: string;
  durationS?: number;
  streams?: number;
  worstMos?: number | null;
}

describe.skipIf(!canRun)('rtpprobe run on a veth pair: the call ended lines and the run summary', () => {
  const nsA = `rca${process.pid}`;
  const nsB = `rcb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'ca', 'cb');
  let dir = '';
  let pcap = '';
  /** Wall-clock time tcpreplay finished its latest file (runProbe), ms. */
  let replayedAtMs = 0;

  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-call-log-'));
    pcap = join(dir, 'calls.pcap');
    // 3 calls of 6 s starting 2 s apart, 4 % loss: each ends (BYE) before its first 10 s report.
    sh(process.execPath, join(root, 'dist/gen/scenario-cli.js'), pcap, '--calls', '3', '--concurrent', '3', '--call-duration', '6', '--loss', '4', '--seed', '3');
  });

  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts the probe on `cb` writing reports to `jsonl`, replays `pcap` from the other side (tcpreplay
   * ARGS first), waits for `stopWhen` to hold on the log lines, stops it with SIGTERM; returns its log once it
   * exited with `exitCode`.
   */
  async function runProbe(workers: number, jsonl: string, replayArgs: string[], stopWhen: (lines: LogLine[]) => boolean, probeArgs = ['--no-hep'], exitCode = 0, file = pcap): Promise<string> {
    const args = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'cb', ...probeArgs, '--jsonl', jsonl, '--metrics-port', '0', '--set', `capture.workers=${workers}`, '--log-format', 'json'];
    const probe = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    try {
      expect(await until(() => log.includes('"msg":"capture open"') || probe.exitCode !== null), log).toBe(true);
      const replay = spawnSync('ip', ['netns', 'exec', nsA, 'tcpreplay', '-i', 'ca', ...replayArgs, file], { encoding: 'utf8' });
      expect(replay.status, replay.stderr).toBe(0);
      replayedAtMs = Date.now();
      const lines = (): LogLine[] => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
      expect(await until(() => stopWhen(lines()), 30_000), log).toBe(true);
      probe.kill('SIGTERM');
      expect(await exited, log).toBe(exitCode);
    } finally {
      if (probe.exitCode === null) probe.kill('SIGKILL');
    }
    return log;
  }

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: call ended names the streams and worst MOS of the call's HANGUP reports`, async () => {
      const jsonl = join(dir, `reports-${workers}.jsonl`);
      // The first two calls end while the third still sends: their media retires during the run.
      const log = await runProbe(workers, jsonl, [], (lines) => lines.filter((l) => l.msg === 'call ended').length >= 2);
      const hangups = new Map<string, number[]>();
      for (const l of readFileSync(jsonl, 'utf8').trim().split('\n')) {
        const r = JSON.parse(l) as { TYPE: string; CORRELATION_ID: string; MIN_MOS: number };
        if (r.TYPE === 'HANGUP') hangups.set(r.CORRELATION_ID, [...(hangups.get(r.CORRELATION_ID) ?? []), r.MIN_MOS]);
      }
      expect([...hangups.values()].map((m) => m.length), 'two HANGUP reports per call').toEqual([2, 2, 2]);
      const ended = log
        .split('\n')
        .filter((l) => l.includes('"msg":"call ended"'))
        .map((l) => JSON.parse(l) as LogLine);
      expect(ended.map((l) => [l.callId, l.streams, l.worstMos]).sort(), log).toEqual(
        [...hangups].map(([callId, mos]) => [callId, 2, Math.min(...mos)]).sort(),
      );
    }, 120_000);

    it(`capture.workers ${workers}: a forked call (486 from one branch, 200 from the other 5 s later) is logged as one call`, async () => {
      const s = forkedCallOneBranchBusy({ t0Ms: Date.UTC(2026, 0, 1), ringMs: 5000, packets: 100 });
      const forked = join(dir, `forked-${workers}.pcap`);
      writeFileSync(forked, classicPcap(s.records));
      const jsonl = join(dir, `forked-${workers}.jsonl`);
      const mine = (lines: LogLine[], msg: string) => lines.filter((l) => l.msg === msg && l.callId === s.callId);
      // The 486 comes 30 ms after the INVITE, the 200 5 s later: the call log reads the table (every 1 s) in between.
      const log = await runProbe(workers, jsonl, [], (lines) => mine(lines, 'call ended').some((l) => l.reason === 'bye'), ['--no-hep'], 0, forked);
      const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
      expect(mine(lines, 'call started').length, log).toBe(1);
      const hangups = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { TYPE: string; CORRELATION_ID: string; MIN_MOS: number });
      expect(hangups.filter((r) => r.TYPE === 'HANGUP').map((r) => r.CORRELATION_ID), 'two HANGUP reports under the call').toEqual([s.callId, s.callId]);
      const ended = mine(lines, 'call ended');
      expect(ended.map((l) => [l.reason, l.streams]), log).toEqual([['bye', 2]]);
      // INVITE to the BYE's 200: 5060 ms ringing, 100 ms to the media, 2000 ms of media, 5 ms (7.2 s in the
      // file; tcpreplay's pacing on a loaded machine stretches it, by 2 s at load average 20). From the
      // answer: 2 s; the upper bound only catches a duration that is not this call's.
      expect(ended[0]!.durationS, log).toBeGreaterThanOrEqual(7);
      expect(ended[0]!.durationS, log).toBeLessThanOrEqual(15);
    }, 120_000);

    it(`capture.workers ${workers}: a call rejected (480) during its early media is logged ended with its media, not 30 s later`, async () => {
      const s = rejectedCallEarlyMedia({ t0Ms: Date.UTC(2026, 0, 1), packets: 100, rejectAfterMs: 1500, mediaDelayMs: 20 });
      const file = join(dir, `rejected-${workers}.pcap`);
      writeFileSync(file, classicPcap(s.records));
      const jsonl = join(dir, `rejected-${workers}.jsonl`);
      const log = await runProbe(workers, jsonl, [], (lines) => lines.some((l) => l.msg === 'call ended' && l.callId === s.callId), ['--no-hep'], 0, file);
      const ended = log.split('\n').filter((l) => l.includes('"msg":"call ended"')).map((l) => JSON.parse(l) as LogLine & { status?: number });
      expect(ended.map((l) => [l.callId, l.reason, l.status, l.streams]), log).toEqual([[s.callId, 'rejected', 480, 1]]);
      // The 480 is the file's last packet: its media lingers 3 s, the log reads the table every second.
      // The bound leaves a loaded machine room and stays far below the table's 30 s.
      expect(Date.parse(ended[0]!.time!) - replayedAtMs, log).toBeLessThan(12_000);
    }, 120_000);

    it(`capture.workers ${workers}: the run summary counts the FINAL reports of the streams running at stop`, async () => {
      const jsonl = join(dir, `stop-${workers}.jsonl`);
      // The first 800 packets: about 3 s, every call still sending when the stop comes.
      const log = await runProbe(workers, jsonl, ['--limit', '800'], () => true);
      const written = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { TYPE: string });
      expect(written.filter((r) => r.TYPE === 'FINAL').length, log).toBeGreaterThanOrEqual(4);
      const summary = JSON.parse(log.split('\n').find((l) => l.includes('"msg":"run summary"'))!) as {
        reports: { qosReports: number };
        outputs: Array<{ output: string; sent: number }>;
      };
      expect(summary.reports.qosReports).toBe(written.length);
      expect(summary.outputs.find((o) => o.output === 'jsonl')?.sent).toBe(written.length);
    }, 120_000);

    it(`capture.workers ${workers}: a stop cut short by the shutdown deadline still logs the run summary`, async () => {
      // A HEP collector refusing connections: its queue holds the final reports until the 1 s deadline ends the process.
      const probeArgs = ['--hep', 'tcp://127.0.0.1:1', '--set', 'process.shutdown_deadline_ms=1000'];
      const log = await runProbe(workers, join(dir, `deadline-${workers}.jsonl`), ['--limit', '800'], () => true, probeArgs, 1);
      const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine & { outputs?: Array<{ output: string }> });
      expect(lines.some((l) => l.msg.startsWith('shutdown deadline exceeded: exiting, final reports lost: ')), log).toBe(true);
      const summary = lines.find((l) => l.msg === 'run summary');
      expect(summary?.outputs?.map((o) => o.output).sort(), log).toEqual(['hep', 'jsonl']);
    }, 120_000);
  }

  it('the status line counts the reports whose send failed (a UDP collector answering ICMP port unreachable)', async () => {
    // Nothing listens on the collector port: each datagram an ICMP port unreachable answers failed, and the
    // collector is down (the rest wait in its queue, lost at the stop: the deadline's exit code 1).
    const probeArgs = ['--hep', 'udp://127.0.0.1:9', '--set', 'log.status_interval_s=1', '--set', 'process.shutdown_deadline_ms=1000'];
    type Status = LogLine & { reportsSent?: number; reportsDropped?: number; reportsFailed?: number };
    const failedThenStatus = (lines: Status[]) => {
      const i = lines.findIndex((l) => l.msg === 'HEP send failed');
      return i >= 0 && lines.slice(i).some((l) => l.msg.startsWith('status: '));
    };
    const log = await runProbe(1, join(dir, 'status-failed.jsonl'), [], (lines) => failedThenStatus(lines), probeArgs, 1);
    const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Status);
    const status = lines.slice(lines.findIndex((l) => l.msg === 'HEP send failed')).find((l) => l.msg.startsWith('status: '))!;
    expect(status.reportsFailed, log).toBeGreaterThan(0);
    // The run summary's per-destination counts are the same totals, read later.
    const summary = JSON.parse(log.split('\n').find((l) => l.includes('"msg":"run summary"'))!) as { outputs: Array<{ output: string; failed: number }> };
    expect(summary.outputs.find((o) => o.output === 'hep')!.failed, log).toBeGreaterThanOrEqual(status.reportsFailed!);
  }, 120_000);
});
