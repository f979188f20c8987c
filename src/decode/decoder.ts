import type { PacketBatch } from '../capture/batch.js';
import { MalformedReason as M, ProtocolCounter as C, TunnelType } from './counters.js';
import { FRAGMENT_BAD, FRAGMENT_PENDING, FragmentReassembler } from './fragments.js';
import type { DecodedPacket } from './packet.js';

/** Packets at larger buffer offsets take the general path (only a capture of over 1 GiB held in memory has them). */
const FAST_OFFSET_LIMIT = (1 << 30) - 1;

export interface DecoderOptions {
  /** UDP destination port decoded as VXLAN (default 4789). */
  vxlanPort?: number;
  /** UDP destination port decoded as TZSP (default 37008). */
  tzspPort?: number;
  /** UDP port (source or destination) decoded as GTP-U v1 (default 2152). */
  gtpPort?: number;
  maxFragmentChains?: number;
  maxFragmentBytes?: number;
  fragmentTimeoutMs?: number;
  /**
   * Take the common Ethernet/IPv4/UDP case in one step (default true). False sends every packet through
   * the layer-by-layer path: the results are the same (test/decode checks it), only slower.
   */
  fastPath?: boolean;
}

/** Nested tunnels followed at most; deeper nesting is counted as malformed (crafted input). */
const MAX_DEPTH = 8;
const MAX_MPLS_LABELS = 16;
const MAX_IPV6_EXTENSIONS = 16;
const MAX_GTP_EXTENSIONS = 16;
/** Distinct unknown link types counted one by one: a file has a few interfaces, never this many. */
const MAX_UNKNOWN_LINK_TYPES = 64;

/**
 * Decodes link layer to transport payload by offset arithmetic into one reused DecodedPacket. Nothing is
 * allocated and nothing is thrown per packet: every length is checked against the captured bytes, and a
 * packet that fails a check increments `malformed[reason]` and is skipped.
 *
 * Layered fields follow the innermost layer (addresses, ports, MACs of the tunnelled frame: what the
 * mirrored endpoints sent), except `vlan`, which is the outermost tag as the contract says.
 */
export class PacketDecoder {
  /** Malformed packets per MalformedReason. */
  readonly malformed = new Float64Array(M.COUNT);
  private readonly protocolCounts = new Float64Array(C.COUNT);
  /**
   * Packets counted as unknown_link_type, per link type (a pcapng file may mix several), for the warning
   * that names them; at most MAX_UNKNOWN_LINK_TYPES kept (more are counted in unknown_link_type only).
   * The caller clears it when it wants the link types of one file.
   */
  readonly unknownLinkTypes = new Map<number, number>();
  /**
   * Packets taken by the fast path since the last read of `counts`: each is one packet, one IPv4 and one
   * UDP, added to those three counters when they are read (one increment per packet instead of three).
   */
  private fastPackets = 0;

  /** Link type the fast path accepts: Ethernet (1), or -1 when it is switched off. */
  private readonly fastLinkType: number;
  private readonly vxlanPort: number;
  private readonly tzspPort: number;
  private readonly gtpPort: number;
  private readonly fragments: FragmentReassembler;
  private out: DecodedPacket | null = null;
  /** The batch buffer of the packet being decoded: MAC offsets are only meaningful inside it. */
  private frame: Uint8Array = EMPTY;
  private depth = 0;
  /** Big-endian view of the batch buffer the fast path last read (replaced when the buffer changes). */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewBuf: Uint8Array = EMPTY;

  constructor(opts: DecoderOptions = {}) {
    this.fastLinkType = opts.fastPath === false ? -1 : 1;
    this.vxlanPort = opts.vxlanPort ?? 4789;
    this.tzspPort = opts.tzspPort ?? 37008;
    this.gtpPort = opts.gtpPort ?? 2152;
    this.fragments = new FragmentReassembler(
      {
        maxFragmentChains: opts.maxFragmentChains ?? 64,
        maxFragmentBytes: opts.maxFragmentBytes ?? 1024 * 1024,
        fragmentTimeoutMs: opts.fragmentTimeoutMs ?? 30_000,
      },
      this.protocolCounts,
    );
  }

  /** True when `out` now holds a UDP or TCP payload; false when the packet was skipped (and counted). */
  decode(batch: PacketBatch, i: number, out: DecodedPacket): boolean {
    return this.decodeFrame(batch.buf, batch.offset[i], batch.caplen[i], batch.linkType[i], batch.tsSec[i], batch.tsNsec[i], out);
  }

  /**
   * decode() for one frame given by its fields rather than a batch entry: buf[off..off + caplen) captured
   * with link type `linkType` at tsSec/tsNsec. Lets a reader that walks records one at a time (the
   * in-memory capture cursor) decode without filling batch arrays first.
   */
  decodeFrame(buf: Uint8Array, off: number, caplen: number, linkType: number, tsSec: number, tsNsec: number, out: DecodedPacket): boolean {
    // Fast path for the common case, in this one function: Ethernet, at most one 802.1Q tag, IPv4 without
    // options or fragmentation, UDP whose lengths are consistent and fully captured, not to a tunnel port.
    // It checks everything the general path checks for such a packet and sets every field it would set;
    // any other packet (or any doubt) takes the general path below, which starts over.
    if (linkType === this.fastLinkType && caplen >= 42 && off + caplen <= buf.length && off <= FAST_OFFSET_LIMIT) {
      // Big-endian words through a DataView: one bounds check and one load per field instead of per byte.
      if (buf !== this.viewBuf) this.setView(buf);
      const v = this.view;
      // The same value (off <= FAST_OFFSET_LIMIT), but with a range V8's compiler knows: the offsets below
      // then need no int32 overflow checks.
      const o = off & FAST_OFFSET_LIMIT;
      let ip = o + 14;
      let type = v.getUint16(o + 12);
      let vlan = -1;
      if (type === 0x8100 && caplen >= 46) {
        vlan = v.getUint16(ip) & 0x0fff;
        type = v.getUint16(ip + 2);
        ip += 4;
      }
      const w0 = v.getUint32(ip); // version/IHL, DSCP, total length
      const w1 = v.getUint32(ip + 4); // id, flags, fragment offset
      const w2 = v.getUint32(ip + 8); // TTL, protocol, checksum
      if (type === 0x0800 && w0 >>> 24 === 0x45 && (w2 & 0xff0000) === 0x110000 && (w1 & 0x3fff) === 0) {
        const claimedEnd = ip + (w0 & 0xffff);
        const udp = ip + 20;
        const ports = v.getUint32(udp);
        const ulen = v.getUint16(udp + 4);
        const dstPort = ports & 0xffff;
        const gtp = this.gtpPort;
        // claimedEnd >= udp + 8 and <= the captured end: both headers are inside the packet.
        if (claimedEnd - udp >= 8 && claimedEnd <= o + caplen && ulen >= 8 && udp + ulen <= claimedEnd &&
          dstPort !== this.vxlanPort && dstPort !== this.tzspPort && dstPort !== gtp && ports >>> 16 !== gtp) {
          this.fastPackets++;
          if (vlan >= 0) this.protocolCounts[C.VLAN_TAGS]++;
          out.ipVersion = 4;
          out.ipProto = 17;
          out.src0 = 0; out.src1 = 0; out.src2 = 0xffff;
          out.src3 = v.getUint32(ip + 12);
          out.dst0 = 0; out.dst1 = 0; out.dst2 = 0xffff;
          out.dst3 = v.getUint32(ip + 16);
          out.srcPort = ports >>> 16;
          out.dstPort = dstPort;
          out.vlan = vlan;
          out.dstMacOffset = o;
          out.srcMacOffset = o + 6;
          out.tcpSeq = 0;
          out.tcpFlags = 0;
          out.payloadBuf = buf;
          out.payloadOffset = udp + 8;
          out.payloadLength = ulen - 8;
          out.payloadWireLength = ulen - 8;
          out.tunnel = 0;
          out.reassembled = false;
          out.tsSec = tsSec;
          out.tsNsec = tsNsec;
          return true;
        }
      }
    }
    return this.decodeGeneral(buf, off, caplen, linkType, tsSec, tsNsec, out);
  }

  private setView(buf: Uint8Array): void {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.viewBuf = buf;
  }

  /** Every link type, tunnel, fragment and malformed case: the layer-by-layer walk. */
  private decodeGeneral(buf: Uint8Array, off: number, caplen: number, linkType: number, tsSec: number, tsNsec: number, out: DecodedPacket): boolean {
    const end = off + caplen;
    out.ipVersion = 0;
    out.ipProto = 0;
    out.src0 = 0; out.src1 = 0; out.src2 = 0; out.src3 = 0;
    out.dst0 = 0; out.dst1 = 0; out.dst2 = 0; out.dst3 = 0;
    out.srcPort = 0;
    out.dstPort = 0;
    out.vlan = -1;
    out.srcMacOffset = -1;
    out.dstMacOffset = -1;
    out.tcpSeq = 0;
    out.tcpFlags = 0;
    out.payloadBuf = buf;
    out.payloadOffset = 0;
    out.payloadLength = 0;
    out.payloadWireLength = 0;
    out.tunnel = 0;
    out.reassembled = false;
    out.tsSec = tsSec;
    out.tsNsec = tsNsec;
    this.out = out;
    this.frame = buf;
    this.depth = 0;
    this.protocolCounts[C.PACKETS]++;
    if (end > buf.length) return this.bad(M.LINK_HEADER);
    return this.link(linkType, buf, off, end);
  }

  /** Packets per ProtocolCounter (up to date whenever read). */
  get counts(): Float64Array {
    const n = this.fastPackets;
    if (n !== 0) {
      const c = this.protocolCounts;
      c[C.PACKETS] += n;
      c[C.IPV4] += n;
      c[C.UDP] += n;
      this.fastPackets = 0;
    }
    return this.protocolCounts;
  }

  /** Counters of fragment chains in progress and bytes they hold. */
  fragmentChains(): number {
    return this.fragments.chainsInProgress();
  }

  fragmentBytes(): number {
    return this.fragments.bytesHeld();
  }

  /** The link types link() decodes, as a user reads them; kept beside its switch. */
  static readonly decodedLinkTypes = 'Ethernet (1), raw IP (12, 14, 101, 228, 229), Linux cooked (113, 276) and BSD loopback (0, 108)';

  private link(linkType: number, buf: Uint8Array, off: number, end: number): boolean {
    switch (linkType) {
      case 1:
        return this.ethernet(buf, off, end);
      case 101: case 228: case 229: case 12: case 14:
        return this.ipByVersion(buf, off, end);
      case 113:
        return this.sll(buf, off, end);
      case 276:
        return this.sll2(buf, off, end);
      case 0: case 108:
        return this.loopback(buf, off, end);
      default:
        this.protocolCounts[C.UNKNOWN_LINK_TYPE]++;
        this.countUnknownLinkType(linkType);
        return this.other();
    }
  }

  private countUnknownLinkType(linkType: number): void {
    const n = this.unknownLinkTypes.get(linkType);
    if (n !== undefined) this.unknownLinkTypes.set(linkType, n + 1);
    else if (this.unknownLinkTypes.size < MAX_UNKNOWN_LINK_TYPES) this.unknownLinkTypes.set(linkType, 1);
  }

  private ethernet(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 14) return this.bad(M.LINK_HEADER);
    if (buf === this.frame) {
      const out = this.out!;
      out.dstMacOffset = off;
      out.srcMacOffset = off + 6;
    }
    return this.etherType((buf[off + 12] << 8) | buf[off + 13], buf, off + 14, end);
  }

  private etherType(type: number, buf: Uint8Array, off: number, end: number): boolean {
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
      if (end - off < 4) return this.bad(M.VLAN_HEADER);
      const out = this.out!;
      if (out.vlan === -1) out.vlan = ((buf[off] << 8) | buf[off + 1]) & 0x0fff;
      this.protocolCounts[C.VLAN_TAGS]++;
      type = (buf[off + 2] << 8) | buf[off + 3];
      off += 4;
    }
    switch (type) {
      case 0x0800:
        return this.ipv4(buf, off, end);
      case 0x86dd:
        return this.ipv6(buf, off, end);
      case 0x8847: case 0x8848:
        return this.mpls(buf, off, end);
      case 0x8864:
        return this.pppoe(buf, off, end);
      default:
        return this.other();
    }
  }

  private sll(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 16) return this.bad(M.LINK_HEADER);
    // SLL carries only the sender's link address; ARPHRD_ETHER (1) with 6 bytes is a MAC.
    if (buf === this.frame && ((buf[off + 2] << 8) | buf[off + 3]) === 1 && ((buf[off + 4] << 8) | buf[off + 5]) === 6) {
      this.out!.srcMacOffset = off + 6;
    }
    return this.etherType((buf[off + 14] << 8) | buf[off + 15], buf, off + 16, end);
  }

  private sll2(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 20) return this.bad(M.LINK_HEADER);
    if (buf === this.frame && ((buf[off + 8] << 8) | buf[off + 9]) === 1 && buf[off + 11] === 6) {
      this.out!.srcMacOffset = off + 12;
    }
    return this.etherType((buf[off] << 8) | buf[off + 1], buf, off + 20, end);
  }

  /** NULL (host byte order) and LOOP (network byte order) carry an address family; accept either order for both. */
  private loopback(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 4) return this.bad(M.LINK_HEADER);
    const b0 = buf[off];
    const b3 = buf[off + 3];
    const mid = buf[off + 1] | buf[off + 2];
    const family = mid !== 0 ? -1 : b0 === 0 ? b3 : b3 === 0 ? b0 : -1;
    if (family === 2) return this.ipv4(buf, off + 4, end);
    if (family === 24 || family === 28 || family === 30) return this.ipv6(buf, off + 4, end); // BSD, FreeBSD, Darwin AF_INET6
    return this.other();
  }

  private pppoe(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 8) return this.bad(M.LINK_HEADER);
    this.protocolCounts[C.PPPOE]++;
    const proto = (buf[off + 6] << 8) | buf[off + 7];
    if (proto === 0x0021) return this.ipv4(buf, off + 8, end);
    if (proto === 0x0057) return this.ipv6(buf, off + 8, end);
    return this.other();
  }

  private mpls(buf: Uint8Array, off: number, end: number): boolean {
    this.protocolCounts[C.MPLS]++;
    let labels = 0;
    for (;;) {
      if (end - off < 4 || ++labels > MAX_MPLS_LABELS) return this.bad(M.MPLS_HEADER);
      const bottom = buf[off + 2] & 1;
      off += 4;
      if (bottom !== 0) break;
    }
    if (off >= end) return this.bad(M.MPLS_HEADER);
    // No protocol field after the stack: guess from the first nibble like Wireshark's default heuristic.
    const nibble = buf[off] >> 4;
    if (nibble === 4) return this.ipv4(buf, off, end);
    if (nibble === 6) return this.ipv6(buf, off, end);
    if (nibble === 0) {
      // Pseudowire control word (RFC 4385) followed by the emulated Ethernet frame.
      if (end - off < 4) return this.bad(M.MPLS_HEADER);
      off += 4;
    }
    return this.tunnelEthernet(TunnelType.MPLS, buf, off, end);
  }

  private ipByVersion(buf: Uint8Array, off: number, end: number): boolean {
    if (off >= end) return this.bad(M.IPV4_HEADER);
    const v = buf[off] >> 4;
    if (v === 4) return this.ipv4(buf, off, end);
    if (v === 6) return this.ipv6(buf, off, end);
    return this.other();
  }

  private ipv4(buf: Uint8Array, off: number, end: number): boolean {
    const avail = end - off;
    if (avail < 20 || buf[off] >> 4 !== 4) return this.bad(M.IPV4_HEADER);
    const ihl = (buf[off] & 15) << 2;
    if (ihl < 20 || ihl > avail) return this.bad(M.IPV4_HEADER);
    let total = (buf[off + 2] << 8) | buf[off + 3];
    // Total length 0 comes from TSO on the capturing host; Wireshark then uses the captured length too.
    if (total === 0) total = avail;
    else if (total < ihl) return this.bad(M.IPV4_LENGTH);
    this.protocolCounts[C.IPV4]++;
    const out = this.out!;
    out.ipVersion = 4;
    out.src0 = 0; out.src1 = 0; out.src2 = 0xffff;
    out.src3 = ((buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15]) >>> 0;
    out.dst0 = 0; out.dst1 = 0; out.dst2 = 0xffff;
    out.dst3 = ((buf[off + 16] << 24) | (buf[off + 17] << 16) | (buf[off + 18] << 8) | buf[off + 19]) >>> 0;
    const proto = buf[off + 9];
    out.ipProto = proto;
    const claimedEnd = off + total;
    const dataEnd = claimedEnd < end ? claimedEnd : end; // bytes past total length are Ethernet padding
    const frag = (buf[off + 6] << 8) | buf[off + 7];
    if ((frag & 0x3fff) !== 0) {
      const more = (frag & 0x2000) !== 0;
      const fragOffset = (frag & 0x1fff) << 3;
      this.protocolCounts[C.FRAGMENTS]++;
      if (dataEnd < claimedEnd) return this.bad(M.FRAGMENT); // cut by the snap length: cannot be reassembled
      const id = (buf[off + 4] << 8) | buf[off + 5];
      const r = this.fragments.add(4, id, proto, out.src0, out.src1, out.src2, out.src3, out.dst0, out.dst1, out.dst2, out.dst3,
        fragOffset, more, buf, off + ihl, total - ihl, this.nowMs());
      if (r === FRAGMENT_PENDING) return false;
      if (r === FRAGMENT_BAD) return this.bad(M.FRAGMENT);
      this.protocolCounts[C.REASSEMBLED]++;
      out.reassembled = true;
      return this.transport(proto, this.fragments.assembled, 0, r, r);
    }
    return this.transport(proto, buf, off + ihl, dataEnd, claimedEnd);
  }

  private ipv6(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 40 || buf[off] >> 4 !== 6) return this.bad(M.IPV6_HEADER);
    this.protocolCounts[C.IPV6]++;
    const out = this.out!;
    out.ipVersion = 6;
    out.src0 = u32(buf, off + 8); out.src1 = u32(buf, off + 12); out.src2 = u32(buf, off + 16); out.src3 = u32(buf, off + 20);
    out.dst0 = u32(buf, off + 24); out.dst1 = u32(buf, off + 28); out.dst2 = u32(buf, off + 32); out.dst3 = u32(buf, off + 36);
    const plen = (buf[off + 4] << 8) | buf[off + 5];
    // Payload length 0 is a jumbogram or TSO: use what was captured.
    const claimedEnd = plen === 0 ? end : off + 40 + plen;
    const dataEnd = claimedEnd < end ? claimedEnd : end;
    return this.ipv6Headers(buf[off + 6], buf, off + 40, dataEnd, claimedEnd);
  }

  /** Walks IPv6 extension headers from `next` at `off` to the transport layer. */
  private ipv6Headers(next: number, buf: Uint8Array, off: number, end: number, claimedEnd: number): boolean {
    const out = this.out!;
    for (let n = 0; n < MAX_IPV6_EXTENSIONS; n++) {
      out.ipProto = next;
      switch (next) {
        case 0: case 43: case 60: case 135: case 139: case 140: {
          // hop-by-hop, routing, destination options, mobility, HIP, shim6: (len + 1) * 8 bytes
          if (end - off < 2) return this.bad(M.IPV6_EXTENSION);
          const len = (buf[off + 1] + 1) << 3;
          if (end - off < len) return this.bad(M.IPV6_EXTENSION);
          next = buf[off];
          off += len;
          break;
        }
        case 51: {
          // Authentication header: (len + 2) * 4 bytes
          if (end - off < 2) return this.bad(M.IPV6_EXTENSION);
          const len = (buf[off + 1] + 2) << 2;
          if (end - off < len) return this.bad(M.IPV6_EXTENSION);
          next = buf[off];
          off += len;
          break;
        }
        case 44: {
          if (end - off < 8) return this.bad(M.IPV6_EXTENSION);
          const nh = buf[off];
          const fo = (buf[off + 2] << 8) | buf[off + 3];
          const fragOffset = fo & 0xfff8;
          const more = (fo & 1) !== 0;
          if (fragOffset === 0 && !more) {
            // Atomic fragment (RFC 6946): a whole datagram, no reassembly.
            next = nh;
            off += 8;
            break;
          }
          this.protocolCounts[C.FRAGMENTS]++;
          if (end < claimedEnd) return this.bad(M.FRAGMENT);
          const id = u32(buf, off + 4);
          const r = this.fragments.add(6, id, nh, out.src0, out.src1, out.src2, out.src3, out.dst0, out.dst1, out.dst2, out.dst3,
            fragOffset, more, buf, off + 8, claimedEnd - off - 8, this.nowMs());
          if (r === FRAGMENT_PENDING) return false;
          if (r === FRAGMENT_BAD) return this.bad(M.FRAGMENT);
          this.protocolCounts[C.REASSEMBLED]++;
          out.reassembled = true;
          buf = this.fragments.assembled;
          next = this.fragments.assembledProto;
          off = 0;
          end = r;
          claimedEnd = r;
          break;
        }
        default:
          return this.transport(next, buf, off, end, claimedEnd);
      }
    }
    return this.bad(M.IPV6_EXTENSION);
  }

  private transport(proto: number, buf: Uint8Array, off: number, end: number, claimedEnd: number): boolean {
    switch (proto) {
      case 17:
        return this.udp(buf, off, end, claimedEnd);
      case 6:
        return this.tcp(buf, off, end, claimedEnd);
      case 47:
        return this.gre(buf, off, end);
      case 4:
        if (!this.enterTunnel(TunnelType.IP_IN_IP)) return false;
        this.protocolCounts[C.IP_IN_IP]++;
        return this.ipv4(buf, off, end);
      case 41:
        if (!this.enterTunnel(TunnelType.IP_IN_IP)) return false;
        this.protocolCounts[C.IP_IN_IP]++;
        return this.ipv6(buf, off, end);
      default:
        this.out!.ipProto = proto;
        return this.other();
    }
  }

  private udp(buf: Uint8Array, off: number, end: number, claimedEnd: number): boolean {
    if (end - off < 8) return this.bad(M.UDP_HEADER);
    let ulen = (buf[off + 4] << 8) | buf[off + 5];
    if (ulen < 8) return this.bad(M.UDP_LENGTH);
    this.protocolCounts[C.UDP]++;
    if (off + ulen > claimedEnd) {
      // Wireshark flags a UDP length past the IP payload but still dissects the datagram; so do we, cut at the IP end.
      this.protocolCounts[C.UDP_LENGTH_CLAMPED]++;
      ulen = claimedEnd - off;
    }
    const out = this.out!;
    const srcPort = (buf[off] << 8) | buf[off + 1];
    const dstPort = (buf[off + 2] << 8) | buf[off + 3];
    out.ipProto = 17;
    out.srcPort = srcPort;
    out.dstPort = dstPort;
    const payOff = off + 8;
    const claimed = off + ulen;
    const payEnd = claimed < end ? claimed : end;
    // Deviation: Wireshark decodes every datagram to the VXLAN port as VXLAN; without the I flag we keep it as plain UDP.
    if (dstPort === this.vxlanPort && payEnd - payOff >= 8 && (buf[payOff] & 0x08) !== 0) {
      // VXLAN (RFC 7348): flags with the I bit, 24 reserved bits, VNI, reserved; then an Ethernet frame.
      this.protocolCounts[C.VXLAN]++;
      return this.tunnelEthernet(TunnelType.VXLAN, buf, payOff + 8, payEnd);
    }
    if (dstPort === this.tzspPort && payEnd - payOff >= 4 && buf[payOff] === 1) return this.tzsp(buf, payOff, payEnd);
    // GTP-U v1 (3GPP TS 29.281) G-PDU: version 1, protocol type GTP, message type 255. Anything else on the
    // port (GTP' or echo requests, or RTP that happens to use it) stays plain UDP.
    if ((dstPort === this.gtpPort || srcPort === this.gtpPort) && payEnd - payOff >= 8 && (buf[payOff] & 0xf0) === 0x30 && buf[payOff + 1] === 0xff) {
      return this.gtpU(buf, payOff, payEnd);
    }
    out.payloadBuf = buf;
    out.payloadOffset = payOff;
    out.payloadLength = payEnd - payOff;
    out.payloadWireLength = ulen - 8;
    if (payEnd < claimed) this.protocolCounts[C.TRUNCATED]++;
    return true;
  }

  private tcp(buf: Uint8Array, off: number, end: number, claimedEnd: number): boolean {
    if (end - off < 20) return this.bad(M.TCP_HEADER);
    const hl = (buf[off + 12] >> 4) << 2;
    if (hl < 20 || hl > end - off || off + hl > claimedEnd) return this.bad(M.TCP_HEADER);
    this.protocolCounts[C.TCP]++;
    const out = this.out!;
    out.ipProto = 6;
    out.srcPort = (buf[off] << 8) | buf[off + 1];
    out.dstPort = (buf[off + 2] << 8) | buf[off + 3];
    out.tcpSeq = u32(buf, off + 4);
    out.tcpFlags = buf[off + 13];
    out.payloadBuf = buf;
    out.payloadOffset = off + hl;
    out.payloadLength = end - off - hl;
    out.payloadWireLength = claimedEnd - off - hl;
    if (end < claimedEnd) this.protocolCounts[C.TRUNCATED]++;
    return true;
  }

  /** GRE (RFC 2784/2890): optional checksum, key and sequence words, then the protocol it names. */
  private gre(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 4) return this.bad(M.GRE_HEADER);
    const flags = (buf[off] << 8) | buf[off + 1];
    const proto = (buf[off + 2] << 8) | buf[off + 3];
    // Version 1 is PPTP's enhanced GRE (PPP inside), and source routing (R bit) is obsolete: not mirror traffic.
    if ((flags & 7) !== 0 || (flags & 0x4000) !== 0) return this.other();
    const hl = 4 + ((flags & 0x8000) !== 0 ? 4 : 0) + ((flags & 0x2000) !== 0 ? 4 : 0) + ((flags & 0x1000) !== 0 ? 4 : 0);
    if (end - off < hl) return this.bad(M.GRE_HEADER);
    if (!this.enterTunnel(TunnelType.GRE)) return false;
    this.protocolCounts[C.GRE]++;
    off += hl;
    switch (proto) {
      case 0x0800:
        return this.ipv4(buf, off, end);
      case 0x86dd:
        return this.ipv6(buf, off, end);
      case 0x6558:
        return this.ethernet(buf, off, end);
      case 0x8847: case 0x8848:
        return this.mpls(buf, off, end);
      case 0x88be:
        // Without the sequence bit this is ERSPAN type I: the mirrored frame follows GRE directly.
        if ((flags & 0x1000) === 0) {
          this.protocolCounts[C.ERSPAN_I]++;
          this.out!.tunnel = TunnelType.ERSPAN_I;
          return this.ethernet(buf, off, end);
        }
        return this.erspan2(buf, off, end);
      case 0x22eb:
        return this.erspan3(buf, off, end);
      default:
        return this.other();
    }
  }

  /** ERSPAN type II: 8-byte header (version 1, VLAN, COS, encapsulation, T, session, index). */
  private erspan2(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 8 || buf[off] >> 4 !== 1) return this.bad(M.ERSPAN_HEADER);
    this.protocolCounts[C.ERSPAN_II]++;
    this.out!.tunnel = TunnelType.ERSPAN_II;
    return this.ethernet(buf, off + 8, end);
  }

  /**
   * ERSPAN type III: 12-byte header (version 2) whose last word holds SGT, P, frame type (FT), hardware id,
   * D, granularity and O; O announces an 8-byte platform-specific subheader. FT 0 is Ethernet, 2 is IP.
   */
  private erspan3(buf: Uint8Array, off: number, end: number): boolean {
    if (end - off < 12 || buf[off] >> 4 !== 2) return this.bad(M.ERSPAN_HEADER);
    const hl = (buf[off + 11] & 1) !== 0 ? 20 : 12;
    if (end - off < hl) return this.bad(M.ERSPAN_HEADER);
    this.protocolCounts[C.ERSPAN_III]++;
    this.out!.tunnel = TunnelType.ERSPAN_III;
    const frameType = (buf[off + 10] >> 2) & 0x1f;
    if (frameType === 0) return this.ethernet(buf, off + hl, end);
    if (frameType === 2) return this.ipByVersion(buf, off + hl, end);
    return this.other();
  }

  /**
   * GTP-U v1: flags, message type, length (bytes after the first 8), TEID; when E, S or PN is set, a
   * sequence number, N-PDU number and next extension type follow; each extension header is a length in
   * 4-byte units, its content and the next type (0: none). Then the user's IPv4 or IPv6 packet.
   */
  private gtpU(buf: Uint8Array, off: number, end: number): boolean {
    const flags = buf[off];
    const claimed = off + 8 + ((buf[off + 2] << 8) | buf[off + 3]);
    if (claimed < end) end = claimed;
    let o = off + 8;
    if ((flags & 0x07) !== 0) {
      if (end - o < 4) return this.bad(M.GTP_HEADER);
      let next = (flags & 0x04) !== 0 ? buf[o + 3] : 0;
      o += 4;
      for (let n = 0; next !== 0; n++) {
        if (n === MAX_GTP_EXTENSIONS || end - o < 4) return this.bad(M.GTP_HEADER);
        const len = buf[o] << 2;
        if (len === 0 || end - o < len) return this.bad(M.GTP_HEADER);
        next = buf[o + len - 1];
        o += len;
      }
    }
    if (!this.enterTunnel(TunnelType.GTP_U)) return false;
    this.protocolCounts[C.GTP_U]++;
    return this.ipByVersion(buf, o, end);
  }

  /** TZSP: version 1, type, encapsulation, tagged fields up to the END tag (1); PADDING (0) is one byte. */
  private tzsp(buf: Uint8Array, off: number, end: number): boolean {
    if (!this.enterTunnel(TunnelType.TZSP)) return false;
    this.protocolCounts[C.TZSP]++;
    const type = buf[off + 1];
    const encap = (buf[off + 2] << 8) | buf[off + 3];
    let o = off + 4;
    for (;;) {
      if (o >= end) return this.bad(M.TZSP_HEADER);
      const tag = buf[o];
      if (tag === 1) {
        o++;
        break;
      }
      if (tag === 0) {
        o++;
        continue;
      }
      if (end - o < 2 || end - o < 2 + buf[o + 1]) return this.bad(M.TZSP_HEADER);
      o += 2 + buf[o + 1];
    }
    // Types 0 (received) and 1 (to transmit) carry a packet; encapsulation 1 is Ethernet.
    if ((type !== 0 && type !== 1) || encap !== 1) return this.other();
    return this.ethernet(buf, o, end);
  }

  private tunnelEthernet(tunnel: number, buf: Uint8Array, off: number, end: number): boolean {
    if (!this.enterTunnel(tunnel)) return false;
    return this.ethernet(buf, off, end);
  }

  /** Marks the packet as tunnelled; false (counted) when nesting is deeper than MAX_DEPTH. */
  private enterTunnel(tunnel: number): boolean {
    if (++this.depth > MAX_DEPTH) {
      this.malformed[M.TUNNEL_DEPTH]++;
      return false;
    }
    this.out!.tunnel = tunnel;
    return true;
  }

  private nowMs(): number {
    const out = this.out!;
    return out.tsSec * 1000 + out.tsNsec / 1e6;
  }

  private other(): boolean {
    this.protocolCounts[C.OTHER]++;
    return false;
  }

  private bad(reason: number): boolean {
    this.malformed[reason]++;
    return false;
  }
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

const EMPTY = new Uint8Array(0);
