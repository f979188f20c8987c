import { isIP } from 'node:net';
import { writeIpv4, writeIpv6 } from '../hep/index.js';

/**
 * A list of addresses and CIDR prefixes ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7"), matched against
 * textual addresses. Used to keep SIP of chosen hosts (a load balancer's health checks) out of HOMER.
 */
export class AddressFilter {
  private readonly v4: Array<{ bytes: Uint8Array; bits: number }> = [];
  private readonly v6: Array<{ bytes: Uint8Array; bits: number }> = [];
  private readonly scratch = new Uint8Array(16);

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const p = parseCidr(e);
      if (typeof p === 'string') throw new RangeError(p);
      (p.bytes.length === 4 ? this.v4 : this.v6).push(p);
    }
  }

  get empty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  matches(ip: string): boolean {
    const b = this.scratch;
    if (this.v4.length > 0 && writeIpv4(ip, b, 0)) return this.v4.some((p) => prefixEqual(p.bytes, b, p.bits));
    if (this.v6.length > 0 && ip.includes(':') && writeIpv6(ip, b, 0)) return this.v6.some((p) => prefixEqual(p.bytes, b, p.bits));
    return false;
  }
}

/** "a.b.c.d[/n]" or "v6[/n]" -> bytes and prefix length; a message string when invalid. */
export function parseCidr(text: string): { bytes: Uint8Array; bits: number } | string {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const fam = isIP(ip);
  if (fam === 0) return `${JSON.stringify(text)} is not an IP address or CIDR prefix`;
  const bytes = new Uint8Array(fam === 4 ? 4 : 16);
  if (fam === 4) writeIpv4(ip, bytes, 0);
  else writeIpv6(ip, bytes, 0);
  const max = bytes.length * 8;
  const bits = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    return `${JSON.stringify(text)}: prefix length must be 0..${max}`;
  }
  return { bytes, bits };
}

function prefixEqual(p: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (p[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (p[i]! & mask) === (b[i]! & mask);
}
