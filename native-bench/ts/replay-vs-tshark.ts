/**
 * Offline replay speed against tshark. Over one capture (generated: SIP calls with G.711 RTP and RTCP,
 * about --mb megabytes; or an existing classic pcap given with --file) it times
 *   1. `tshark -q -z rtp,streams -r FILE`,
 *   2. the probe's replay path in this process (file reader windows -> Pipeline.processRecords),
 *   3. the real command `node dist/cli.js replay FILE --no-hep` in a child process (start-up, SIP, RTCP,
 *      reports included), once printing only its final stream table and once also writing every report
 *      as JSON lines (--jsonl),
 * checks that 2 and both runs of 3 found exactly tshark's streams with the same packets and lost per
 * stream (2 also max delta / max jitter to tshark's printed 3 decimals), and prints the speed ratios.
 * Each is timed --rounds times (default 2), alternating, best kept, as wall time and as CPU time (user +
 * system, child processes from /proc/self/stat): on a shared machine the CPU-time ratio is the steadier one.
 * Then the command's start-up: `rtpprobe replay` of a one-call capture against `node -e 0`, alternating,
 * --startup-runs times (default 10; 0 skips it), fastest and median.
 * Run after build: node --expose-gc native-bench/out/replay-vs-tshark.js [--mb 200] [--file FILE] [--keep FILE] [--rounds N] [--startup-runs N]
 *   --file: use this capture (kept); --keep: write the generated capture there and keep it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callDurationForSize, writeScenarioPcap } from '../../dist/gen/scenario.js';
import { benchConfig, benchPipeline, collectEnded, elapsedMs, gc, replayFile, streamKeyOf, streamResults } from './pipeline.js';
import { argString, argNumber } from './args.js';

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

/**
 * CPU seconds (user + system) of the waited-for children so far, from /proc/self/stat (cutime, cstime in
 * clock ticks, 100 per second on Linux). On a shared machine CPU time is steadier than wall time.
 */
function childCpuS(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // fields 16 and 17 of proc(5), counted after the name
}

function selfCpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
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

/** Packets and lost per stream from the table `rtpprobe replay` prints (lost there is max(0, expected - packets)). */
function tableStreams(text: string): Map<string, { packets: number; lost: number }> {
  const out = new Map<string, { packets: number; lost: number }>();
  const re = /^(\S+):(\d+)\s+(\S+):(\d+)\s+0x([0-9A-F]+)\s+\S+\s+(\d+)\s+(\d+) \(/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m) out.set(streamKeyOf(m[1], +m[2], m[3], +m[4], parseInt(m[5], 16)), { packets: +m[6], lost: +m[7] });
  }
  return out;
}

function checkAgainst(what: string, rows: TsharkStream[], ours: Map<string, { packets: number; lost: number }>, clampLost = false): void {
  if (rows.length !== ours.size) throw new Error(`${what}: stream counts differ: tshark ${rows.length}, probe ${ours.size}`);
  for (const r of rows) {
    const o = ours.get(r.key);
    if (o === undefined) throw new Error(`${what}: tshark stream ${r.key} not found`);
    if (o.packets !== r.packets || o.lost !== (clampLost ? Math.max(0, r.lost) : r.lost)) throw new Error(`${what}: ${r.key}: packets/lost ${o.packets}/${o.lost} vs tshark ${r.packets}/${r.lost}`);
  }
}

/**
 * What a fresh command costs besides its packets: `rtpprobe replay` of a capture of one 2-second call
 * (about 200 packets) against Node.js doing nothing, alternating, `runs` times each. CPU counts every thread.
 */
function startup(cli: string, dir: string, runs: number): void {
  if (runs <= 0) return;
  const tiny = join(dir, 'one-call.pcap');
  writeScenarioPcap(tiny, { calls: 1, durationS: 0, callDurationS: 2, codec: 'PCMA', lossPct: 0, jitterMs: 4, rtcp: true, seed: 9, startEpochS: 1_700_000_000 });
  const commands: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['rtpprobe replay ONE-CALL --no-hep', [cli, 'replay', tiny, '--no-hep', '--log-level', 'warn']],
  ];
  const wall = commands.map((): number[] => []);
  const cpu = commands.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    commands.forEach(([, args], i) => {
      const c0 = childCpuS();
      const t0 = process.hrtime.bigint();
      const run = spawnSync(process.execPath, args, { stdio: 'ignore' });
      wall[i].push(elapsedMs(t0));
      cpu[i].push((childCpuS() - c0) * 1000);
      if (run.status !== 0) throw new Error(`${commands[i][0]} exited with ${run.status ?? run.signal}`);
    });
  }
  const range = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return `${s[0].toFixed(0).padStart(4)} / ${s[s.length >> 1].toFixed(0).padStart(4)} ms`;
  };
  console.log(`== start-up: ${runs} alternating runs each, fastest / median ==`);
  commands.forEach(([name], i) => console.log(`${name.padEnd(40)} wall ${range(wall[i])}, CPU ${range(cpu[i])}`));
}

async function main(): Promise<void> {
  const mb = argNumber('mb', 200);
  const given = argString('file', '');
  const keep = argString('keep', '');
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-replay-'));
  const file = given !== '' ? given : keep !== '' ? keep : join(dir, 'replay.pcap');
  const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
  try {
    let t0 = process.hrtime.bigint();
    if (given === '' || !existsSync(given)) {
      const calls = 500;
      const callDurationS = Math.max(5, callDurationForSize(mb, calls, 'PCMA'));
      const stats = writeScenarioPcap(file, {
        calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 0.5, burstLossPct: 25, jitterMs: 4, rtcp: true, seed: 9, startEpochS: 1_700_000_000,
      });
      console.log(`generated ${stats.records} packets, ${stats.rtpStreams} RTP streams, ${calls} calls x ${callDurationS} s in ${(elapsedMs(t0) / 1000).toFixed(1)} s`);
    }
    const size = statSync(file).size;

    const rounds = argNumber('rounds', 2);
    const jsonl = join(dir, 'reports.jsonl');
    const best = { tshark: Infinity, loop: Infinity, cli: Infinity, cliJsonl: Infinity };
    const cpu = { tshark: Infinity, loop: Infinity, cli: Infinity, cliJsonl: Infinity };
    let rows: TsharkStream[] = [];
    let packets = 0;
    for (let r = 0; r < rounds; r++) {
      let c0 = childCpuS();
      t0 = process.hrtime.bigint();
      const out = execFileSync('tshark', ['-q', '-z', 'rtp,streams', '-r', file], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
      best.tshark = Math.min(best.tshark, elapsedMs(t0));
      cpu.tshark = Math.min(cpu.tshark, childCpuS() - c0);
      rows = parseTsharkStreams(out);
      if (rows.length === 0) throw new Error('tshark found no RTP stream');

      gc();
      c0 = selfCpuS();
      t0 = process.hrtime.bigint();
      const pipeline = benchPipeline(benchConfig());
      const ended = collectEnded(pipeline);
      packets = await replayFile(pipeline, file);
      best.loop = Math.min(best.loop, elapsedMs(t0));
      cpu.loop = Math.min(cpu.loop, selfCpuS() - c0); // includes the file reads on libuv's threads
      const ours = streamResults(pipeline.engine, ended);
      checkAgainst('replay path in process', rows, ours);
      for (const row of rows) {
        const o = ours.get(row.key)!;
        if (Math.abs(o.maxDeltaMs - row.maxDelta) > 0.0005 + 1e-9 || Math.abs(o.maxJitterMs - row.maxJitter) > 0.0005 + 1e-9) {
          throw new Error(`${row.key}: max delta/jitter ${o.maxDeltaMs}/${o.maxJitterMs} vs tshark ${row.maxDelta}/${row.maxJitter}`);
        }
      }

      for (const withJsonl of [false, true]) {
        rmSync(jsonl, { force: true }); // the JSON-lines output appends
        const args = [cli, 'replay', file, '--no-hep', '--log-level', 'warn', ...(withJsonl ? ['--jsonl', jsonl] : [])];
        c0 = childCpuS();
        t0 = process.hrtime.bigint();
        const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
        const ms = elapsedMs(t0);
        const cpuS = childCpuS() - c0;
        if (run.status !== 0) throw new Error(`rtpprobe replay exited with ${run.status ?? run.signal}`);
        if (withJsonl) {
          checkAgainst('rtpprobe replay --jsonl', rows, cliStreams(jsonl));
          best.cliJsonl = Math.min(best.cliJsonl, ms);
          cpu.cliJsonl = Math.min(cpu.cliJsonl, cpuS);
        } else {
          checkAgainst('rtpprobe replay (stream table)', rows, tableStreams(run.stdout), true);
          best.cli = Math.min(best.cli, ms);
          cpu.cli = Math.min(cpu.cli, cpuS);
        }
      }
    }

    const rate = (ms: number) => `${(packets / ms / 1000).toFixed(2)} Mpps, ${(size / ms / 1000).toFixed(0)} MB/s`;
    const line = (name: string, k: keyof typeof best, note: string) => {
      const ms = best[k];
      const vs = k === 'tshark' ? '' : `  ${(best.tshark / ms).toFixed(1)}x faster than tshark (CPU time: ${(cpu.tshark / cpu[k]).toFixed(1)}x)`;
      console.log(`${name.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(6)} s wall, ${cpu[k].toFixed(2).padStart(6)} s CPU  (${rate(ms)}${note})${vs}`);
    };
    console.log(`== replay vs tshark: ${(size / 1e6).toFixed(0)} MB, ${packets} packets, ${rows.length} RTP streams, best of ${rounds} ==`);
    console.log(`same ${rows.length} streams as tshark with the same packets and lost per stream: replay path in process (also max delta and max jitter to 3 decimals), rtpprobe replay (table and JSON lines)`);
    line('tshark -q -z rtp,streams', 'tshark', ', includes start-up');
    line('replay path in process (file .. Pipeline)', 'loop', '');
    line('rtpprobe replay --no-hep (stream table)', 'cli', ', includes start-up');
    line('rtpprobe replay --no-hep --jsonl FILE', 'cliJsonl', ', includes start-up');
    startup(cli, dir, argNumber('startup-runs', 10));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
