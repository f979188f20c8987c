/**
 * `rtpprobe run` with capture.workers = 3 on SIP whose order matters across workers: B2BUA calls whose two
 * legs (a <-> B2BUA, B2BUA <-> b: two SIP flows, so mostly on two workers) re-INVITE 20 ms apart to the
 * same media addresses, where the leg whose offer/answer completes last owns the media. Each worker reads
 * its ring on its own buffer timeout, so the later leg's SIP often reaches the main thread first; the
 * reports must still be those `rtpprobe replay` gives for the same file: every stream's Call-ID, X_CID,
 * DIR, PARTY and packets. Two network namespaces joined by a veth pair; tcpreplay plays the generated pcap
 * at 4x on one end, the probe captures on the other and writes JSON lines. Needs root, tcpreplay and a
 * built dist/; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b2buaSharedMedia, classicPcap, type PcapRecord } from '../../src/gen/index.js';
import { canNetns, sh, vethNamespaces } from './media-workers-helpers.js';
import { until } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const CALLS = 24;
const PACKETS = 30;

/** CALLS B2BUA calls 45 ms apart, alternately leg 2 and leg 1 re-INVITEd last. */
function b2buaCalls(tag: string): { pcap: Buffer; frames: number } {
  const records: PcapRecord[] = [];
  for (let i = 0; i < CALLS; i++) {
    records.push(...b2buaSharedMedia({ t0Ms: 1_700_000_000_000 + i * 45, packets: PACKETS, lastLeg: i % 2 === 0 ? 2 : 1, net: i, tag: `${tag}-${i}` }).records);
  }
  records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
  return { pcap: classicPcap(records), frames: records.length };
}

type Ending = { type: string; callId: string; xcid: string; packets: number; dir: number; party: number };

/** The reports that end streams in a JSON-lines file, by `src:port>dst:port`. */
function endingsIn(jsonl: string): Record<string, Ending[]> {
  const out: Record<string, Ending[]> = {};
  for (const line of readFileSync(jsonl, 'utf8').trim().split('\n')) {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.TYPE !== 'HANGUP' && r.TYPE !== 'FINAL') continue;
    const key = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;
    (out[key] ??= []).push({ type: String(r.TYPE), callId: String(r.CORRELATION_ID), xcid: String(r.X_CID), packets: Number(r.TOTAL_PK), dir: Number(r.DIR), party: Number(r.PARTY) });
  }
  return out;
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 3: SIP of different workers in capture order', () => {
  const nsA = `roa${process.pid}`;
  const nsB = `rob${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'oa', 'ob');
  let dir: string;
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-sip-order-'));
  });
  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Plays `pcap` at 4x into `rtpprobe run` with three workers; stops it once the workers counted `frames` packets. */
  async function liveEndings(pcap: string, frames: number): Promise<Record<string, Ending[]>> {
    const jsonl = join(dir, 'live.jsonl');
    const probeArgs = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'ob', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--set', 'capture.workers=3', '--set', 'reports.interval_s=3600', '--log-format', 'json'];
    const probe = spawn('ip', probeArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let replay: ChildProcess | null = null;
    let log = '';
    probe.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => probe.on('exit', r));
    try {
      expect(await until(() => log.includes('capture open') || probe.exitCode !== null), log).toBe(true);
      const port = (JSON.parse(log.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!) as { port: number }).port;
      replay = spawn('ip', ['netns', 'exec', nsA, 'tcpreplay', '-q', '-x', '4', '-i', 'oa', pcap], { stdio: 'ignore' });
      let text = '';
      const received = () => {
        text = sh('ip', 'netns', 'exec', nsB, 'curl', '-s', `http://127.0.0.1:${port}/metrics`);
        return Number(/^rtpprobe_capture_packets_received_total\{interface="ob"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
      };
      expect(await until(() => received() >= frames, 30_000), text).toBe(true);
    } finally {
      probe.kill('SIGTERM');
    }
    expect(await exited, log).toBe(0);
    replay?.kill();
    return endingsIn(jsonl);
  }

  it("a B2BUA's re-INVITE pair on two workers: every stream under the leg `rtpprobe replay` gives it, with its DIR, PARTY and packets", async () => {
    const s = b2buaCalls(String(process.pid));
    const pcap = join(dir, 'b2bua.pcap');
    writeFileSync(pcap, s.pcap);
    const refJsonl = join(dir, 'replay.jsonl');
    sh(process.execPath, cli, 'replay', pcap, '--no-hep', '--jsonl', refJsonl, '--log-level', 'warn');
    const reference = endingsIn(refJsonl);
    expect(Object.keys(reference).length).toBe(2 * CALLS);
    expect(await liveEndings(pcap, s.frames)).toEqual(reference);
  });
});
