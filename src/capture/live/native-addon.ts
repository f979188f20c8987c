import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Shape of src/capture/native/rtpprobe_pcap.c's exports. */
export interface NativeCaptureHandle {
  readonly linkType: number;
  readonly snaplen: number;
  readonly warning?: string;
}

export interface NativeOpenOptions {
  device: string;
  snaplen: number;
  bufferSize: number;
  /** Kernel buffer timeout (TPACKET_V3 block retirement), also the least time between two onReadable calls. */
  timeoutMs: number;
  promisc: boolean;
  filter: string;
  tstampType: string;
  fanoutGroup: number;
  buf: Uint8Array;
  offset: Uint32Array;
  caplen: Uint32Array;
  wirelen: Uint32Array;
  tsSec: Float64Array;
  tsNsec: Uint32Array;
  onReadable: () => void;
}

export interface NativeStats {
  received: number;
  dropped: number;
  ifDropped: number;
  overflow: number;
}

export interface NativeInterface {
  name: string;
  description: string | null;
  loopback: boolean;
  up: boolean;
  running: boolean;
  addresses: { family: 'IPv4' | 'IPv6'; address: string; netmask: string | null }[];
}

export interface NativeCaptureAddon {
  open(o: NativeOpenOptions): NativeCaptureHandle;
  dispatch(h: NativeCaptureHandle): number;
  /** One-shot: onReadable() once the ring is readable (at most once per timeoutMs of open) or after idleMs. */
  arm(h: NativeCaptureHandle, idleMs: number): void;
  stats(h: NativeCaptureHandle): NativeStats;
  close(h: NativeCaptureHandle): void;
  listInterfaces(): NativeInterface[];
  readonly libraryVersion: string;
}

export type AddonLoad = { addon: NativeCaptureAddon; error: null } | { addon: null; error: string };

let cached: AddonLoad | undefined;

/**
 * Where node-gyp leaves the addon, seen from src/capture/live (tests, tsx) and from dist/capture/live
 * (built). RTPPROBE_PCAP_ADDON overrides it for packaged installs.
 */
function candidates(): string[] {
  const env = process.env['RTPPROBE_PCAP_ADDON'];
  // An explicit path is the only one tried (a wrong path must not silently pick another build).
  if (env) return [env];
  const list: string[] = [];
  for (const rel of [
    '../native/build/Release/rtpprobe_pcap.node',
    '../../../src/capture/native/build/Release/rtpprobe_pcap.node',
  ]) {
    list.push(fileURLToPath(new URL(rel, import.meta.url)));
  }
  return list;
}

/** Loads the addon once per thread; never throws (the reason is returned for the fallback warning). */
export function loadNativeAddon(): AddonLoad {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const file of candidates()) {
    if (!existsSync(file)) {
      tried.push(file);
      continue;
    }
    try {
      cached = { addon: require(file) as NativeCaptureAddon, error: null };
      return cached;
    } catch (e) {
      cached = { addon: null, error: `native capture addon ${file} failed to load: ${(e as Error).message}` };
      return cached;
    }
  }
  cached = {
    addon: null,
    error: `native capture addon not built (run \`npm run build:native\`; needs a C compiler and libpcap-dev); looked in ${tried.join(', ')}`,
  };
  return cached;
}
