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
