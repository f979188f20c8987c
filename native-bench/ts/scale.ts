/**
 * Cost per packet as the number of concurrent streams grows (1k, 10k, 100k by default) and the engine's
 * memory per stream, through the probe's replay path (Pipeline.processRecords, the CLI's defaults; the
 * stream table sized to at least the streams). Every configuration times the same number of packets (G.729 20 ms frames, streams
 * interleaved as on a real link) AFTER every stream has started, so the figure is steady-state cost, not
 * stream creation (the heuristic starts every stream in the untimed warm-up, each stream's first packets
 * back to back so its candidate cache is not what is measured); the decode + SIP screen loop over the same bytes is the reference measured in the same
 * run, so the engine's own share is visible. Target: cost within 25 % across the sizes.
 * The C reference (native-bench/rtpbench, same per-stream state and formulas) runs over the same bytes,
 * streams started untimed the same way (--warm), for its own whole-loop and engine cost (--no-c: skip).
 * Run after build: node --expose-gc native-bench/out/scale.js [--packets N] [--sizes 1000,10000,100000] [--rounds 5] [--no-c]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { rtp, udpFrame } from '../../dist/gen/index.js';
import type { Pipeline } from '../../dist/pipeline/index.js';
import { looksLikeSip } from '../../dist/sip/index.js';
import { benchConfig, benchPipeline, elapsedMs, gc, keepAlive, replayBuffer } from './pipeline.js';
import { argString, argNumber } from './args.js';

const measured = argNumber('packets', 1000000);
const sizes = argString('sizes', '1000,10000,100000').split(',').map(Number);
const rounds = argNumber('rounds', 5);
const withC = !process.argv.includes('--no-c');
const nativeDir = fileURLToPath(new URL('../', import.meta.url));
/** Packets per stream in the untimed warm-up: enough for the heuristic (min_consecutive 4) to start it. */
const WARM_ROUNDS = 6;
const tableSize = (streams: number) => Math.max(benchConfig().rtp.maxStreams, streams);

/** Best ns per timed packet of the C reference over warm + data (warm records untimed). */
function cNs(dir: string, warm: Uint8Array, data: Uint8Array, streams: number, timed: number, decodeOnly: boolean): number {
  const file = join(dir, 'scale.pcap');
  const all = new Uint8Array(warm.length + data.length - 24);
  all.set(warm, 0);
  all.set(data.subarray(24), warm.length);
  writeFileSync(file, all);
  // --no-calls: the engine's steady state, as the TypeScript side's (no SIP in this capture; the probe's
  // interval scoring of these streams is not what this bench compares).
  const args = [file, '--repeat', String(rounds), '--warm', String(WARM_ROUNDS * streams), '--max-streams', String(tableSize(streams)), '--no-calls', ...(decodeOnly ? ['--decode-only'] : [])];
  const out = execFileSync(join(nativeDir, 'rtpbench'), args, { encoding: 'utf8' });
  const best = Number(/best_ns=(\d+)/.exec(out)![1]);
  if (Number(/malformed=(\d+)/.exec(out)![1]) !== 0) throw new Error(`C reference ran out of stream slots: ${out}`);
  return best / timed;
}
const RTP_AT = 14 + 20 + 8;

/**
 * Classic pcap of `rounds` packets per stream starting at round `first`, streams interleaved (or, with
 * `byStream`, each stream's packets back to back).
 */
function capture(streams: number, first: number, rounds: number, templates: Uint8Array[], byStream = false): Uint8Array {
  const frameLen = templates[0].length;
  const out = new Uint8Array(24 + streams * rounds * (16 + frameLen));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let o = 24;
  for (let i = 0; i < streams * rounds; i++) {
    const r = first + (byStream ? i % rounds : Math.floor(i / streams));
    const s = byStream ? Math.floor(i / rounds) : i % streams;
    {
      const us = r * 20_000 + Math.floor((s * 20_000) / streams) + ((s * 7919 + r * 31) % 500); // up to 0.5 ms jitter
      dv.setUint32(o, 1_700_000_000 + Math.floor(us / 1e6), true);
      dv.setUint32(o + 4, us % 1e6, true);
      dv.setUint32(o + 8, frameLen, true);
      dv.setUint32(o + 12, frameLen, true);
      o += 16;
      out.set(templates[s], o);
      const seq = (s + r) & 0xffff;
      const ts = (s * 977 + r * 160) >>> 0;
      out[o + RTP_AT + 2] = seq >> 8;
      out[o + RTP_AT + 3] = seq & 0xff;
      dv.setUint32(o + RTP_AT + 4, ts);
      o += frameLen;
    }
  }
  return out;
}

/** The whole loop up to the engine, with the same one-pass record walk as Pipeline.processRecords. */
function decodeAndScreen(data: Uint8Array, dec: PacketDecoder, pkt: DecodedPacket): number {
  let n = 0;
  const cur = new CaptureCursor(data, 'bench');
  while (cur.next()) {
    if (dec.decodeFrame(data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) && pkt.ipProto === 17 &&
      !looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) n++;
  }
  return n;
}

interface Size {
  streams: number;
  warm: Uint8Array;
  data: Uint8Array;
  timed: number;
  bestRef: number;
  bestFull: number;
  pipeline: Pipeline | null;
}

/** One timed round of one size: the decode + screen reference, then the whole loop on a fresh engine. */
function measure(z: Size): void {
  gc();
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  keepAlive.push(dec, pkt);
  let t0 = process.hrtime.bigint();
  decodeAndScreen(z.data, dec, pkt);
  z.bestRef = Math.min(z.bestRef, elapsedMs(t0));
  z.pipeline = null;
  gc();
  const p = (z.pipeline = benchPipeline(benchConfig(tableSize(z.streams))));
  if (keepAlive.length < 4) keepAlive.push(p);
  replayBuffer(p, z.warm); // every stream starts here: creation is not what is timed
  gc();
  t0 = process.hrtime.bigint();
  replayBuffer(p, z.data);
  z.bestFull = Math.min(z.bestFull, elapsedMs(t0));
  const e = p.engine;
  if (e.activeStreams !== z.streams) throw new Error(`expected ${z.streams} streams, got ${e.activeStreams}`);
}

function main(): void {
  console.log(`== scale: steady-state cost per packet vs concurrent streams (${measured} packets timed per size, best of ${rounds}, sizes interleaved) ==`);
  const zs: Size[] = sizes.map((streams) => {
    const payload = new Uint8Array(20); // G.729 20 ms
    const templates = Array.from({ length: streams }, (_, s) =>
      udpFrame(`10.${(s >> 16) & 255}.${(s >> 8) & 255}.${s & 255}`, 10000 + 2 * (s % 25000), `172.16.${(s >> 8) & 255}.${s & 255}`, 20000 + 2 * (s % 20000), rtp({ pt: 18, seq: 0, ts: 0, ssrc: 0x1000 + s, payload })),
    );
    const perStream = Math.max(2, Math.round(measured / streams));
    return { streams, warm: capture(streams, 0, WARM_ROUNDS, templates, true), data: capture(streams, WARM_ROUNDS, perStream, templates), timed: streams * perStream, bestRef: Infinity, bestFull: Infinity, pipeline: null };
  });
  // Untimed first pass (JIT warm-up), then rounds over all sizes in turn, so a busy spell of a shared
  // machine does not land on one size only.
  for (const z of zs) measure(z);
  for (const z of zs) z.bestRef = z.bestFull = Infinity;
  for (let r = 0; r < rounds; r++) for (const z of r % 2 === 0 ? zs : [...zs].reverse()) measure(z);

  console.log('streams   ref_ns/pkt  full_ns/pkt  engine_ns/pkt  full_Mpps  state_bytes/stream   C_full_ns  C_engine_ns');
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-scale-'));
  if (withC) execFileSync('make', ['-s', '-C', nativeDir], { stdio: 'inherit' });
  const breakdown: string[] = [];
  for (const z of zs) {
    const n = z.timed;
    const ns = (ms: number) => (ms * 1e6) / n;
    let cText = '';
    if (withC) {
      const cFull = cNs(dir, z.warm, z.data, z.streams, n, false);
      const cDecode = cNs(dir, z.warm, z.data, z.streams, n, true);
      cText = `${cFull.toFixed(1).padStart(12)} ${(cFull - cDecode).toFixed(1).padStart(12)}`;
    }
    const bd = z.pipeline!.engine.stateBreakdown();
    console.log(
      `${String(z.streams).padStart(7)} ${ns(z.bestRef).toFixed(1).padStart(12)} ${ns(z.bestFull).toFixed(1).padStart(12)} ${(ns(z.bestFull) - ns(z.bestRef)).toFixed(1).padStart(14)} ${(n / z.bestFull / 1000).toFixed(2).padStart(10)} ${bd.perStream.toFixed(1).padStart(19)}${cText}`,
    );
    const per = (b: number) => (b / bd.slots).toFixed(2);
    breakdown.push(
      `state per stream at ${bd.slots} slots: ${bd.perStream.toFixed(2)} B = record hot ${per(bd.recordHot)} + cold ${per(bd.recordCold)} + scratch record ${per(bd.scratch)}` +
        ` + stream index ${per(bd.streamIndex)} + 5-tuple index ${per(bd.tupleIndex)} + slot lists ${per(bd.lists)}; fixed (heuristic candidate cache, scratch key): ${bd.fixed} B`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  for (const line of breakdown) console.log(line);
  const full = zs.map((z) => (z.bestFull * 1e6) / z.timed);
  console.log(`largest/smallest cost per packet: ${(Math.max(...full) / Math.min(...full)).toFixed(2)} (target <= 1.25); state target < 512 bytes/stream`);
}

main();
