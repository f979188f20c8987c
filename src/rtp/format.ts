/** Report-time formatting of addresses held as 32-bit words (never called per packet). */

export function formatIp(ipVersion: number, w0: number, w1: number, w2: number, w3: number): string {
  if (ipVersion === 4) return `${w3 >>> 24}.${(w3 >>> 16) & 255}.${(w3 >>> 8) & 255}.${w3 & 255}`;
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  // Longest run of zero groups (length >= 2) becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** "00-04-13-29-64-22", the form HOMER shows. */
export function formatMac(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    if (i) s += '-';
    s += b[off + i].toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}
