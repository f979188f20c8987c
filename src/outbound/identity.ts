import { hostname } from 'node:os';
import type { ProbeConfig } from '../ops/config.js';

/** hep.node_name, or this host's name when empty: two probes with default settings stay distinguishable. */
export function nodeNameOf(config: ProbeConfig): string {
  return config.hep.nodeName || hostname();
}
