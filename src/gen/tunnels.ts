/**
 * Builders for mirror-port encapsulations, other link layers, IPv6 extension headers, IP fragments and
 * big-endian / multi-section pcapng. Test and benchmark fixtures only: clarity over speed.
 */
import { concat, ipv4, ipv6, parseMac, udp, writeU16, writeU32, type Ipv4Options, type MacAddress } from './packets.js';
import type { PcapRecord } from './pcap-writer.js';

export const IpProto = { HOPOPT: 0, IPIP: 4, TCP: 6, UDP: 17, IPV6: 41, ROUTING: 43, FRAGMENT: 44, GRE: 47, AH: 51, DSTOPTS: 60 } as const;

export interface GreOptions {
  checksum?: boolean;
  key?: number;
  seq?: number;
}

/** GRE (RFC 2784/2890) header with optional checksum (not computed), key and sequence number. */
export function gre(protocol: number, payload: Uint8Array, o: GreOptions = {}): Uint8Array {
  const words: number[] = [];
  let flags = 0;
  if (o.checksum) {
    flags |= 0x8000;
    words.push(0);
  }
  if (o.key !== undefined) {
    flags |= 0x2000;
    words.push(o.key);
  }
  if (o.seq !== undefined) {
    flags |= 0x1000;
    words.push(o.seq);
  }
  const h = new Uint8Array(4 + words.length * 4);
  writeU16(h, 0, flags);
  writeU16(h, 2, protocol);
  words.forEach((w, i) => writeU32(h, 4 + i * 4, w));
  return concat(h, payload);
}

/** ERSPAN type II header (version 1) + mirrored frame; wrap in gre(0x88be, ..., { seq }). */
export function erspan2(frame: Uint8Array, o: { vlan?: number; session?: number; index?: number } = {}): Uint8Array {
  const h = new Uint8Array(8);
  writeU16(h, 0, (1 << 12) | ((o.vlan ?? 0) & 0xfff));
  writeU16(h, 2, (o.session ?? 1) & 0x3ff);
  writeU32(h, 4, (o.index ?? 0) & 0xfffff);
  return concat(h, frame);
}

/**
 * ERSPAN type III header (version 2) + mirrored frame; wrap in gre(0x22eb, ..., { seq }). `frameType` 0 is
 * Ethernet, 2 IP; `platform` adds the 8-byte platform-specific subheader (O bit).
 */
export function erspan3(frame: Uint8Array, o: { vlan?: number; session?: number; timestamp?: number; frameType?: number; platform?: boolean } = {}): Uint8Array {
  const h = new Uint8Array(o.platform ? 20 : 12);
  writeU16(h, 0, (2 << 12) | ((o.vlan ?? 0) & 0xfff));
  writeU16(h, 2, (o.session ?? 1) & 0x3ff);
  writeU32(h, 4, o.timestamp ?? 0);
  h[10] = ((o.frameType ?? 0) & 0x1f) << 2;
  h[11] = o.platform ? 1 : 0;
  if (o.platform) {
    h[12] = 3 << 2; // platform id 3
    writeU32(h, 16, 0x12345678);
  }
  return concat(h, frame);
}

/** VXLAN header (I flag, VNI) + inner Ethernet frame: the UDP payload towards port 4789. */
export function vxlan(frame: Uint8Array, vni = 100): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 0x08;
  writeU32(h, 4, (vni & 0xffffff) << 8);
  return concat(h, frame);
}

export interface GtpUOptions {
  teid?: number;
  /** Sequence number (sets S). */
  seq?: number;
  /** N-PDU number (sets PN). */
  npdu?: number;
  /** Extension headers (set E): [type, content]; content is padded so each header is a multiple of 4 bytes. */
  extensions?: Array<[number, Uint8Array]>;
}

/** GTP-U v1 G-PDU (message type 255) carrying an IP packet: the UDP payload towards port 2152. */
export function gtpu(ipPacket: Uint8Array, o: GtpUOptions = {}): Uint8Array {
  const ext = o.extensions ?? [];
  const optional = o.seq !== undefined || o.npdu !== undefined || ext.length > 0;
  const parts: Uint8Array[] = [];
  const h = new Uint8Array(optional ? 12 : 8);
  h[0] = 0x30 | (ext.length ? 4 : 0) | (o.seq !== undefined ? 2 : 0) | (o.npdu !== undefined ? 1 : 0);
  h[1] = 0xff;
  writeU32(h, 4, o.teid ?? 1);
  if (optional) {
    writeU16(h, 8, o.seq ?? 0);
    h[10] = o.npdu ?? 0;
    h[11] = ext.length ? ext[0][0] : 0;
  }
  parts.push(h);
  ext.forEach(([, content], i) => {
    const len = Math.ceil((content.length + 2) / 4) * 4;
    const e = new Uint8Array(len);
    e[0] = len / 4;
    e.set(content, 1);
    e[len - 1] = i + 1 < ext.length ? ext[i + 1][0] : 0;
    parts.push(e);
  });
  parts.push(ipPacket);
  const out = concat(...parts);
  writeU16(out, 2, out.length - 8);
  return out;
}

/** TZSP (version 1, type received, encapsulation Ethernet) with optional tagged fields before END. */
export function tzsp(frame: Uint8Array, tags: Array<[number, Uint8Array]> = [], o: { type?: number; encapsulation?: number; padding?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([1, o.type ?? 0, 0, 0])];
  writeU16(parts[0], 2, o.encapsulation ?? 1);
  for (const [tag, value] of tags) parts.push(Uint8Array.from([tag, value.length]), value);
  if (o.padding) parts.push(new Uint8Array(o.padding)); // tag 0 = PADDING, one byte each
  parts.push(Uint8Array.from([1]));
  return concat(...parts, frame);
}

/** MPLS label stack (outermost first); bottom-of-stack set on the last label. */
export function mpls(labels: number[], payload: Uint8Array, ttl = 64): Uint8Array {
  const h = new Uint8Array(labels.length * 4);
  labels.forEach((label, i) => {
    writeU32(h, i * 4, ((label & 0xfffff) << 12) | (i === labels.length - 1 ? 0x100 : 0) | ttl);
  });
  return concat(h, payload);
}

/** Pseudowire control word (RFC 4385, first nibble 0) for Ethernet over MPLS. */
export function pwControlWord(seq = 0): Uint8Array {
  const h = new Uint8Array(4);
  writeU16(h, 2, seq);
  return h;
}

/** Linux cooked capture v1 header (LINKTYPE_LINUX_SLL 113). */
export function sll(payload: Uint8Array, protocol: number, o: { src?: MacAddress; packetType?: number } = {}): Uint8Array {
  const h = new Uint8Array(16);
  writeU16(h, 0, o.packetType ?? 0);
  writeU16(h, 2, 1); // ARPHRD_ETHER
  writeU16(h, 4, 6);
  h.set(parseMac(o.src ?? '02:00:00:00:00:01'), 6);
  writeU16(h, 14, protocol);
  return concat(h, payload);
}

/** Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2 276). */
export function sll2(payload: Uint8Array, protocol: number, o: { src?: MacAddress; ifindex?: number; packetType?: number } = {}): Uint8Array {
  const h = new Uint8Array(20);
  writeU16(h, 0, protocol);
  writeU32(h, 4, o.ifindex ?? 2);
  writeU16(h, 8, 1); // ARPHRD_ETHER
  h[10] = o.packetType ?? 0;
  h[11] = 6;
  h.set(parseMac(o.src ?? '02:00:00:00:00:01'), 12);
  return concat(h, payload);
}

/** BSD loopback header: address family as 4 bytes, little-endian (NULL, host order on x86) or big-endian (LOOP). */
export function loopback(payload: Uint8Array, family: number, bigEndian = false): Uint8Array {
  const h = new Uint8Array(4);
  if (bigEndian) writeU32(h, 0, family);
  else h[0] = family;
  return concat(h, payload);
}

/** PPPoE session header + PPP protocol (0x0021 IPv4, 0x0057 IPv6); ethertype 0x8864. */
export function pppoe(payload: Uint8Array, pppProtocol: number, session = 1): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 0x11;
  writeU16(h, 2, session);
  writeU16(h, 4, payload.length + 2);
  writeU16(h, 6, pppProtocol);
  return concat(h, payload);
}

/** IPv6 options header (hop-by-hop or destination options) of `len8` 8-byte units, PadN filled. */
export function ipv6OptionsHeader(len8 = 1): Uint8Array {
  const h = new Uint8Array(len8 * 8);
  h[1] = len8 - 1;
  h[2] = 1; // PadN
  h[3] = len8 * 8 - 4;
  return h;
}

/** IPv6 routing header type 0-style with `addresses` 16-byte entries (segments left 0). */
export function ipv6RoutingHeader(addresses = 1): Uint8Array {
  const h = new Uint8Array(8 + addresses * 16);
  h[1] = addresses * 2;
  h[2] = 0;
  return h;
}

/** IPv6 authentication header with `icvWords` 32-bit words of ICV. */
export function ipv6AuthHeader(icvWords = 3, spi = 0x100): Uint8Array {
  const h = new Uint8Array(12 + icvWords * 4);
  h[1] = icvWords + 1;
  writeU32(h, 4, spi);
  writeU32(h, 8, 1);
  return h;
}

/** IPv6 fragment header (next header filled in by ipv6()). */
export function ipv6FragmentHeader(fragOffset: number, more: boolean, id: number): Uint8Array {
  const h = new Uint8Array(8);
  writeU16(h, 2, (fragOffset & 0xfff8) | (more ? 1 : 0));
  writeU32(h, 4, id);
  return h;
}

/** Splits a transport segment into IPv4 fragments of at most `chunk` bytes of data (multiple of 8). */
export function ipv4Fragments(src: string, dst: string, proto: number, segment: Uint8Array, chunk: number, o: Ipv4Options = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < segment.length; off += chunk) {
    const part = segment.subarray(off, Math.min(segment.length, off + chunk));
    out.push(ipv4(src, dst, proto, part, { ...o, fragOffset: off, moreFragments: off + chunk < segment.length }));
  }
  return out;
}

/** Splits a transport segment into IPv6 packets with fragment headers, `chunk` bytes of data each. */
export function ipv6Fragments(src: string, dst: string, proto: number, segment: Uint8Array, chunk: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < segment.length; off += chunk) {
    const part = segment.subarray(off, Math.min(segment.length, off + chunk));
    out.push(ipv6(src, dst, proto, part, [[IpProto.FRAGMENT, ipv6FragmentHeader(off, off + chunk < segment.length, id)]]));
  }
  return out;
}

/** An IPv4 UDP packet (no link layer), handy inside tunnels. */
export function ipv4Udp(src: string, srcPort: number, dst: string, dstPort: number, payload: Uint8Array): Uint8Array {
  return ipv4(src, dst, IpProto.UDP, udp(srcPort, dstPort, payload));
}

export interface PcapngSection {
  bigEndian?: boolean;
  interfaces: Array<{ linkType: number; tsresol?: number; snapLength?: number; tsoffset?: number }>;
  /** Records; `simple` ones are written as SPBs (interface 0, no timestamp). */
  records: Array<PcapRecord & { simple?: boolean }>;
  /** Unknown block types to interleave before the records (skipped by readers). */
  extraBlockTypes?: number[];
}

/** pcapng with one or more sections, each in its own byte order, several interfaces, EPBs and SPBs. */
export function pcapngSections(sections: PcapngSection[]): Buffer {
  const blocks: Buffer[] = [];
  for (const s of sections) {
    const le = !s.bigEndian;
    const u32 = (b: Buffer, o: number, v: number) => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
    const u16 = (b: Buffer, o: number, v: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
    const block = (type: number, body: Buffer) => {
      const padded = Buffer.alloc((body.length + 3) & ~3);
      body.copy(padded);
      const total = 12 + padded.length;
      const b = Buffer.alloc(total);
      u32(b, 0, type);
      u32(b, 4, total);
      padded.copy(b, 8);
      u32(b, total - 4, total);
      blocks.push(b);
    };
    const shb = Buffer.alloc(16);
    u32(shb, 0, 0x1a2b3c4d);
    u16(shb, 4, 1);
    u16(shb, 6, 0);
    shb.writeBigInt64LE(-1n, 8);
    block(0x0a0d0d0a, shb);
    for (const ifc of s.interfaces) {
      const opts: Buffer[] = [];
      if (ifc.tsresol !== undefined) {
        const o = Buffer.alloc(8);
        u16(o, 0, 9);
        u16(o, 2, 1);
        o[4] = ifc.tsresol;
        opts.push(o);
      }
      if (ifc.tsoffset !== undefined) {
        const o = Buffer.alloc(12);
        u16(o, 0, 14);
        u16(o, 2, 8);
        if (le) o.writeBigInt64LE(BigInt(ifc.tsoffset), 4);
        else o.writeBigInt64BE(BigInt(ifc.tsoffset), 4);
        opts.push(o);
      }
      if (opts.length) opts.push(Buffer.alloc(4));
      const idb = Buffer.alloc(8);
      u16(idb, 0, ifc.linkType);
      u32(idb, 4, ifc.snapLength ?? 262144);
      block(1, Buffer.concat([idb, ...opts]));
    }
    for (const t of s.extraBlockTypes ?? []) block(t, Buffer.from('unknown block body'));
    for (const r of s.records) {
      if (r.simple) {
        const h = Buffer.alloc(4);
        u32(h, 0, r.wireLength ?? r.data.length);
        block(3, Buffer.concat([h, Buffer.from(r.data)]));
        continue;
      }
      const ifc = s.interfaces[r.iface ?? 0];
      const resol = ifc.tsresol;
      const units = resol === undefined ? 1_000_000n : resol & 0x80 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
      const ts = ((r.tsNs - BigInt(ifc.tsoffset ?? 0) * 1_000_000_000n) * units) / 1_000_000_000n;
      const h = Buffer.alloc(20);
      u32(h, 0, r.iface ?? 0);
      u32(h, 4, Number(ts >> 32n));
      u32(h, 8, Number(ts & 0xffffffffn));
      u32(h, 12, r.data.length);
      u32(h, 16, r.wireLength ?? r.data.length);
      block(6, Buffer.concat([h, Buffer.from(r.data)]));
    }
  }
  return Buffer.concat(blocks);
}
