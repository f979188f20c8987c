/**
 * Cost per packet with a FULL stream table under churn, against the same traffic with the table half
 * full. Streams come and go: `--live` lanes (default half the table) each carry one stream at a time,
 * `--life` packets long (G.711 20 ms frames, lanes interleaved as on a real link); when a lane's stream
 * ends the next one starts on a new SSRC. Two runs over the same bytes, same per-packet loop
 * (decode -> SIP screen -> RtpEngine.onRtp as signalled, as the probe's pipeline):
 *  - half: each stream is ended after its last packet (a BYE), so the table stays half full;
 *  - full: nobody ends them (calls that vanished without a BYE), the table fills with silent streams and
 *    every new stream must evict one (the engine's eviction is what differs).
 * A third run adds a random-SSRC flood on the same ports (one packet per SSRC, `--flood` packets in 10)
 * to the full table: the cost per packet of the whole mix. Target: full <= 1.5 x half.
 * Run after build: node --expose-gc native-bench/out/churn.js [--slots 10000] [--life 50] [--rounds 200] [--repeat 5]
 */
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { rtp, udpFrame } from '../../dist/gen/index.js';
import { RtpEngine } from '../../dist/rtp/index.js';
import { looksLikeSip } from '../../dist/sip/index.js';
import { elapsedMs, gc, keepAlive } from './pipeline.js';
import { argNumber } from './args.js';

const slots = argNumber('slots', 10000);
const live = argNumber('live', slots / 2);
const life = argNumber('life', 50);
const timedRounds = argNumber('rounds', 200);
const repeat = argNumber('repeat', 5);
const floodPer10 = argNumber('flood', 1);
const RTP_AT = 14 + 20 + 8;

interface Capture {
  data: Uint8Array;
  /** 1 where the packet is the last of its stream. */
  last: Uint8Array;
  packets: number;
}

/**
 * Rounds [first, first + rounds) of the lanes as a classic pcap; with `flood`, that many random-SSRC
 * packets per 10 lane packets are interleaved (same address and ports as lane 0's stream).
 */
function capture(first: number, rounds: number, flood: number): Capture {
  const payload = new Uint8Array(160);
  const templates = Array.from({ length: live }, (_, s) =>
    udpFrame(`10.1.${(s >> 8) & 255}.${s & 255}`, 10000 + 2 * (s % 20000), `10.2.${(s >> 8) & 255}.${s & 255}`, 30000 + 2 * (s % 15000), rtp({ pt: 0, seq: 0, ts: 0, ssrc: 1, payload })),
  );
  const frameLen = templates[0].length;
  const lanePackets = live * rounds;
  const total = lanePackets + Math.floor((lanePackets * flood) / 10);
  const out = new Uint8Array(24 + total * (16 + frameLen));
  const last = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let o = 24;
  let n = 0;
  let rnd = 0x2545f491 ^ first;
  const put = (us: number, tpl: Uint8Array, ssrc: number, seq: number, ts: number): void => {
    dv.setUint32(o, 1_700_000_000 + Math.floor(us / 1e6), true);
    dv.setUint32(o + 4, us % 1e6, true);
    dv.setUint32(o + 8, frameLen, true);
    dv.setUint32(o + 12, frameLen, true);
    o += 16;
    out.set(tpl, o);
    dv.setUint16(o + RTP_AT + 2, seq & 0xffff);
    dv.setUint32(o + RTP_AT + 4, ts >>> 0);
    dv.setUint32(o + RTP_AT + 8, ssrc >>> 0);
    o += frameLen;
    n++;
  };
  let acc = 0;
  for (let r = first; r < first + rounds; r++) {
    for (let s = 0; s < live; s++) {
      // Lane s's streams are staggered by s so that stream ends spread evenly over the rounds.
      const k = r + (s % life);
      const gen = Math.floor(k / life);
      const i = k % life;
      const us = r * 20_000 + Math.floor((s * 20_000) / live);
      if (i === life - 1) last[n] = 1;
      put(us, templates[s], (s << 12) + gen + 1, i, i * 160);
      acc += flood;
      while (acc >= 10) {
        acc -= 10;
        rnd ^= rnd << 13; rnd ^= rnd >>> 17; rnd ^= rnd << 5;
        put(us, templates[0], rnd | 0x80000000, rnd & 0xffff, rnd);
      }
    }
  }
  return { data: out.subarray(0, o), last: last.subarray(0, n), packets: n };
}

/** The probe's per-packet loop; `endAtLast` ends each stream after its last packet (half-full variant). */
function run(engine: RtpEngine, c: Capture, dec: PacketDecoder, pkt: DecodedPacket, endAtLast: boolean): number {
  const cur = new CaptureCursor(c.data, 'bench');
  const last = c.last;
  let i = 0;
  let rtpCount = 0;
  while (cur.next()) {
    if (dec.decodeFrame(c.data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) && pkt.ipProto === 17 &&
      !looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
      const slot = engine.onRtp(pkt, true, c.data);
      if (slot >= 0) rtpCount++;
      if (last[i] === 1 && endAtLast && slot >= 0) engine.endStream(slot, 0);
    }
    i++;
  }
  return rtpCount;
}

interface Variant {
  name: string;
  endAtLast: boolean;
  warm: Capture;
  timed: Capture;
  best: number;
  evicted: number;
  active: number;
  heldBack: number;
}

function measure(v: Variant): void {
  gc();
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const engine = new RtpEngine({ maxStreams: slots });
  keepAlive.push(dec, pkt, engine);
  run(engine, v.warm, dec, pkt, v.endAtLast); // fills the table (full variants): not timed
  const ev0 = engine.counters.evicted;
  const pend0 = engine.counters.heldBack;
  gc();
  const t0 = process.hrtime.bigint();
  run(engine, v.timed, dec, pkt, v.endAtLast);
  const ms = elapsedMs(t0);
  v.best = Math.min(v.best, (ms * 1e6) / v.timed.packets);
  v.evicted = engine.counters.evicted - ev0;
  v.heldBack = engine.counters.heldBack - pend0;
  v.active = engine.activeStreams;
}

function main(): void {
  // Warm-up long enough that the full variants' table is full of silent streams before timing starts.
  const warmRounds = Math.ceil((2 * slots) / live) * life;
  console.log(`== churn: cost per packet, full vs half-full stream table (${slots} slots, ${live} live streams of ${life} packets, ${timedRounds} rounds timed, best of ${repeat}) ==`);
  const plain = { warm: capture(0, warmRounds, 0), timed: capture(warmRounds, timedRounds, 0) };
  const flooded = { warm: capture(0, warmRounds, floodPer10), timed: capture(warmRounds, timedRounds, floodPer10) };
  const vs: Variant[] = [
    { name: 'half', endAtLast: true, ...plain, best: Infinity, evicted: 0, active: 0, heldBack: 0 },
    { name: 'full', endAtLast: false, ...plain, best: Infinity, evicted: 0, active: 0, heldBack: 0 },
    { name: `full+flood(${floodPer10}/10)`, endAtLast: false, ...flooded, best: Infinity, evicted: 0, active: 0, heldBack: 0 },
  ];
  for (const v of vs) measure(v); // JIT warm-up
  for (const v of vs) v.best = Infinity;
  for (let r = 0; r < repeat; r++) for (const v of r % 2 === 0 ? vs : [...vs].reverse()) measure(v);
  console.log('variant                 ns/pkt   packets_timed  active_at_end  evictions  held_in_probation');
  for (const v of vs) {
    console.log(`${v.name.padEnd(20)} ${v.best.toFixed(1).padStart(9)} ${String(v.timed.packets).padStart(15)} ${String(v.active).padStart(14)} ${String(v.evicted).padStart(10)} ${String(v.heldBack).padStart(18)}`);
  }
  const ratio = vs[1].best / vs[0].best;
  console.log(`full/half cost per packet: ${ratio.toFixed(2)} (target <= 1.5); new streams per timed packet: ${(1 / life).toFixed(3)}`);
  if (vs[1].active !== slots) console.log(`!! full variant ended with ${vs[1].active} of ${slots} slots active: the table was not full`);
}

main();
