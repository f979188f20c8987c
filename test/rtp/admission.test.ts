/**
 * What the engine admits as a stream, and where the packets it does not admit are counted.
 */
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { RtpEngine, createStreamSnapshot } from '../../src/rtp/index.js';
import { synthPacket } from './helpers.js';

function feed(engine: RtpEngine, list: Array<{ seq: number; ssrc: number; pt?: number }>, signalled: boolean): number[] {
  const pkt = new DecodedPacket();
  return list.map((p, i) => {
    synthPacket(pkt, rtp({ pt: p.pt ?? 0, seq: p.seq, ts: p.seq * 160, ssrc: p.ssrc, payload: new Uint8Array(160) }), i * 20_000);
    return engine.onRtp(pkt, signalled);
  });
}

describe('admission', () => {
  for (const signalled of [false, true]) {
    it(`${signalled ? 'signalled' : 'unsignalled'}: a stray packet of another SSRC is no stream and counts in heldDiscarded`, () => {
      const engine = new RtpEngine();
      const list = Array.from({ length: 30 }, (_, i) => ({ seq: 100 + i, ssrc: 1 }));
      list.splice(15, 0, { seq: 9, ssrc: 2 });
      feed(engine, list, signalled);
      expect(engine.activeStreams).toBe(1);
      const s = createStreamSnapshot();
      engine.forEachActive((slot) => engine.snapshot(slot, s));
      expect([s.ssrc, s.cumulative.packets]).toEqual([1, 30]);
      engine.endAll(5);
      expect(engine.heldDiscarded).toBe(1);
    });
  }

  it('signalled: two packets in sequence of one SSRC start the stream, counted from the first', () => {
    const engine = new RtpEngine();
    const slots = feed(engine, [{ seq: 7, ssrc: 3 }, { seq: 8, ssrc: 3 }, { seq: 9, ssrc: 3 }], true);
    expect(slots[0]).toBe(-1);
    expect(slots[1]).toBeGreaterThanOrEqual(0);
    const s = createStreamSnapshot();
    engine.snapshot(slots[2], s);
    expect(s.cumulative.packets).toBe(3);
    expect(engine.counters.signalledPending).toBe(1);
  });

  it('signalled: sprayed SSRCs and unassigned payload types start nothing', () => {
    const engine = new RtpEngine();
    const spray = Array.from({ length: 500 }, (_, i) => ({ seq: i, ssrc: 1000 + i }));
    const unassigned = Array.from({ length: 20 }, (_, i) => ({ seq: i, ssrc: 5, pt: 50 }));
    feed(engine, [...spray, ...unassigned], true);
    expect(engine.activeStreams).toBe(0);
    engine.endAll(5);
    expect(engine.heldDiscarded).toBe(520);
  });
});
