import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  erspan2, erspan3, ethernet, EtherType, gre, gtpu, tcp, ipv4, ipv4Fragments, ipv4Udp, ipv6, ipv6Fragments, ipv6OptionsHeader, ipv6RoutingHeader,
  IpProto, loopback, mpls, pcapngSections, pwControlWord, rtp, sll, sll2, tzsp, udp, udpFrame, vxlan, concat,
} from '../../src/gen/index.js';
import { decoderUdpFlows, sorted, tsharkUdpFlows } from './flows.js';

/**
 * A capture of every encapsulation and link layer the decoder supports, written with the project's
 * generator, then read by tshark (independent reference) and by our decoder: UDP flows must agree.
 */
describe('generated mirror-port capture: UDP flows match tshark', () => {
  const voice = (i: number) => rtp({ pt: 8, seq: i, ts: i * 160, ssrc: 0x1000 + i });
  const inner = (n: number, i: number) => udpFrame(`10.${n}.0.1`, 4000 + n, `10.${n}.0.2`, 6000 + n, voice(i), { src: '00:04:13:29:64:22', dst: '34:31:c4:38:24:00' });
  const innerIp = (n: number, i: number) => ipv4Udp(`10.${n}.0.1`, 4000 + n, `10.${n}.0.2`, 6000 + n, voice(i));
  const outer = (proto: number, body: Uint8Array, vlans?: number[]) => ethernet(ipv4('172.16.0.1', '172.16.0.2', proto, body), EtherType.IPV4, { vlans });
  const sip = new TextEncoder().encode('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.0.1\r\n' + 'X-Pad: ' + 'p'.repeat(3500) + '\r\n\r\n');

  const eth: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    eth.push(inner(1, i));
    eth.push(udpFrame('10.2.0.1', 4002, '10.2.0.2', 6002, voice(i), { vlans: [10] }));
    eth.push(udpFrame('10.3.0.1', 4003, '10.3.0.2', 6003, voice(i), { vlans: [100, 200] }));
    eth.push(udpFrame('2001:db8::1', 4004, '2001:db8::2', 6004, voice(i)));
    eth.push(ethernet(ipv6('2001:db8::5', '2001:db8::6', IpProto.UDP, udp(4005, 6005, voice(i)), [[IpProto.HOPOPT, ipv6OptionsHeader(1)], [IpProto.ROUTING, ipv6RoutingHeader(1)], [IpProto.DSTOPTS, ipv6OptionsHeader(2)]]), EtherType.IPV6));
    eth.push(ethernet(mpls([100, 200], innerIp(6, i)), EtherType.MPLS));
    eth.push(ethernet(mpls([300], concat(pwControlWord(i), inner(7, i))), EtherType.MPLS));
    eth.push(outer(IpProto.GRE, gre(0x0800, innerIp(8, i), { key: 5, seq: i })));
    eth.push(outer(IpProto.GRE, gre(0x6558, inner(9, i))));
    eth.push(outer(IpProto.GRE, gre(0x88be, inner(11, i))));
    eth.push(outer(IpProto.GRE, gre(0x88be, erspan2(inner(12, i), { session: 5 }), { seq: i })));
    eth.push(outer(IpProto.GRE, gre(0x22eb, erspan3(inner(13, i)), { seq: i })));
    eth.push(outer(IpProto.GRE, gre(0x22eb, erspan3(inner(14, i), { platform: true }), { seq: i })));
    eth.push(udpFrame('172.16.0.1', 50000 + i, '172.16.0.2', 4789, vxlan(inner(15, i), 77), { vlans: [20] }));
    eth.push(udpFrame('172.16.0.1', 50000, '172.16.0.2', 37008, tzsp(inner(16, i), [[10, Uint8Array.from([0xc8])]], { padding: 1 })));
    eth.push(outer(IpProto.GRE, gre(0x86dd, ipv6('2001:db8::17', '2001:db8::18', IpProto.UDP, udp(4017, 6017, voice(i))))));
    for (const f of ipv4Fragments('10.19.0.1', '10.19.0.2', IpProto.UDP, udp(5060, 5060, sip), 1480, { id: 100 + i })) eth.push(ethernet(f, EtherType.IPV4));
    for (const f of ipv6Fragments('2001:db8::20', '2001:db8::21', IpProto.UDP, udp(5062, 5062, sip), 1232, 900 + i)) eth.push(ethernet(f, EtherType.IPV6));
    // GTP-U v1 (mobile core): plain, sequence number, N-PDU number, extension headers, IPv6 inside and outside,
    // TCP inside (not a UDP flow), and an echo request on the port (not a G-PDU: plain UDP for both).
    const gtpOuter = (body: Uint8Array, v6 = false) =>
      v6 ? udpFrame('2001:db8:1::1', 2152, '2001:db8:1::2', 2152, body) : udpFrame('172.16.1.1', 2152, '172.16.1.2', 2152, body, { vlans: [30, 40] });
    eth.push(gtpOuter(gtpu(innerIp(41, i), { teid: 0x1000 + i })));
    eth.push(gtpOuter(gtpu(innerIp(42, i), { seq: i })));
    eth.push(gtpOuter(gtpu(innerIp(43, i), { npdu: i + 1 })));
    eth.push(gtpOuter(gtpu(innerIp(44, i), { seq: i, extensions: [[0x85, Uint8Array.from([0x00, 0x09])], [0x40, Uint8Array.from([0x13, 0xc4])]] })));
    eth.push(gtpOuter(gtpu(ipv6('2001:db8::45', '2001:db8::46', IpProto.UDP, udp(4045, 6045, voice(i))), { extensions: [[0x85, Uint8Array.from([0x10, 0x05, 0, 0, 0, 0])]] })));
    eth.push(gtpOuter(gtpu(innerIp(47, i)), true));
    eth.push(gtpOuter(gtpu(ipv4('10.48.0.1', '10.48.0.2', IpProto.TCP, tcp(4048, 80, i, voice(i))))));
    const echo = gtpu(new Uint8Array(0), { seq: i });
    echo[1] = 1;
    eth.push(udpFrame('172.16.1.3', 2152, '172.16.1.4', 2152, echo));
    eth.push(outer(1, new Uint8Array(8)));
    const bogus = Uint8Array.from(udpFrame('10.40.0.1', 4040, '10.40.0.2', 6040, voice(i)));
    bogus[38] = 0x7f; // UDP length far past the IP payload: both tshark and we still count the datagram
    eth.push(bogus); // ICMP: no flow on either side
  }
  const ipOnly = [innerIp(30, 0), ipv6('2001:db8::31', '2001:db8::32', IpProto.UDP, udp(4031, 6031, voice(0)))];

  const ifaces = [
    { linkType: 1, tsresol: 9 },
    { linkType: 101 },
    { linkType: 113 },
    { linkType: 276 },
    { linkType: 0 },
  ];
  let t = 1_700_000_000_000_000_000n;
  const next = () => (t += 1_000_000n);
  const records = [
    ...eth.map((data) => ({ tsNs: next(), data, iface: 0 })),
    ...ipOnly.map((data) => ({ tsNs: next(), data, iface: 1 })),
    { tsNs: next(), data: sll(innerIp(33, 0), 0x0800), iface: 2 },
    { tsNs: next(), data: sll2(innerIp(34, 0), 0x0800), iface: 3 },
    { tsNs: next(), data: loopback(innerIp(35, 0), 2), iface: 4 },
    { tsNs: next(), data: loopback(ipOnly[1], 30), iface: 4 },
  ];
  const data = pcapngSections([{ interfaces: ifaces, records }]);
  const file = join(mkdtempSync(join(tmpdir(), 'rtpprobe-tunnels-')), 'mirror.pcapng');
  writeFileSync(file, data);

  it('every flow, every count', () => {
    const theirs = tsharkUdpFlows(file);
    const ours = decoderUdpFlows(data);
    expect(sorted(ours.flows)).toEqual(sorted(theirs));
    expect(theirs.size).toBe(31); // 26 Ethernet-borne flows, 2 raw IP, SLL, SLL2, NULL (the NULL IPv6 one repeats a raw flow)
    expect([...ours.decoder.malformed].every((n) => n === 0)).toBe(true);
  });
});
