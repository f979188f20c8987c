import { isMainThread } from 'node:worker_threads';
import { CapLiveSource, capLoadError, loadCap } from './cap-source.js';
import type { LivePacketSource } from './live-source.js';
import { loadNativeAddon } from './native-addon.js';
import { resolveLiveOptions, type LiveCaptureOptions } from './options.js';
import { PcapLiveSource } from './pcap-source.js';

/**
 * Opens a live capture. `backend: 'auto'` uses the project's addon and falls back to `cap` only when the
 * addon is not available (not built, no libpcap); the reason lands in `warnings` and `onWarning`.
 * Errors from the addon carry `code`: EPERM (needs CAP_NET_RAW), ENODEV (no such interface),
 * EFILTER (bad BPF expression, pcap's message included), EFANOUT, EPCAP.
 */
export async function openLiveCapture(options: LiveCaptureOptions): Promise<LivePacketSource> {
  const o = resolveLiveOptions(options);
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    options.onWarning?.(m);
  };
  if (o.backend === 'auto' || o.backend === 'pcap') {
    const load = loadNativeAddon();
    if (load.addon) {
      const src = new PcapLiveSource(load.addon, o, warnings);
      for (const w of src.warnings) options.onWarning?.(w);
      return src;
    }
    if (o.backend === 'pcap') throw new Error(load.error);
    if (!isMainThread) throw new Error(`${load.error}; the cap fallback cannot run inside worker_threads`);
    warn(
      `${load.error}. Falling back to the cap backend: host timestamps (jitter includes event-loop delay), ` +
        'no drop counters, one JavaScript call per packet',
    );
  }
  const cap = loadCap();
  if (!cap) throw new Error(capLoadError());
  const src = new CapLiveSource(cap, o, warnings);
  for (const w of warnings) if (!w.startsWith('native capture addon')) options.onWarning?.(w);
  return src;
}
