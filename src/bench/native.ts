/**
 * TypeScript hot loop vs the C reference (native-bench/rtpbench.c) over the SAME generated capture.
 * First both must produce identical per-stream results (packets, lost, max delta, max/mean jitter, mean
 * delta to 1e-6 ms), then each is timed over the capture in memory (best of N), and the TS/C time ratio
 * is printed. Run after build: node --expose-gc dist/bench/native.js [--calls N] [--call-duration S]
 *   [--rounds N] [--keep FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeScenarioPcap } from '../gen/scenario.js';
import { CaptureCursor } from '../capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../decode/index.js';
import { RtpEngine } from '../rtp/index.js';
import { looksLikeSip } from '../sip/index.js';
import { BENCH_ENGINE, diffStream, elapsedMs, gc, HotLoop, keepAlive, streamKeyOf, streamResults, type StreamResult } from './pipeline.js';
import { argNumber } from './args.js';

const calls = argNumber('calls', 1000);
const callDurationS = argNumber('call-duration', 12);
const rounds = argNumber('rounds', 5);
const nativeDir = fileURLToPath(new URL('../../native-bench/', import.meta.url));

interface NativeRun {
  packets: number;
  rtp: number;
  streams: number;
  bestNs: number;
  results: Map<string, StreamResult>;
}

function runNative(file: string, repeat: number, dump: boolean, decodeOnly = false): NativeRun {
  const out = execFileSync(join(nativeDir, 'rtpbench'), [file, '--repeat', String(repeat), ...(dump ? ['--dump'] : []), ...(decodeOnly ? ['--decode-only'] : [])], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = out.trim().split('\n');
  const head = Object.fromEntries(lines[0].split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  const results = new Map<string, StreamResult>();
  for (const l of lines.slice(1)) {
    const [src, sp, dst, dp, ssrc, packets, lost, maxD, maxJ, meanJ, meanD] = l.split(' ');
    const key = streamKeyOf(src, +sp, dst, +dp, +ssrc);
    results.set(key, { key, packets: +packets, lost: +lost, maxDeltaMs: +maxD, maxJitterMs: +maxJ, meanJitterMs: +meanJ, meanDeltaMs: +meanD });
  }
  return { packets: head.packets, rtp: head.rtp, streams: head.streams, bestNs: head.best_ns, results };
}

/**
 * The loop without the engine, cut at each stage so the split figures can subtract (the same one-pass
 * record walk as HotLoop.runBuffer): `walk` reads the records and touches one byte per packet, `decode`
 * adds PacketDecoder.decodeFrame, `screen` adds looksLikeSip on every UDP payload (the same work as
 * rtpbench --decode-only).
 */
type Stage = 'walk' | 'decode' | 'screen';
class PartialLoop {
  private readonly dec = new PacketDecoder();
  private readonly pkt = new DecodedPacket();
  private cursor: CaptureCursor | null = null;
  run(data: Uint8Array, stage: Stage): number {
    const dec = this.dec;
    const pkt = this.pkt;
    const cur = (this.cursor = new CaptureCursor(data, 'bench'));
    let n = 0;
    if (stage === 'walk') {
      while (cur.next()) n += data[cur.off];
    } else if (stage === 'decode') {
      while (cur.next()) if (dec.decodeFrame(data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) && pkt.ipProto === 17) n++;
    } else {
      while (cur.next()) {
        if (dec.decodeFrame(data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) && pkt.ipProto === 17 &&
          !looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) n++;
      }
    }
    return n;
  }
}

function main(): void {
  console.log('== TypeScript hot loop vs C reference (decode + SIP screen + RTP metrics, one core, capture in memory) ==');
  execFileSync('make', ['-s', '-C', nativeDir], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-native-'));
  try {
    const file = join(dir, 'scenario.pcap');
    const stats = writeScenarioPcap(file, {
      calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 1, burstLossPct: 30, jitterMs: 5, rtcp: true, seed: 42, startEpochS: 1_700_000_000,
    });
    const data = readFileSync(file);
    console.log(`input: ${calls} concurrent calls x ${callDurationS} s G.711 (1 % bursty loss, 5 ms jitter, RTCP): ${stats.records} packets, ${stats.rtpStreams} RTP streams, ${(data.length / 1e6).toFixed(0)} MB`);

    // 1. Same results, stream by stream.
    const c = runNative(file, 1, true);
    const engine = new RtpEngine({ maxStreams: stats.rtpStreams + 16, ...BENCH_ENGINE });
    const loop = new HotLoop(engine);
    loop.runBuffer(data);
    const ts = streamResults(engine);
    if (c.packets !== stats.records || loop.counts.packets !== stats.records) throw new Error(`packet counts differ: C ${c.packets}, TS ${loop.counts.packets}, file ${stats.records}`);
    if (c.rtp !== loop.counts.rtp || c.rtp !== stats.rtpPackets) throw new Error(`RTP packets differ: C ${c.rtp}, TS ${loop.counts.rtp}, generated ${stats.rtpPackets}`);
    if (ts.size !== c.results.size || ts.size !== stats.rtpStreams) throw new Error(`stream counts differ: C ${c.results.size}, TS ${ts.size}`);
    let worst = 0;
    for (const [key, a] of ts) {
      const b = c.results.get(key);
      if (b === undefined) throw new Error(`stream ${key} missing in C output`);
      const bad = diffStream(a, b);
      if (bad.length) throw new Error(`stream ${key} differs: ${bad.join(', ')}`);
      worst = Math.max(worst, Math.abs(a.meanJitterMs - b.meanJitterMs), Math.abs(a.maxJitterMs - b.maxJitterMs));
    }
    // The PacketBatch path (file and live sources) must agree with the one-pass path it is timed beside.
    const eb = new RtpEngine({ maxStreams: stats.rtpStreams + 16, ...BENCH_ENGINE });
    new HotLoop(eb).runBufferBatches(data);
    for (const [key, a] of streamResults(eb)) {
      const bad = diffStream(a, ts.get(key)!, 0);
      if (bad.length) throw new Error(`PacketBatch path: stream ${key} differs: ${bad.join(', ')}`);
    }
    console.log(`results identical for all ${ts.size} streams (packets, lost, max delta, max/mean jitter, mean delta; largest jitter difference ${worst.toExponential(1)} ms)`);

    // 2. Timing, best of `rounds`, alternating so both see the same machine load.
    let bestTs = Infinity;
    let bestTsBatch = Infinity;
    let bestC = Infinity;
    let bestCDecode = Infinity;
    const bestStage: Record<Stage, number> = { walk: Infinity, decode: Infinity, screen: Infinity };
    for (let r = 0; r < rounds; r++) {
      bestC = Math.min(bestC, runNative(file, 1, false).bestNs / 1e6);
      bestCDecode = Math.min(bestCDecode, runNative(file, 1, false, true).bestNs / 1e6);
      for (const stage of ['walk', 'decode', 'screen'] as const) {
        gc();
        const d = new PartialLoop();
        keepAlive.push(d);
        const t1 = process.hrtime.bigint();
        d.run(data, stage);
        bestStage[stage] = Math.min(bestStage[stage], elapsedMs(t1));
      }
      gc();
      const e = new RtpEngine({ maxStreams: stats.rtpStreams + 16, ...BENCH_ENGINE });
      const l = new HotLoop(e);
      keepAlive.push(l);
      const t0 = process.hrtime.bigint();
      l.runBuffer(data);
      bestTs = Math.min(bestTs, elapsedMs(t0));
      gc();
      const lb = new HotLoop(new RtpEngine({ maxStreams: stats.rtpStreams + 16, ...BENCH_ENGINE }));
      keepAlive.push(lb);
      const t2 = process.hrtime.bigint();
      lb.runBufferBatches(data);
      bestTsBatch = Math.min(bestTsBatch, elapsedMs(t2));
    }
    const n = stats.records;
    const mpps = (ms: number) => n / ms / 1000;
    console.log(`C  (cc -O2):     ${bestC.toFixed(1).padStart(8)} ms  ${mpps(bestC).toFixed(2).padStart(6)} Mpps  ${((bestC * 1e6) / n).toFixed(0)} ns/packet`);
    console.log(`TypeScript:      ${bestTs.toFixed(1).padStart(8)} ms  ${mpps(bestTs).toFixed(2).padStart(6)} Mpps  ${((bestTs * 1e6) / n).toFixed(0)} ns/packet`);
    console.log(`TS/C time ratio: ${(bestTs / bestC).toFixed(2)}  (target <= 1.5; TS target >= 10 Mpps)`);
    console.log(`TS via PacketBatch (file/live path: walk fills batch arrays, then decode): ${bestTsBatch.toFixed(1)} ms  ${mpps(bestTsBatch).toFixed(2)} Mpps  ${((bestTsBatch * 1e6) / n).toFixed(0)} ns/packet, TS/C ${(bestTsBatch / bestC).toFixed(2)}`);
    const per = (ms: number) => ((ms * 1e6) / n).toFixed(1);
    const bestTsDecode = bestStage.screen;
    console.log(`split per packet: decode + SIP screen  C ${per(bestCDecode)} ns, TS ${per(bestTsDecode)} ns (ratio ${(bestTsDecode / bestCDecode).toFixed(1)});` +
      ` RTP engine  C ${per(bestC - bestCDecode)} ns, TS ${per(bestTs - bestTsDecode)} ns (ratio ${((bestTs - bestTsDecode) / (bestC - bestCDecode)).toFixed(2)})`);
    console.log(`TS before the engine, per packet: record walk ${per(bestStage.walk)} ns, + decode ${per(bestStage.decode - bestStage.walk)} ns,` +
      ` + SIP screen ${per(bestStage.screen - bestStage.decode)} ns = ${per(bestStage.screen)} ns`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
