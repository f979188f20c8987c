/**
 * Fuzzing the whole pipeline (issue 9). Capture images come from src/gen and are damaged by the mutation
 * fuzzer of native-bench/ts/fuzz.ts (bounded here; `npm run build:bench; node native-bench/out/fuzz.js --seconds 600` runs the long
 * version), and fast-check builds packets of every kind with arbitrary fields. Contract: only
 * CaptureFileError leaves the file reader, nothing leaves the pipeline, tables stay within their maxima,
 * reports round-trip through JSON, and corruption is counted as malformed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exoticRecords, fuzzConfig, fuzzInput, mutateRecords, runCapture, scenarioRecords, violations } from '../../native-bench/ts/fuzz.js';
import { classicPcap, pcapng, rtcpCompound, rtcpSdes, rtcpSr, rtp, sdpBody, sipRequest, text, udpFrame } from '../../src/gen/index.js';
import type { PcapRecord } from '../../src/gen/index.js';
// The fuzzer's own generator class: native-bench/ts/fuzz.ts runs the compiled product (dist/).
import { SeededRandom } from '../../dist/gen/random.js';

const T0 = 1_700_000_000n * 1_000_000_000n;

describe('mutation fuzzer over generated captures', () => {
  it('undamaged inputs produce reports and no malformed count (the baseline the damage is measured against)', () => {
    const o = runCapture(classicPcap([...exoticRecords(), ...scenarioRecords(7)]));
    expect(o.fileError).toBe(false);
    expect(o.reports).toBeGreaterThan(0);
    expect(violations(o, fuzzConfig())).toEqual([]);
    const plain = runCapture(classicPcap(scenarioRecords(7)));
    expect(plain.malformed).toBe(0);
  });

  it('300 damaged files and packet sets: no escape, bounded tables, valid JSON, damage counted', () => {
    const config = fuzzConfig();
    let fileErrors = 0;
    let packetLevel = 0;
    let malformedPacketLevel = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { data, level } = fuzzInput(seed);
      const o = runCapture(data, config);
      expect(violations(o, config), `seed ${seed}`).toEqual([]);
      if (o.fileError) fileErrors++;
      if (level === 'packet') {
        packetLevel++;
        if (o.malformed > 0) malformedPacketLevel++;
        expect(o.fileError, `seed ${seed}: packet-level damage keeps the file readable`).toBe(false);
      }
    }
    expect(fileErrors).toBeGreaterThan(0); // the file-level damage did reach the reader's checks
    // Most packet-level damage (truncation, length fields) is detectable; flips inside payloads are not.
    expect(malformedPacketLevel).toBeGreaterThan(packetLevel / 2);
  });

  it('truncating every packet of a capture is counted malformed packet by packet, never thrown', () => {
    const recs = scenarioRecords(3).slice(0, 300);
    const cut = recs.map((r, i) => ({ ...r, data: r.data.subarray(0, i % 40) }));
    const o = runCapture(pcapng(cut));
    expect(o.fileError).toBe(false);
    expect(o.packets).toBe(cut.length);
    // Frames shorter than Ethernet+IPv4+UDP headers (42 bytes): all of them, each counted once at least.
    expect(o.malformed).toBeGreaterThanOrEqual(cut.length);
  });
});

describe('fast-check: arbitrary packets of every kind through the pipeline', () => {
  const ctl = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '\u0000', '\u001b', '[', '\r', '\n', ' ', ':', ';', '"', '\\', '\u00e9', '\uffff'), maxLength: 24 });
  const packet = fc.oneof(
    fc.record({ kind: fc.constant('sip' as const), callId: ctl, ua: ctl, port: fc.integer({ min: 0, max: 65535 }), ip: ctl, bodyJunk: ctl }),
    fc.record({ kind: fc.constant('rtp' as const), pt: fc.integer({ min: 0, max: 127 }), seq: fc.integer({ min: 0, max: 65535 }), ts: fc.nat(), ssrc: fc.nat(), cc: fc.integer({ min: 0, max: 15 }), sport: fc.integer({ min: 1, max: 65535 }), dport: fc.integer({ min: 1, max: 65535 }), cut: fc.nat(200) }),
    fc.record({ kind: fc.constant('rtcp' as const), ssrc: fc.nat(), junk: fc.uint8Array({ maxLength: 40 }), cut: fc.nat(120) }),
    fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
  );
  type P = typeof packet extends fc.Arbitrary<infer T> ? T : never;

  function frame(p: P): Uint8Array {
    switch (p.kind) {
      case 'sip': {
        const body = sdpBody({ ip: p.ip || '10.0.0.1', media: [{ port: p.port, formats: [0, 8], ptime: 20 }] }) + p.bodyJunk;
        return udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text(sipRequest('INVITE', 'sip:x@y', { callId: p.callId, fromTag: 'f', cseq: 1, body, headers: [['User-Agent', p.ua]] })));
      }
      case 'rtp': {
        const r = rtp({ pt: p.pt, seq: p.seq, ts: p.ts, ssrc: p.ssrc, csrcs: new Array<number>(p.cc).fill(1) });
        const f = udpFrame('10.0.0.2', p.sport, '10.0.0.1', p.dport, r);
        return f.subarray(0, Math.min(f.length, 42 + p.cut));
      }
      case 'rtcp': {
        const c = rtcpCompound(rtcpSr({ ssrc: p.ssrc, ntpSec: 1, ntpFrac: 2, rtpTs: 3, packets: 4, octets: 5 }), rtcpSdes([{ ssrc: p.ssrc, items: [{ type: 1, value: p.junk }] }]));
        const f = udpFrame('10.0.0.2', 4001, '10.0.0.1', 5001, c);
        return f.subarray(0, Math.min(f.length, 42 + p.cut));
      }
      default:
        return p.bytes;
    }
  }

  it('never throws, tables bounded, reports valid JSON', () => {
    const config = fuzzConfig();
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 60 }), fc.boolean(), (ps, ng) => {
        const recs: PcapRecord[] = ps.map((p, i) => ({ tsNs: T0 + BigInt(i) * 20_000_000n, data: frame(p) }));
        const o = runCapture(ng ? pcapng(recs) : classicPcap(recs), config);
        expect(o.fileError).toBe(false);
        expect(violations(o, config)).toEqual([]);
      }),
      { numRuns: 150, seed: 42 },
    );
  });

  it('mutated packet sets with random damage rates (seeded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (seed, rate) => {
        const recs = mutateRecords([...exoticRecords(), ...scenarioRecords(seed).slice(0, 150)], new SeededRandom(seed), rate);
        const o = runCapture(classicPcap(recs));
        expect(violations(o, fuzzConfig())).toEqual([]);
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});
