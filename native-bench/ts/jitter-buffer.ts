/**
 * Cost of the jitter-buffer emulation on the probe's replay path: the same generated capture through
 * Pipeline.processRecords with qos.jitter_buffers.emulate true (the default) and false, each mode in its
 * own Node process (as native.ts: V8's optimisation is per process), alternating, with the C reference
 * (rtpbench --no-jb --no-calls: the packet path without jitter buffers) timed in each process for the TS/C ratio. Also the state per stream slot.
 * Run after build: node --expose-gc native-bench/out/jitter-buffer.js [--calls N] [--call-duration S] [--rounds N] [--jitter-ms MS]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeScenarioPcap } from '../../dist/gen/scenario.js';
import { RtpEngine } from '../../dist/rtp/index.js';
import { benchConfig, benchPipeline, gc, keepAlive, replayBuffer, threadCpuNs } from './pipeline.js';
import { argNumber, argString } from './args.js';

const calls = argNumber('calls', 1000);
const callDurationS = argNumber('call-duration', 12);
const rounds = argNumber('rounds', 5);
const jitterMs = argNumber('jitter-ms', 30);
const nativeDir = fileURLToPath(new URL('../', import.meta.url));

function cBestMs(file: string, maxStreams: number): number {
  const out = execFileSync(join(nativeDir, 'rtpbench'), [file, '--repeat', '3', '--max-streams', String(maxStreams), '--no-jb', '--no-calls'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const head = Object.fromEntries(out.trim().split('\n')[0].split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  return head.best_ns / 1e6;
}

/** One process, one mode: best replay time (ms) over the rounds after a warm-up, and C's best. */
function child(emulate: boolean, file: string): void {
  const config = benchConfig();
  config.qos.jitterBuffers.emulate = emulate;
  const data = readFileSync(file);
  let ts = Infinity;
  let c = Infinity;
  let discards = 0;
  for (let r = 0; r < rounds + 1; r++) {
    c = Math.min(c, cBestMs(file, config.rtp.maxStreams));
    gc();
    const p = benchPipeline(config);
    if (r < 2) keepAlive.push(p);
    const t0 = threadCpuNs();
    replayBuffer(p, data);
    const ms = (threadCpuNs() - t0) / 1e6;
    if (r > 0) ts = Math.min(ts, ms);
    const jb = p.engine.jb;
    if (jb !== null && r === 0) for (let slot = 0; slot < p.engine.maxStreams; slot++) discards += jb.discards(slot, 0) + jb.discards(slot, 1) + jb.discards(slot, 2);
  }
  console.log(JSON.stringify({ ts, c, discards }));
}

function main(): void {
  console.log('== jitter-buffer emulation: replay path with and without it (one core, capture in memory) ==');
  execFileSync('make', ['-s', '-C', nativeDir], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-jb-'));
  try {
    const file = join(dir, 'scenario.pcap');
    const stats = writeScenarioPcap(file, {
      calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 1, burstLossPct: 30, jitterMs, rtcp: true, seed: 42, startEpochS: 1_700_000_000,
    });
    console.log(`input: ${calls} concurrent calls x ${callDurationS} s G.711 (1 % bursty loss, ${jitterMs} ms jitter, RTCP): ${stats.records} packets, ${stats.rtpStreams} RTP streams`);
    const n = stats.records;
    const best = { on: { ts: Infinity, c: Infinity, discards: 0 }, off: { ts: Infinity, c: Infinity, discards: 0 } };
    // Alternating processes: on, off, on, off (both modes see the same machine load).
    for (let k = 0; k < 2; k++) {
      for (const mode of ['on', 'off'] as const) {
        const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', mode, '--file', file, '--rounds', String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        const t = JSON.parse(out.trim().split('\n').pop()!) as { ts: number; c: number; discards: number };
        best[mode].ts = Math.min(best[mode].ts, t.ts);
        best[mode].c = Math.min(best[mode].c, t.c);
        best[mode].discards = t.discards;
      }
    }
    const per = (ms: number) => ((ms * 1e6) / n).toFixed(1);
    console.log(`timing: best of ${rounds} rounds x 2 processes per mode, CPU time of the timing thread`);
    for (const mode of ['on', 'off'] as const) {
      const b = best[mode];
      console.log(`  emulation ${mode.padEnd(3)}  TS ${per(b.ts).padStart(6)} ns/pkt  ${(n / b.ts / 1000).toFixed(2)} Mpps   C ${per(b.c).padStart(6)} ns/pkt   TS/C ${(b.ts / b.c).toFixed(2)}${mode === 'on' ? `   (${b.discards} discards over the three buffers)` : ''}`);
    }
    console.log(`  with / without: ${(best.on.ts / best.off.ts).toFixed(3)} (TS/C ratios ${(best.on.ts / best.on.c).toFixed(2)} vs ${(best.off.ts / best.off.c).toFixed(2)})`);
    const bd = new RtpEngine({ maxStreams: 10000 }).stateBreakdown();
    console.log(`state per stream slot: ${bd.perStream.toFixed(0)} B with the buffers (of which ${(bd.jitterBuffer / 10000).toFixed(0)} B theirs, history 64), ${new RtpEngine({ maxStreams: 10000, jitterBuffer: null }).stateBreakdown().perStream.toFixed(0)} B without`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childMode = argString('child', '');
if (childMode !== '') child(childMode === 'on', argString('file', ''));
else main();
