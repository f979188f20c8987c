/**
 * SipOrder, the main thread's merge of the SIP that media workers forward: applied in capture-time order
 * across workers, and never held for long by a worker that says nothing or lags far behind. Times are
 * given explicitly (performance.now() in the pool), so the bounds are checked exactly.
 */
import { describe, expect, it } from 'vitest';
import type { ForwardedSip } from '../../src/pipeline/workers/messages.js';
import { SipOrder } from '../../src/pipeline/workers/sip-order.js';
import { SipInFlight } from '../../src/pipeline/workers/sip-in-flight.js';
import { SIP_WAITING_LIMIT } from '../../src/sip/index.js';

const T0 = 1_700_000_000_000;

/** A forwarded packet captured at T0 + `ms`, its payload naming it. */
function sip(name: string, ms: number): ForwardedSip {
  const at = T0 + ms;
  return { bytes: new TextEncoder().encode(name), ipVersion: 4, ipProto: 17, addr: new Int32Array(8), srcPort: 5060, dstPort: 5060, tcpSeq: 0, tcpFlags: 0, wireLength: name.length, tsSec: Math.floor(at / 1000), tsNsec: (at % 1000) * 1e6, clockOffsetMs: 0, clockSteps: 0 };
}

function order(workers: number, bufferTimeoutMs = 100): { o: SipOrder; applied: string[] } {
  const applied: string[] = [];
  const o = new SipOrder(workers, bufferTimeoutMs, (s) => applied.push(new TextDecoder().decode(s.bytes)));
  return { o, applied };
}

describe('SipOrder: the media workers\' SIP in capture-time order', () => {
  it('SIP captured later on one worker waits for another worker to read past it, then both go in capture order', () => {
    const { o, applied } = order(2);
    o.add(1, [sip('leg2-200', 30)], T0 + 40, 0);
    expect(o.release(0)).toBe(o.maxHoldMs);
    expect(applied).toEqual([]);
    o.add(0, [sip('leg1-invite', 0), sip('leg1-200', 10)], T0 + 12, 5);
    o.release(5);
    expect(applied).toEqual(['leg1-invite', 'leg1-200']); // worker 1 has read past both
    o.add(0, [], T0 + 30, 8); // worker 0 read past it (an empty ring says so too)
    expect(o.release(8)).toBe(Number.POSITIVE_INFINITY);
    expect(applied).toEqual(['leg1-invite', 'leg1-200', 'leg2-200']);
  });

  it('a worker that says nothing, or stays behind, holds SIP 2 x buffer timeout + 50 ms + 1 s after it arrived, no longer', () => {
    const { o, applied } = order(3, 100);
    expect(o.maxHoldMs).toBe(1250);
    o.add(0, [sip('a', 0)], T0 + 1, 1000);
    for (let now = 1000; now < 2250; now += 100) {
      o.add(1, [], T0 - 5000 + now, now); // reads every 100 ms, 5 s behind; worker 2 never tells anything
      expect(o.release(now)).toBe(2250);
    }
    expect(applied).toEqual([]);
    expect(o.release(2250)).toBe(Number.POSITIVE_INFINITY);
    expect(applied).toEqual(['a']);
  });

  it('SIP held past its bound goes with everything captured before it, in capture order', () => {
    const { o, applied } = order(3, 100);
    o.add(0, [sip('late', 80)], T0 + 80, 0);
    o.add(1, [sip('early', 20)], T0 + 20, 900);
    o.add(2, [], T0 - 10_000, 900); // far behind
    o.release(900);
    expect(applied).toEqual([]);
    o.release(o.maxHoldMs); // 'late' is overdue: 'early' was captured before it
    expect(applied).toEqual(['early', 'late']);
  });

  it('a worker that stopped reading (drained, exited) holds nothing back; one worker\'s SIP keeps its own order', () => {
    const { o, applied } = order(2);
    o.add(0, [sip('x', 10), sip('y', 10), sip('z', 5)], T0 + 10, 0);
    expect(o.release(0)).toBe(o.maxHoldMs);
    o.finish(1);
    o.release(0);
    expect(applied).toEqual(['x', 'y', 'z']);
  });

  it('a SIP flood held for a worker that lags is bounded by count: past half of what may wait, the earliest goes at once, counted', () => {
    const { o, applied } = order(2);
    const n = SIP_WAITING_LIMIT.messages * 2;
    const flood = Array.from({ length: n }, (_, i) => sip(`f${i}`, i / 100));
    o.add(0, flood, T0 + n, 0); // worker 1 never says how far it has read
    expect(o.release(0)).toBe(o.maxHoldMs);
    const held = SIP_WAITING_LIMIT.messages / 2;
    expect(o.heldMessages).toBe(held);
    expect(o.releasedEarly).toBe(n - held);
    expect(applied).toEqual(flood.slice(0, n - held).map((_, i) => `f${i}`)); // in capture order
    o.release(o.maxHoldMs); // the rest when overdue, not counted as early
    expect(applied.length).toBe(n);
    expect(o.releasedEarly).toBe(n - held);
    expect(o.heldMessages).toBe(0);
    expect(o.heldBytes).toBe(0);
  });

  it('and by bytes: 16 KB messages are held up to half of the 8 MiB that may wait', () => {
    const { o, applied } = order(2);
    const big = (i: number) => ({ ...sip(`b${i}`, i), bytes: new Uint8Array(16 << 10) });
    for (let i = 0; i < 1000; i++) {
      o.add(0, [big(i)], T0 + i, i);
      o.release(i);
      expect(o.heldBytes).toBeLessThanOrEqual(SIP_WAITING_LIMIT.bytes / 2);
    }
    expect(o.heldMessages).toBe((SIP_WAITING_LIMIT.bytes / 2) / (16 << 10));
    expect(applied.length + o.heldMessages).toBe(1000);
    expect(o.releasedEarly).toBe(applied.length);
  });
});

describe('SipInFlight: SIP the workers forwarded and the main thread has not handled', () => {
  it('refuses a message past its count or bytes until one is handled', () => {
    const mem = SipInFlight.memory();
    const worker = new SipInFlight(mem, 3, 1000);
    const main = new SipInFlight(mem, 3, 1000);
    expect([worker.take(100), worker.take(100), worker.take(100), worker.take(1)]).toEqual([true, true, true, false]);
    main.give(100);
    expect(worker.take(801)).toBe(false); // 200 + 801 bytes
    expect(worker.take(800)).toBe(true);
    expect([main.messages, main.bytes]).toEqual([3, 1000]);
  });
});
