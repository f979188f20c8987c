import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp, rtcpSr, rtcpRr, rtcpBye, rtcpCompound, text } from '../../src/gen/index.js';
import { RtpEngine, EndReason, createStreamSnapshot, GMIN, isRtpCandidate, rtpHeaderLength } from '../../src/rtp/index.js';
import { clockSourceName } from '../../src/rtp/clock-inference.js';
import { CAPTURES, runScenario, synthPacket, SYNTH, streamKey, type SynthScenario } from './helpers.js';

const key = streamKey(SYNTH.src, SYNTH.srcPort, SYNTH.dst, SYNTH.dstPort, SYNTH.ssrc);
const scenario = (name: string) => JSON.parse(readFileSync(`${CAPTURES}synth/${name}.json`, 'utf8')) as SynthScenario;
const snapOf = (name: string, exact = true) => runScenario(scenario(name), { wiresharkCompatibleClock: !exact }).streams.get(key)!;

describe('RFC 3550 counters derived from the scenario descriptions', () => {
  it('s03 loss: 50 expected, 3 lost; loss pattern from the dropped sequence numbers', () => {
    const sc = scenario('s03_loss');
    const c = snapOf('s03_loss').cumulative;
    const first = sc.packets[0].seq;
    const last = sc.packets[sc.packets.length - 1].seq;
    const seen = new Set(sc.packets.map((p) => p.seq));
    const lostSeqs: number[] = [];
    for (let s = first; s <= last; s++) if (!seen.has(s)) lostSeqs.push(s);
    expect(c.expected).toBe(last - first + 1);
    expect(c.lost).toBe(lostSeqs.length);
    // Gilbert transitions counted over the received/lost sequence.
    let rr = 0, rl = 0, lr = 0, ll = 0;
    for (let s = first + 1; s <= last; s++) {
      const a = seen.has(s - 1), b = seen.has(s);
      if (a && b) rr++; else if (a) rl++; else if (b) lr++; else ll++;
    }
    const p = rl / (rr + rl), q = lr / (lr + ll);
    expect(c.lossP).toBeCloseTo(p, 12);
    expect(c.lossQ).toBeCloseTo(q, 12);
    expect(c.burstR).toBeCloseTo(1 / (p + q), 12);
    // RFC 3611: losses closer than Gmin received packets form one burst from first to last loss.
    const gaps = lostSeqs.slice(1).map((s, i) => s - lostSeqs[i] - 1);
    expect(gaps.every((g) => g < GMIN)).toBe(true); // in this scenario all 3 losses form one burst
    const burstLen = lostSeqs[lostSeqs.length - 1] - lostSeqs[0] + 1;
    expect(c.burstDensity).toBeCloseTo(lostSeqs.length / burstLen, 12);
    expect(c.gapDensity).toBe(0);
  });

  it('s04 reorder: no loss, one out-of-order packet, no duplicate', () => {
    const c = snapOf('s04_reorder').cumulative;
    expect([c.expected, c.lost, c.outOfOrder, c.duplicates]).toEqual([50, 0, 1, 0]);
    expect(c.burstR).toBe(1);
    expect(c.lossP).toBe(0);
  });

  it('s05 duplicate: one duplicate, no loss (RFC 3550 A.3 would say -1)', () => {
    const s = snapOf('s05_duplicate');
    const c = s.cumulative;
    expect([c.packets, c.expected, c.lost, c.duplicates, c.outOfOrder]).toEqual([51, 50, 0, 1, 0]);
    expect(s.wiresharkLost).toBe(-1); // Wireshark: expected - packets
  });

  it('s10 sequence restart: RFC 3550 resyncs (no loss) while Wireshark counts the jump', () => {
    const s = snapOf('s10_seqjump');
    expect(s.cumulative.lost).toBe(0);
    expect(s.cumulative.expected).toBe(30);
    const sc = scenario('s10_seqjump');
    const seqs = sc.packets.map((p) => p.seq);
    expect(s.wiresharkLost).toBe(seqs[seqs.length - 1] - seqs[0] + 1 - seqs.length);
  });

  it('s06 wrap: no false loss or jitter across seq 65535->0 and ts 2^32', () => {
    const s = snapOf('s06_wrap');
    expect([s.cumulative.lost, s.cumulative.seqErrors, s.cumulative.maxJitterMs, s.jitterMs]).toEqual([0, 0, 0, 0]);
  });

  it('s07/s08: markers and comfort noise counted', () => {
    const sc7 = scenario('s07_talkspurt');
    expect(snapOf('s07_talkspurt').markers).toBe(sc7.packets.filter((p) => p.m === 1).length);
    const sc8 = scenario('s08_cn');
    const s8 = snapOf('s08_cn');
    expect(s8.comfortNoise).toBe(sc8.packets.filter((p) => p.pt === 13).length);
    expect(s8.payloadTypeChanges).toBe(2);
  });

  it('s09 drift: sender clock 8008/8000 fast -> about +1000 ppm', () => {
    expect(snapOf('s09_drift').clockDriftPpm).toBeCloseTo((8008 / 8000 - 1) * 1e6, -1);
    expect(Math.abs(snapOf('s01_clean').clockDriftPpm)).toBeLessThan(1);
  });

  it('s13 L16 44.1 kHz: exact clock gives zero jitter for exact 20 ms arrivals; Wireshark mode reproduces its drift', () => {
    const exact = snapOf('s13_l16_44k', true);
    expect(exact.clockRate).toBe(44100);
    expect(exact.cumulative.maxJitterMs).toBeLessThan(1e-9);
    expect(Math.abs(exact.cumulative.maxSkewMs)).toBeLessThan(1e-9);
    const ws = snapOf('s13_l16_44k', false);
    // 882 samples / 44 = 20.045 ms per packet instead of 20: skew grows by 0.045 ms per packet.
    expect(ws.cumulative.maxSkewMs).toBeCloseTo((29 * 882) / 44 - 29 * 20, 6);
  });

  it('s12 G.722 uses the RFC 3551 clock 8000', () => {
    expect(snapOf('s12_g722').clockRate).toBe(8000);
  });
});

// ---- a small driver for hand-made traffic ----
function driver(opts: ConstructorParameters<typeof RtpEngine>[0] = {}) {
  const ends: Array<[number, number]> = [];
  const starts: number[] = [];
  // Lifecycle and counting tests: a signalled packet counts at once (admission has its own tests).
  const engine = new RtpEngine({ maxStreams: 16, signalledMinConsecutive: 1, ...opts }, {
    onStreamStart: (s) => starts.push(s),
    onStreamEnd: (s, r) => ends.push([s, r]),
  });
  const pkt = new DecodedPacket();
  const send = (payload: Uint8Array, tUs: number, signalled = true, srcPort = SYNTH.srcPort) => {
    synthPacket(pkt, payload, tUs);
    pkt.srcPort = srcPort;
    return engine.onRtp(pkt, signalled);
  };
  return { engine, ends, starts, send, pkt };
}

describe('clock drift of streams whose clock was inferred', () => {
  it('each stream has its own sender drift (48 kHz, +300, -200 and +150 ppm), whichever inference entry it used', () => {
    const { engine, send } = driver();
    const drifts = [300, -200, 150];
    const slots = new Set<number>();
    // Dynamic payload type, no clock given: each stream's clock is inferred (its own inference entry).
    for (let i = 0; i < 500; i++) {
      for (let s = 0; s < drifts.length; s++) {
        const ts = Math.round(i * 960 * (1 + drifts[s] * 1e-6));
        slots.add(send(rtp({ pt: 111, seq: i, ts, ssrc: SYNTH.ssrc + s }), 100_000 + i * 20_000 + s * 1000, true, SYNTH.srcPort + 2 * s));
      }
    }
    expect(slots.size).toBe(drifts.length);
    const got = [...slots].map((slot, s) => {
      const snap = createStreamSnapshot();
      engine.snapshot(slot, snap);
      // Timestamps are whole ticks: within 1 ppm of the sender's drift.
      return { clock: snap.clockRate, source: clockSourceName(snap.clockSource ?? 0), ppm: Math.abs(snap.clockDriftPpm - drifts[s]) < 1 ? drifts[s] : snap.clockDriftPpm };
    });
    expect(got).toEqual(drifts.map((ppm) => ({ clock: 48000, source: 'inferred', ppm })));
  });
});

describe('wrap-arounds (property)', () => {
  it('sequence and timestamp wrap give no false loss, errors or jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 2, max: 400 }), fc.constantFrom(80, 160, 320), (seq0, ts0, n, step) => {
        const d = driver();
        let slot = -1;
        for (let i = 0; i < n; i++) slot = d.send(rtp({ pt: 0, seq: (seq0 + i) & 0xffff, ts: (ts0 + i * step) >>> 0, ssrc: 7 }), (i * step * 1000) / 8);
        const s = createStreamSnapshot();
        d.engine.snapshot(slot, s);
        return s.cumulative.lost === 0 && s.cumulative.expected === n && s.cumulative.seqErrors === 0 && s.wiresharkLost === 0 &&
          s.cumulative.maxJitterMs === 0 && s.jitterMs === 0 && Math.abs(s.cumulative.maxSkewMs) < 1e-6 && s.cumulative.duplicates === 0;
      }),
      { numRuns: 200 },
    );
  });

  it('random single losses near the wrap are counted exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65000, max: 65535 }), fc.uniqueArray(fc.integer({ min: 1, max: 998 }), { maxLength: 30 }), (seq0, drops) => {
        const d = driver();
        const dropped = new Set(drops);
        let slot = -1;
        for (let i = 0; i < 1000; i++) if (!dropped.has(i)) slot = d.send(rtp({ pt: 8, seq: (seq0 + i) & 0xffff, ts: i * 160, ssrc: 9 }), i * 20000);
        const s = createStreamSnapshot();
        d.engine.snapshot(slot, s);
        return s.cumulative.expected === 1000 && s.cumulative.lost === dropped.size && s.wiresharkLost === dropped.size;
      }),
      { numRuns: 100 },
    );
  });
});

describe('duplicates do not hide loss', () => {
  it('random losses and duplicates (each right after its original or up to 40 packets late): lost is the number dropped, Wireshark\'s lost counts duplicates as received', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 498 }), { maxLength: 20 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 499 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (drops, dups, lateBy) => {
          const d = driver();
          const dropped = new Set(drops);
          const order: number[] = [];
          for (let i = 0; i < 500; i++) if (!dropped.has(i)) order.push(i);
          // Each duplicated (and not dropped) packet comes again lateBy packets after its original.
          const twice = dups.filter((i) => !dropped.has(i));
          for (const i of twice) order.splice(Math.min(order.indexOf(i) + 1 + lateBy, order.length), 0, i);
          let slot = -1;
          order.forEach((i, k) => (slot = d.send(rtp({ pt: 8, seq: (64000 + i) & 0xffff, ts: i * 160, ssrc: 9 }), k * 20000)));
          const s = createStreamSnapshot();
          d.engine.snapshot(slot, s);
          const c = s.cumulative;
          expect([c.expected, c.packets, c.duplicates, c.lost]).toEqual([500, 500 - dropped.size + twice.length, twice.length, dropped.size]);
          // Wireshark: the last packet's sequence number (not the highest) - the first + 1, less every packet.
          expect(s.wiresharkLost).toBe(order[order.length - 1] + 1 - c.packets);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('RTP detection without signalling', () => {
  const garbage: Array<[string, (i: number) => Uint8Array]> = [
    ['RTCP SR', (i) => rtcpSr({ ssrc: 5, ntpSec: i, ntpFrac: 0, rtpTs: i * 160, packets: i, octets: i * 160 })],
    ['RTCP RR+BYE compound', () => rtcpCompound(rtcpRr({ ssrc: 5 }), rtcpBye({ ssrcs: [5] }))],
    ['STUN binding request', (i) => Uint8Array.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...new Array(12).fill(i & 0xff)])],
    ['DTLS handshake record', (i) => Uint8Array.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, i & 0xff, 0, 20, ...new Array(20).fill(1)])],
    ['SIP text', () => text('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\n\r\n')],
  ];
  for (const [name, make] of garbage) {
    it(`${name} is not counted, signalled or not`, () => {
      const d = driver();
      for (let i = 0; i < 20; i++) {
        expect(d.send(make(i), i * 20000, false)).toBe(-1);
        expect(d.send(make(i), i * 20000, true)).toBe(-1);
      }
      expect(d.engine.counters.streamsStarted).toBe(0);
      expect(d.engine.counters.notRtp).toBe(40);
    });
  }

  it('random UDP payloads never become streams', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 50 }), (payloads) => {
        const d = driver();
        payloads.forEach((p, i) => d.send(p, i * 1000, false));
        return d.engine.counters.streamsStarted === 0;
      }),
    );
  });

  it('unsignalled RTP is promoted after minConsecutive sequential packets and counted from its first; signalled counts from the first', () => {
    const d = driver({ heuristic: { minConsecutive: 3 } });
    const slots = [0, 1, 2, 3].map((i) => d.send(rtp({ pt: 0, seq: 10 + i, ts: i * 160, ssrc: 1 }), i * 20000, false));
    expect(slots.slice(0, 2)).toEqual([-1, -1]);
    expect(slots[2]).toBeGreaterThanOrEqual(0);
    const s = createStreamSnapshot();
    d.engine.snapshot(slots[3], s);
    expect(s.cumulative.packets).toBe(4); // the probation packets are counted once promoted
    const e = driver();
    expect(e.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 }), 0, true)).toBeGreaterThanOrEqual(0);
  });

  it('a broken sequence restarts the count; even-port and PT rules apply', () => {
    const d = driver({ heuristic: { minConsecutive: 2, requireEvenPort: true } });
    expect(d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 }), 0, false, 4001)).toBe(-1);
    expect(d.send(rtp({ pt: 0, seq: 2, ts: 160, ssrc: 1 }), 20000, false, 4001)).toBe(-1);
    expect(d.engine.counters.heuristicRejected).toBe(2);
    const e = driver();
    expect(e.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 }), 0, false)).toBe(-1);
    expect(e.send(rtp({ pt: 0, seq: 5, ts: 160, ssrc: 1 }), 20000, false)).toBe(-1);
    expect(e.send(rtp({ pt: 0, seq: 6, ts: 320, ssrc: 1 }), 40000, false)).toBeGreaterThanOrEqual(0);
    expect(e.send(rtp({ pt: 50, seq: 1, ts: 0, ssrc: 2 }), 0, false)).toBe(-1); // unassigned PT
    expect(e.send(rtp({ pt: 50, seq: 2, ts: 0, ssrc: 2 }), 0, false)).toBe(-1);
  });

  it('header length checks: CSRCs, extension, padding', () => {
    const p = rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1, csrcs: [1, 2], extension: { profile: 0xbede, words: [1, 2] }, padding: 4 });
    expect(rtpHeaderLength(p, 0, p.length)).toBe(12 + 8 + 4 + 8);
    expect(rtpHeaderLength(p, 0, 12 + 8 + 4 + 4)).toBe(-1); // extension cut
    const badPad = Uint8Array.from(p);
    badPad[badPad.length - 1] = 200;
    expect(rtpHeaderLength(badPad, 0, badPad.length)).toBe(-1);
    const d = driver();
    expect(d.send(badPad, 0)).toBe(-1);
    expect(d.engine.counters.malformed).toBe(1);
    expect(isRtpCandidate(p, 0, p.length)).toBe(true);
    const s = createStreamSnapshot();
    d.engine.snapshot(d.send(p, 0), s);
    expect(s.cumulative.bytes).toBe(160);
  });
});

describe('stream lifecycle', () => {
  it('evicts the idlest stream when full, with one final onStreamEnd', () => {
    const d = driver({ maxStreams: 4 });
    for (let ssrc = 1; ssrc <= 4; ssrc++) d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc }), ssrc * 1000);
    d.send(rtp({ pt: 0, seq: 2, ts: 160, ssrc: 1 }), 10000); // stream 1 is now the most recent
    const idlest = 1; // slots are handed out 0,1,2,3: ssrc 2 (slot 1) is now the idlest
    expect(d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 5 }), 11000)).toBe(-1); // one packet: waits (eviction.test.ts)
    const slot5 = d.send(rtp({ pt: 0, seq: 2, ts: 160, ssrc: 5 }), 11020);
    expect(d.engine.counters.evicted).toBe(1);
    expect(d.ends).toEqual([[idlest, EndReason.evicted]]); // ssrc 2 took slot 1
    expect(slot5).toBe(idlest);
    expect(d.engine.activeStreams).toBe(4);
  });

  it('expire ends silent streams by capture time; endStream never reports twice', () => {
    const d = driver({ silenceTimeoutMs: 5000 });
    const a = d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 }), 0);
    const b = d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 2 }), 4_000_000);
    expect(d.engine.expire(d.engine.nowMs + 1500)).toBe(1);
    expect(d.ends).toEqual([[a, EndReason.timeout]]);
    expect(d.engine.endStream(a, EndReason.sipBye)).toBe(false);
    expect(d.engine.endStream(b, EndReason.rtcpBye)).toBe(true);
    d.engine.endAll(EndReason.shutdown);
    expect(d.ends).toEqual([[a, EndReason.timeout], [b, EndReason.rtcpBye]]);
    expect(d.engine.counters.streamsEnded).toBe(2);
  });

  it('a new SSRC on a 5-tuple is a new stream with ssrcChanges incremented', () => {
    const d = driver();
    d.send(rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 }), 0);
    const s2 = d.send(rtp({ pt: 0, seq: 900, ts: 0, ssrc: 2 }), 20000);
    const s3 = d.send(rtp({ pt: 0, seq: 5, ts: 0, ssrc: 3 }), 40000);
    const snap = createStreamSnapshot();
    d.engine.snapshot(s3, snap);
    expect(snap.ssrcChanges).toBe(2);
    d.engine.snapshot(s2, snap);
    expect(snap.ssrcChanges).toBe(1);
    expect(d.engine.counters.ssrcChanges).toBe(2);
  });

  it('SSRCs that run side by side on a 5-tuple (BUNDLE, RTX) change no SSRC; one that stops and gives way does', () => {
    const d = driver();
    const ssrcChanges = (slot: number) => {
      const snap = createStreamSnapshot();
      d.engine.snapshot(slot, snap);
      return snap.ssrcChanges;
    };
    // Audio (SSRC 1) from 0 ms, video (2) joins at 500 ms, an RTX stream (3) at 900 ms: all go on to 5 s.
    const slots = new Map<number, number>();
    for (let t = 0; t < 5000; t += 10) {
      if (t % 20 === 0) slots.set(1, d.send(rtp({ pt: 111, seq: t / 20, ts: t * 48, ssrc: 1 }), t * 1000));
      if (t >= 500 && t % 30 === 0) slots.set(2, d.send(rtp({ pt: 96, seq: t / 30, ts: t * 90, ssrc: 2 }), t * 1000));
      if (t >= 900 && t % 100 === 0) slots.set(3, d.send(rtp({ pt: 97, seq: t / 100, ts: t * 90, ssrc: 3 }), t * 1000));
    }
    expect([1, 2, 3].map((s) => ssrcChanges(slots.get(s)!))).toEqual([0, 0, 0]);
    expect(d.engine.counters.ssrcChanges).toBe(0);
    expect([1, 2, 3].map((s) => d.engine.replaced(slots.get(s)!))).toEqual([false, false, false]);

    // One SSRC at a time on another 5-tuple: each gives way to the next, which counts the changes so far,
    // in the reports while it runs and in the final one.
    const e = driver();
    const finals = new Map<number, number>();
    e.engine.hooks = {
      onStreamEnd: (slot) => {
        const snap = createStreamSnapshot();
        e.engine.snapshot(slot, snap);
        finals.set(snap.ssrc, snap.ssrcChanges);
      },
    };
    const run: number[] = [];
    for (let i = 0; i < 300; i++) run.push(e.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 10 + Math.floor(i / 100) }), i * 20000));
    expect([run[0], run[100], run[299]].map((s) => { const snap = createStreamSnapshot(); e.engine.snapshot(s, snap); return snap.ssrcChanges; })).toEqual([0, 1, 2]);
    expect([run[0], run[100]].map((s) => e.engine.replaced(s))).toEqual([true, true]);
    e.engine.endAll(EndReason.shutdown);
    expect([...finals].sort((a, b) => a[0] - b[0])).toEqual([[10, 0], [11, 1], [12, 2]]);
    expect(e.engine.counters.ssrcChanges).toBe(2);
  });

  it('interval counters restart on resetInterval while cumulative ones continue', () => {
    const d = driver();
    let slot = -1;
    for (let i = 0; i < 50; i++) if (i !== 10) slot = d.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 }), i * 20000);
    const s = createStreamSnapshot();
    d.engine.snapshot(slot, s);
    expect([s.interval.packets, s.interval.expected, s.interval.lost]).toEqual([49, 50, 1]);
    d.engine.resetInterval(slot);
    for (let i = 50; i < 100; i++) if (i !== 60 && i !== 61) d.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 }), i * 20000);
    d.engine.snapshot(slot, s);
    expect([s.interval.packets, s.interval.expected, s.interval.lost]).toEqual([48, 50, 2]);
    expect([s.cumulative.packets, s.cumulative.expected, s.cumulative.lost]).toEqual([97, 100, 3]);
    expect(s.interval.lossP).toBeCloseTo(1 / 48, 12); // one R->L among 48 transitions out of R in the interval
    expect(s.interval.meanDeltaMs).toBeCloseTo((47 * 20 + 60) / 48, 9); // 48 packets: 47 deltas of 20 ms, one of 60 ms
  });

  it("an interval's loss-model base is the stream's own state at the reset, whatever came between it and the snapshot", () => {
    // Two streams with different losses, the last ones still inside the reorder window at the reset.
    const lostA = new Set([5, 6, 20, 44, 47]);
    const lostB = new Set([3, 30, 31, 32, 48]);
    const run = (between: (d: ReturnType<typeof driver>, a: number, b: number) => void) => {
      const d = driver();
      let a = -1;
      let b = -1;
      for (let i = 0; i < 50; i++) {
        if (!lostA.has(i)) a = d.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 }), i * 20000);
        if (!lostB.has(i)) b = d.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 2 }), i * 20000 + 5000);
      }
      between(d, a, b);
      d.engine.resetInterval(a);
      for (let i = 53; i < 120; i++) if (i % 9 !== 0 && i !== 55) d.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 1 }), i * 20000);
      const s = createStreamSnapshot();
      d.engine.snapshot(a, s);
      const v = s.interval;
      return [v.lost, v.lossP, v.lossQ, v.burstR, v.burstDensity, v.gapDensity, v.burstDurationMs, v.gapDurationMs];
    };
    const snap = (d: ReturnType<typeof driver>, slot: number) => d.engine.snapshot(slot, createStreamSnapshot());
    // After two more losses (50, 51): the stream's resolved loss model is not the snapshot's any more.
    const packetA = (d: ReturnType<typeof driver>) => d.send(rtp({ pt: 0, seq: 52, ts: 52 * 160, ssrc: 1 }), 52 * 20000);
    // The reference: a packet, then the reset with no snapshot before it (the loss model resolved at the reset).
    const expected = run((d) => packetA(d));
    expect(run((d, a) => { packetA(d); snap(d, a); })).toEqual(expected); // the snapshot's resolution taken
    expect(run((d, a, b) => { packetA(d); snap(d, a); snap(d, b); })).toEqual(expected); // another stream's snapshot between
    expect(run((d, a) => { snap(d, a); packetA(d); })).toEqual(expected); // a packet of the stream between
  });

  it('IPv6 addresses and callRef column', () => {
    const d = driver();
    d.pkt.ipVersion = 6;
    const payload = rtp({ pt: 0, seq: 1, ts: 0, ssrc: 1 });
    synthPacket(d.pkt, payload, 0);
    d.pkt.ipVersion = 6;
    d.pkt.src0 = 0x20010db8; d.pkt.src1 = 0; d.pkt.src2 = 0; d.pkt.src3 = 1;
    const slot = d.engine.onRtp(d.pkt, true);
    d.engine.setCallRef(slot, 42);
    const s = createStreamSnapshot();
    d.engine.snapshot(slot, s);
    expect(s.srcIp).toBe('2001:db8::1');
    expect(s.dstIp).toBe('::ffff:a00:2'); // IPv4-mapped words shown as IPv6 when the stream is IPv6
    expect(d.engine.callRef(slot)).toBe(42);
  });
});

describe('allocation', () => {
  it('a million packets across 1000 streams keep the heap flat', () => {
    const streams = 1000;
    const engine = new RtpEngine({ maxStreams: streams, silenceTimeoutMs: 60000, signalledMinConsecutive: 1 });
    const pkt = new DecodedPacket();
    // Every stream's packet in one buffer, as a capture window or a batch holds them: the engine makes its
    // view of a buffer once per buffer (a buffer per packet would cost a DataView each).
    const first = rtp({ pt: 0, seq: 0, ts: 0, ssrc: 1 });
    const len = first.length;
    const all = new Uint8Array(streams * len);
    for (let i = 0; i < streams; i++) all.set(rtp({ pt: 0, seq: 0, ts: 0, ssrc: i + 1 }), i * len);
    synthPacket(pkt, first, 0);
    pkt.payloadBuf = all;
    const run = (from: number, to: number) => {
      for (let n = from; n < to; n++) {
        const s = n % streams;
        const round = (n / streams) | 0;
        const o = s * len;
        all[o + 2] = (round >> 8) & 0xff; all[o + 3] = round & 0xff;
        const ts = (round * 160) >>> 0;
        all[o + 4] = ts >>> 24; all[o + 5] = (ts >>> 16) & 0xff; all[o + 6] = (ts >>> 8) & 0xff; all[o + 7] = ts & 0xff;
        pkt.payloadOffset = o;
        pkt.srcPort = 4000 + s * 2;
        const us = round * 20000 + s;
        pkt.tsSec = 1_700_000_000 + Math.floor(us / 1e6);
        pkt.tsNsec = (us % 1e6) * 1000;
        engine.onRtp(pkt, true);
      }
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    run(0, 100_000); // warm-up: streams created, code optimized
    gc?.();
    const before = process.memoryUsage().heapUsed;
    run(100_000, 1_100_000);
    gc?.();
    const growth = process.memoryUsage().heapUsed - before;
    expect(engine.activeStreams).toBe(streams);
    expect(engine.counters.packets).toBe(1_100_000);
    // Without gc() the bound must absorb garbage from the test harness itself, but per-packet allocation
    // of even 16 bytes would add 16 MB.
    expect(growth).toBeLessThan(gc ? 1_000_000 : 8_000_000);
  });
});
