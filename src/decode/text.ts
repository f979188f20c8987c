/** Text forms of decoded addresses, for reports and logs (not for the per-packet path). */

/** Address words as DecodedPacket holds them: IPv4-mapped words print as dotted IPv4, others as RFC 5952 IPv6. */
export function ipToString(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    return `${w3 >>> 24}.${(w3 >>> 16) & 0xff}.${(w3 >>> 8) & 0xff}.${w3 & 0xff}`;
  }
  return ipv6ToString(w0, w1, w2, w3);
}

/** The address of a packet of IP version `ipVersion`: an IPv4-mapped address inside IPv6 stays IPv6 text. */
export function addressToString(ipVersion: number, w0: number, w1: number, w2: number, w3: number): string {
  return ipVersion === 6 ? ipv6ToString(w0, w1, w2, w3) : ipToString(w0, w1, w2, w3);
}

/** RFC 5952 text, always in IPv6 form: compress the longest run of two or more zero groups (first on a tie). */
export function ipv6ToString(w0: number, w1: number, w2: number, w3: number): string {
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Six bytes at `off` as "00-04-13-29-64-22" (upper-case, dash separated: the RTPAgent report form). */
export function macToString(buf: Uint8Array, off: number): string {
  // One string made from its 17 character codes: concatenating pieces would make a string per piece.
  const a = buf[off], b = buf[off + 1], c = buf[off + 2], d = buf[off + 3], e = buf[off + 4], f = buf[off + 5];
  const H = HEX;
  return String.fromCharCode(
    H[a >> 4], H[a & 15], DASH, H[b >> 4], H[b & 15], DASH, H[c >> 4], H[c & 15], DASH,
    H[d >> 4], H[d & 15], DASH, H[e >> 4], H[e & 15], DASH, H[f >> 4], H[f & 15],
  );
}

/** Character codes of the hexadecimal digits, upper-case. */
const HEX = Uint8Array.from('0123456789ABCDEF', (ch) => ch.charCodeAt(0));
const DASH = 45;
