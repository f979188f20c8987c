/**
 * PLACEHOLDER written by the ops helper (H6) so the CLI compiles: the lead replaces this file with the
 * real pipeline wiring. Signatures are the ones the CLI calls.
 */
import type { Logger } from 'pino';
import type { ProbeConfig } from './ops/config.js';

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: string[];
  loopback: boolean;
  up: boolean;
}

export async function runLive(_config: ProbeConfig, _log: Logger): Promise<number> {
  throw new Error('runLive: not wired yet');
}

export async function runReplay(
  _files: string[],
  _config: ProbeConfig,
  _opts: { realtime: boolean; progress?: (done: number, total: number) => void },
  _log: Logger,
): Promise<number> {
  throw new Error('runReplay: not wired yet');
}

export async function listInterfaces(): Promise<InterfaceInfo[]> {
  throw new Error('listInterfaces: not wired yet');
}

/**
 * Checks that need other modules (e.g. compiling reports.rules[].when with the report module). Returns
 * problem messages in the config's style: "reports.rules[0].when: ... is not allowed: ...". Used by
 * `rtpprobe check-config`, `run` and `replay` before anything starts.
 */
export function checkConfig(_config: ProbeConfig): string[] {
  return [];
}
