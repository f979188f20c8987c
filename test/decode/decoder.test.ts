import { describe, expect, it } from 'vitest';
import {
  concat, erspan2, erspan3, ethernet, EtherType, gre, gtpu, ipv4, ipv4Fragments, ipv4Udp, ipv6, ipv6AuthHeader, ipv6Fragments,
  ipv6OptionsHeader, ipv6RoutingHeader, IpProto, loopback, mpls, pppoe, pwControlWord, sll, sll2, tcp, TcpFlags, text, tzsp, udp,
  udpFrame, vxlan,
} from '../../src/gen/index.js';
import {
  DecodedPacket, ipToString, macToString, MalformedReason, malformedReasonNames, PacketDecoder, ProtocolCounter, protocolCounterNames,
  TunnelType, type DecoderOptions,
} from '../../src/decode/index.js';
import { batchOf } from './flows.js';

const PAYLOAD = text('hello rtp payload');

function decodeAll(frames: Uint8Array[], linkType = 1, opts?: DecoderOptions) {
  const decoder = new PacketDecoder(opts);
  const batch = batchOf(frames, linkType);
  const pkt = new DecodedPacket();
  const results: boolean[] = [];
  for (let i = 0; i < batch.count; i++) results.push(decoder.decode(batch, i, pkt));
  return { decoder, batch, pkt, results };
}

function decodeOne(frame: Uint8Array, linkType = 1, opts?: DecoderOptions) {
  const r = decodeAll([frame], linkType, opts);
  return { ...r, ok: r.results[0] };
}

function payloadText(p: DecodedPacket): string {
  return new TextDecoder().decode(p.payloadBuf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength));
}

function src(p: DecodedPacket): string {
  return ipToString(p.src0, p.src1, p.src2, p.src3);
}

function dst(p: DecodedPacket): string {
  return ipToString(p.dst0, p.dst1, p.dst2, p.dst3);
}

function expectUdp(p: DecodedPacket, s: string, sp: number, d: string, dp: number) {
  expect(p.ipProto).toBe(17);
  expect(src(p)).toBe(s);
  expect(dst(p)).toBe(d);
  expect(p.srcPort).toBe(sp);
  expect(p.dstPort).toBe(dp);
  expect(payloadText(p)).toBe('hello rtp payload');
}

const innerEth = () => udpFrame('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD, { src: '00:04:13:29:64:22', dst: '34:31:c4:38:24:00' });

describe('PacketDecoder: Ethernet, VLAN, IP, UDP, TCP', () => {
  it('decodes Ethernet / IPv4 / UDP with exact fields', () => {
    const frame = udpFrame('192.168.178.34', 58320, '192.168.60.70', 32728, PAYLOAD, { src: '00:04:13:29:64:22', dst: '34:31:c4:38:24:00' });
    const { ok, pkt, batch, decoder } = decodeOne(frame);
    expect(ok).toBe(true);
    expect(pkt.ipVersion).toBe(4);
    expect([pkt.src0, pkt.src1, pkt.src2, pkt.src3]).toEqual([0, 0, 0xffff, 0xc0a8b222]);
    expectUdp(pkt, '192.168.178.34', 58320, '192.168.60.70', 32728);
    expect(pkt.payloadOffset).toBe(batch.offset[0] + 14 + 20 + 8);
    expect(pkt.payloadLength).toBe(PAYLOAD.length);
    expect(pkt.payloadWireLength).toBe(PAYLOAD.length);
    expect(macToString(batch.buf, pkt.srcMacOffset)).toBe('00-04-13-29-64-22');
    expect(macToString(batch.buf, pkt.dstMacOffset)).toBe('34-31-C4-38-24-00');
    expect(pkt.vlan).toBe(-1);
    expect(pkt.tunnel).toBe(TunnelType.NONE);
    expect(pkt.tsSec).toBe(1_700_000_000);
    expect(pkt.tsNsec).toBe(123);
    expect(decoder.counts[ProtocolCounter.IPV4]).toBe(1);
    expect(decoder.counts[ProtocolCounter.UDP]).toBe(1);
  });

  it('takes the outermost VLAN id of 802.1Q, QinQ 0x88a8 and 0x9100 stacks', () => {
    expect(decodeOne(udpFrame('10.0.0.1', 1, '10.0.0.2', 2, PAYLOAD, { vlans: [42] })).pkt.vlan).toBe(42);
    const qinq = decodeOne(udpFrame('10.0.0.1', 1, '10.0.0.2', 2, PAYLOAD, { vlans: [100, 200] }));
    expect(qinq.ok).toBe(true);
    expect(qinq.pkt.vlan).toBe(100);
    expect(qinq.decoder.counts[ProtocolCounter.VLAN_TAGS]).toBe(2);
    // 0x9100 outer tag built by hand
    const inner = udpFrame('10.0.0.1', 1, '10.0.0.2', 2, PAYLOAD, { vlans: [7] });
    const f = concat(inner.subarray(0, 12), Uint8Array.from([0x91, 0x00, 0x0f, 0xff]), inner.subarray(12));
    const r = decodeOne(f);
    expect(r.ok).toBe(true);
    expect(r.pkt.vlan).toBe(4095);
    expectUdp(r.pkt, '10.0.0.1', 1, '10.0.0.2', 2);
  });

  it('skips IPv4 options and ignores Ethernet padding', () => {
    const opts = Uint8Array.from([0x94, 0x04, 0, 0, 1, 1, 1, 0]); // router alert + NOPs + EOL
    const ip = ipv4('10.0.0.1', '10.0.0.2', 17, udp(1000, 2000, PAYLOAD), { options: opts });
    const frame = concat(ethernet(ip, EtherType.IPV4), new Uint8Array(20).fill(0xee));
    const { ok, pkt } = decodeOne(frame);
    expect(ok).toBe(true);
    expectUdp(pkt, '10.0.0.1', 1000, '10.0.0.2', 2000);
    expect(pkt.payloadLength).toBe(PAYLOAD.length);
  });

  it('delivers what was captured of a snap-length-truncated packet and says how long it was', () => {
    const frame = udpFrame('10.0.0.1', 1000, '10.0.0.2', 2000, new Uint8Array(160).fill(0xd5));
    const cut = frame.subarray(0, 14 + 20 + 8 + 12);
    const { ok, pkt, decoder } = decodeOne(cut);
    expect(ok).toBe(true);
    expect(pkt.payloadLength).toBe(12);
    expect(pkt.payloadWireLength).toBe(160);
    expect(decoder.counts[ProtocolCounter.TRUNCATED]).toBe(1);
  });

  it('delivers a UDP datagram whose length runs past the IP payload, cut at the IP end, and counts it', () => {
    const f = Uint8Array.from(udpFrame('10.0.0.1', 1000, '10.0.0.2', 2000, PAYLOAD));
    f[38] = 0x01; // UDP length 256+
    const { ok, pkt, decoder } = decodeOne(f);
    expect(ok).toBe(true);
    expectUdp(pkt, '10.0.0.1', 1000, '10.0.0.2', 2000);
    expect(decoder.counts[ProtocolCounter.UDP_LENGTH_CLAMPED]).toBe(1);
  });

  it('decodes TCP with options: seq, flags, payload after the data offset', () => {
    const seg = tcp(5060, 40000, 0xfedcba98, PAYLOAD, TcpFlags.ACK | TcpFlags.PSH);
    const withOpts = concat(seg.subarray(0, 20), Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]), seg.subarray(20));
    withOpts[12] = 8 << 4;
    const { ok, pkt } = decodeOne(ethernet(ipv4('10.0.0.5', '10.0.0.6', 6, withOpts), EtherType.IPV4));
    expect(ok).toBe(true);
    expect(pkt.ipProto).toBe(6);
    expect(pkt.srcPort).toBe(5060);
    expect(pkt.dstPort).toBe(40000);
    expect(pkt.tcpSeq).toBe(0xfedcba98);
    expect(pkt.tcpFlags).toBe(0x18);
    expect(payloadText(pkt)).toBe('hello rtp payload');
  });

  it('walks IPv6 hop-by-hop, routing, destination options and AH headers', () => {
    const exts: Array<[number, Uint8Array]> = [
      [IpProto.HOPOPT, ipv6OptionsHeader(1)],
      [IpProto.ROUTING, ipv6RoutingHeader(1)],
      [IpProto.AH, ipv6AuthHeader(3)],
      [IpProto.DSTOPTS, ipv6OptionsHeader(2)],
    ];
    const frame = ethernet(ipv6('2001:db8::1', '2001:db8:0:1::abcd', 17, udp(6000, 7000, PAYLOAD), exts), EtherType.IPV6);
    const { ok, pkt } = decodeOne(frame);
    expect(ok).toBe(true);
    expect(pkt.ipVersion).toBe(6);
    expect([pkt.src0, pkt.src1, pkt.src2, pkt.src3]).toEqual([0x20010db8, 0, 0, 1]);
    expectUdp(pkt, '2001:db8::1', 6000, '2001:db8:0:1::abcd', 7000);
  });

  it('counts non-UDP/TCP as other: ARP, ICMP, 802.3 LLC', () => {
    const { results, decoder } = decodeAll([
      ethernet(new Uint8Array(28), 0x0806),
      ethernet(ipv4('10.0.0.1', '10.0.0.2', 1, new Uint8Array(8)), EtherType.IPV4),
      ethernet(new Uint8Array(40), 40),
    ]);
    expect(results).toEqual([false, false, false]);
    expect(decoder.counts[ProtocolCounter.OTHER]).toBe(3);
    expect([...decoder.malformed].every((n) => n === 0)).toBe(true);
  });
});

describe('PacketDecoder: other link layers', () => {
  const ip4 = ipv4Udp('10.9.0.1', 1111, '10.9.0.2', 2222, PAYLOAD);
  const ip6 = ipv6('fe80::1', 'fe80::2', 17, udp(1111, 2222, PAYLOAD));

  it('RAW (101, 228, 229) by version nibble', () => {
    expectUdp(decodeOne(ip4, 101).pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
    expectUdp(decodeOne(ip6, 101).pkt, 'fe80::1', 1111, 'fe80::2', 2222);
    expectUdp(decodeOne(ip4, 228).pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
    expectUdp(decodeOne(ip6, 229).pkt, 'fe80::1', 1111, 'fe80::2', 2222);
  });

  it('LINUX_SLL and LINUX_SLL2 with the sender MAC', () => {
    const a = decodeOne(sll(ip4, 0x0800, { src: '00:04:13:29:64:22' }), 113);
    expect(a.ok).toBe(true);
    expectUdp(a.pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
    expect(macToString(a.batch.buf, a.pkt.srcMacOffset)).toBe('00-04-13-29-64-22');
    expect(a.pkt.dstMacOffset).toBe(-1);
    const b = decodeOne(sll2(ip6, 0x86dd, { src: '02:aa:bb:cc:dd:ee' }), 276);
    expect(b.ok).toBe(true);
    expectUdp(b.pkt, 'fe80::1', 1111, 'fe80::2', 2222);
    expect(macToString(b.batch.buf, b.pkt.srcMacOffset)).toBe('02-AA-BB-CC-DD-EE');
  });

  it('NULL and LOOP with the address family in either byte order', () => {
    for (const lt of [0, 108]) {
      expectUdp(decodeOne(loopback(ip4, 2, false), lt).pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
      expectUdp(decodeOne(loopback(ip4, 2, true), lt).pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
      for (const af of [24, 28, 30]) {
        expectUdp(decodeOne(loopback(ip6, af, lt === 108), lt).pkt, 'fe80::1', 1111, 'fe80::2', 2222);
      }
    }
  });

  it('PPPoE session', () => {
    const r = decodeOne(ethernet(pppoe(ip4, 0x0021), 0x8864));
    expect(r.ok).toBe(true);
    expectUdp(r.pkt, '10.9.0.1', 1111, '10.9.0.2', 2222);
  });

  it('unknown link types are counted, not decoded', () => {
    const r = decodeOne(ip4, 105);
    expect(r.ok).toBe(false);
    expect(r.decoder.counts[ProtocolCounter.UNKNOWN_LINK_TYPE]).toBe(1);
  });
});

describe('PacketDecoder: MPLS and mirror tunnels', () => {
  const outer = (proto: number, body: Uint8Array) => ethernet(ipv4('172.16.0.1', '172.16.0.2', proto, body), EtherType.IPV4, { src: '02:00:00:00:00:aa' });

  it('MPLS label stack to IPv4 and IPv6', () => {
    const a = decodeOne(ethernet(mpls([100, 200, 300], ipv4Udp('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD)), EtherType.MPLS));
    expect(a.ok).toBe(true);
    expectUdp(a.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    const b = decodeOne(ethernet(mpls([16], ipv6('2001:db8::1', '2001:db8::2', 17, udp(1, 2, PAYLOAD))), EtherType.MPLS));
    expectUdp(b.pkt, '2001:db8::1', 1, '2001:db8::2', 2);
  });

  it('Ethernet over MPLS with and without the pseudowire control word', () => {
    for (const body of [concat(pwControlWord(5), innerEth()), innerEth()]) {
      const r = decodeOne(ethernet(mpls([1000, 2000], body), EtherType.MPLS));
      expect(r.ok).toBe(true);
      expectUdp(r.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
      expect(r.pkt.tunnel).toBe(TunnelType.MPLS);
      expect(macToString(r.batch.buf, r.pkt.srcMacOffset)).toBe('00-04-13-29-64-22');
    }
  });

  it('GRE with checksum, key and sequence carrying IPv4, and transparent Ethernet bridging', () => {
    const a = decodeOne(outer(IpProto.GRE, gre(0x0800, ipv4Udp('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD), { checksum: true, key: 7, seq: 9 })));
    expect(a.ok).toBe(true);
    expectUdp(a.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    expect(a.pkt.tunnel).toBe(TunnelType.GRE);
    const b = decodeOne(outer(IpProto.GRE, gre(0x6558, innerEth(), { key: 1 })));
    expect(b.ok).toBe(true);
    expectUdp(b.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    expect(macToString(b.batch.buf, b.pkt.srcMacOffset)).toBe('00-04-13-29-64-22');
    expect(b.decoder.counts[ProtocolCounter.GRE]).toBe(1);
  });

  it('ERSPAN types I, II and III (with and without platform subheader, Ethernet and IP frame types)', () => {
    const cases: Array<[Uint8Array, number, number]> = [
      [gre(0x88be, innerEth()), TunnelType.ERSPAN_I, ProtocolCounter.ERSPAN_I],
      [gre(0x88be, erspan2(innerEth(), { vlan: 12, session: 3 }), { seq: 1 }), TunnelType.ERSPAN_II, ProtocolCounter.ERSPAN_II],
      [gre(0x22eb, erspan3(innerEth()), { seq: 2 }), TunnelType.ERSPAN_III, ProtocolCounter.ERSPAN_III],
      [gre(0x22eb, erspan3(innerEth(), { platform: true }), { seq: 3 }), TunnelType.ERSPAN_III, ProtocolCounter.ERSPAN_III],
      [gre(0x22eb, erspan3(ipv4Udp('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD), { frameType: 2 }), { seq: 4 }), TunnelType.ERSPAN_III, ProtocolCounter.ERSPAN_III],
    ];
    for (const [body, tunnel, counter] of cases) {
      const r = decodeOne(outer(IpProto.GRE, body));
      expect(r.ok).toBe(true);
      expectUdp(r.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
      expect(r.pkt.tunnel).toBe(tunnel);
      expect(r.decoder.counts[counter]).toBe(1);
    }
  });

  it('VXLAN on the configured port', () => {
    const frame = udpFrame('172.16.0.1', 55555, '172.16.0.2', 4789, vxlan(innerEth(), 5001));
    const r = decodeOne(frame);
    expect(r.ok).toBe(true);
    expectUdp(r.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    expect(r.pkt.tunnel).toBe(TunnelType.VXLAN);
    expect(macToString(r.batch.buf, r.pkt.dstMacOffset)).toBe('34-31-C4-38-24-00');
    // Another port is plain UDP unless configured.
    const other = udpFrame('172.16.0.1', 55555, '172.16.0.2', 8472, vxlan(innerEth()));
    expect(decodeOne(other).pkt.dstPort).toBe(8472);
    expectUdp(decodeOne(other, 1, { vxlanPort: 8472 }).pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
  });

  it('TZSP with tagged fields and padding', () => {
    const body = tzsp(innerEth(), [[10, Uint8Array.from([0xc4])], [40, Uint8Array.from([0, 0, 0, 1])]], { padding: 2 });
    const r = decodeOne(udpFrame('172.16.0.1', 40000, '172.16.0.2', 37008, body));
    expect(r.ok).toBe(true);
    expectUdp(r.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    expect(r.pkt.tunnel).toBe(TunnelType.TZSP);
  });

  it('IP in IP', () => {
    const r = decodeOne(outer(IpProto.IPIP, ipv4Udp('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD)));
    expectUdp(r.pkt, '10.1.1.1', 4000, '10.2.2.2', 5000);
    expect(r.pkt.tunnel).toBe(TunnelType.IP_IN_IP);
  });

  it('stops nested tunnels at the depth limit and counts it', () => {
    let body: Uint8Array = ipv4Udp('10.1.1.1', 4000, '10.2.2.2', 5000, PAYLOAD);
    for (let i = 0; i < 12; i++) body = ipv4('172.16.0.1', '172.16.0.2', IpProto.GRE, gre(0x0800, body));
    const r = decodeOne(ethernet(body, EtherType.IPV4));
    expect(r.ok).toBe(false);
    expect(r.decoder.malformed[MalformedReason.TUNNEL_DEPTH]).toBe(1);
  });
});

describe('PacketDecoder: fragment reassembly', () => {
  const big = text('INVITE sip:bob@example.com SIP/2.0\r\n' + 'X-Filler: ' + 'x'.repeat(3000) + '\r\n\r\n');
  const seg = udp(5060, 5060, big);

  it('reassembles IPv4 fragments in any order and reports the datagram once', () => {
    const frags = ipv4Fragments('10.0.0.1', '10.0.0.2', 17, seg, 1480, { id: 0x1234 }).map((f) => ethernet(f, EtherType.IPV4));
    expect(frags.length).toBe(3);
    const { results, pkt, decoder } = decodeAll([frags[2], frags[0], frags[1]]);
    expect(results).toEqual([false, false, true]);
    expect(pkt.reassembled).toBe(true);
    expect(pkt.srcPort).toBe(5060);
    expect(pkt.payloadLength).toBe(big.length);
    expect(new TextDecoder().decode(pkt.payloadBuf.subarray(pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength))).toBe(new TextDecoder().decode(big));
    expect(decoder.counts[ProtocolCounter.FRAGMENTS]).toBe(3);
    expect(decoder.counts[ProtocolCounter.REASSEMBLED]).toBe(1);
    expect(decoder.fragmentChains()).toBe(0);
    expect(decoder.fragmentBytes()).toBe(0);
  });

  it('reassembles IPv6 fragments', () => {
    const frags = ipv6Fragments('2001:db8::1', '2001:db8::2', 17, seg, 1232, 0xabcdef).map((f) => ethernet(f, EtherType.IPV6));
    const { results, pkt } = decodeAll(frags);
    expect(results).toEqual([false, false, true]);
    expect(src(pkt)).toBe('2001:db8::1');
    expect(pkt.payloadLength).toBe(big.length);
  });

  it('counts duplicates and overlaps and still completes', () => {
    const frags = ipv4Fragments('10.0.0.1', '10.0.0.2', 17, seg, 1024, { id: 7 }).map((f) => ethernet(f, EtherType.IPV4));
    // An overlapping fragment: 16 bytes from offset 1016 (overlaps the first and the second).
    const overlap = ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, seg.subarray(1016, 1032), { id: 7, fragOffset: 1016, moreFragments: true }), EtherType.IPV4);
    expect(frags.length).toBe(3);
    const { results, decoder, pkt } = decodeAll([frags[0], frags[0], overlap, frags[1], frags[2]]);
    expect(results).toEqual([false, false, false, false, true]);
    expect(decoder.counts[ProtocolCounter.FRAGMENT_DUPLICATES]).toBe(1);
    expect(decoder.counts[ProtocolCounter.FRAGMENT_OVERLAPS]).toBeGreaterThanOrEqual(1);
    expect(pkt.payloadLength).toBe(big.length);
  });

  it('drops chains after the timeout, evicts beyond max chains and max bytes', () => {
    const chain = (id: number) => ipv4Fragments('10.0.0.1', '10.0.0.2', 17, seg, 1480, { id }).map((f) => ethernet(f, EtherType.IPV4));
    // timeout: batchOf gives packet i the time base + i seconds
    const t = decodeAll([chain(1)[0], chain(2)[0], chain(3)[0], chain(1)[1], chain(1)[2]], 1, { fragmentTimeoutMs: 2500 });
    expect(t.decoder.counts[ProtocolCounter.FRAGMENT_TIMEOUTS]).toBe(2); // chain 1 (t=0) expires at t=3, chain 2 (t=1) at t=4
    expect(t.results[4]).toBe(false);
    // chains: the 3rd chain evicts the first
    const c = decodeAll([chain(1)[0], chain(2)[0], chain(3)[0]], 1, { maxFragmentChains: 2 });
    expect(c.decoder.counts[ProtocolCounter.FRAGMENT_EVICTIONS]).toBe(1);
    expect(c.decoder.fragmentChains()).toBe(2);
    // bytes: two first fragments of 1480 bytes do not fit in 2000
    const b = decodeAll([chain(1)[0], chain(2)[0]], 1, { maxFragmentBytes: 2000 });
    expect(b.decoder.counts[ProtocolCounter.FRAGMENT_EVICTIONS]).toBe(1);
    expect(b.decoder.fragmentBytes()).toBeLessThanOrEqual(2000);
  });

  it('rejects fragments past 64 KiB and non-final fragments not a multiple of 8', () => {
    const odd = ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(13), { id: 1, moreFragments: true }), EtherType.IPV4);
    const far = ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(64), { id: 2, fragOffset: 65528 }), EtherType.IPV4);
    const { results, decoder } = decodeAll([odd, far]);
    expect(results).toEqual([false, false]);
    expect(decoder.malformed[MalformedReason.FRAGMENT]).toBe(2);
  });
});

describe('PacketDecoder: malformed packets are counted per reason', () => {
  const good = udpFrame('10.0.0.1', 1000, '10.0.0.2', 2000, PAYLOAD);
  const cases: Array<[string, Uint8Array, number, number]> = [
    ['short Ethernet', good.subarray(0, 10), 1, MalformedReason.LINK_HEADER],
    ['cut VLAN tag', udpFrame('10.0.0.1', 1, '10.0.0.2', 2, PAYLOAD, { vlans: [5] }).subarray(0, 16), 1, MalformedReason.VLAN_HEADER],
    ['short IPv4', good.subarray(0, 30), 1, MalformedReason.IPV4_HEADER],
    ['IPv4 total length below header', (() => { const f = Uint8Array.from(good); f[16] = 0; f[17] = 10; return f; })(), 1, MalformedReason.IPV4_LENGTH],
    ['short UDP', good.subarray(0, 38), 1, MalformedReason.UDP_HEADER],
    ['UDP length below 8', (() => { const f = Uint8Array.from(good); f[38] = 0; f[39] = 4; return f; })(), 1, MalformedReason.UDP_LENGTH],
    ['short IPv6', ethernet(new Uint8Array(30).fill(0x60), EtherType.IPV6), 1, MalformedReason.IPV6_HEADER],
    ['IPv6 ext past end', ethernet(ipv6('::1', '::2', 17, new Uint8Array(0), [[0, ipv6OptionsHeader(1)]]).subarray(0, 44), EtherType.IPV6), 1, MalformedReason.IPV6_EXTENSION],
    ['TCP offset below 20', (() => { const f = Uint8Array.from(ethernet(ipv4('10.0.0.1', '10.0.0.2', 6, tcp(1, 2, 3, PAYLOAD)), EtherType.IPV4)); f[46] = 0x40; return f; })(), 1, MalformedReason.TCP_HEADER],
    ['MPLS without bottom', ethernet(Uint8Array.from([0, 0, 0, 64, 0, 0, 0, 64]), EtherType.MPLS), 1, MalformedReason.MPLS_HEADER],
    ['short GRE', ethernet(ipv4('1.1.1.1', '2.2.2.2', 47, Uint8Array.from([0x30, 0, 8, 0, 0])), EtherType.IPV4), 1, MalformedReason.GRE_HEADER],
    ['ERSPAN II wrong version', ethernet(ipv4('1.1.1.1', '2.2.2.2', 47, gre(0x88be, new Uint8Array(30), { seq: 1 })), EtherType.IPV4), 1, MalformedReason.ERSPAN_HEADER],
    ['TZSP without end tag', udpFrame('1.1.1.1', 1, '2.2.2.2', 37008, Uint8Array.from([1, 0, 0, 1, 0, 0, 10, 5, 1])), 1, MalformedReason.TZSP_HEADER],
    ['short SLL', new Uint8Array(10), 113, MalformedReason.LINK_HEADER],
    ['GTP-U optional fields cut', udpFrame('1.1.1.1', 2152, '2.2.2.2', 2152, Uint8Array.from([0x32, 0xff, 0, 2, 0, 0, 0, 1, 0, 0])), 1, MalformedReason.GTP_HEADER],
    ['GTP-U extension of length 0', udpFrame('1.1.1.1', 2152, '2.2.2.2', 2152, gtpu(ipv4Udp('10.0.0.1', 1, '10.0.0.2', 2, PAYLOAD), { extensions: [[0x85, Uint8Array.from([0, 9])]] }).map((b, i) => (i === 12 ? 0 : b))), 1, MalformedReason.GTP_HEADER],
    ['GTP-U extension past its length', udpFrame('1.1.1.1', 2152, '2.2.2.2', 2152, gtpu(new Uint8Array(0), { extensions: [[0x85, Uint8Array.from([0, 9])]] }).map((b, i) => (i === 12 ? 9 : b))), 1, MalformedReason.GTP_HEADER],
  ];
  for (const [name, frame, lt, reason] of cases) {
    it(`${name} -> ${malformedReasonNames[reason]}`, () => {
      const r = decodeOne(frame, lt);
      expect(r.ok).toBe(false);
      expect(r.decoder.malformed[reason]).toBe(1);
      expect([...r.decoder.malformed].reduce((a, b) => a + b, 0)).toBe(1);
    });
  }

  it('names every reason and counter', () => {
    expect(malformedReasonNames.length).toBe(MalformedReason.COUNT);
    expect(protocolCounterNames.length).toBe(ProtocolCounter.COUNT);
  });
});

describe('text helpers', () => {
  it('formats IPv6 like the WHATWG URL serializer (RFC 5952 compression)', () => {
    const words: Array<[number, number, number, number]> = [
      [0x20010db8, 0, 0, 1], [0, 0, 0, 1], [0x20010db8, 0x00000001, 0x00010001, 0x00010001], [0x20010000, 0, 0x00010000, 0],
      [0xfe800000, 0, 0x021122ff, 0xfe334455], [0, 0, 0, 0], [0x00010000, 0x00020000, 0x00030000, 0x00040000],
    ];
    for (const [a, b, c, d] of words) {
      const hex = [a, b, c, d].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('').match(/.{4}/g)!.join(':');
      expect(ipToString(a, b, c, d)).toBe(new URL(`http://[${hex}]/`).hostname.slice(1, -1));
    }
    expect(ipToString(0, 0, 0xffff, 0xc0a80001)).toBe('192.168.0.1');
  });
});

describe('PacketDecoder: GTP-U', () => {
  const inner = ipv4Udp('10.0.0.1', 4000, '10.0.0.2', 5000, PAYLOAD);
  it('delivers the inner UDP flow with sequence, N-PDU and chained extension headers, either port at 2152', () => {
    const frames = [
      udpFrame('1.1.1.1', 2152, '2.2.2.2', 2152, gtpu(inner, { seq: 7, npdu: 3, extensions: [[0x85, Uint8Array.from([0, 9])], [0x40, Uint8Array.from([1, 2, 3, 4, 5])]] })),
      udpFrame('1.1.1.1', 40000, '2.2.2.2', 2152, gtpu(inner)),
      udpFrame('1.1.1.1', 2152, '2.2.2.2', 40000, gtpu(inner)),
    ];
    const { results, decoder } = decodeAll(frames);
    expect(results).toEqual([true, true, true]);
    expect(decoder.counts[ProtocolCounter.GTP_U]).toBe(3);
  });
  it('keeps other UDP on port 2152 as plain UDP (not a G-PDU)', () => {
    const r = decodeOne(udpFrame('1.1.1.1', 2152, '2.2.2.2', 2152, PAYLOAD), 1);
    expect(r.ok).toBe(true);
    expect(r.decoder.counts[ProtocolCounter.GTP_U]).toBe(0);
  });
});
