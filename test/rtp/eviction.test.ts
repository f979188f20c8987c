/**
 * Eviction from a full stream table: one-packet streams (only with signalledMinConsecutive 1) go first,
 * oldest first; a one-packet newcomer never pushes out a stream with two packets or more (it waits in the
 * candidate cache and enters with all its packets once confirmed); confirmed newcomers take the slot of
 * a stream the CLOCK hand found silent, never one that received packets since the hand last passed.
 */
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { RtpEngine, EndReason, createStreamSnapshot } from '../../src/rtp/index.js';
import { synthPacket } from './helpers.js';

/** signalledMinConsecutive 1 lets one-packet streams take slots (the default, 2, never does). */
function driver(maxStreams: number, signalledMinConsecutive = 1) {
  const ends: Array<[number, number]> = [];
  const engine = new RtpEngine({ maxStreams, signalledMinConsecutive }, { onStreamEnd: (s, r) => ends.push([s, r]) });
  const pkt = new DecodedPacket();
  /** One packet of stream `ssrc` (signalled) at time tMs; the slot or -1. */
  const send = (ssrc: number, seq: number, tMs: number) => {
    synthPacket(pkt, rtp({ pt: 0, seq, ts: seq * 160, ssrc }), tMs * 1000);
    return engine.onRtp(pkt, true);
  };
  const packetsOf = (slot: number) => {
    const s = createStreamSnapshot();
    engine.snapshot(slot, s);
    return { ssrc: s.ssrc, packets: s.cumulative.packets, lost: s.cumulative.lost };
  };
  return { engine, ends, send, packetsOf };
}

describe('full stream table', () => {
  it('streams still on their one packet after a second go first, oldest first', () => {
    const d = driver(4);
    for (let ssrc = 1; ssrc <= 4; ssrc++) d.send(ssrc, 1, ssrc * 1000);
    d.send(1, 2, 10000); // ssrc 1 confirmed; 2, 3, 4 still on their first packet
    expect(d.send(5, 1, 11000)).toBe(-1); // a one-packet newcomer waits
    const slot5 = d.send(5, 2, 11020);
    expect(d.ends).toEqual([[1, EndReason.evicted]]); // ssrc 2 (slot 1), the oldest one-packet stream
    expect(slot5).toBe(1);
    expect(d.packetsOf(slot5)).toEqual({ ssrc: 5, packets: 2, lost: 0 });
    d.send(6, 1, 12000);
    expect(d.send(6, 2, 12020)).toBe(2); // then ssrc 3
    expect(d.engine.counters.evicted).toBe(2);
    expect(d.engine.counters.evictedUnconfirmed).toBe(2);
    expect(d.engine.activeStreams).toBe(4);
  });

  it('a young one-packet stream is not given up for a newcomer (its second packet may be on the way)', () => {
    const d = driver(2);
    d.send(1, 1, 0);
    d.send(1, 2, 20);
    d.send(2, 1, 5000); // one packet, 15 ms before the newcomer confirms
    d.send(3, 1, 4995);
    expect(d.send(3, 2, 5015)).toBe(0); // CLOCK: ssrc 1 got nothing since... the hand's first pass notes both; idlest is ssrc 1
    expect(d.ends).toEqual([[0, EndReason.evicted]]);
    expect(d.engine.counters.evictedUnconfirmed).toBe(0);
  });

  it('a one-packet newcomer never pushes out confirmed streams: held back, enters with both packets once confirmed', () => {
    const d = driver(4);
    for (let ssrc = 1; ssrc <= 4; ssrc++) for (let seq = 1; seq <= 3; seq++) d.send(ssrc, seq, seq * 20 + ssrc);
    // A flood of one-packet streams (random SSRCs): none gets a slot, no confirmed stream ends.
    for (let i = 0; i < 1000; i++) expect(d.send(0x10000 + i * 7919, i, 100 + i / 10)).toBe(-1);
    expect(d.ends).toEqual([]);
    // Held in the candidate cache, or not even held once its ways are full of fresh flood entries.
    expect(d.engine.counters.heldBack).toBeGreaterThan(900);
    // Streams 2..4 keep sending; stream 1 went silent. A real newcomer's second packet confirms it.
    for (let ssrc = 2; ssrc <= 4; ssrc++) d.send(ssrc, 4, 300 + ssrc);
    expect(d.send(99, 500, 400)).toBe(-1);
    for (let ssrc = 2; ssrc <= 4; ssrc++) d.send(ssrc, 5, 420 + ssrc);
    const slot = d.send(99, 501, 420);
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(d.ends).toEqual([[0, EndReason.evicted]]); // the silent one (ssrc 1, slot 0)
    expect(d.packetsOf(slot)).toEqual({ ssrc: 99, packets: 2, lost: 0 }); // the held packet counted
    for (let ssrc = 2; ssrc <= 4; ssrc++) expect(d.packetsOf(ssrc - 1)).toEqual({ ssrc, packets: 5, lost: 0 });
  });

  it('CLOCK: a confirmed newcomer takes a silent stream, never one that received packets since the hand passed', () => {
    const n = 64;
    const d = driver(n);
    for (let s = 0; s < n; s++) for (let seq = 1; seq <= 2; seq++) d.send(1000 + s, seq, seq * 20);
    // Every stream but 1000+37 and 1000+50 keeps sending; newcomers arrive between rounds.
    let t = 100;
    const silent = new Set([1037, 1050]);
    const evictedSsrcs: number[] = [];
    d.engine.hooks.onStreamEnd = (slot) => evictedSsrcs.push(d.packetsOf(slot).ssrc);
    for (let round = 0; round < 4; round++) {
      for (let s = 0; s < n; s++) if (!silent.has(1000 + s)) d.send(1000 + s, 3 + round, (t += 0.1));
      if (round === 1 || round === 3) {
        const nc = 5000 + round;
        d.send(nc, 1, (t += 0.1));
        expect(d.send(nc, 2, (t += 0.1))).toBeGreaterThanOrEqual(0);
        silent.add(nc); // the newcomer says nothing more
      }
    }
    expect(evictedSsrcs.sort()).toEqual([1037, 1050]);
    expect(d.engine.counters.evictedUnconfirmed).toBe(0);
  });

  it('default settings: a flood of one-packet newcomers at a large full table waits; confirmed newcomers each evict one', () => {
    // (Its cost per packet is measured by the churn bench, not here.)
    const n = 50_000;
    const d = driver(n, 2);
    for (let s = 0; s < n; s++) { d.send(s + 1, 1, s / 100); d.send(s + 1, 2, 20 + s / 100); }
    expect(d.engine.activeStreams).toBe(n);
    const pending0 = d.engine.counters.signalledPending;
    for (let i = 0; i < 20_000; i++) d.send(0x100000 + i, 1, 1000 + i / 100);
    // After the flood (its candidate entries free once silent for a second).
    for (let i = 0; i < 1000; i++) { d.send(0x200000 + i, 1, 3000 + i); d.send(0x200000 + i, 2, 3000.5 + i); }
    expect(d.engine.counters.evicted).toBe(1000);
    expect(d.engine.counters.signalledPending - pending0).toBeGreaterThanOrEqual(1000); // probation first, then the table
    expect(d.engine.counters.evictedUnconfirmed).toBe(0);
    expect(d.engine.activeStreams).toBe(n);
  });
});
