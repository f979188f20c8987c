/**
 * Offline replay speed against tshark. Over one capture (generated: SIP calls with G.711 RTP and RTCP,
 * about --mb megabytes; or an existing classic pcap given with --file) it times
 *   1. `tshark -q -z rtp,streams -r FILE`,
 *   2. the probe's hot loop over the file source (async chunked reads + decode + SIP screen + RTP engine),
 *   3. the real command `node dist/cli.js replay FILE --no-hep --jsonl OUT` (a child process, start-up,
 *      SIP, RTCP, reports and their JSON lines included),
 * checks that 2 and 3 each found exactly tshark's streams with the same packets and lost per stream (2 also
 * max delta / max jitter to tshark's printed 3 decimals), and prints both speed ratios.
 * Run after build: node --expose-gc dist/bench/replay-vs-tshark.js [--mb 200] [--file FILE] [--keep FILE]
 *   --file: use this capture (kept); --keep: write the generated capture there and keep it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeScenarioPcap } from '../gen/scenario.js';
import { RtpEngine } from '../rtp/index.js';
import { elapsedMs, gc, HotLoop, streamKeyOf, streamResults } from './pipeline.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

interface TsharkStream {
  key: string;
  packets: number;
  lost: number;
  maxDelta: number;
  maxJitter: number;
}

function parseTsharkStreams(out: string): TsharkStream[] {
  const rows: TsharkStream[] = [];
  const re = /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+.*?\s(\d+)\s+(-?\d+) \(.*?\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*X?\s*$/;
  for (const line of out.split('\n')) {
    const m = re.exec(line);
    if (m) rows.push({ key: streamKeyOf(m[1], +m[2], m[3], +m[4], parseInt(m[5], 16)), packets: +m[6], lost: +m[7], maxDelta: +m[10], maxJitter: +m[13] });
  }
  return rows;
}

/** The fields of a JSON-lines QoS report this bench compares. */
interface ReportLine {
  TYPE: string;
  SRC_IP: string;
  SRC_PORT: number;
  DST_IP: string;
  DST_PORT: number;
  SSRC: number;
  TOTAL_PK: number;
  EXPECTED_PK: number;
}

/** Packets and lost per stream from the final report of each stream. */
function cliStreams(jsonl: string): Map<string, { packets: number; lost: number }> {
  const out = new Map<string, { packets: number; lost: number }>();
  for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as ReportLine;
    if (r.TYPE !== 'FINAL' && r.TYPE !== 'HANGUP') continue;
    const key = streamKeyOf(r.SRC_IP, r.SRC_PORT, r.DST_IP, r.DST_PORT, r.SSRC);
    if (out.has(key)) throw new Error(`two final reports for ${key}`);
    out.set(key, { packets: r.TOTAL_PK, lost: r.EXPECTED_PK - r.TOTAL_PK });
  }
  return out;
}

function checkAgainst(what: string, rows: TsharkStream[], ours: Map<string, { packets: number; lost: number }>): void {
  if (rows.length !== ours.size) throw new Error(`${what}: stream counts differ: tshark ${rows.length}, probe ${ours.size}`);
  for (const r of rows) {
    const o = ours.get(r.key);
    if (o === undefined) throw new Error(`${what}: tshark stream ${r.key} not found`);
    if (o.packets !== r.packets || o.lost !== r.lost) throw new Error(`${what}: ${r.key}: packets/lost ${o.packets}/${o.lost} vs tshark ${r.packets}/${r.lost}`);
  }
}

async function main(): Promise<void> {
  const mb = Number(arg('--mb', '200'));
  const given = arg('--file', '');
  const keep = arg('--keep', '');
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-replay-'));
  const file = given !== '' ? given : keep !== '' ? keep : join(dir, 'replay.pcap');
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  try {
    let t0 = process.hrtime.bigint();
    if (given === '' || !existsSync(given)) {
      const calls = 500;
      // ~230 bytes per G.711 packet with its record header, 50 packets/s per direction.
      const callDurationS = Math.max(5, Math.round((mb * 1e6) / (calls * 2 * 50 * 230)));
      const stats = writeScenarioPcap(file, {
        calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 0.5, burstLossPct: 25, jitterMs: 4, rtcp: true, seed: 9, startEpochS: 1_700_000_000,
      });
      console.log(`generated ${stats.records} packets, ${stats.rtpStreams} RTP streams, ${calls} calls x ${callDurationS} s in ${(elapsedMs(t0) / 1000).toFixed(1)} s`);
    }
    const size = statSync(file).size;

    t0 = process.hrtime.bigint();
    const out = execFileSync('tshark', ['-q', '-z', 'rtp,streams', '-r', file], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
    const tsharkMs = elapsedMs(t0);
    const rows = parseTsharkStreams(out);
    if (rows.length === 0) throw new Error('tshark found no RTP stream');

    gc();
    t0 = process.hrtime.bigint();
    const engine = new RtpEngine({ maxStreams: rows.length + 64, wiresharkCompatibleClock: true });
    const loop = new HotLoop(engine);
    await loop.runFile(file);
    const loopMs = elapsedMs(t0);
    const packets = loop.counts.packets;
    const ours = streamResults(engine);
    checkAgainst('hot loop', rows, ours);
    for (const r of rows) {
      const o = ours.get(r.key)!;
      if (Math.abs(o.maxDeltaMs - r.maxDelta) > 0.0005 + 1e-9 || Math.abs(o.maxJitterMs - r.maxJitter) > 0.0005 + 1e-9) {
        throw new Error(`${r.key}: max delta/jitter ${o.maxDeltaMs}/${o.maxJitterMs} vs tshark ${r.maxDelta}/${r.maxJitter}`);
      }
    }

    const jsonl = join(dir, 'reports.jsonl');
    t0 = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [cli, 'replay', file, '--no-hep', '--jsonl', jsonl, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const cliMs = elapsedMs(t0);
    if (run.status !== 0) throw new Error(`rtpprobe replay exited with ${run.status ?? run.signal}`);
    checkAgainst('rtpprobe replay', rows, cliStreams(jsonl));

    const rate = (ms: number) => `${(packets / ms / 1000).toFixed(2)} Mpps, ${(size / ms / 1000).toFixed(0)} MB/s`;
    console.log(`== replay vs tshark: ${(size / 1e6).toFixed(0)} MB, ${packets} packets, ${rows.length} RTP streams ==`);
    console.log(`same ${rows.length} streams as tshark, same packets and lost per stream, for the hot loop (also max delta and max jitter to 3 decimals) and for rtpprobe replay`);
    console.log(`tshark -q -z rtp,streams:            ${(tsharkMs / 1000).toFixed(2).padStart(7)} s  (${rate(tsharkMs)}, includes start-up)`);
    console.log(`hot loop (file source .. RTP engine): ${(loopMs / 1000).toFixed(2).padStart(7)} s  (${rate(loopMs)})  ${(tsharkMs / loopMs).toFixed(1)}x faster than tshark`);
    console.log(`rtpprobe replay --no-hep --jsonl:     ${(cliMs / 1000).toFixed(2).padStart(7)} s  (${rate(cliMs)}, includes start-up)  ${(tsharkMs / cliMs).toFixed(1)}x faster than tshark`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
