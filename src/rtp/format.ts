/** Report-time formatting of addresses held as 32-bit words (never called per packet). */
import { addressToString, macToString } from '../decode/text.js';

// Every snapshot (each report interval, media-fault check and stream end) names its stream's addresses
// again, and many streams share a MAC pair: a direct-mapped cache of recent texts answers repeats with a
// few comparisons, where building the text allocates a string per part. Strings are immutable, so
// sharing them is safe. 8,192 entries: the addresses of a few thousand streams, each snapshotted once per
// report interval, stay there from one interval to the next.
const CACHE_BITS = 13;
const CACHED = 1 << CACHE_BITS;
const ipKeys = new Int32Array(CACHED * 5);
const ipTexts = new Array<string>(CACHED).fill('');
const macKeys = new Int32Array(CACHED * 2);
const macTexts = new Array<string>(CACHED).fill('');

/** Stream addresses are stored as DecodedPacket words, so the decoder's text forms fit. */
export function formatIp(ipVersion: number, w0: number, w1: number, w2: number, w3: number): string {
  const h = Math.imul(w3 ^ Math.imul(w2, 0x9e3779b1) ^ Math.imul(w0 ^ w1 ^ ipVersion, 0x85ebca6b), 0x27d4eb2d) >>> (32 - CACHE_BITS);
  const k = h * 5;
  if (ipTexts[h] !== '' && ipKeys[k] === ipVersion && ipKeys[k + 1] === (w0 | 0) && ipKeys[k + 2] === (w1 | 0) && ipKeys[k + 3] === (w2 | 0) && ipKeys[k + 4] === (w3 | 0)) return ipTexts[h];
  const text = addressToString(ipVersion, w0, w1, w2, w3);
  ipKeys[k] = ipVersion;
  ipKeys[k + 1] = w0;
  ipKeys[k + 2] = w1;
  ipKeys[k + 3] = w2;
  ipKeys[k + 4] = w3;
  ipTexts[h] = text;
  return text;
}

/** The six bytes at `off` as "00-04-13-29-64-22", the form HOMER shows. */
export function formatMac(buf: Uint8Array, off: number): string {
  const hi = (buf[off] << 8) | buf[off + 1];
  const lo = (buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5];
  const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x27d4eb2d) >>> (32 - CACHE_BITS);
  const k = h * 2;
  if (macTexts[h] !== '' && macKeys[k] === hi && macKeys[k + 1] === lo) return macTexts[h];
  const text = macToString(buf, off);
  macKeys[k] = hi;
  macKeys[k + 1] = lo;
  macTexts[h] = text;
  return text;
}
