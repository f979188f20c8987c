/**
 * Offline replay speed against tshark: generates a capture of about --mb megabytes (SIP calls with G.711
 * RTP and RTCP), then times `tshark -q -z rtp,streams -r FILE` and the probe's file source + decode + SIP
 * screen + RTP engine over the same file, checks both found the same streams with the same packet and
 * lost counts (and max delta / max jitter to tshark's printed 3 decimals), and prints the speed ratio.
 * Run after build: node --expose-gc dist/bench/replay-vs-tshark.js [--mb 200] [--keep FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScenarioPcap } from '../gen/scenario.js';
import { RtpEngine } from '../rtp/index.js';
import { elapsedMs, HotLoop, streamKeyOf, streamResults } from './pipeline.js';

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

async function main(): Promise<void> {
  const mb = Number(arg('--mb', '200'));
  const keep = arg('--keep', '');
  const calls = 500;
  // ~230 bytes per G.711 packet with its record header, 50 packets/s per direction.
  const callDurationS = Math.max(5, Math.round((mb * 1e6) / (calls * 2 * 50 * 230)));
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-replay-'));
  const file = keep !== '' ? keep : join(dir, 'replay.pcap');
  try {
    let t0 = process.hrtime.bigint();
    const stats = writeScenarioPcap(file, {
      calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 0.5, burstLossPct: 25, jitterMs: 4, rtcp: true, seed: 9, startEpochS: 1_700_000_000,
    });
    const size = statSync(file).size;
    console.log(`== replay vs tshark: ${(size / 1e6).toFixed(0)} MB, ${stats.records} packets, ${stats.rtpStreams} RTP streams, ${calls} calls x ${callDurationS} s (generated in ${(elapsedMs(t0) / 1000).toFixed(1)} s) ==`);

    t0 = process.hrtime.bigint();
    const out = execFileSync('tshark', ['-q', '-z', 'rtp,streams', '-r', file], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
    const tsharkMs = elapsedMs(t0);
    const rows = parseTsharkStreams(out);

    t0 = process.hrtime.bigint();
    const engine = new RtpEngine({ maxStreams: stats.rtpStreams + 64, wiresharkCompatibleClock: true });
    const loop = new HotLoop(engine);
    await loop.runFile(file);
    const oursMs = elapsedMs(t0);
    const ours = streamResults(engine);

    if (rows.length !== ours.size || rows.length !== stats.rtpStreams) throw new Error(`stream counts differ: tshark ${rows.length}, probe ${ours.size}, generated ${stats.rtpStreams}`);
    for (const r of rows) {
      const o = ours.get(r.key);
      if (o === undefined) throw new Error(`tshark stream ${r.key} not found by the probe`);
      if (o.packets !== r.packets || o.lost !== r.lost) throw new Error(`${r.key}: packets/lost ${o.packets}/${o.lost} vs tshark ${r.packets}/${r.lost}`);
      if (Math.abs(o.maxDeltaMs - r.maxDelta) > 0.0005 + 1e-9 || Math.abs(o.maxJitterMs - r.maxJitter) > 0.0005 + 1e-9) {
        throw new Error(`${r.key}: max delta/jitter ${o.maxDeltaMs}/${o.maxJitterMs} vs tshark ${r.maxDelta}/${r.maxJitter}`);
      }
    }
    console.log(`same ${rows.length} streams, same packets and lost per stream, max delta and max jitter equal to tshark's 3 decimals`);
    console.log(`tshark -q -z rtp,streams: ${(tsharkMs / 1000).toFixed(2)} s  (${(stats.records / tsharkMs / 1000).toFixed(2)} Mpps, includes tshark start-up)`);
    console.log(`probe file replay:        ${(oursMs / 1000).toFixed(2)} s  (${(stats.records / oursMs / 1000).toFixed(2)} Mpps, ${(size / oursMs / 1000).toFixed(0)} MB/s)`);
    console.log(`speed ratio tshark/probe: ${(tsharkMs / oursMs).toFixed(1)}x`);
  } finally {
    if (keep === '') rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
