import { ipv6ToString } from '../decode/text.js';
/** Textual IP <-> bytes, written straight into a target buffer (no intermediate objects for IPv4). */

/** Writes dotted-quad `s` as 4 bytes at `off`. Returns false (nothing meaningful written) on bad input. */
export function writeIpv4(s: string, out: Uint8Array, off: number): boolean {
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (digits > 3 || part > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || parts === 3) return false;
      out[off + parts] = part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits === 0 || parts !== 3) return false;
  out[off + 3] = part;
  return true;
}

function hexGroup(g: string): number {
  if (g.length === 0 || g.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Parses `s` into up to 8 groups (an embedded dotted IPv4 tail counts as two). Returns the count or -1. */
function groups(s: string, into: number[]): number {
  if (s.length === 0) return 0;
  const parts = s.split(':');
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p.indexOf('.') >= 0) {
      const v4 = new Uint8Array(4);
      if (!writeIpv4(p, v4, 0)) return -1;
      into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      n += 2;
    } else {
      const g = hexGroup(p);
      if (g < 0) return -1;
      into.push(g);
      n++;
    }
  }
  return n;
}

/** Writes textual IPv6 `s` (RFC 4291 forms, incl. `::` and a dotted IPv4 tail) as 16 bytes at `off`. */
export function writeIpv6(s: string, out: Uint8Array, off: number): boolean {
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head: number[] = [];
  const tail: number[] = [];
  if (dbl >= 0) {
    if (groups(s.slice(0, dbl), head) < 0 || groups(s.slice(dbl + 2), tail) < 0) return false;
    if (head.length + tail.length > 7) return false;
  } else {
    if (groups(s, head) !== 8) return false;
  }
  for (let i = 0; i < 16; i++) out[off + i] = 0;
  for (let i = 0; i < head.length; i++) {
    out[off + 2 * i] = head[i]! >>> 8;
    out[off + 2 * i + 1] = head[i]! & 0xff;
  }
  const start = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[off + 2 * (start + i)] = tail[i]! >>> 8;
    out[off + 2 * (start + i) + 1] = tail[i]! & 0xff;
  }
  return true;
}

export function formatIpv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 canonical text of 16 address bytes (the decoder's formatting, fed as words). */
export function formatIpv6(b: Uint8Array, off: number): string {
  const w = (i: number) => ((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0;
  return ipv6ToString(w(0), w(4), w(8), w(12));
}
