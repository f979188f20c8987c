/**
 * Builders for the project's own test and benchmark traffic: Ethernet/IP/UDP/TCP frames, RTP and RTCP
 * headers, SIP messages. Not hot-path code: clarity over speed, every call returns a fresh buffer.
 */

export type MacAddress = string; // "02:00:00:00:00:01"

export function parseMac(mac: MacAddress): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC address ${mac}`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Dotted IPv4 or any IPv6 text form to its bytes (4 or 16). */
export function parseIp(ip: string): Uint8Array {
  if (ip.includes(':')) return parseIpv6(ip);
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad IPv4 address ${ip}`);
  return Uint8Array.from(parts);
}

function parseIpv6(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && headGroups.length !== 8) throw new Error(`bad IPv6 address ${ip}`);
  headGroups.forEach((g, i) => writeU16(out, i * 2, parseInt(g, 16)));
  tailGroups.forEach((g, i) => writeU16(out, 16 - (tailGroups.length - i) * 2, parseInt(g, 16)));
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export const EtherType = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, MPLS: 0x8847 } as const;

/** Ethernet II frame; `vlans` are pushed outermost first (802.1ad 0x88a8 for the outer of two). */
export function ethernet(
  payload: Uint8Array,
  etherType: number,
  opts: { src?: MacAddress; dst?: MacAddress; vlans?: number[] } = {},
): Uint8Array {
  const hdr: number[] = [...parseMac(opts.dst ?? '02:00:00:00:00:02'), ...parseMac(opts.src ?? '02:00:00:00:00:01')];
  const vlans = opts.vlans ?? [];
  vlans.forEach((vid, i) => {
    const tpid = vlans.length > 1 && i === 0 ? EtherType.QINQ : EtherType.VLAN;
    hdr.push(tpid >> 8, tpid & 0xff, (vid >> 8) & 0x0f, vid & 0xff);
  });
  hdr.push(etherType >> 8, etherType & 0xff);
  return concat(Uint8Array.from(hdr), payload);
}

export interface Ipv4Options {
  id?: number;
  ttl?: number;
  /** Fragment offset in BYTES (must be a multiple of 8). */
  fragOffset?: number;
  moreFragments?: boolean;
  /** Bytes of IPv4 options (a multiple of 4). */
  options?: Uint8Array;
}

export function ipv4(src: string, dst: string, proto: number, payload: Uint8Array, o: Ipv4Options = {}): Uint8Array {
  const opt = o.options ?? new Uint8Array(0);
  const ihl = 20 + opt.length;
  const h = new Uint8Array(ihl);
  h[0] = 0x40 | (ihl >> 2);
  writeU16(h, 2, ihl + payload.length);
  writeU16(h, 4, o.id ?? 0);
  writeU16(h, 6, ((o.moreFragments ? 1 : 0) << 13) | ((o.fragOffset ?? 0) >> 3));
  h[8] = o.ttl ?? 64;
  h[9] = proto;
  h.set(parseIp(src), 12);
  h.set(parseIp(dst), 16);
  h.set(opt, 20);
  writeU16(h, 10, ipChecksum(h));
  return concat(h, payload);
}

export function ipChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** IPv6 header; `extensions` is a list of [nextHeaderType, bytes] inserted before the payload. */
export function ipv6(src: string, dst: string, proto: number, payload: Uint8Array, extensions: Array<[number, Uint8Array]> = []): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  const first = extensions.length ? extensions[0][0] : proto;
  const extBytes = extensions.map(([, b], i) => {
    const copy = Uint8Array.from(b);
    copy[0] = i + 1 < extensions.length ? extensions[i + 1][0] : proto;
    return copy;
  });
  const body = concat(...extBytes, payload);
  writeU16(h, 4, body.length);
  h[6] = first;
  h[7] = 64;
  h.set(parseIp(src), 8);
  h.set(parseIp(dst), 24);
  return concat(h, body);
}

export function udp(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(8);
  writeU16(h, 0, srcPort);
  writeU16(h, 2, dstPort);
  writeU16(h, 4, 8 + payload.length);
  return concat(h, payload); // checksum 0: "not computed", legal for IPv4 and accepted by every decoder here
}

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export function tcp(srcPort: number, dstPort: number, seq: number, payload: Uint8Array, flags: number = TcpFlags.ACK | TcpFlags.PSH, ack = 0): Uint8Array {
  const h = new Uint8Array(20);
  writeU16(h, 0, srcPort);
  writeU16(h, 2, dstPort);
  writeU32(h, 4, seq >>> 0);
  writeU32(h, 8, ack >>> 0);
  h[12] = 5 << 4;
  h[13] = flags;
  writeU16(h, 14, 65535);
  return concat(h, payload);
}

/** Ethernet + IPv4/IPv6 (chosen by the address form) + UDP in one call. */
export function udpFrame(src: string, srcPort: number, dst: string, dstPort: number, payload: Uint8Array, eth: { vlans?: number[]; src?: MacAddress; dst?: MacAddress } = {}): Uint8Array {
  const seg = udp(srcPort, dstPort, payload);
  if (src.includes(':')) return ethernet(ipv6(src, dst, 17, seg), EtherType.IPV6, eth);
  return ethernet(ipv4(src, dst, 17, seg), EtherType.IPV4, eth);
}

export function tcpFrame(src: string, srcPort: number, dst: string, dstPort: number, seq: number, payload: Uint8Array, flags?: number): Uint8Array {
  const seg = tcp(srcPort, dstPort, seq, payload, flags);
  if (src.includes(':')) return ethernet(ipv6(src, dst, 6, seg), EtherType.IPV6);
  return ethernet(ipv4(src, dst, 6, seg), EtherType.IPV4);
}

export interface RtpFields {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker?: boolean;
  /** Payload bytes; defaults to 160 bytes of 0xd5 (G.711 A-law silence, one 20 ms frame). */
  payload?: Uint8Array;
  csrcs?: number[];
  /** A header extension: profile id and 32-bit words. */
  extension?: { profile: number; words: number[] };
  /** Number of padding bytes to append (sets the P bit). */
  padding?: number;
}

export function rtp(f: RtpFields): Uint8Array {
  const csrcs = f.csrcs ?? [];
  const ext = f.extension;
  const extLen = ext ? 4 + ext.words.length * 4 : 0;
  const h = new Uint8Array(12 + csrcs.length * 4 + extLen);
  h[0] = 0x80 | (f.padding ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  h[1] = (f.marker ? 0x80 : 0) | (f.pt & 0x7f);
  writeU16(h, 2, f.seq & 0xffff);
  writeU32(h, 4, f.ts >>> 0);
  writeU32(h, 8, f.ssrc >>> 0);
  csrcs.forEach((c, i) => writeU32(h, 12 + i * 4, c));
  if (ext) {
    const o = 12 + csrcs.length * 4;
    writeU16(h, o, ext.profile);
    writeU16(h, o + 2, ext.words.length);
    ext.words.forEach((w, i) => writeU32(h, o + 4 + i * 4, w));
  }
  const body = f.payload ?? new Uint8Array(160).fill(0xd5);
  if (!f.padding) return concat(h, body);
  const pad = new Uint8Array(f.padding);
  pad[f.padding - 1] = f.padding;
  return concat(h, body, pad);
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
