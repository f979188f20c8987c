/**
 * Text IP addresses (from SDP c= / a=rtcp) to the four 32-bit words DecodedPacket uses: IPv4 is the
 * IPv4-mapped IPv6 address ::ffff:a.b.c.d. Never throws: a bad address returns false.
 */

/** Parses `text` into out[o..o+3]; returns false (out untouched or partial) for anything that is not an IP. */
export function parseIpWords(text: string, out: Uint32Array, o = 0): boolean {
  if (text.indexOf(':') < 0) {
    const v4 = parseIpv4(text);
    if (v4 < 0) return false;
    out[o] = 0;
    out[o + 1] = 0;
    out[o + 2] = 0xffff;
    out[o + 3] = v4;
    return true;
  }
  return parseIpv6(text, out, o);
}

/** Dotted quad to an unsigned 32-bit number, -1 when malformed. */
export function parseIpv4(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return -1;
  return parseIpv4Bytes(Buffer.from(text, 'latin1'), 0, text.length);
}

/** parseIpv4 of the ASCII bytes b[s..e) (an address in an SDP body), without making a string. */
export function parseIpv4Bytes(b: Uint8Array, s: number, e: number): number {
  let value = 0;
  let part = -1;
  let parts = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return -1;
    } else if (c === 46) {
      if (part < 0 || parts === 3) return -1;
      value = value * 256 + part;
      part = -1;
      parts++;
    } else return -1;
  }
  if (part < 0 || parts !== 3) return -1;
  return value * 256 + part;
}

const groups = new Uint16Array(8);

function parseIpv6(text: string, out: Uint32Array, o: number): boolean {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const all = dbl >= 0 ? tailParts : headParts;
  let v4 = -1;
  if (all.length > 0 && all[all.length - 1].indexOf('.') >= 0) {
    v4 = parseIpv4(all[all.length - 1]);
    if (v4 < 0) return false;
    all.pop();
  }
  const n = headParts.length + tailParts.length + (v4 >= 0 ? 2 : 0);
  if (dbl < 0 ? n !== 8 : n > 7) return false;
  groups.fill(0);
  for (let i = 0; i < headParts.length; i++) {
    const g = parseHexGroup(headParts[i]);
    if (g < 0) return false;
    groups[i] = g;
  }
  const tailStart = 8 - tailParts.length - (v4 >= 0 ? 2 : 0);
  for (let i = 0; i < tailParts.length; i++) {
    const g = parseHexGroup(tailParts[i]);
    if (g < 0) return false;
    groups[tailStart + i] = g;
  }
  if (v4 >= 0) {
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  }
  for (let i = 0; i < 4; i++) out[o + i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return true;
}

function parseHexGroup(g: string): number {
  if (g.length === 0 || g.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i) | 0x20;
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else return -1;
  }
  return v;
}

export function isIpv4Mapped(w0: number, w1: number, w2: number): boolean {
  return w0 === 0 && w1 === 0 && w2 === 0xffff;
}

/**
 * Addresses a NAT sits in front of: RFC 1918, CGNAT 100.64/10 (RFC 6598), IPv6 unique local fc00::/7.
 * Link-local and loopback are left out on purpose: SDP with those is a misconfiguration, not NAT.
 */
export function isPrivateAddress(w0: number, w1: number, w2: number, w3: number): boolean {
  if (isIpv4Mapped(w0, w1, w2)) {
    const a = w3 >>> 24;
    const b = (w3 >>> 16) & 0xff;
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  return (w0 >>> 25) === (0xfc >>> 1);
}

/** The same address, as words. */
export function sameAddress(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export function isUnspecifiedAddress(w0: number, w1: number, w2: number, w3: number): boolean {
  return w3 === 0 && w0 === 0 && w1 === 0 && (w2 === 0 || w2 === 0xffff);
}

/** The all-zero address (no address), shared: never written. */
export const NO_ADDRESS = new Uint32Array(4);

// Addresses seen lately, by a hash of their words: SDPs name the same few addresses over and over, and
// a typed array costs more to make than the lookup. Entries are shared and must never be written.
const INTERNED = 1024;
const interned = new Array<Uint32Array | null>(INTERNED).fill(null);

/** A shared array holding the words of `w` (a copy made once per address while it stays in the cache). */
export function internAddress(w: Uint32Array): Uint32Array {
  const h = (Math.imul(w[3] ^ Math.imul(w[2], 0x9e3779b1) ^ Math.imul(w[0] ^ w[1], 0x85ebca6b), 0x27d4eb2d) >>> 22) & (INTERNED - 1);
  const e = interned[h];
  if (e !== null && e[0] === w[0] && e[1] === w[1] && e[2] === w[2] && e[3] === w[3]) return e;
  const c = w.slice();
  interned[h] = c;
  return c;
}

/** Words to text (IPv4-mapped as dotted quad); for reports and logs, not the hot path. */
export { ipToString as formatIpWords } from '../decode/text.js';
