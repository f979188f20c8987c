import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { RtpEngine, createStreamSnapshot } from '../../src/rtp/index.js';
import { CAPTURES, compareToTshark, parseTshark, runPcap, streamKey, synthPacket } from './helpers.js';

const synthNames = readdirSync(`${CAPTURES}synth`).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
const heuristic = { minConsecutive: 4, allowedPayloadTypes: [[0, 127]] as Array<[number, number]> };

describe('streams found by the heuristic are counted from their first packet', () => {
  for (const name of synthNames) {
    it(`${name}: heuristic path equals tshark and the signalled path in every metric`, () => {
      const file = `${CAPTURES}synth/${name}.pcap`;
      const viaHeuristic = runPcap(file, { wiresharkCompatibleClock: true, heuristic }, false);
      const viaSdp = runPcap(file, { wiresharkCompatibleClock: true }, true);
      for (const row of parseTshark(`${CAPTURES}synth/${name}.tshark.txt`)) {
        const key = streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc);
        const h = viaHeuristic.streams.get(key);
        expect(h, key).toBeDefined();
        expect(compareToTshark(h!, row), key).toEqual([]);
        // Loss pattern, RFC counters, skew, drift...: all as if counted from the first packet.
        expect({ ...h!, slot: 0 }).toEqual({ ...viaSdp.streams.get(key)!, slot: 0 });
        // Per-packet Wireshark values after promotion are the signalled run's tail (the promoting packet's
        // delta is not observable from outside: the helper derives deltas from successive packet times).
        const hp = viaHeuristic.perPacket.get(key)!;
        const sp = viaSdp.perPacket.get(key)!;
        const tail = sp.slice(sp.length - hp.length);
        expect(hp.slice(1)).toEqual(tail.slice(1));
        expect([hp[0].j, hp[0].sk]).toEqual([tail[0].j, tail[0].sk]);
      }
    });
  }

  it('probation packets before a sequence break, and a non-listed PT inside a candidate, are kept', () => {
    const engine = new RtpEngine({ heuristic: { minConsecutive: 3, allowedPayloadTypes: [[0, 0]] } });
    const pkt = new DecodedPacket();
    const seqs = [10, 12, 11, 13, 14, 15];
    let slot = -1;
    seqs.forEach((seq, i) => {
      const pt = i === 1 ? 13 : 0; // comfort noise: not a listed PT, but part of the flow
      synthPacket(pkt, rtp({ pt, seq, ts: (seq - 10) * 160, ssrc: 7, payload: new Uint8Array(160) }), i * 20000);
      slot = engine.onRtp(pkt, false);
      if (i < seqs.length - 1) expect(slot, `packet ${i}`).toBe(-1);
    });
    expect(slot).toBeGreaterThanOrEqual(0);
    const s = createStreamSnapshot();
    engine.snapshot(slot, s);
    expect(s.cumulative.packets).toBe(seqs.length);
    expect(s.cumulative.expected).toBe(6);
    expect(s.cumulative.outOfOrder).toBe(1);
    expect(s.comfortNoise).toBe(1);
    expect(engine.counters.packets).toBe(seqs.length);
  });

  it('a signalled start adopts packets the heuristic held, without counting the current one twice', () => {
    const engine = new RtpEngine({ heuristic: { minConsecutive: 4 } });
    const pkt = new DecodedPacket();
    for (let i = 0; i < 3; i++) {
      synthPacket(pkt, rtp({ pt: 0, seq: 100 + i, ts: i * 160, ssrc: 9, payload: new Uint8Array(160) }), i * 20000);
      expect(engine.onRtp(pkt, false)).toBe(-1);
      // The pipeline's order: heuristic first, then the binding lookup; the binding appears at packet 3.
      if (i === 2) expect(engine.onRtp(pkt, true)).toBeGreaterThanOrEqual(0);
    }
    const s = createStreamSnapshot();
    engine.snapshot(0, s);
    expect([s.cumulative.packets, s.cumulative.expected, s.cumulative.duplicates]).toEqual([3, 3, 0]);
  });
});
