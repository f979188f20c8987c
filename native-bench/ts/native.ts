/**
 * The probe's packet path vs the C reference (native-bench/rtpbench.c) over the SAME generated capture.
 * The TypeScript side is the product's Pipeline, built from the CLI's defaults, fed as replay feeds it
 * (processRecords) and as live capture feeds it (processBatch over PacketBatches); the C reference does
 * the same per-call work (SIP, RTCP, interval scoring, final reports, media-fault checks; --no-calls without it). First all
 * three must produce identical per-stream results (packets, lost, max delta, max/mean jitter, mean delta
 * to 1e-6 ms, with the jitter-buffer emulation, on by default as in the CLI, the discards of each buffer
 * and the BurstR of its loss runs, and each stream's Call-ID, final MOS per buffer to 1e-6, SILENCES, SILENCE_MS, MAX_SILENCE_MS and
 * ONE_WAY_RTP; --pauses cuts pauses into the capture so that these are not 0), then each is timed over the capture in
 * memory (best of N, alternating; CPU time of the timing thread on both sides), and TS/C ratios are
 * printed, with the C reference's per-call share (the same capture with --no-calls). Run after build: node --expose-gc native-bench/out/native.js [--calls N] [--call-duration S]
 *   [--rounds N] [--jitter-ms MS] [--pauses]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { looksLikeSip } from '../../dist/sip/index.js';
import { benchConfig, benchPipeline, collectEnded, collectFaultReports, collectFinals, diffStream, FAULT_RULES, gc, keepAlive, liveBatches, liveRun, replayBuffer, streamKeyOf, streamResults, threadCpuNs, writeBenchScenario, type StreamFinal, type StreamResult } from './pipeline.js';
import { argNumber, argString } from './args.js';
import { cutPauses } from './pauses.js';
import { raiseLiveInlining } from '../../dist/rtp/hot-path-inlining.js';

const calls = argNumber('calls', 1000);
const callDurationS = argNumber('call-duration', 12);
const rounds = argNumber('rounds', 5);
/** Network jitter of the generated capture (ms); 5 for the figures, larger to exercise the buffers' discards. */
const jitterMs = argNumber('jitter-ms', 5);
/** Pauses cut into the capture (pauses.ts): silences, senders stopping, outages; the identity check then covers the media-fault checks where they fire. */
const pauses = process.argv.includes('--pauses');
const nativeDir = fileURLToPath(new URL('../', import.meta.url));
/** The CLI's defaults (stream table of 40,000 slots); the C reference gets the same table size. */
const config = benchConfig();
/** The C reference emulates the jitter buffers when the configuration does (qos.jitter_buffers.emulate). */
const jbOn = config.qos.jitterBuffers.emulate;

interface NativeRun {
  packets: number;
  rtp: number;
  streams: number;
  bestNs: number;
  results: Map<string, StreamResult>;
  /** Per stream, with the per-call work: its Call-ID ('' none) and, once its final report is built, its MOS per buffer. */
  finals: Map<string, Partial<StreamFinal> & { callId: string }>;
  /** With the per-call work: the fault reports made, per rule of FAULT_RULES [ALERT, CLEARED]. */
  faults: number[][] | null;
}

/** `calls`: with the per-call work (rtpbench's default), else --no-calls. */
function runNative(file: string, repeat: number, dump: boolean, decodeOnly = false, calls = true): NativeRun {
  const out = execFileSync(join(nativeDir, 'rtpbench'), [file, '--repeat', String(repeat), '--max-streams', String(config.rtp.maxStreams), ...(dump ? ['--dump'] : []), ...(decodeOnly ? ['--decode-only'] : []), ...(jbOn ? [] : ['--no-jb']), ...(calls ? [] : ['--no-calls'])], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = out.trim().split('\n');
  const head = Object.fromEntries(lines[0].split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  const results = new Map<string, StreamResult>();
  const finals: NativeRun['finals'] = new Map();
  for (const l of lines.slice(1)) {
    const words = l.split(' ');
    const tagged = (tag: string) => words.find((w) => w.startsWith(tag))?.slice(tag.length);
    const [src, sp, dst, dp, ssrc, packets, lost, maxD, maxJ, meanJ, meanD, ...disc] = words.filter((w) => !w.includes('='));
    const key = streamKeyOf(src, +sp, dst, +dp, +ssrc);
    results.set(key, { key, packets: +packets, lost: +lost, maxDeltaMs: +maxD, maxJitterMs: +maxJ, meanJitterMs: +meanJ, meanDeltaMs: +meanD, ...(disc.length === 6 ? { discards: disc.slice(0, 3).map(Number), burstR: disc.slice(3).map(Number) } : {}) });
    const callId = tagged('cid=');
    const mos = tagged('mos=');
    const sil = tagged('sil=');
    const oneWay = tagged('ow=');
    if (callId !== undefined) {
      finals.set(key, {
        callId,
        ...(mos !== undefined ? { mos: mos.split(',').map(Number) } : {}),
        ...(sil !== undefined ? { silences: sil.split(',').map(Number) } : {}),
        ...(oneWay !== undefined ? { oneWay: Number(oneWay) } : {}),
      });
    }
  }
  const faultWords = lines[0].split(' ').find((w) => w.startsWith('faults='))?.slice('faults='.length).split(',').map(Number);
  const faults = faultWords === undefined ? null : FAULT_RULES.map((_, r) => [faultWords[2 * r], faultWords[2 * r + 1]]);
  return { packets: head.packets, rtp: head.rtp, streams: head.streams, bestNs: head.best_ns, results, finals, faults };
}

/**
 * Where a stream's final report differs, C against the probe: its Call-ID, MOS per buffer (to `tol`),
 * SILENCES, SILENCE_MS and MAX_SILENCE_MS (the lengths to `tol` ms), ONE_WAY_RTP.
 */
function diffFinal(c: NativeRun['finals'] extends Map<string, infer F> ? F : never, ts: StreamFinal, tol = 1e-6): string[] {
  const bad: string[] = [];
  if (c.callId !== ts.callId) bad.push(`Call-ID '${c.callId}' vs '${ts.callId}'`);
  if (c.mos === undefined) bad.push('no final report in C');
  else ts.mos.forEach((m, b) => { if (!(Math.abs(m - c.mos![b]) <= tol)) bad.push(`MOS ${['F1', 'F2', 'ADAPT'][b]} ${c.mos![b]} vs ${m}`); });
  if (c.silences === undefined) bad.push('no silences in C');
  else ts.silences.forEach((v, i) => { if (!(Math.abs(v - c.silences![i]) <= tol)) bad.push(`${['SILENCES', 'SILENCE_MS', 'MAX_SILENCE_MS'][i]} ${c.silences![i]} vs ${v}`); });
  if (c.oneWay !== ts.oneWay) bad.push(`ONE_WAY_RTP ${c.oneWay} vs ${ts.oneWay}`);
  return bad;
}

/**
 * The loop without the engine, cut at each stage so the split figures can subtract (the same one-pass
 * record walk as Pipeline.processRecords): `walk` reads the records and touches one byte per packet, `decode`
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

/** Timed paths: [mode, label, target note]. */
const MODES: Array<[ChildMode, string, string]> = [
  ['replay', 'replay path (Pipeline.processRecords; V8 defaults, as replay)', '  (target <= 1.5, >= 10 Mpps)'],
  ['live', 'live path (Pipeline.processBatch; inlining as `run` sets it)', '  (target <= 1.6, >= 10 Mpps)'],
  ['live-v8-defaults', 'live path with V8\'s default inlining limits', ''],
  ['replay-raised', 'replay path with the live inlining limits', ''],
];
type ChildMode = 'replay' | 'live' | 'live-v8-defaults' | 'replay-raised';
interface ChildTiming {
  ts: number;
  c: number;
  /** The C reference without the per-call work (--no-calls). */
  cNoCalls: number;
  cDecode?: number;
  stages?: Record<Stage, number>;
}

/** One timed path, alternating with the C reference: prints a ChildTiming as JSON (ms). */
function child(mode: ChildMode, file: string): void {
  if (mode === 'live' || mode === 'replay-raised') raiseLiveInlining();
  const data = readFileSync(file);
  const batches = mode.startsWith('live') ? liveBatches(data) : [];
  const t: ChildTiming = { ts: Infinity, c: Infinity, cNoCalls: Infinity };
  const split = mode === 'replay';
  if (split) {
    t.cDecode = Infinity;
    t.stages = { walk: Infinity, decode: Infinity, screen: Infinity };
  }
  for (let r = 0; r < rounds + 1; r++) {
    // Best of 3 passes inside each C process: its first pass over freshly read memory is not steady state
    // (the TypeScript side walks the same buffer every round).
    t.c = Math.min(t.c, runNative(file, 3, false).bestNs / 1e6);
    t.cNoCalls = Math.min(t.cNoCalls, runNative(file, 3, false, false, false).bestNs / 1e6);
    if (split) {
      t.cDecode = Math.min(t.cDecode!, runNative(file, 3, false, true).bestNs / 1e6);
      for (const stage of ['walk', 'decode', 'screen'] as const) {
        gc();
        const d = new PartialLoop();
        keepAlive.push(d);
        const t1 = threadCpuNs();
        d.run(data, stage);
        t.stages![stage] = Math.min(t.stages![stage], (threadCpuNs() - t1) / 1e6);
      }
    }
    gc();
    const p = benchPipeline(config);
    if (r < 2) keepAlive.push(p); // see keepAlive
    const t0 = threadCpuNs();
    if (mode.startsWith('live')) liveRun(p, batches);
    else replayBuffer(p, data);
    const ms = (threadCpuNs() - t0) / 1e6;
    if (r > 0) t.ts = Math.min(t.ts, ms); // round 0 warms the JIT up
  }
  console.log(JSON.stringify(t));
}

function main(): void {
  console.log('== the probe\'s packet path vs the C reference (decode + SIP screen + RTP metrics + jitter buffers + per-call work, one core, capture in memory) ==');
  execFileSync('make', ['-s', '-C', nativeDir], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-native-'));
  try {
    const file = join(dir, 'scenario.pcap');
    const stats = writeBenchScenario(file, calls, callDurationS, jitterMs);
    if (pauses) {
      const cut = cutPauses(file);
      stats.records -= cut.records;
      stats.rtpPackets -= cut.rtpPackets;
      stats.rtpStreams -= cut.rtpStreams;
    }
    const data = readFileSync(file);
    const pauseNote = pauses ? ', pauses cut into a third of the streams, 4 % of the calls without media' : '';
    console.log(`input: ${calls} concurrent calls x ${callDurationS} s G.711 (1 % bursty loss, ${jitterMs} ms jitter, RTCP${pauseNote}): ${stats.records} packets, ${stats.rtpStreams} RTP streams, ${(data.length / 1e6).toFixed(0)} MB`);

    // 1. Same results, stream by stream: C, replay path, live path.
    const c = runNative(file, 1, true);
    const batches = liveBatches(data);
    const replay = benchPipeline(config);
    const live = benchPipeline(config);
    keepAlive.push(replay, live); // see keepAlive: later rounds' pipelines share these maps
    const endedReplay = collectEnded(replay);
    const endedLive = collectEnded(live);
    const finalsReplay = collectFinals(replay);
    const finalsLive = collectFinals(live);
    const faultsReplay = collectFaultReports(replay);
    const faultsLive = collectFaultReports(live);
    const nReplay = replayBuffer(replay, data);
    const nLive = liveRun(live, batches);
    const ts = streamResults(replay.engine, new Map(endedReplay)) // a copy: finish() below ends the active streams through the same hook;
    if (c.packets !== stats.records || nReplay !== stats.records || nLive !== stats.records) throw new Error(`packet counts differ: C ${c.packets}, replay ${nReplay}, live ${nLive}, file ${stats.records}`);
    if (c.rtp !== stats.rtpPackets) throw new Error(`RTP packets differ: C ${c.rtp}, generated ${stats.rtpPackets}`);
    if (ts.size !== c.results.size || ts.size !== stats.rtpStreams) throw new Error(`stream counts differ: C ${c.results.size}, TS ${ts.size}`);
    let worst = 0;
    const discards = [0, 0, 0];
    for (const [key, a] of ts) {
      const b = c.results.get(key);
      if (b === undefined) throw new Error(`stream ${key} missing in C output`);
      if (jbOn && (a.discards === undefined || b.discards === undefined)) throw new Error(`stream ${key}: jitter-buffer discards missing (TS ${a.discards !== undefined}, C ${b.discards !== undefined})`);
      const bad = diffStream(a, b);
      if (bad.length) throw new Error(`stream ${key} differs: ${bad.join(', ')}`);
      if (a.discards !== undefined) a.discards.forEach((d, i) => (discards[i] += d));
      worst = Math.max(worst, Math.abs(a.meanJitterMs - b.meanJitterMs), Math.abs(a.maxJitterMs - b.maxJitterMs));
    }
    // Every stream's final report: those of calls still lingering at the end of the capture too.
    replay.finish();
    if (finalsReplay.size !== ts.size || c.finals.size !== ts.size) throw new Error(`final reports: replay ${finalsReplay.size}, C ${c.finals.size}, streams ${ts.size}`);
    let worstMos = 0;
    let withCall = 0;
    const faults = { silences: 0, silenceMs: 0, oneWay: 0 };
    for (const [key, f] of finalsReplay) {
      faults.silences += f.silences[0];
      faults.silenceMs += f.silences[1];
      faults.oneWay += f.oneWay;
      const bad = diffFinal(c.finals.get(key) ?? { callId: '(missing)' }, f);
      if (bad.length) throw new Error(`stream ${key}: final report differs from C: ${bad.join(', ')}`);
      f.mos.forEach((m, b) => (worstMos = Math.max(worstMos, Math.abs(m - c.finals.get(key)!.mos![b]))));
      if (f.callId !== '') withCall++;
    }
    const tl = streamResults(live.engine, new Map(endedLive));
    if (tl.size !== ts.size) throw new Error(`live path: ${tl.size} streams, replay path ${ts.size}`);
    for (const [key, a] of tl) {
      const bad = diffStream(a, ts.get(key)!, 0);
      if (bad.length) throw new Error(`live path: stream ${key} differs: ${bad.join(', ')}`);
    }
    live.finish();
    for (const [key, f] of finalsReplay) {
      const l = finalsLive.get(key);
      const bad = l === undefined ? ['no final report'] : diffFinal(l, f, 0);
      if (bad.length) throw new Error(`live path: stream ${key}: final report differs: ${bad.join(', ')}`);
    }
    // The fault reports made (ALERT and CLEARED of each rule): the checks paged the same faults on each side.
    const faultText = (f: number[][] | null) => (f === null ? 'none' : FAULT_RULES.map((rule, r) => `${rule} ${f[r][0]}/${f[r][1]}`).join(', '));
    if (faultText(c.faults) !== faultText(faultsReplay) || faultText(faultsLive) !== faultText(faultsReplay)) {
      throw new Error(`fault reports (ALERT/CLEARED) differ: C ${faultText(c.faults)}; replay ${faultText(faultsReplay)}; live ${faultText(faultsLive)}`);
    }
    const jbNote = jbOn ? `, jitter-buffer discards per buffer (in all: F1 ${discards[0]}, F2 ${discards[1]}, ADAPT ${discards[2]}) and BurstR per buffer` : '';
    console.log(`results identical for all ${ts.size} streams, C / replay path / live path (packets, lost, max delta, max/mean jitter, mean delta${jbNote}; largest jitter difference to C ${worst.toExponential(1)} ms)`);
    console.log(`final reports identical for all ${finalsReplay.size} streams, C / replay path / live path (Call-ID: ${withCall} streams with one; final MOS per buffer, largest difference to C ${worstMos.toExponential(1)};` +
      ` SILENCES, SILENCE_MS, MAX_SILENCE_MS, ONE_WAY_RTP: in all ${faults.silences} silences of ${(faults.silenceMs / 1000).toFixed(1)} s, ${faults.oneWay} streams one-way at their end)`);
    console.log(`fault reports identical, C / replay path / live path (ALERT/CLEARED: ${faultText(faultsReplay)})`);
    console.log(`jitter-buffer emulation (qos.jitter_buffers.emulate): ${jbOn ? 'on in both the probe and the C reference' : 'off in both'}`);

    // 2. Timing: each path in its own process (V8 flags are process-wide, and each mode sets its own, as the
    // CLI does), alternating with the C reference there so both see the same machine load.
    const n = stats.records;
    const per = (ms: number) => ((ms * 1e6) / n).toFixed(1);
    const mpps = (ms: number) => (n / ms / 1000).toFixed(2);
    console.log(`timing: best of ${rounds} rounds, CPU time of the timing thread; each row is TS / C of its own process`);
    console.log(`${'path'.padEnd(58)} ${'TS ns/pkt'.padStart(9)} ${'Mpps'.padStart(6)} ${'C ns/pkt'.padStart(9)}  TS/C`);
    for (const [mode, label, target] of MODES) {
      const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', mode, '--file', file, '--rounds', String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const t = JSON.parse(out.trim().split('\n').pop()!) as ChildTiming;
      console.log(`${label.padEnd(58)} ${per(t.ts).padStart(9)} ${mpps(t.ts).padStart(6)} ${per(t.c).padStart(9)}  ${(t.ts / t.c).toFixed(2)}${target}`);
      console.log(`  C per-call work (SIP, RTCP, interval scoring, final reports, media faults): ${per(t.c - t.cNoCalls)} ns/pkt, ${((100 * (t.c - t.cNoCalls)) / t.c).toFixed(0)} % of the C reference (with ${per(t.c)}, --no-calls ${per(t.cNoCalls)}); TS / C without it ${(t.ts / t.cNoCalls).toFixed(2)}`);
      if (t.stages) {
        const st = t.stages;
        console.log(`  split: record walk + decode + SIP screen  C ${per(t.cDecode!)} ns, TS ${per(st.screen)} ns (walk ${per(st.walk)}, decode ${per(st.decode - st.walk)}, screen ${per(st.screen - st.decode)});` +
          ` the rest (C: RTP engine and per-call work; TS: engine, SIP/RTCP handling, ticks, reports)  C ${per(t.c - t.cDecode!)} ns, TS ${per(t.ts - st.screen)} ns`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childMode = argString('child', '');
if (childMode !== '') child(childMode as ChildMode, argString('file', ''));
else main();
