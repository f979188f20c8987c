/**
 * The smallest packet sequence for each stream-semantics behaviour of the field captures, written with the
 * project's generator, measured by tshark here and by the probe (shipped defaults, unsignalled unless said).
 */
import { describe, expect, it } from 'vitest';
import { fieldMismatches } from './helpers.js';
import { FIX, fixtureKey, g711, jitterOf, runFixture, sdpSetup, type FixturePacket } from './fixtures.js';

const KEY = fixtureKey();

/** n packets of `pt` every `ptimeMs`, `inc` timestamp units apart, arrival jittered. */
function stream(n: number, pt: number, inc: number, ptimeMs: number, jitter: (i: number) => number, bytes = 60): FixturePacket[] {
  const out: FixturePacket[] = [];
  for (let i = 0; i < n; i++) out.push({ ms: i * ptimeMs + jitter(i), seq: 2000 + i, ts: 90000 + i * inc, pt, payload: new Uint8Array(bytes).fill(0x11) });
  return out;
}

/** Video: frames of `per` packets sharing a timestamp, the marker on the last, 3000 units (90 kHz, 30 fps) apart. */
function video(frames: number, per: number, jitter: (i: number) => number): FixturePacket[] {
  const out: FixturePacket[] = [];
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < per; k++) {
      out.push({ ms: f * (100 / 3) + k * 0.3 + jitter(f), seq: 500 + f * per + k, ts: 3000 * f, pt: 97, marker: k === per - 1, payload: new Uint8Array(1000).fill(0x22) });
    }
  }
  return out;
}

describe('unsignalled dynamic payload types: the clock is inferred, jitter equals tshark given the true clock', () => {
  const cases: Array<[string, FixturePacket[], string, number]> = [
    ['8 kHz (AMR-like, 160 per 20 ms)', stream(60, 98, 160, 20, jitterOf(1, 3)), 'AMR/8000', 8000],
    ['16 kHz (AMR-WB-like, 320 per 20 ms)', stream(60, 96, 320, 20, jitterOf(2, 3)), 'AMR-WB/16000', 16000],
    ['32 kHz (640 per 20 ms)', stream(60, 100, 640, 20, jitterOf(3, 3)), 'L16/32000', 32000],
    ['48 kHz (Opus, 960 per 20 ms)', stream(60, 111, 960, 20, jitterOf(4, 3)), 'opus/48000/2', 48000],
    ['90 kHz (video frames of 3 packets)', video(30, 3, jitterOf(5, 2)), 'H264/90000', 90000],
  ];
  for (const [name, packets, encoding, clock] of cases) {
    it(name, async () => {
      const pt = packets[0].pt!;
      const r = await runFixture(packets, undefined, [...sdpSetup(pt, encoding, clock === 90000 ? 'video' : 'audio'), ...packets]);
      const row = r.tshark.get(KEY)!;
      expect(row.minJitter, 'tshark knows the clock from the SDP').toBeGreaterThanOrEqual(0);
      const rep = r.probe.get(KEY)!;
      expect([rep.CLOCK, rep.CLOCK_SOURCE]).toEqual([clock, 'inferred']);
      expect(fieldMismatches(rep, row)).toEqual([]);
    });
  }

  it('44.1 kHz (882 per 20 ms, arrival within +-1 ms) is told from 48 kHz', async () => {
    const packets = stream(60, 99, 882, 20, jitterOf(6, 1));
    const r = await runFixture(packets, undefined, [...sdpSetup(99, 'L16/44100'), ...packets]);
    const rep = r.probe.get(KEY)!;
    expect([rep.CLOCK, rep.CLOCK_SOURCE]).toEqual([44100, 'inferred']);
    // tshark divides by the integer clock/1000 (44): the probe's exact clock gives a slightly different jitter.
    const row = r.tshark.get(KEY)!;
    expect(Math.abs((rep.MEAN_JITTER as number) - row.meanJitter)).toBeLessThan(0.5);
  });

  it('packets that always arrive in pairs (one per 60 ms on average): least squares finds 16 kHz', async () => {
    // 960 units (60 ms at 16 kHz) per packet, sent two at a time every 120 ms, as KakaoTalk does.
    const packets: FixturePacket[] = [];
    const j = jitterOf(7, 3);
    for (let i = 0; i < 80; i++) packets.push({ ms: Math.floor(i / 2) * 120 + (i % 2) * 0.2 + j(i >> 1), seq: 10 + i, ts: i * 960, pt: 108, payload: new Uint8Array(60) });
    const r = await runFixture(packets, undefined, [...sdpSetup(108, 'X-KAKAO/16000'), ...packets]);
    const rep = r.probe.get(KEY)!;
    expect([rep.CLOCK, rep.CLOCK_SOURCE]).toEqual([16000, 'inferred']);
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
  });

  it('too few packets to tell: no clock, no jitter, like tshark without SDP', async () => {
    const packets = stream(5, 111, 960, 20, jitterOf(8, 6));
    const r = await runFixture(packets);
    const row = r.tshark.get(KEY)!;
    expect(row.minJitter).toBe(-1);
    const rep = r.probe.get(KEY)!;
    expect([rep.CLOCK, rep.CLOCK_SOURCE, rep.JITTER, rep.MAX_SKEW]).toEqual([0, 'unknown', 0, 0]);
    expect(fieldMismatches(rep, row)).toEqual([]);
  });
});

describe("a static payload type runs at RFC 3551's clock whatever the SDP's rtpmap says, as tshark takes it", () => {
  // PT 9 signalled as G722/16000 (a common mistake: RFC 3551 fixes G.722's RTP clock at 8000, and the
  // sender's timestamps count 160 per 20 ms); PT 0 as PCMU/16000.
  for (const [pt, encoding] of [[9, 'G722/16000'], [0, 'PCMU/16000']] as const) {
    it(`PT ${pt} as ${encoding}: clock 8000 (source static), jitter as tshark's, a clean stream's MOS`, async () => {
      const packets = [...sdpSetup(pt, encoding), ...g711(250, { pt, jitterMs: jitterOf(12, 3) })];
      const r = await runFixture(packets, undefined, packets);
      const rep = r.probe.get(KEY)!;
      expect([rep.CLOCK, rep.CLOCK_SOURCE, rep.PACKET_LOSS]).toEqual([8000, 'static', 0]);
      expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
      expect(rep.MOS).toBeGreaterThan(4.3);
    });
  }
});

describe('comfort noise on a dynamic payload type (README, "Differences, on purpose")', () => {
  /** Opus, 3 CN packets 200 ms apart (the sender's silence), Opus again; CN on `cnPt`. */
  function withCn(cnPt: number): FixturePacket[] {
    const j = jitterOf(13, 3);
    const out: FixturePacket[] = [];
    let ms = 0;
    let ts = 1000;
    let seq = 10;
    const add = (pt: number, stepMs: number) => {
      out.push({ ms: ms + j(seq), seq: seq++, ts, pt, payload: new Uint8Array(pt === cnPt ? 1 : 80) });
      ms += stepMs;
      ts += stepMs * 48;
    };
    for (let i = 0; i < 40; i++) add(111, 20);
    for (let i = 0; i < 3; i++) add(cnPt, 200);
    for (let i = 0; i < 40; i++) add(111, 20);
    return out;
  }
  it('CN/48000 on PT 105 is comfort noise as PT 13: tshark counts the silence in Max Delta, the probe leaves it out as for PT 13', async () => {
    const staticCn = withCn(13);
    const onStatic = await runFixture(staticCn, undefined, [...sdpSetup(111, 'opus/48000/2'), ...staticCn]);
    expect(fieldMismatches(onStatic.probe.get(KEY)!, onStatic.tshark.get(KEY)!)).toEqual([]);
    const dynamicCn = withCn(105);
    const sdp = sdpSetup(111, 'opus/48000/2', 'audio', undefined, [[105, 'CN/48000']]);
    const onDynamic = await runFixture([...sdp, ...dynamicCn], undefined, [...sdp, ...dynamicCn]);
    const row = onDynamic.tshark.get(KEY)!;
    const rep = onDynamic.probe.get(KEY)!;
    expect(row.maxDelta).toBeGreaterThan(200);
    expect(rep.MAX_DELTA).toBe(onStatic.probe.get(KEY)!.MAX_DELTA);
    expect(rep.MAX_DELTA).toBeLessThan(30);
    expect([rep.TOTAL_PK, rep.CLOCK, rep.CODEC_NAME]).toEqual([row.packets, 48000, 'opus']);
  });
});

describe('unsignalled RFC 4733 events are kept out of jitter as tshark does', () => {
  /** PCMA, 6 event packets sharing one timestamp (marker on the first, E bit on the last 3), PCMA again. */
  function withEvents(eventPt: number): FixturePacket[] {
    const j = jitterOf(9, 2);
    const out = g711(25, { jitterMs: j });
    const evTs = 80000 + 25 * 160;
    for (let k = 0; k < 6; k++) {
      const payload = Uint8Array.from([5, (k >= 3 ? 0x80 : 0) | 10, 0, (k + 1) * 160 >> 8, ((k + 1) * 160) & 0xff].slice(0, 4));
      out.push({ ms: (25 + k) * 20 + j(25 + k), seq: 1025 + k, ts: evTs, pt: eventPt, marker: k === 0, payload });
    }
    for (const p of g711(25, { seq0: 1031, ts0: evTs + 6 * 160, ms0: 31 * 20, jitterMs: (i) => j(31 + i) })) out.push(p);
    return out;
  }
  for (const pt of [101, 100]) {
    it(`PCMA, events on PT ${pt} without SDP, PCMA`, async () => {
      const r = await runFixture(withEvents(pt));
      expect(fieldMismatches(r.probe.get(KEY)!, r.tshark.get(KEY)!)).toEqual([]);
    });
  }

  it('a stream of events only (PT 101) has no jitter', async () => {
    const out: FixturePacket[] = [];
    for (let k = 0; k < 10; k++) out.push({ ms: k * 20, seq: 7 + k, ts: 13280, pt: 101, marker: k === 0, payload: Uint8Array.from([1, k >= 7 ? 0x8a : 0x0a, 0, 160 * (k + 1)]) });
    const r = await runFixture(out);
    expect(r.tshark.get(KEY)!.minJitter).toBe(-1);
    expect(fieldMismatches(r.probe.get(KEY)!, r.tshark.get(KEY)!)).toEqual([]);
  });
});

describe('a timestamp older than the first packet is signed and not analysed, as tshark', () => {
  it('seq 2 arrives before seq 1', async () => {
    const a = g711(50, { jitterMs: jitterOf(10, 5) });
    const [p0, p1] = [a[0], a[1]];
    a[0] = { ...p1, ms: p0.ms };
    a[1] = { ...p0, ms: p1.ms };
    const r = await runFixture(a);
    const rep = r.probe.get(KEY)!;
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
    expect(Math.abs(rep.MAX_SKEW as number)).toBeLessThan(100); // not 2^32 / 8 ms
  });

  it('timestamps from 100000, then restarting at 0', async () => {
    const j = jitterOf(11, 5);
    const b = [...g711(30, { ts0: 100000, jitterMs: j }), ...g711(30, { seq0: 1030, ts0: 0, ms0: 600, jitterMs: (i) => j(30 + i) })];
    const r = await runFixture(b);
    const rep = r.probe.get(KEY)!;
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
    expect(Math.abs(rep.MAX_SKEW as number)).toBeLessThan(100);
    expect(rep.JITTER as number).toBeLessThan(10); // RFC 3550 jitter keeps measuring after the reset
  });
});

describe('SPAN duplicates', () => {
  it('every packet twice, on odd ports: the stream passes the heuristic and equals tshark', async () => {
    const out: FixturePacket[] = [];
    for (const p of g711(40, { pt: 0, jitterMs: jitterOf(12, 2) })) out.push({ ...p, srcPort: 9395, dstPort: 9399 }, { ...p, ms: p.ms + 0.05, srcPort: 9395, dstPort: 9399 });
    const r = await runFixture(out);
    const k = fixtureKey({ srcPort: 9395, dstPort: 9399 });
    const rep = r.probe.get(k)!;
    expect(rep.TOTAL_PK).toBe(80);
    expect(fieldMismatches(rep, r.tshark.get(k)!)).toEqual([]);
  });
});

describe('duplicates beside loss', () => {
  it('tshark counts a duplicate as a received packet (Lost = expected - packets); PACKET_LOSS counts the packets that never came', async () => {
    const sent = g711(80, { jitterMs: jitterOf(16, 2) });
    const lost = new Set([11, 30, 31, 57]);
    const out: FixturePacket[] = [];
    sent.forEach((p, i) => {
      if (lost.has(i)) return;
      out.push(p);
      if (i % 9 === 4) out.push({ ...p, ms: p.ms + 0.05 }); // a mirror port's second copy
    });
    const dups = out.length - (sent.length - lost.size);
    const r = await runFixture(out);
    const rep = r.probe.get(KEY)!;
    const row = r.tshark.get(KEY)!;
    expect(row.lost).toBe(lost.size - dups); // tshark: each duplicate cancels a lost packet
    expect(fieldMismatches(rep, row)).toEqual([]);
    expect([rep.PACKET_LOSS, rep.DUPLICATES, rep.TOTAL_PK]).toEqual([lost.size, dups, out.length]);
  });
});

describe('a stray packet of another SSRC inside a stream', () => {
  it('is no stream (tshark: a stream of one packet); the stream around it equals tshark', async () => {
    const a = g711(50, { jitterMs: jitterOf(13, 2) });
    a.splice(20, 0, { ms: a[19].ms + 3, seq: 4242, ts: 777, pt: 8, ssrc: 0x57a7 });
    const r = await runFixture(a);
    const strayKey = fixtureKey({ ssrc: 0x57a7 });
    expect(r.tshark.get(strayKey)?.packets).toBe(1);
    expect(r.probe.has(strayKey)).toBe(false);
    expect([...r.probe.keys()]).toEqual([KEY]);
    expect(fieldMismatches(r.probe.get(KEY)!, r.tshark.get(KEY)!)).toEqual([]);
  });
});

describe('stray packets of the stream itself (its 5-tuple and SSRC) with wild sequence numbers: corrupted, or injected', () => {
  it('cost no loss: the stream measures as tshark, its designed losses exact', async () => {
    const sent = g711(200, { jitterMs: jitterOf(17, 2) });
    const lost = new Set([11, 30, 31, 57]);
    const out: FixturePacket[] = sent.filter((_, i) => !lost.has(i));
    // 200 and 2,999 numbers ahead (inside RFC 3550's MAX_DROPOUT), and 5,000 behind; one with a wild timestamp.
    const strays = [[60, 200, 0], [120, 2999, 0x7654321], [150, -5000, 0]];
    for (const [at, ahead, ts] of strays) {
      const p = sent[at];
      out.splice(out.indexOf(p) + 1, 0, { ...p, ms: p.ms + 1, seq: p.seq + ahead, ts: ts || p.ts });
    }
    const r = await runFixture(out);
    const rep = r.probe.get(KEY)!;
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
    expect(rep.EXPECTED_PK).toBe(sent.length);
    expect(rep.MOS as number).toBeGreaterThan(4);
  });
});

describe('heuristic defaults', () => {
  it('find RTP on odd ports, dynamic and video types, and nothing in RTCP, STUN, DTLS or random UDP', async () => {
    const j = jitterOf(14, 2);
    const sccp = g711(40, { pt: 0, jitterMs: j }).map((p) => ({ ...p, srcPort: 9395, dstPort: 9399 }));
    const webrtc = stream(40, 111, 960, 20, j).map((p) => ({ ...p, srcPort: 50003, dstPort: 19305, ssrc: 0x0b0b }));
    const h263 = stream(40, 34, 3000, 33, j, 900).map((p) => ({ ...p, srcPort: 6000, dstPort: 6001, ssrc: 0x3434 }));
    const noise: FixturePacket[] = [];
    const rnd = jitterOf(15, 0.5);
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from({ length: 40 + (i % 50) }, (_, k) => Math.floor((rnd(i * 97 + k) + 0.5) * 256) & 0xff);
      noise.push({ ms: i * 4, seq: 0, ts: 0, srcPort: 30001 + (i % 7) * 2, dstPort: 40001, raw: bytes }); // random UDP
    }
    for (let i = 0; i < 20; i++) {
      // RTCP receiver reports (PT 201) on the odd port, STUN binding requests, DTLS 1.2 handshake records.
      noise.push({ ms: i * 50, seq: 0, ts: 0, srcPort: 9396, dstPort: 9400, raw: Uint8Array.from([0x81, 201, 0, 7, 0, 0, 0x0b, 0x0b, ...new Array(24).fill(i)]) });
      noise.push({ ms: i * 50 + 1, seq: 0, ts: 0, srcPort: 50003, dstPort: 19305, raw: Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Array(12).fill(i)]) });
      noise.push({ ms: i * 50 + 2, seq: 0, ts: 0, srcPort: 50003, dstPort: 19305, raw: Uint8Array.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, i, 0, 20, ...new Array(20).fill(1)]) });
    }
    const all = [...sccp, ...webrtc, ...h263, ...noise].sort((a, b) => a.ms - b.ms);
    const r = await runFixture(all);
    const keys = [fixtureKey({ srcPort: 9395, dstPort: 9399 }), fixtureKey({ srcPort: 50003, dstPort: 19305, ssrc: 0x0b0b }), fixtureKey({ srcPort: 6000, dstPort: 6001, ssrc: 0x3434 })];
    expect([...r.probe.keys()].sort()).toEqual([...keys].sort());
    for (const k of keys) {
      const row = r.tshark.get(k)!;
      const rep = r.probe.get(k)!;
      if (rep.CLOCK_SOURCE === 'inferred') expect(row.minJitter).toBe(-1); // tshark has no clock: delta and counts only
      const mm = fieldMismatches(rep, row).filter((m) => !(rep.CLOCK_SOURCE === 'inferred' && /Jitter/.test(m)));
      expect(mm, k).toEqual([]);
    }
  });
});

export { FIX };

describe('host clock steps (NTP): streams and calls kept, the step out of delta and jitter', () => {
  /**
   * A call (SIP, then both directions of G.711) whose capture clock steps by `stepMs` after 10 s. The
   * packets next to the step arrive on time: the step is measured from the first packet after it, whose own
   * jitter cannot be told from the step (it would shift the rest of the stream by that much).
   */
  function call(stepMs: number, stepAfterMs = 10_000): FixturePacket[] {
    const jj = jitterOf(16, 2);
    const j = (i: number) => (Math.abs(i * 20 - stepAfterMs) <= 60 ? 0 : jj(i));
    const shift = (ms: number) => (ms >= stepAfterMs ? ms + stepMs : ms);
    const fwd = g711(1000, { pt: 8, jitterMs: j });
    const back = g711(1000, { pt: 8, jitterMs: (i) => j(i + 7) }).map((p) => ({ ...p, ms: p.ms + 7, src: FIX.dst, srcPort: FIX.dstPort, dst: FIX.src, dstPort: FIX.srcPort, ssrc: 0xbacc }));
    const media = [...fwd, ...back].sort((a, b) => a.ms - b.ms).map((p) => ({ ...p, ms: shift(p.ms) }));
    return [...sdpSetup(8, 'PCMA/8000'), ...media];
  }
  for (const stepMs of [700_000, -30_000]) {
    it(`a step of ${stepMs / 1000} s in the middle: one stream each way, under the Call-ID, equal to tshark without the step`, async () => {
      const ref = await runFixture(call(0));
      const stepped = await runFixture(call(stepMs));
      for (const k of [KEY, fixtureKey({ src: FIX.dst, srcPort: FIX.dstPort, dst: FIX.src, dstPort: FIX.srcPort, ssrc: 0xbacc })]) {
        const row = ref.tshark.get(k)!;
        expect(row.packets).toBe(1000);
        const rep = stepped.probe.get(k)!;
        expect(rep, k).toBeDefined();
        expect(rep.CORRELATION_ID).toBe('fixture-call@example.com');
        expect(fieldMismatches(rep, row), k).toEqual([]);
        // tshark takes a forward step for a delta of its size: the probe does not.
        if (stepMs > 0) expect(stepped.tshark.get(k)!.maxDelta).toBeGreaterThan(stepMs);
      }
      expect(stepped.probe.size).toBe(2);
    });
  }
});

describe('an SDP binding admits only what looks like RTP', () => {
  it('a payload type no profile assigns (35..71) counts when the SDP maps it, as WebRTC maps AV1 to 45: measured as tshark given the clock', async () => {
    const frames = video(60, 3, jitterOf(19, 2));
    const av1 = frames.map((p) => ({ ...p, pt: 45 }));
    // tshark takes a payload type under 96 for a static one whatever the SDP says (45: no clock, no
    // jitter); the same packets on 96 give its figures with the SDP's clock.
    const asTshark = [...sdpSetup(96, 'AV1/90000', 'video'), ...frames.map((p) => ({ ...p, pt: 96 }))];
    const r = await runFixture([...sdpSetup(45, 'AV1/90000', 'video'), ...av1], undefined, asTshark);
    const rep = r.probe.get(KEY)!;
    expect(rep, 'a stream').toBeDefined();
    expect([rep.CODEC_NAME, rep.CLOCK, rep.CLOCK_SOURCE, rep.CORRELATION_ID]).toEqual(['av1', 90000, 'sdp', 'fixture-call@example.com']);
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
    // The same packets on a binding whose SDP does not name 45 start nothing.
    const unmapped = await runFixture([...sdpSetup(96, 'VP8/90000', 'video'), ...av1]);
    expect(unmapped.probe.size).toBe(0);
  });

  it('junk on the RTCP port and random SSRCs sprayed at the bound RTP port start no stream; the call stays measurable', async () => {
    const j = jitterOf(17, 2);
    const real = g711(200, { jitterMs: j });
    const rnd = jitterOf(18, 0.5);
    const byte = (i: number) => Math.floor((rnd(i) + 0.5) * 256) & 0xff;
    const attack: FixturePacket[] = [];
    for (let i = 0; i < 600; i++) {
      // RTP-looking (version 2, PT 8) with a new SSRC each time, on the call's own 5-tuple.
      attack.push({ ms: i * 6.5 + 1, seq: byte(i) * 256 + byte(i + 1), ts: byte(i + 2) * 65536, pt: 8, ssrc: (byte(i + 3) << 24) | (byte(i + 4) << 16) | i });
      // Junk to the RTCP port (the m= port + 1), some of it with a version-2 first byte.
      const junk = Uint8Array.from({ length: 30 + (i % 40) }, (_, k) => byte(i * 131 + k));
      attack.push({ ms: i * 6.5 + 2, seq: 0, ts: 0, srcPort: FIX.srcPort + 1, dstPort: FIX.dstPort + 1, raw: junk });
    }
    const all = [...sdpSetup(8, 'PCMA/8000'), ...[...real, ...attack].sort((a, b) => a.ms - b.ms)];
    const r = await runFixture(all);
    expect(r.tshark.size, 'tshark takes the sprayed packets for streams').toBeGreaterThan(100);
    expect([...r.probe.keys()]).toEqual([KEY]);
    const rep = r.probe.get(KEY)!;
    expect(rep.CORRELATION_ID).toBe('fixture-call@example.com');
    expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
  });
});

describe('SRTCP where the SDP names a secure profile (RTP/SAVP) is never parsed as RTCP', () => {
  /**
   * SRTCP (RFC 3711) whose ciphertext happens to read as clear RTCP: an RR header (clear), "encrypted"
   * bytes that form a BYE for the stream's SSRC, then the E flag and index and the tag that form another
   * RR and 2 zero bytes. Parsed as RTCP, the BYE would end the stream in the middle of the call.
   */
  function srtcpLookingLikeBye(ms: number): FixturePacket {
    const s = [FIX.ssrc >>> 24, (FIX.ssrc >>> 16) & 0xff, (FIX.ssrc >>> 8) & 0xff, FIX.ssrc & 0xff];
    const raw = Uint8Array.from([0x80, 0xc9, 0, 1, ...s, 0x81, 0xcb, 0, 1, ...s, 0x80, 0xc9, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
    return { ms, seq: 0, ts: 0, srcPort: FIX.srcPort + 1, dstPort: FIX.dstPort + 1, raw };
  }
  for (const proto of ['RTP/SAVP', 'UDP/TLS/RTP/SAVPF']) {
    it(`${proto}: the stream runs on through the SRTCP, one record equal to tshark's`, async () => {
      const media = g711(150, { jitterMs: jitterOf(19, 2) });
      const r = await runFixture([...sdpSetup(8, 'PCMA/8000', 'audio', proto), ...media.slice(0, 75), srtcpLookingLikeBye(75 * 20 - 5), ...media.slice(75)]);
      const rep = r.probe.get(KEY)!;
      expect([rep.TOTAL_PK, rep.CORRELATION_ID]).toEqual([150, 'fixture-call@example.com']);
      expect(fieldMismatches(rep, r.tshark.get(KEY)!)).toEqual([]);
    });
  }
});
