import { loadCap } from './cap-source.js';
import { loadNativeAddon } from './native-addon.js';

export interface CaptureInterface {
  name: string;
  description: string | null;
  loopback: boolean;
  up: boolean;
  running: boolean;
  addresses: { family: 'IPv4' | 'IPv6'; address: string; netmask: string | null }[];
}

/** Interfaces libpcap can capture on (pcap_findalldevs), via the addon or else cap. */
export function listInterfaces(): CaptureInterface[] {
  const load = loadNativeAddon();
  if (load.addon) return load.addon.listInterfaces();
  const cap = loadCap();
  if (!cap) throw new Error(load.error);
  return cap.Cap.deviceList().map((d) => ({
    name: d.name,
    description: d.description ?? null,
    // cap exposes flags only as a string such as "PCAP_IF_LOOPBACK"; up/running are unknown there.
    loopback: /LOOPBACK/.test(d.flags ?? ''),
    up: /UP/.test(d.flags ?? ''),
    running: /RUNNING/.test(d.flags ?? ''),
    addresses: d.addresses.map((a) => ({
      family: a.addr.includes(':') ? ('IPv6' as const) : ('IPv4' as const),
      address: a.addr,
      netmask: a.netmask ?? null,
    })),
  }));
}
