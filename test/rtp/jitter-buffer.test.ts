/**
 * Jitter-buffer emulation (src/rtp/jitter-buffer.ts) through the real engine and the real scoring:
 * its field table, zero jitter (no discards, the network-loss MOS exactly), discards against a plain
 * reference model of the buffers written here from the module's description, the adaptive buffer's
 * convergence, and the worked example of the README (10 s of PCMU with 20 delay spikes and a 5-packet loss).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { CodecTable, computeRFactor, estimateOneWayDelay, intervalLossPct } from '../../src/qos/index.js';
import { QosReporter, StreamQosState } from '../../src/report/index.js';
import { RtpEngine, createStreamSnapshot, type StreamSnapshot } from '../../src/rtp/index.js';
import { DEFAULT_JITTER_BUFFER, EARLY_SAMPLES, EDGE_MS, J, JB_FIELDS, jbLayout, JitterBuffers, RESYNC_MS, LO_PCT, HI_PCT, UNDERRUN_DISCARDS } from '../../src/rtp/jitter-buffer.js';
import { synthPacket } from './helpers.js';

const BASE_SEC = 1_700_000_000;

interface Pkt {
  seq: number;
  /** RTP timestamp in samples (8 kHz). */
  ts: number;
  /** Arrival, µs after BASE_SEC. */
  us: number;
  marker?: boolean;
  pt?: number;
}

/** 20 ms PCMU packets: seq i, ts 160 i, sent at 20 ms i, arriving after delayUs(i); `drop` lost in the network. */
function stream(n: number, delayUs: (i: number) => number, drop: (i: number) => boolean = () => false, marker: (i: number) => boolean = () => false): Pkt[] {
  const out: Pkt[] = [];
  for (let i = 0; i < n; i++) {
    if (drop(i)) continue;
    out.push({ seq: (1000 + i) & 0xffff, ts: 160 * i, us: 1_000_000 + 20_000 * i + delayUs(i), marker: marker(i) });
  }
  // Arrival order (stable: equal arrival times keep sequence order).
  return out.sort((a, b) => a.us - b.us);
}

/** Feed packets to a fresh engine; snapshot + interval reset every `every` packets; returns the snapshots. */
function run(pkts: Pkt[], every = Infinity, jitterBuffer: ConstructorParameters<typeof JitterBuffers>[1] = {}): { engine: RtpEngine; snaps: StreamSnapshot[]; final: StreamSnapshot } {
  const engine = new RtpEngine({ maxStreams: 4, jitterBuffer });
  const pkt = new DecodedPacket();
  const snaps: StreamSnapshot[] = [];
  let slot = -1;
  pkts.forEach((p, i) => {
    synthPacket(pkt, rtp({ pt: p.pt ?? 0, seq: p.seq, ts: p.ts, ssrc: 0x1234, marker: p.marker ?? false, payload: new Uint8Array(160) }), p.us, BASE_SEC);
    const s = engine.onRtp(pkt, true);
    if (s >= 0) slot = s;
    if ((i + 1) % every === 0 && slot >= 0) {
      const snap = createStreamSnapshot();
      engine.snapshot(slot, snap);
      snaps.push(snap);
      engine.resetInterval(slot);
    }
  });
  const final = createStreamSnapshot();
  engine.snapshot(slot, final);
  return { engine, snaps, final };
}

/** Arrival time as the engine computes it (ms since the first packet's whole second). */
function arrivalMs(us: number, firstUs: number): number {
  const sec = BASE_SEC + Math.floor(us / 1e6);
  const epoch = BASE_SEC + Math.floor(firstUs / 1e6);
  return (sec - epoch) * 1000 + ((us % 1e6) * 1000) / 1e6;
}

/**
 * The reference: each buffer written out plainly from the description in jitter-buffer.ts (audio only,
 * no duplicates in these streams). Returns discards per buffer [F1, F2, ADAPT].
 */
function referenceDiscards(pkts: Pkt[], o: { f1: number; f2: number; min: number; max: number; margin: number; start: number; history: number }): number[] {
  const firstUs = pkts[0].us;
  const firstTs = pkts[0].ts;
  const tref = arrivalMs(firstUs, firstUs);
  const discards = [0, 0, 0];
  const base = [0, 0];
  const runs = [0, 0, 0]; // late packets in a row per buffer
  let lo = 0;
  let d = Math.fround(Math.min(o.max, Math.max(o.min, o.start)));
  let hist: number[] = [];
  let since = 0;
  const seen = new Set<number>();
  pkts.forEach((p, i) => {
    if (seen.has(p.seq)) return; // a duplicate is not played twice
    seen.add(p.seq);
    const r = arrivalMs(p.us, firstUs) - ((p.ts - firstTs) * 1000) / 8000 - tref;
    const spurt = i === 0 || p.marker === true;
    [o.f1, o.f2].forEach((size, b) => {
      // Delays are kept as float32 (jitter-buffer.ts), so is the anchor here.
      let late = false;
      if (spurt || r < base[b] - size - EDGE_MS || r > base[b] + size + RESYNC_MS) base[b] = Math.fround(r);
      else if (r > base[b] + size + EDGE_MS) {
        if (runs[b] >= UNDERRUN_DISCARDS) base[b] = Math.fround(r); // run dry: playout restarts here
        else late = true;
      }
      if (late) discards[b]++;
      runs[b] = late ? runs[b] + 1 : 0;
    });
    let lateAdapt = false;
    if (hist.length === 0 || r > lo + o.max + RESYNC_MS || r < lo - o.max - RESYNC_MS) {
      hist = [];
      since = 0;
      lo = Math.fround(r);
    } else if (r > lo + d + EDGE_MS) {
      if (runs[2] >= UNDERRUN_DISCARDS) lo = Math.fround(r);
      else lateAdapt = true;
    }
    if (lateAdapt) discards[2]++;
    runs[2] = lateAdapt ? runs[2] + 1 : 0;
    const filling = hist.length < o.history;
    hist.push(Math.fround(r));
    if (hist.length > o.history) hist.shift();
    since++;
    // While it fills: at 8, 16, 32, ... samples and when full; then every history; at talkspurts from 8 on.
    const n = hist.length;
    const grown = filling && n >= EARLY_SAMPLES && ((n & (n - 1)) === 0 || n === o.history);
    if (grown || (!filling && since >= o.history) || (spurt && n >= EARLY_SAMPLES)) {
      since = 0;
      const s = [...hist].sort((a, b) => a - b);
      lo = s[Math.floor(((s.length - 1) * LO_PCT) / 100)];
      const hi = s[Math.ceil(((s.length - 1) * HI_PCT) / 100)];
      d = Math.fround(Math.min(o.max, Math.max(o.min, hi - lo + o.margin)));
    }
  });
  return discards;
}

/** The reference model's options for the buffers' defaults. */
const D = DEFAULT_JITTER_BUFFER;
const DEFAULTS = { f1: D.fixed1Ms, f2: D.fixed2Ms, min: D.adaptiveMinMs, max: D.adaptiveMaxMs, margin: D.adaptiveMarginMs, start: D.adaptiveStartMs, history: D.adaptiveHistory };

/** A deterministic generator (xorshift) for delays. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

const codec = new CodecTable().resolve('PCMU', 0);

/** Scores snapshots as the reporter does; returns the state. */
function score(snaps: StreamSnapshot[], reference = 2): StreamQosState {
  const q = new StreamQosState(4, { fixed1Ms: 50, fixed2Ms: 200, adaptiveMaxMs: 500, reference });
  for (const s of snaps) q.assessInterval(s.slot, s.interval, codec, estimateOneWayDelay(null), s.jb!.interval);
  return q;
}

describe('jitter-buffer state layout', () => {
  it('derives the offsets from the field table; the literals match it and no two fields overlap', () => {
    const l = jbLayout();
    // @ts-expect-error the const enum as an object: tsc erases it, vitest's esbuild emits it as a plain enum
    const lit = J as unknown as Record<string, number>;
    for (const f of l.fields) expect(lit[f.name], f.name).toBe(f.offset);
    expect(l.hotBytes).toBeLessThanOrEqual(lit.HOT_BYTES);
    expect(l.coldBytes).toBeLessThanOrEqual(lit.COLD_BYTES);
    expect(lit.HOT_BYTES % 64).toBe(0); // whole cache lines
    expect([lit.HOT_D, lit.HOT_W, lit.COLD_D, lit.COLD_W]).toEqual([lit.HOT_BYTES / 8, lit.HOT_BYTES / 4, lit.COLD_BYTES / 8, lit.COLD_BYTES / 4]);
    for (const part of ['hot', 'cold'] as const) {
      // Byte ranges of every field of the part, float64 and int32 alike (they share the record).
      const ranges = l.fields.filter((f) => f.part === part).map((f) => {
        const size = f.view === 'f64' ? 8 : 4;
        return { name: f.name, from: f.offset * size, to: (f.offset + f.count) * size };
      }).sort((a, b) => a.from - b.from);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i].from, `${ranges[i - 1].name} / ${ranges[i].name}`).toBeGreaterThanOrEqual(ranges[i - 1].to);
      expect(ranges.at(-1)!.to).toBeLessThanOrEqual(part === 'hot' ? lit.HOT_BYTES : lit.COLD_BYTES);
    }
    expect(new Set(JB_FIELDS.map((f) => f[0])).size).toBe(JB_FIELDS.length);
  });

  it('states its memory per stream: records plus 4 bytes per history entry', () => {
    const jb = new JitterBuffers(1000, { adaptiveHistory: 64 });
    expect(jb.bytesPerStream).toBe(J.HOT_BYTES + J.COLD_BYTES + 64 * 4);
    expect(jb.byteSize - 1000 * jb.bytesPerStream).toBeLessThan(512); // shared percentile and resolve scratch, not per stream
    const bd = new RtpEngine({ maxStreams: 1000 }).stateBreakdown();
    expect(bd.jitterBuffer).toBe(jb.byteSize);
    expect(new RtpEngine({ maxStreams: 1000, jitterBuffer: null }).stateBreakdown().jitterBuffer).toBe(0);
  });
});

describe('zero jitter', () => {
  it('discards nothing and scores every buffer at exactly the network-loss MOS, interval by interval', () => {
    const r = rng(7);
    const lost = new Set<number>();
    for (let i = 30; i < 3000; i++) {
      if (r() < 0.02) for (let k = 0, n = 1 + Math.floor(r() * 4); k < n; k++) lost.add(i + k);
    }
    const { snaps } = run(stream(3000, () => 0, (i) => lost.has(i)), 250);
    expect(snaps.length).toBeGreaterThan(8);
    const q = new StreamQosState(4);
    let lossy = 0;
    for (const s of snaps) {
      expect(s.jb!.interval.discards).toEqual([0, 0, 0]);
      for (let b = 0; b < 3; b++) expect(s.jb!.interval.burstR[b], `burstR ${b}`).toBe(s.interval.burstR);
      q.assessInterval(s.slot, s.interval, codec, estimateOneWayDelay(null), s.jb!.interval);
      for (let b = 0; b < 3; b++) expect(q.lastMosB[s.slot * 3 + b]).toBe(q.lastNetMos[s.slot]);
      expect(q.lastMos[s.slot]).toBe(q.lastNetMos[s.slot]);
      if (s.interval.lost > 0) lossy++;
    }
    expect(lossy).toBeGreaterThan(5); // the MOS compared is not the trivial no-loss one
  });

  it("with delay_in_mos, scores each buffer at exactly the network-loss MOS at that buffer's delay", () => {
    const r = rng(9);
    const lost = new Set<number>();
    for (let i = 30; i < 1500; i++) if (r() < 0.03) lost.add(i);
    const { snaps } = run(stream(1500, () => 0, (i) => lost.has(i)), 250);
    const q = new StreamQosState(4, { fixed1Ms: 50, fixed2Ms: 200, adaptiveMaxMs: 500, reference: 2, delayInMos: true });
    snaps.forEach((s, i) => {
      const jb = s.jb!.interval;
      q.assessInterval(s.slot, s.interval, codec, estimateOneWayDelay(null), jb);
      const lossPct = intervalLossPct(s.interval.lost, s.interval.expected);
      [50, 200, jb.adaptiveDelayMs].forEach((delayMs, b) => {
        expect(q.lastMosB[s.slot * 3 + b]).toBe(computeRFactor({ lossPct, burstR: s.interval.burstR, oneWayDelayMs: delayMs, codec }).mos);
      });
      // No jitter: the adaptive buffer plays its first EARLY_SAMPLES - 1 packets at its start delay, then
      // stays at its minimum from its first recompute on.
      const early = EARLY_SAMPLES - 1;
      expect(jb.adaptiveDelayMs).toBeCloseTo(i === 0 ? (early * D.adaptiveStartMs + (250 - early) * D.adaptiveMinMs) / 250 : D.adaptiveMinMs, 9);
    });
  });

  it('gives the RFC 3611 burst/gap metrics of the network loss model (Gmin 16) when nothing is discarded', () => {
    const r = rng(5);
    const lost = new Set<number>();
    for (let i = 10; i < 4000; i++) {
      if (r() < 0.01) for (let k = 0, n = 1 + Math.floor(r() * 6); k < n; k++) lost.add(i + 3 * k);
    }
    const { final } = run(stream(4000, () => 0, (i) => lost.has(i)));
    const c = final.cumulative;
    const x = final.jb!.xr;
    expect(c.burstDensity).toBeGreaterThan(0);
    expect(x.burstDensity).toBeCloseTo(c.burstDensity, 12);
    expect(x.gapDensity).toBeCloseTo(c.gapDensity, 12);
    expect(x.burstDurationMs).toBeCloseTo(c.burstDurationMs, 9);
    expect(x.gapDurationMs).toBeCloseTo(c.gapDurationMs, 9);
  });
});

describe('reordered packets in the loss runs', () => {
  it('a packet played out of order is no loss: every 8th 25 ms late (after the next), none lost or discarded', () => {
    // F1 (50 ms) plays each swapped packet; the network lost nothing. RFC 3611: no packet lost or
    // discarded, so burst and gap density 0, and the buffer's loss runs have no loss (BurstR 1).
    const pkts = stream(500, (i) => (i % 8 === 5 ? 25_000 : 0));
    const { final } = run(pkts, Infinity, { reference: 0 });
    expect(final.cumulative.outOfOrder).toBe(62);
    expect(final.cumulative.lost).toBe(0);
    const jb = final.jb!;
    expect(jb.cumulative.discards[0]).toBe(0);
    expect(jb.xr.burstDensity).toBe(0);
    expect(jb.xr.gapDensity).toBe(0);
    expect(jb.xr.burstDurationMs).toBe(0);
    expect(jb.cumulative.burstR[0]).toBe(1);
  });

  it('losses, reordering inside the window, no discards: the network loss model\'s RFC 3611 figures and BurstR', () => {
    const r = rng(9);
    const lost = new Set<number>();
    for (let i = 10; i < 3000; i++) if (r() < 0.02) for (let k = 0, n = 1 + Math.floor(r() * 4); k < n; k++) lost.add(i + 2 * k);
    // Delays up to 100 ms: packets overtake up to 5 others, F2 (200 ms) discards none.
    const { final, snaps } = run(stream(3000, () => Math.floor(r() * 100_000), (i) => lost.has(i)), 700, { reference: 1 });
    const c = final.cumulative;
    const jb = final.jb!;
    expect(c.outOfOrder).toBeGreaterThan(500);
    expect(jb.cumulative.discards[1]).toBe(0);
    expect(c.burstDensity).toBeGreaterThan(0);
    expect(jb.xr.burstDensity).toBeCloseTo(c.burstDensity, 12);
    expect(jb.xr.gapDensity).toBeCloseTo(c.gapDensity, 12);
    expect(jb.xr.burstDurationMs).toBeCloseTo(c.burstDurationMs, 9);
    expect(jb.xr.gapDurationMs).toBeCloseTo(c.gapDurationMs, 9);
    // Its Gilbert BurstR too, over the stream and in each interval (the network model's, from the same runs).
    expect(jb.cumulative.burstR[1]).toBeCloseTo(c.burstR, 12);
    for (const s of snaps) expect(s.jb!.interval.burstR[1]).toBeCloseTo(s.interval.burstR, 12);
  });
});

describe('outages and sequence restarts (beyond the reorder distance)', () => {
  // 1000 numbers, 20 ms PCMU, no jitter. RFC 3550 A.1 believes a jump past MAX_MISORDER (100) when the
  // next packet follows it: below MAX_DROPOUT (3000) numbers it is an outage (its numbers lost), beyond
  // it a restart (a new segment, nothing lost). Either way the packet that announced the jump is a
  // number played like any other: the buffers' loss runs hold every number the network model does.
  function withJump(jumpFrom: number, skipped: number, restartBy: number, swapAfter: number): Pkt[] {
    const pkts = stream(1000, () => 0, (i) => i >= jumpFrom && i < jumpFrom + skipped);
    for (const p of pkts) if (p.seq - 1000 >= jumpFrom) p.seq = (p.seq + restartBy) & 0xffff;
    // A packet right after the jump arrives after its successor, which comes early (reordered within
    // the window, played by every buffer).
    const k = pkts.findIndex((p) => p.ts === 160 * swapAfter);
    pkts[k + 1].us = pkts[k].us - 1;
    return pkts.sort((a, b) => a.us - b.us);
  }

  it('an outage of 150 numbers: one burst of 150 (3000 ms), gaps of 300 and 550 numbers, as RFC 3611 4.7.2 counts them', () => {
    const { final, snaps } = run(withJump(300, 150, 0, 452), 200);
    const c = final.cumulative;
    const jb = final.jb!;
    expect(c.expected).toBe(1000);
    expect(c.lost).toBe(150);
    expect(c.outOfOrder).toBe(1);
    expect(jb.cumulative.discards).toEqual([0, 0, 0]);
    // Burst: the 150 lost numbers; gaps: 300 numbers before it and 550 after it, 20 ms each.
    expect(jb.xr.burstDensity).toBe(1);
    expect(jb.xr.burstDurationMs).toBe(150 * 20);
    expect(jb.xr.gapDensity).toBe(0);
    expect(jb.xr.gapDurationMs).toBe(((300 + 550) * 20) / 2);
    // Gilbert: 999 transitions, RL 1, LL 149, LR 1, RR 848.
    const burstR = 1 / (1 / 849 + 1 / 150);
    expect(c.burstR).toBeCloseTo(burstR, 12);
    for (let b = 0; b < 3; b++) expect(jb.cumulative.burstR[b], `burstR ${b}`).toBeCloseTo(burstR, 12);
    for (const s of snaps) for (let b = 0; b < 3; b++) expect(s.jb!.interval.burstR[b], `interval burstR ${b}`).toBeCloseTo(s.interval.burstR, 12);
  });

  it('an outage just past the reorder distance (101 numbers), losses and reordering after it: the network loss model\'s figures', () => {
    const lost = new Set([455, 457, 470, 471, 472, 600]);
    const pkts = withJump(300, 101, 0, 402).filter((p) => !lost.has(p.ts / 160));
    const { final, snaps } = run(pkts, 150);
    const c = final.cumulative;
    const jb = final.jb!;
    expect(c.lost).toBe(101 + lost.size);
    expect(jb.xr.burstDensity).toBeCloseTo(c.burstDensity, 12);
    expect(jb.xr.gapDensity).toBeCloseTo(c.gapDensity, 12);
    expect(jb.xr.burstDurationMs).toBeCloseTo(c.burstDurationMs, 9);
    expect(jb.xr.gapDurationMs).toBeCloseTo(c.gapDurationMs, 9);
    for (let b = 0; b < 3; b++) expect(jb.cumulative.burstR[b], `burstR ${b}`).toBeCloseTo(c.burstR, 12);
    for (const s of snaps) for (let b = 0; b < 3; b++) expect(s.jb!.interval.burstR[b], `interval burstR ${b}`).toBeCloseTo(s.interval.burstR, 12);
  });

  it('a sequence restart (numbers 20000 on): both packets that confirm it are played numbers, nothing lost', () => {
    const lost = new Set([520, 522]);
    const pkts = withJump(500, 0, 20000, 503).filter((p) => !lost.has(p.ts / 160));
    const { final } = run(pkts);
    const c = final.cumulative;
    const jb = final.jb!;
    expect(c.expected).toBe(1000);
    expect(c.lost).toBe(2);
    expect(jb.xr.burstDensity).toBeCloseTo(c.burstDensity, 12);
    expect(jb.xr.gapDensity).toBeCloseTo(c.gapDensity, 12);
    expect(jb.xr.gapDurationMs).toBeCloseTo(c.gapDurationMs, 9);
    for (let b = 0; b < 3; b++) expect(jb.cumulative.burstR[b], `burstR ${b}`).toBeCloseTo(c.burstR, 12);
  });
});

describe('the buffer edge, by hand', () => {
  it('plays a packet exactly at its playout time (anchor + size), whatever float32 makes of the anchor', () => {
    // Packets 0..49 on time; 50 starts a talkspurt (marker) 0.7 ms late: both fixed buffers anchor there
    // (0.7 ms, which float32 rounds down); 51 arrives exactly 50 ms after that anchor (F1's edge: played),
    // 52 exactly 200 ms after it (F2's edge: played; late in F1), the rest 0.7 ms late again.
    expect(Math.fround(0.7)).toBeLessThan(0.7);
    const delayUs = (i: number): number => (i === 51 ? 50_700 : i === 52 ? 200_700 : i >= 50 ? 700 : 0);
    const pkts = stream(100, delayUs, () => false, (i) => i === 50);
    const d = run(pkts).final.jb!.cumulative.discards;
    expect(d.slice(0, 2)).toEqual([1, 0]);
    // 1 µs later than the edge is late.
    const later = stream(100, (i) => delayUs(i) + (i === 51 || i === 52 ? 1 : 0), () => false, (i) => i === 50);
    expect(run(later).final.jb!.cumulative.discards.slice(0, 2)).toEqual([2, 1]);
  });
});

describe('Gilbert BurstR of a buffer, by hand', () => {
  it('an interval continuing a run of discards from the one before: p = 0, q = 1/6, BurstR 6 (not 1)', () => {
    // A delay step of 80 ms at packet 247 in continuous audio: F1 (50 ms) discards 247..254
    // (UNDERRUN_DISCARDS) and restarts playout at 255. The interval ends after packet 249: 247..249 fall in the first,
    // 250..254 in the second, whose transitions are 249->250 .. 253->254 lost->lost (5), 254->255
    // lost->received (1), the other 244 received->received: p = 0 / 244, q = 1 / 6, BurstR = 1 / (p + q) = 6.
    expect(UNDERRUN_DISCARDS).toBe(8);
    const { snaps } = run(stream(500, (i) => (i >= 247 ? 80_000 : 0)), 250);
    const first = snaps[0].jb!.interval;
    const second = snaps[1].jb!.interval;
    expect(first.discards[0]).toBe(3);
    expect(second.discards[0]).toBe(5);
    expect(second.burstR[0]).toBeCloseTo(6, 12);
    // The first: RL 1 (246->247), LL 2, RR 246, no recovery yet: p = 1/247, q = 0, BurstR 247.
    expect(first.burstR[0]).toBeCloseTo(247, 9);
    expect(second.burstR[1]).toBe(1); // F2 (200 ms) discards nothing
  });
});

describe('RFC 3611 4.7 burst/gap of the reference buffer, by hand', () => {
  // Packets 0..6 120, 100, ..., 0 ms late (all arriving together), 7..99 on time (F1 re-anchors on the
  // way down, the adaptive buffer settles at -120 ms + a 70 ms delay), then `late` packets 120 ms late
  // again (discarded by F1 and ADAPT), then `after` packets 120 ms late with the marker bit on the
  // first (a talkspurt at that delay: played by F1). The durations count 20 ms a packet (the RTP
  // timestamps' packet duration).
  function xrOf(late: number, after: number, reference: number): NonNullable<StreamSnapshot['jb']> {
    const n = 100 + late + after;
    const pkts = stream(n, (i) => (i < 7 ? 120_000 - 20_000 * i : i >= 100 ? 120_000 : 0), () => false, (i) => i === 100 + late);
    return run(pkts, Infinity, { reference }).final.jb!;
  }

  for (const [name, reference] of [['F1', 0], ['ADAPT', 2]] as const) {
    it(`${name}: a stream ending in a burst has one gap, before it (2000 ms), not two`, () => {
      const jb = xrOf(2, 0, reference);
      expect(jb.cumulative.discards[reference]).toBe(2);
      expect(jb.xr.burstDensity).toBe(1);
      expect(jb.xr.burstDurationMs).toBe(40);
      expect(jb.xr.gapDensity).toBe(0);
      expect(jb.xr.gapDurationMs).toBe(100 * 20);
    });
  }

  it('a burst followed by fewer than Gmin played packets: two gaps (before and after it)', () => {
    const jb = xrOf(2, 3, 0);
    expect(jb.xr.burstDurationMs).toBe(40);
    expect(jb.xr.gapDurationMs).toBe(((100 + 3) * 20) / 2);
  });

  it('durations from the RTP timestamps (20 ms a packet), not the arrival spacing: a late last packet stretches nothing', () => {
    // 100 numbers, 40 and 41 lost in the network, the last packet 120 ms late (discarded by F1 and ADAPT,
    // played by F2). The mean arrival spacing is (99 x 20 + 120) / 99 = 21.2 ms; the timestamps say 20.
    const pkts = stream(100, (i) => (i === 99 ? 120_000 : 0), (i) => i === 40 || i === 41);
    for (const reference of [0, 1, 2]) {
      const { final } = run(pkts, Infinity, { reference });
      const c = final.cumulative;
      const x = final.jb!.xr;
      // The network loss: one burst (40, 41) of 2 numbers, gaps of 40 and 58 numbers.
      expect(c.burstDurationMs).toBeCloseTo(2 * 20, 9);
      expect(c.gapDurationMs).toBeCloseTo((98 * 20) / 2, 9);
      // The buffer: the same burst; the last number, discarded or not, ends the second gap.
      expect(final.jb!.cumulative.discards[reference]).toBe(reference === 1 ? 0 : 1);
      expect(x.burstDurationMs).toBeCloseTo(2 * 20, 9);
      expect(x.gapDurationMs).toBeCloseTo((98 * 20) / 2, 9);
    }
  });
});

describe('talkspurts, comfort noise and telephone events', () => {
  // 100 audio packets on time, 10 packets of comfort noise (PT 13) or telephone events (PT 101, timestamps
  // not advancing), then 90 audio packets 80 ms later than before: a new talkspurt at a new delay.
  function pkts(between: 'cn' | 'tev' | 'audio'): Pkt[] {
    return stream(200, (i) => (i >= 110 ? 80_000 : 0)).map((p, i) =>
      i >= 100 && i < 110 && between !== 'audio' ? { ...p, pt: between === 'cn' ? 13 : 101, ts: between === 'tev' ? 160 * 100 : p.ts } : p,
    );
  }

  it('re-anchors the fixed buffers at the audio after comfort noise or events, not in continuous audio', () => {
    for (const between of ['cn', 'tev'] as const) {
      const d = run(pkts(between)).final.jb!.cumulative.discards;
      expect(d, between).toEqual([0, 0, d[2]]);
    }
    // The same delay step inside continuous audio: the 50 ms buffer discards until it has run dry
    // (UNDERRUN_DISCARDS late packets in a row) and restarts playout at the new delay; the 200 ms one
    // discards nothing.
    const cont = run(pkts('audio')).final.jb!.cumulative.discards;
    expect(cont[0]).toBe(UNDERRUN_DISCARDS);
    expect(cont[1]).toBe(0);
  });

  it('re-anchors at a marker bit', () => {
    const marked = stream(200, (i) => (i >= 110 ? 80_000 : 0), () => false, (i) => i === 110);
    expect(run(marked).final.jb!.cumulative.discards.slice(0, 2)).toEqual([0, 0]);
  });
});

describe('discards against the reference model', () => {
  const o = DEFAULTS;
  for (const [name, seed, maxDelayMs, markers] of [
    ['uniform 0-120 ms', 1, 120, false],
    ['uniform 0-300 ms with talkspurts', 2, 300, true],
    ['uniform 0-60 ms', 3, 60, false],
  ] as const) {
    it(`${name}: F1, F2 and ADAPT discard exactly what the plain model does`, () => {
      const r = rng(seed);
      // Delays in multiples of 13 µs: no difference of two is exactly a buffer size (no ties to round).
      const pkts = stream(2000, () => 13 * Math.floor((r() * maxDelayMs * 1000) / 13), () => false, (i) => markers && i % 150 === 0);
      const { final } = run(pkts);
      const want = referenceDiscards(pkts, o);
      expect(final.jb!.cumulative.discards).toEqual(want);
      expect(want[0]).toBeGreaterThan(0);
    });
  }
  // Percentile ranks up to 3 (histories up to 80) are selected in registers, larger ones in arrays.
  for (const history of [8, 80, 81, 200]) {
    it(`history ${history}: ADAPT discards exactly what the plain model does`, () => {
      const r = rng(history);
      const pkts = stream(3000, () => 13 * Math.floor((r() * 150_000) / 13), () => false, (i) => i % 700 === 0);
      const { final } = run(pkts, Infinity, { adaptiveHistory: history });
      const want = referenceDiscards(pkts, { ...o, history });
      expect(final.jb!.cumulative.discards).toEqual(want);
      expect(want[2]).toBeGreaterThan(0);
    });
  }
});

describe('discards against the reference model, any stream', () => {
  it('holds for random delays, losses, duplicates and talkspurts', () => {
    const o = DEFAULTS;
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay13: fc.integer({ min: 0, max: 30_000 }), lost: fc.boolean(), dup: fc.integer({ min: 0, max: 20 }), marker: fc.integer({ min: 0, max: 40 }) }), { minLength: 30, maxLength: 600 }),
        (steps) => {
          const pkts: Pkt[] = [];
          steps.forEach((s, i) => {
            // The first 3 packets clean: the engine admits a stream on 2 packets in sequence, and what
            // arrives before that is its admission's business, not the buffers'.
            const clean = i < 3;
            if (s.lost && !clean && i % 3 === 0) return;
            const p = { seq: (65000 + i) & 0xffff, ts: 160 * i, us: 1_000_000 + 20_000 * i + (clean ? 0 : 13 * s.delay13), marker: s.marker === 0 };
            pkts.push(p);
            if (s.dup === 0 && !clean) pkts.push({ ...p, us: p.us + 13 * 577 }); // a duplicate a few ms later
          });
          pkts.sort((a, b) => a.us - b.us);
          expect(run(pkts).final.jb!.cumulative.discards).toEqual(referenceDiscards(pkts, o));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('adaptive buffer', () => {
  it('starts at adaptive_start_ms and adapts from its first packets: 0-40 ms of jitter costs it no more than the 50 ms fixed buffer', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = rng(seed);
      const { snaps } = run(stream(500, () => Math.floor(r() * 40_000)), 500);
      const first = snaps[0].jb!.interval;
      expect(first.discards[0], `seed ${seed}`).toBe(0); // within 50 ms of the first packet's delay
      expect(first.discards[2], `seed ${seed}`).toBeLessThanOrEqual(1);
      const q = score(snaps);
      expect(q.lastMosB[snaps[0].slot * 3 + 2]).toBeGreaterThan(4.35);
    }
    // Held within min..max: a start below the minimum starts at the minimum.
    const quiet = run(stream(250, () => 0), 250, { adaptiveStartMs: 5, adaptiveMinMs: 30 }).snaps[0].jb!.interval;
    expect(quiet.adaptiveDelayMs).toBe(30);
    const high = run(stream(250, () => 0), 250, { adaptiveStartMs: 80 }).snaps[0].jb!.interval;
    expect(high.adaptiveMaxMs).toBe(80);
    expect(high.adaptiveDelayMs).toBeCloseTo(((EARLY_SAMPLES - 1) * 80 + (250 - EARLY_SAMPLES + 1) * D.adaptiveMinMs) / 250, 9);
  });

  it('converges to the spread of the delays plus the margin and then discards little', () => {
    const r = rng(11);
    const pkts = stream(3000, () => Math.floor(r() * 120_000));
    const { snaps } = run(pkts, 500);
    const last = snaps[snaps.length - 1].jb!.interval;
    // 5th..95th percentile spread of uniform 0..120 ms is 108 ms; + 10 ms margin.
    expect(last.adaptiveDelayMs).toBeGreaterThan(100);
    expect(last.adaptiveDelayMs).toBeLessThan(135);
    expect(last.discards[2]).toBeLessThan(500 * 0.04);
    expect(last.discards[0]).toBeGreaterThan(500 * 0.2); // the 50 ms buffer keeps losing
    // Quiet line afterwards: the delay comes back down to the minimum.
    const quiet = stream(4000, (i) => (i < 3000 ? Math.floor(r() * 120_000) : 0));
    const after = run(quiet, 500).snaps.at(-1)!.jb!.interval;
    expect(after.adaptiveDelayMs).toBe(20);
    expect(after.discards).toEqual([0, 0, 0]);
  });
});

describe('worked example (README)', () => {
  // 10 s of PCMU (500 packets): 20 delay spikes (a 120 ms stall, the next 5 packets queued behind it) and
  // one burst of 5 packets lost in the network.
  const spikes = Array.from({ length: 20 }, (_, k) => 20 + 24 * k);
  const spikeDelay = (i: number): number => {
    for (const s of spikes) if (i >= s && i <= s + 5) return (120 - 20 * (i - s)) * 1000;
    return 0;
  };
  const burst = (i: number): boolean => i >= 250 && i < 255;

  function figures(pkts: Pkt[]): { mos: number[]; net: number; main: number; discards: number[] } {
    const { final } = run(pkts);
    const q = score([final]);
    return { mos: [0, 1, 2].map((b) => q.lastMosB[final.slot * 3 + b]), net: q.lastNetMos[final.slot], main: q.lastMos[final.slot], discards: final.jb!.cumulative.discards };
  }

  it('scores lower through 50 ms than through 200 ms, both below a clean stream', () => {
    const clean = figures(stream(500, () => 0));
    const jittery = figures(stream(500, spikeDelay, burst));
    expect(clean.mos.map((m) => +m.toFixed(2))).toEqual([4.41, 4.41, 4.41]);
    // The spikes delay 4 packets each beyond 50 ms (120, 100, 80, 60), none beyond 200 ms.
    expect(jittery.discards[0]).toBe(80);
    expect(jittery.discards[1]).toBe(0);
    expect(jittery.mos[0]).toBeLessThan(jittery.mos[1]);
    expect(jittery.mos[1]).toBeLessThan(clean.mos[1]);
    expect(jittery.mos[1]).toBe(jittery.net); // 200 ms plays every packet that arrived
    expect(jittery.main).toBe(jittery.mos[2]); // the report's MOS is the adaptive buffer's
    // The figures quoted in the README.
    const fmt = (f: typeof jittery) => `F1 ${f.mos[0].toFixed(2)} (${f.discards[0]} discarded), F2 ${f.mos[1].toFixed(2)} (${f.discards[1]}), ADAPT ${f.mos[2].toFixed(2)} (${f.discards[2]}), network only ${f.net.toFixed(2)}`;
    expect(fmt(jittery)).toBe(WORKED_EXAMPLE);
  });

  it('reaches the report: MOS is MOS_ADAPT, per-buffer keys and RFC 3611 fields present', () => {
    const { final } = run(stream(500, spikeDelay, burst));
    const rep = new QosReporter({ maxStreams: 4, unknownCallId: 'synthetic', schedule: { baseIntervalS: 10 } });
    rep.streamStarted(final.slot, final.firstSeenMs);
    const out = rep.onStreamEnd(final, { callId: 'c1', xcid: null, codecName: 'PCMU', nodeName: 'n', dir: 0, party: 0, hostTimestamps: false, rttMs: 40 }, 'FINAL', final.lastSeenMs).at(-1)!;
    const r = out.report;
    expect(r.MOS).toBe(r.MOS_ADAPT);
    expect(r.DISCARDS_F1).toBe(80);
    expect(r.EFF_LOSS_PCT_F1).toBe(17);
    expect(r.JB_REFERENCE).toBe('adaptive');
    expect(r.XR_LOSS_RATE).toBe(1);
    expect(r.XR_RTD).toBe(40);
    expect(r.XR_JB_ABS_MAX).toBe(500);
    expect(r.XR_MOS_LQ as number).toBeGreaterThanOrEqual(r.XR_MOS_CQ as number);
    expect(r.XR_BURST_DENSITY as number).toBeGreaterThan(0);
    expect(r.WORST_MOS).toBe(r.MIN_MOS);
    expect(r.WORST_MOS_START).toBe(r.REPORT_START);
  });
});

const WORKED_EXAMPLE = 'F1 2.05 (80 discarded), F2 4.33 (0), ADAPT 3.80 (24), network only 4.33';

describe('warm-up of the packet path', () => {
  it('runs every branch on its own scratch buffers, for any valid options, and leaves engines untouched', async () => {
    const { warmJitterBuffers } = await import('../../src/rtp/jitter-buffer.js');
    for (const o of [{}, { adaptiveHistory: 8, adaptiveMinMs: 40, adaptiveMaxMs: 40 }, { fixed1Ms: 1, fixed2Ms: 1000, reference: 0 }]) {
      expect(() => warmJitterBuffers(o)).not.toThrow();
    }
    // A stream after the warm-up scores exactly as the reference model says (no shared state).
    const r = rng(7);
    const pkts = stream(600, () => 13 * Math.floor((r() * 90_000) / 13));
    expect(run(pkts).final.jb!.cumulative.discards).toEqual(referenceDiscards(pkts, DEFAULTS));
  });
});
