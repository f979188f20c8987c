import { readFileSync } from 'node:fs';

/** LINKTYPE_ETHERNET: the link type whose longest frame on the wire follows from the interface's MTU. */
const LINKTYPE_ETHERNET = 1;
/** Ethernet header and two VLAN tags (libpcap puts back into the frame the tag the kernel took out). */
const ETHERNET_OVERHEAD = 14 + 2 * 4;

/** The interface's MTU from /sys (the network namespace's own), or 0 when it cannot be read. */
export function interfaceMtu(iface: string): number {
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : 0;
  } catch {
    return 0;
  }
}

/**
 * Longest frame `iface` can receive from the wire: its MTU, the Ethernet header and two VLAN tags. A
 * longer one was made on the host: several packets merged before capture (GRO, LRO, or a local sender's
 * segmentation offload carried whole by a veth). 0 when unknown (not Ethernet, `any`, MTU unreadable).
 */
export function longestWireFrame(iface: string, linkType: number): number {
  if (linkType !== LINKTYPE_ETHERNET) return 0;
  const mtu = interfaceMtu(iface);
  return mtu > 0 ? mtu + ETHERNET_OVERHEAD : 0;
}

/** How many of the first `count` wire lengths exceed `limit`. */
export function countLonger(wirelen: Uint32Array, count: number, limit: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (wirelen[i]! > limit) n++;
  return n;
}
