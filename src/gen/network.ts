/**
 * What a network and a mirror port do to the packets endpoints send: delay variation, loss, reordering
 * (the first packets too), SPAN duplicates, and the encapsulation the capture point sees (802.1Q, QinQ,
 * GTP-U, ERSPAN II/III) over IPv4 or IPv6. Fixtures only: clarity over speed.
 */
import { ethernet, EtherType, ipv4, ipv6, udp } from './packets.js';
import type { SeededRandom } from './random.js';
import { erspan2, erspan3, gre, gtpu, IpProto } from './tunnels.js';

/** An IP packet an endpoint sends at `sendNs` (ns after the capture start). */
export interface SentPacket {
  sendNs: number;
  ip: Uint8Array;
}

/** A packet as the capture point sees it: arrival time (whole microseconds, in ns) and IP packet. */
export interface ArrivedPacket {
  tNs: number;
  ip: Uint8Array;
}

export interface Impairments {
  /** Each packet arrives 0..jitterMs after its send time (plus a fixed 1 ms path delay). */
  jitterMs?: number;
  /** Packets sent in this window [from, to) (ns) arrive without delay variation. */
  steadyNs?: [number, number];
  /** Percent of packets lost. */
  lossPct?: number;
  /** Percent of packets that arrive after their successor (adjacent swap). */
  swapPct?: number;
  /** Packet 1 arrives after packet 2 (the stream starts out of order). */
  swapFirst?: boolean;
  /** Percent of packets that arrive 2..6 packets late. */
  latePct?: number;
  /** Percent of packets the mirror port delivers twice (a few microseconds apart). */
  duplicatePct?: number;
}

const US = 1000;
const PATH_DELAY_NS = 1_000_000;

/**
 * Arrivals of one direction's packets (in send order): delay variation that keeps order unless a swap or a
 * late packet is asked for, loss, duplicates. Times are whole microseconds, what a classic pcap keeps.
 */
export function impair(sent: SentPacket[], rnd: SeededRandom, o: Impairments = {}): ArrivedPacket[] {
  const jitterUs = Math.round((o.jitterMs ?? 0) * 1000);
  const times: number[] = [];
  let prev = -1;
  for (const s of sent) {
    const steady = o.steadyNs !== undefined && s.sendNs >= o.steadyNs[0] && s.sendNs < o.steadyNs[1];
    let t = Math.round((s.sendNs + PATH_DELAY_NS) / US) + (jitterUs > 0 && !steady ? rnd.int(0, jitterUs) : 0);
    if (t <= prev) t = prev + 1;
    times.push(t);
    prev = t;
  }
  const pct = (p: number | undefined) => p !== undefined && p > 0 && rnd.next() * 100 < p;
  const swap = (i: number) => {
    const a = times[i];
    times[i] = times[i + 1] + 1;
    times[i + 1] = a;
  };
  if (o.swapFirst && times.length > 2) swap(0);
  for (let i = 1; i + 1 < times.length; i++) {
    if (pct(o.swapPct)) {
      swap(i);
      i++;
    } else if (pct(o.latePct)) {
      const k = Math.min(times.length - 1, i + rnd.int(2, 6));
      times[i] = times[k] + rnd.int(1, 300);
    }
  }
  const out: ArrivedPacket[] = [];
  sent.forEach((s, i) => {
    if (pct(o.lossPct)) return;
    out.push({ tNs: times[i] * US, ip: s.ip });
    if (pct(o.duplicatePct)) out.push({ tNs: (times[i] + rnd.int(1, 50)) * US, ip: s.ip });
  });
  return out;
}

/** IPv4 or IPv6 (by the address form) carrying a UDP datagram. */
export function ipUdp(src: string, srcPort: number, dst: string, dstPort: number, payload: Uint8Array): Uint8Array {
  const seg = udp(srcPort, dstPort, payload);
  return src.includes(':') ? ipv6(src, dst, IpProto.UDP, seg) : ipv4(src, dst, IpProto.UDP, seg);
}

export const WRAPS = ['none', 'vlan', 'qinq', 'gtpu', 'erspan2', 'erspan3'] as const;
/** The capture point's view of a frame: plain Ethernet, VLAN tags, or a tunnel a mirror or core network adds. */
export type Wrap = (typeof WRAPS)[number];

/**
 * Puts inner IP packets into Ethernet frames the way `wrap` says. GTP-U and ERSPAN get outer IPv4
 * addresses of their own (`outer` names a /24 for this capture point); the GTP-U direction (which end
 * is the base station) follows the inner addresses' order, so each inner direction keeps one tunnel.
 */
export class FrameWrapper {
  private gtpSeq = 0;
  private greSeq = 0;

  constructor(private readonly wrap: Wrap, private readonly outer: number, private readonly gtpExtensions: boolean) {}

  frame(ip: Uint8Array): Uint8Array {
    const type = ip[0] >> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4;
    const o = this.outer & 0xff;
    switch (this.wrap) {
      case 'none':
        return ethernet(ip, type);
      case 'vlan':
        return ethernet(ip, type, { vlans: [100 + o] });
      case 'qinq':
        return ethernet(ip, type, { vlans: [200 + o, 300 + o] });
      case 'gtpu': {
        const up = uplink(ip);
        const [src, dst] = up ? [`172.20.${o}.1`, `172.20.${o}.2`] : [`172.20.${o}.2`, `172.20.${o}.1`];
        const g = this.gtpExtensions
          ? gtpu(ip, { teid: up ? 0x100 + o : 0x200 + o, seq: this.gtpSeq++ & 0xffff, extensions: [[0x85, Uint8Array.from([up ? 0x10 : 0x00, 0x09])]] })
          : gtpu(ip, { teid: up ? 0x100 + o : 0x200 + o });
        return ethernet(ipv4(src, dst, IpProto.UDP, udp(2152, 2152, g)), EtherType.IPV4, { vlans: [400 + o] });
      }
      case 'erspan2':
      case 'erspan3': {
        const mirrored = ethernet(ip, type, { vlans: [500 + o] });
        const body = this.wrap === 'erspan2'
          ? gre(0x88be, erspan2(mirrored, { session: o }), { seq: this.greSeq++ })
          : gre(0x22eb, erspan3(mirrored, { session: o }), { seq: this.greSeq++ });
        return ethernet(ipv4(`172.21.${o}.1`, `172.21.${o}.2`, IpProto.GRE, body), EtherType.IPV4);
      }
    }
  }
}

/** True when the inner source address sorts before the destination (one tunnel direction per inner direction). */
function uplink(ip: Uint8Array): boolean {
  const [so, len] = ip[0] >> 4 === 6 ? [8, 16] : [12, 4];
  for (let i = 0; i < len; i++) {
    const a = ip[so + i];
    const b = ip[so + len + i];
    if (a !== b) return a < b;
  }
  return true;
}
