/**
 * Benchmark of decode + RTP engine over an in-memory capture of many G.711 streams (not a test).
 * Run after build: node --expose-gc native-bench/out/engine.js [streams] [packetsPerStream]
 * Reported as ratios against a reference loop measured in the same run: the reference touches every
 * packet's RTP header (sequence, timestamp, SSRC) into a typed array, the least any analysis must do.
 * Last, the engine alone: every packet decoded once beforehand into typed arrays, then only
 * engine.onRtp is timed (one DecodedPacket refilled per call, the refill timed alone and subtracted),
 * steady state (every stream started untimed), best of 7.
 */
import { classicPcap, rtp, udpFrame, type PcapRecord } from '../../dist/gen/index.js';
import { elapsedMs, keepAlive } from './pipeline.js';
import { readCaptureBuffer } from '../../dist/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { RtpEngine } from '../../dist/rtp/index.js';

/**
 * A signalled stream counts from its first packet at once (the 2-packet admission off): 2000 streams
 * starting in the same 20 ms would otherwise overflow the candidate cache's sets and lose a few first
 * packets; the per-packet path timed here, that of established streams, is the same.
 */
const ENGINE = { signalledMinConsecutive: 1 } as const;
const streams = Number(process.argv[2] ?? 2000);
const perStream = Number(process.argv[3] ?? 250);

function buildCapture(): Uint8Array {
  const records: PcapRecord[] = [];
  const frames = Array.from({ length: streams }, (_, s) => ({
    src: `10.${1 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`,
    port: 10000 + 2 * (s % 20000),
  }));
  for (let i = 0; i < perStream; i++) {
    for (let s = 0; s < streams; s++) {
      const payload = rtp({ pt: 8, seq: (s * 7 + i) & 0xffff, ts: (s * 1000 + i * 160) >>> 0, ssrc: 0x10000 + s });
      const f = frames[s];
      const tsNs = 1_700_000_000_000_000_000n + BigInt(i) * 20_000_000n + BigInt(s) * 1000n + BigInt((i * 7919 + s) % 3000) * 1000n;
      records.push({ tsNs, data: udpFrame(f.src, f.port, '192.168.1.1', 20000 + 2 * (s % 10000), payload) });
    }
  }
  return new Uint8Array(classicPcap(records));
}

function time(fn: () => number): { ms: number; n: number } {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, n };
}

function reference(data: Uint8Array): number {
  const out = new Uint32Array(3);
  let n = 0;
  for (const b of readCaptureBuffer(data, 'bench')) {
    for (let i = 0; i < b.count; i++) {
      const o = b.offset[i] + 14 + 20 + 8; // Ethernet + IPv4 + UDP, fixed in this capture
      const buf = b.buf;
      out[0] += (buf[o + 2] << 8) | buf[o + 3];
      out[1] += (buf[o + 4] << 24) | (buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7];
      out[2] ^= (buf[o + 8] << 24) | (buf[o + 9] << 16) | (buf[o + 10] << 8) | buf[o + 11];
      n++;
    }
  }
  return n + (out[0] & 0);
}

function decodeOnly(data: Uint8Array): number {
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  let n = 0;
  for (const b of readCaptureBuffer(data, 'bench')) for (let i = 0; i < b.count; i++) if (dec.decode(b, i, pkt)) n++;
  return n;
}

function decodeAndEngine(data: Uint8Array, engine: RtpEngine): number {
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  keepAlive.push(dec, pkt, engine); // see keepAlive: dead rounds' classes would deoptimize the next round
  const n0 = engine.counters.packets; // counted by the engine: a held first packet counts with the second
  for (const b of readCaptureBuffer(data, 'bench')) {
    for (let i = 0; i < b.count; i++) {
      if (dec.decode(b, i, pkt) && pkt.ipProto === 17) engine.onRtp(pkt, true, b.buf);
    }
  }
  return engine.counters.packets - n0;
}

const data = buildCapture();
const total = streams * perStream;
const gc = (globalThis as { gc?: () => void }).gc;
const rounds = 3;
const best = { ref: Infinity, dec: Infinity, eng: Infinity };
let engine = new RtpEngine({ maxStreams: streams, ...ENGINE });
for (let r = 0; r < rounds; r++) {
  gc?.();
  best.ref = Math.min(best.ref, time(() => reference(data)).ms);
  gc?.();
  best.dec = Math.min(best.dec, time(() => decodeOnly(data)).ms);
  gc?.();
  engine = new RtpEngine({ maxStreams: streams, ...ENGINE });
  const heap0 = process.memoryUsage().heapUsed;
  const e = time(() => decodeAndEngine(data, engine));
  if (e.n !== total) throw new Error(`engine counted ${e.n} of ${total}`);
  best.eng = Math.min(best.eng, e.ms);
  if (r === rounds - 1) console.log(`heap growth during the engine run: ${((process.memoryUsage().heapUsed - heap0) / 1024).toFixed(0)} KiB${gc ? '' : ' (no --expose-gc)'}`);
}
const pps = (ms: number) => (total / ms) * 1000;
const engineOnlyMs = best.eng - best.dec;
console.log(`${streams} streams x ${perStream} packets = ${total} packets, capture ${(data.length / 1e6).toFixed(1)} MB`);
console.log(`reference loop (read RTP header fields): ${(pps(best.ref) / 1e6).toFixed(2)} Mpps`);
console.log(`decode only:            ${(pps(best.dec) / 1e6).toFixed(2)} Mpps  (${(best.dec / best.ref).toFixed(2)}x reference time)`);
console.log(`decode + engine:        ${(pps(best.eng) / 1e6).toFixed(2)} Mpps  (${(best.eng / best.ref).toFixed(2)}x reference time)`);
console.log(`engine share per packet: ${((engineOnlyMs * 1e6) / total).toFixed(0)} ns (${(engineOnlyMs / best.ref).toFixed(2)}x reference time)`);
const bd = engine.stateBreakdown();
console.log(
  `engine state: ${(bd.total / 1024 / 1024).toFixed(2)} MiB for ${streams} slots = ${bd.perStream.toFixed(1)} bytes per stream ` +
    `(record ${((bd.recordHot + bd.recordCold) / streams).toFixed(0)}, indexes ${((bd.streamIndex + bd.tupleIndex) / streams).toFixed(1)}, lists ${(bd.lists / streams).toFixed(0)}) + ${bd.fixed} B fixed`,
);

/** The decoded fields onRtp reads, for every packet of `data`, so the engine can be timed alone. */
interface Predecoded {
  pkt: DecodedPacket;
  buf: Uint8Array;
  n: number;
  /** payload offset, payload length, source port, destination port (small integers as the decoder stores them). */
  ints: Int32Array;
  /** capture seconds, nanoseconds, IPv4 source and destination words. */
  nums: Float64Array;
}

function predecode(data: Uint8Array): Predecoded {
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const ints: number[] = [];
  const nums: number[] = [];
  let buf: Uint8Array = new Uint8Array(0);
  for (const b of readCaptureBuffer(data, 'bench')) {
    buf = b.buf;
    for (let i = 0; i < b.count; i++) {
      if (!dec.decode(b, i, pkt) || pkt.payloadBuf !== b.buf) throw new Error('engine-only timing needs undamaged UDP frames');
      ints.push(pkt.payloadOffset, pkt.payloadLength, pkt.srcPort, pkt.dstPort);
      nums.push(pkt.tsSec, pkt.tsNsec, pkt.src3, pkt.dst3);
    }
  }
  return { pkt, buf, n: ints.length / 4, ints: Int32Array.from(ints), nums: Float64Array.from(nums) };
}

/** Refill the packet from row i (IPv4: the other address words stay as decoded). */
function refill(p: DecodedPacket, d: Predecoded, i: number): void {
  const o = i * 4;
  p.payloadOffset = d.ints[o];
  p.payloadLength = d.ints[o + 1];
  p.srcPort = d.ints[o + 2];
  p.dstPort = d.ints[o + 3];
  p.tsSec = d.nums[o];
  p.tsNsec = d.nums[o + 1];
  p.src3 = d.nums[o + 2];
  p.dst3 = d.nums[o + 3];
}

function engineAlone(): void {
  const all = predecode(data);
  const first = streams; // the first round starts every stream: untimed
  let bestEngine = Infinity;
  let bestRefill = Infinity;
  const p = all.pkt;
  p.payloadBuf = all.buf;
  for (let r = 0; r < 8; r++) {
    gc?.();
    const e = new RtpEngine({ maxStreams: streams, ...ENGINE });
    keepAlive.push(e);
    for (let i = 0; i < first; i++) {
      refill(p, all, i);
      e.onRtp(p, true, all.buf);
    }
    let t0 = process.hrtime.bigint();
    for (let i = first; i < all.n; i++) {
      refill(p, all, i);
      e.onRtp(p, true, all.buf);
    }
    const engineMs = elapsedMs(t0);
    let sink = 0;
    t0 = process.hrtime.bigint();
    for (let i = first; i < all.n; i++) {
      refill(p, all, i);
      sink += p.payloadLength;
    }
    const refillMs = elapsedMs(t0);
    if (e.counters.packets !== all.n || sink === 0) throw new Error(`engine counted ${e.counters.packets} of ${all.n}`);
    if (r === 0) continue; // JIT warm-up
    bestEngine = Math.min(bestEngine, engineMs);
    bestRefill = Math.min(bestRefill, refillMs);
  }
  const timed = all.n - first;
  console.log(`engine alone (onRtp only, steady state): ${(((bestEngine - bestRefill) * 1e6) / timed).toFixed(1)} ns per packet (refill of the packet fields ${((bestRefill * 1e6) / timed).toFixed(1)} ns, subtracted)`);
}

engineAlone();
