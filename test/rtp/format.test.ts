/**
 * The snapshot's address texts (src/rtp/format.ts) come from a cache of recent ones: whatever the order
 * and however many addresses share a cache entry, each text is the one the decoder's formatter makes.
 */
import { describe, expect, it } from 'vitest';
import { addressToString, macToString } from '../../src/decode/text.js';
import { formatIp, formatMac } from '../../src/rtp/format.js';

/** A fixed-seed generator (xorshift32): the same addresses every run. */
function words(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe('cached address texts', () => {
  it('give the formatter\'s text for IPv4, IPv6 and IPv4-mapped words, many more addresses than cache entries, each asked twice', () => {
    const next = words(0x9e3779b9);
    const asked: Array<[number, number, number, number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const kind = i % 3;
      if (kind === 0) asked.push([4, 0, 0, 0xffff, next()]);
      else if (kind === 1) asked.push([6, next(), next() & 0xffff0000, 0, next() & 0xff]);
      else asked.push([6, 0, 0, 0xffff, next()]); // the same words as an IPv4 packet's, IPv6 text
    }
    // The IPv4 packet and the IPv6 packet carrying the same words (IPv4-mapped) have different texts.
    for (let i = 0; i < 3000; i++) {
      const w = next();
      asked.push([4, 0, 0, 0xffff, w], [6, 0, 0, 0xffff, w]);
    }
    for (const round of [0, 1]) {
      for (const [v, a, b, c, d] of round === 0 ? asked : [...asked].reverse()) expect(formatIp(v, a, b, c, d)).toBe(addressToString(v, a, b, c, d));
    }
    expect(formatIp(4, 0, 0, 0xffff, 0x0a000001)).toBe('10.0.0.1');
    expect(formatIp(6, 0, 0, 0xffff, 0x0a000001)).toBe('::ffff:a00:1');
  });

  it('give the formatter\'s text for MAC addresses, also signed words (top bit set) and addresses alike but for their first bytes', () => {
    const next = words(12345);
    const buf = new Uint8Array(6 * 24000);
    for (let i = 0; i < buf.length; i += 4) new DataView(buf.buffer).setUint32(i, next());
    // 22,000 addresses that differ in their first two bytes only: more than the cache has entries.
    for (let k = 2000; k < 24000; k++) buf.set([k >> 8, k & 0xff, 0xfe, 0x80, 0x00, 0x01], 6 * k);
    buf.set([0xff, 0xfe, 0x80, 0x00, 0x00, 0x01], 0);
    for (const round of [0, 1]) {
      for (let k = 0; k < 24000; k++) {
        const off = 6 * (round === 0 ? k : 23999 - k);
        expect(formatMac(buf, off)).toBe(macToString(buf, off));
      }
    }
    expect(formatMac(buf, 0)).toBe('FF-FE-80-00-00-01');
  });
});
