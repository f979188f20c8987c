/**
 * What a capture filter keeps of the ways a mirror port can carry the probe's traffic. A BPF expression
 * written for one feed silently drops another: `udp or (vlan and udp)` drops QinQ, anything with `vlan`
 * in front of `proto gre` tests GRE 4 bytes too far on, `udp port 5060` drops the later fragments of a
 * large INVITE. check-config runs the compiled filter over one sample RTP and one sample SIP frame per
 * carriage and names the carriages it drops, judged against the same packet untagged (a filter that
 * keeps only some ports keeps or drops the samples whatever the carriage).
 */
import { compileBpf, runBpf, type BpfProgram } from './file/bpf.js';
import { EtherType, ethernet, ipv4, ipv6, rtp, tcp, text, udp } from '../gen/packets.js';
import { erspan2, erspan3, gre, IpProto, vxlan } from '../gen/tunnels.js';

/** A sample packet of the probe's traffic: ports and payload, put into each carriage. */
interface Sample {
  what: 'RTP' | 'SIP';
  sport: number;
  dport: number;
  payload: Uint8Array;
}

export interface Carriage {
  name: string;
  /** Only this kind of sample travels so (SIP over TCP, a SIP message fragmented). */
  only?: Sample['what'];
  /** The frames of `s` in this carriage (several when it is split, as IP fragments). */
  frames(s: Sample): Uint8Array[];
}

const V4 = ['192.0.2.10', '192.0.2.20'] as const;
const V6 = ['2001:db8::10', '2001:db8::20'] as const;
const TUNNEL = ['198.51.100.1', '198.51.100.2'] as const;

const INVITE = text('INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nCall-ID: sample@rtpprobe\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n');

export const SAMPLES: readonly Sample[] = [
  { what: 'RTP', sport: 16384, dport: 16386, payload: rtp({ pt: 0, seq: 1, ts: 160, ssrc: 0x1234 }) },
  { what: 'SIP', sport: 5060, dport: 5060, payload: INVITE },
];

const udpIp = (s: Sample) => ipv4(V4[0], V4[1], IpProto.UDP, udp(s.sport, s.dport, s.payload));
const untagged = (ip: Uint8Array) => ethernet(ip, EtherType.IPV4);
const inGre = (payload: Uint8Array) => untagged(ipv4(TUNNEL[0], TUNNEL[1], IpProto.GRE, payload));

/** The baseline first: the others are judged against it. */
export const CARRIAGES: readonly Carriage[] = [
  { name: 'untagged IPv4', frames: (s) => [untagged(udpIp(s))] },
  { name: 'IPv6', frames: (s) => [ethernet(ipv6(V6[0], V6[1], IpProto.UDP, udp(s.sport, s.dport, s.payload)), EtherType.IPV6)] },
  { name: '802.1Q', frames: (s) => [ethernet(udpIp(s), EtherType.IPV4, { vlans: [100] })] },
  { name: 'QinQ', frames: (s) => [ethernet(udpIp(s), EtherType.IPV4, { vlans: [200, 100] })] },
  { name: 'VXLAN', frames: (s) => [untagged(ipv4(TUNNEL[0], TUNNEL[1], IpProto.UDP, udp(49152, 4789, vxlan(untagged(udpIp(s))))))] },
  { name: 'Ethernet over GRE', frames: (s) => [inGre(gre(0x6558, untagged(udpIp(s))))] },
  { name: 'ERSPAN type II', frames: (s) => [inGre(gre(0x88be, erspan2(untagged(udpIp(s))), { seq: 1 }))] },
  { name: 'ERSPAN type III', frames: (s) => [inGre(gre(0x22eb, erspan3(untagged(udpIp(s))), { seq: 1 }))] },
  { name: 'TCP', only: 'SIP', frames: (s) => [untagged(ipv4(V4[0], V4[1], IpProto.TCP, tcp(s.sport, s.dport, 1, s.payload)))] },
  {
    // A message larger than the MTU: the fragments after the first carry no UDP header.
    name: 'IPv4 fragments',
    only: 'SIP',
    frames: (s) => {
      const seg = udp(s.sport, s.dport, s.payload);
      return [
        untagged(ipv4(V4[0], V4[1], IpProto.UDP, seg.subarray(0, 16), { id: 7, moreFragments: true })),
        untagged(ipv4(V4[0], V4[1], IpProto.UDP, seg.subarray(16), { id: 7, fragOffset: 16 })),
      ];
    },
  },
];

export interface FilterCoverage {
  /** Per sample kind, the carriages whose frames the filter drops (any of them) while it keeps the packet untagged. */
  dropped: Record<Sample['what'], string[]>;
  /** Sample kinds the filter drops even untagged (it selects other ports or hosts): not judged. */
  unjudged: Array<Sample['what']>;
}

function keeps(prog: BpfProgram, frame: Uint8Array): boolean {
  return runBpf(prog, new Int32Array(16), frame, 0, frame.length, frame.length) !== 0;
}

/** Runs `expression` (compiled for Ethernet by libpcap) over every sample in every carriage. */
export function filterCoverage(expression: string): FilterCoverage {
  const prog = compileBpf(expression);
  const out: FilterCoverage = { dropped: { RTP: [], SIP: [] }, unjudged: [] };
  for (const s of SAMPLES) {
    const [baseline, ...others] = CARRIAGES;
    if (!baseline!.frames(s).every((f) => keeps(prog, f))) {
      out.unjudged.push(s.what);
      continue;
    }
    for (const c of others) {
      if (c.only !== undefined && c.only !== s.what) continue;
      if (!c.frames(s).every((f) => keeps(prog, f))) out.dropped[s.what].push(c.name);
    }
  }
  return out;
}

/** check-config's note on `expression`, or undefined when it drops none of the carriages. */
export function filterCoverageNote(expression: string): string | undefined {
  const { dropped, unjudged } = filterCoverage(expression);
  const parts = (['RTP', 'SIP'] as const).filter((w) => dropped[w].length > 0).map((w) => `${w} in ${dropped[w].join(', ')}`);
  const notJudged = unjudged.map((w) => {
    const s = SAMPLES.find((x) => x.what === w)!;
    return `the sample ${w} packet (UDP ${V4[0]}:${s.sport} > ${V4[1]}:${s.dport}) is dropped even untagged, so where the filter drops ${w} is not judged`;
  });
  if (parts.length > 0) notJudged.unshift(`it drops ${parts.join('; ')}, as a mirror port may carry them; if this port carries any, widen the filter (README, Deployment)`);
  return notJudged.length > 0 ? `capture.filter: ${notJudged.join('; ')}` : undefined;
}
