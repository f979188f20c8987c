/** Which capture implementation to use. `auto` prefers the project's addon and falls back to `cap`. */
export type LiveBackend = 'auto' | 'pcap' | 'cap';

export interface LiveCaptureOptions {
  /** Interface name, e.g. `eth1`, `lo`, `any`. */
  interface: string;
  backend?: LiveBackend;
  /** Bytes captured per packet. SIP over UDP can approach 64 KB, hence the large default. */
  snapLength?: number;
  /** Kernel ring size in MiB (pcap_set_buffer_size). */
  bufferSizeMb?: number;
  /**
   * Buffer timeout: the kernel hands over a TPACKET_V3 block when full or after this long, and the pcap
   * backend reads the ring at most about this often while it fills slowly (fewer wake-ups). It bounds
   * delivery latency only; packet timestamps are taken by the kernel at arrival.
   */
  bufferTimeoutMs?: number;
  /** BPF filter expression (pcap-filter(7)); empty = everything. */
  filter?: string;
  promiscuous?: boolean;
  /** Join PACKET_FANOUT group N (0..65535, hash mode) so several workers share one interface (pcap backend). */
  fanoutGroup?: number;
  /** Timestamp source: kernel `host` (default) or the NIC's `adapter` / `adapter_unsynced` clock (pcap backend). */
  timestampType?: 'host' | 'adapter' | 'adapter_unsynced';
  /** Most packets per batch. */
  batchPackets?: number;
  /** Bytes per batch buffer (raised to at least twice the snap length). */
  batchBytes?: number;
  /** Called with a human-readable reason when the requested setup could not be honoured exactly. */
  onWarning?: (message: string) => void;
}

export interface ResolvedLiveOptions {
  interface: string;
  backend: LiveBackend;
  snapLength: number;
  bufferSizeMb: number;
  bufferTimeoutMs: number;
  filter: string;
  promiscuous: boolean;
  fanoutGroup: number;
  timestampType: string;
  batchPackets: number;
  batchBytes: number;
}

export const LIVE_DEFAULTS = {
  backend: 'auto' as LiveBackend,
  snapLength: 65535,
  bufferSizeMb: 32,
  bufferTimeoutMs: 100,
  filter: '',
  promiscuous: true,
  batchPackets: 4096,
  batchBytes: 2 * 1024 * 1024,
};

function intIn(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`live capture option ${name} must be an integer in ${min}..${max}, got ${v}`);
  }
  return v;
}

/** Validates options once at open; throws RangeError/TypeError naming the bad option. */
export function resolveLiveOptions(o: LiveCaptureOptions): ResolvedLiveOptions {
  if (typeof o.interface !== 'string' || o.interface.length === 0) {
    throw new TypeError('live capture needs an interface name');
  }
  const backend = o.backend ?? LIVE_DEFAULTS.backend;
  if (backend !== 'auto' && backend !== 'pcap' && backend !== 'cap') {
    throw new TypeError(`unknown capture backend '${String(backend)}' (auto, pcap, cap)`);
  }
  const snapLength = intIn('snapLength', o.snapLength ?? LIVE_DEFAULTS.snapLength, 64, 262144);
  const batchBytes = Math.max(
    intIn('batchBytes', o.batchBytes ?? LIVE_DEFAULTS.batchBytes, 1024, 1 << 30),
    2 * snapLength,
  );
  return {
    interface: o.interface,
    backend,
    snapLength,
    bufferSizeMb: intIn('bufferSizeMb', o.bufferSizeMb ?? LIVE_DEFAULTS.bufferSizeMb, 1, 2047),
    bufferTimeoutMs: intIn('bufferTimeoutMs', o.bufferTimeoutMs ?? LIVE_DEFAULTS.bufferTimeoutMs, 1, 10000),
    filter: o.filter ?? LIVE_DEFAULTS.filter,
    promiscuous: o.promiscuous ?? LIVE_DEFAULTS.promiscuous,
    fanoutGroup: o.fanoutGroup === undefined ? -1 : intIn('fanoutGroup', o.fanoutGroup, 0, 65535),
    timestampType: o.timestampType ?? '',
    batchPackets: intIn('batchPackets', o.batchPackets ?? LIVE_DEFAULTS.batchPackets, 1, 1 << 20),
    batchBytes,
  };
}
