/**
 * WriteLedger: what a lost connection hands back is byte for byte what was written and not acknowledged,
 * in order, whatever the ring's wraps and growth in between.
 */
import { describe, expect, it } from 'vitest';
import { WriteLedger } from '../../src/hep/write-ledger.js';

/** Message `i`: its number in every byte, 300 B to 40 KB long. */
const message = (i: number) => Buffer.alloc(300 + ((i * 7919) % 40_000), i & 0xff);

describe('WriteLedger', () => {
  it('hands back exactly the unacknowledged messages after wraps and growth; acknowledges by stream offset only what was called back', () => {
    const l = new WriteLedger();
    const written: Buffer[] = [];
    let acked = 0;
    for (let i = 0; i < 2000; i++) {
      const b = message(i);
      written.push(b);
      l.push(b);
      l.calledBack();
      // Acknowledge up to a point 200 KB behind what was written: the ring keeps wrapping.
      acked += l.ackThrough(l.written - 200_000);
    }
    expect(acked).toBeGreaterThan(1900);
    expect(l.unacked).toBe(2000 - acked);
    // Two more written, not called back: never acknowledged by an offset, handed back too.
    for (const i of [2000, 2001]) {
      written.push(message(i));
      l.push(message(i));
    }
    expect(l.ackThrough(l.written)).toBe(2000 - acked);
    acked = 2000;
    expect(l.notCalledBack).toBe(2);
    const rest = l.close();
    expect(rest).toEqual(written.slice(acked));
    expect(l.closed).toBe(true);
  });

  it('grows its ring past a message larger than it, keeping what it held', () => {
    const l = new WriteLedger();
    const small = message(1);
    const big = Buffer.alloc(300_000, 7);
    l.push(small);
    l.push(big);
    expect(l.newestCovering(1)).toBe(1);
    expect(l.newestCovering(big.length + 1)).toBe(2);
    const rest = l.close();
    expect(rest).toHaveLength(2);
    expect(rest[0]!.equals(small) && rest[1]!.equals(big)).toBe(true);
  });
});
