import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimestampConverter } from '../../src/capture/file/timestamp.js';

// The float64 limb arithmetic must agree exactly with BigInt arithmetic (the definition) for every
// if_tsresol a writer may use: powers of ten 0..18, powers of two 0..63, with an if_tsoffset.
describe('pcapng timestamp conversion', () => {
  it('matches BigInt division for random 64-bit tick counts', () => {
    const conv = new TimestampConverter();
    const resol = fc.oneof(fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 63 }).map((n) => 0x80 | n));
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), resol, fc.integer({ min: -1000, max: 1000 }), (hi, lo, r, offset) => {
        const ticks = (BigInt(hi) << 32n) | BigInt(lo);
        const units = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
        const sec = ticks / units;
        const nsec = ((ticks % units) * 1_000_000_000n) / units;
        conv.convert(hi, lo, r, offset);
        // Seconds beyond 2^53 cannot be exact in a float64; such files are not real captures.
        if (sec < 2n ** 53n) expect(conv.sec).toBe(Number(sec) + offset);
        expect(conv.nsec).toBe(Number(nsec));
      }),
      { numRuns: 5000 },
    );
  });
});
