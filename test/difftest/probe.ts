/**
 * The probe side: a capture replayed through runReplay (what `rtpprobe replay FILE --jsonl F` runs) with
 * the shipped defaults, HEP off and Wireshark's integer clock; the final report of each stream is kept.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { runReplay } from '../../src/probe.js';

/** The report keys the comparison reads. */
export interface ProbeStream {
  TYPE: string;
  CORRELATION_ID: string;
  SRC_IP: string;
  SRC_PORT: number;
  DST_IP: string;
  DST_PORT: number;
  SSRC: number;
  TOTAL_PK: number;
  EXPECTED_PK: number;
  MIN_DELTA: number;
  DELTA: number;
  MAX_DELTA: number;
  MIN_JITTER: number;
  MEAN_JITTER: number;
  MAX_JITTER: number;
  CLOCK: number;
  [k: string]: string | number;
}

/** The settings the harness replays with besides HEP off; printed in reproduction commands as `--set` flags. */
export const PROBE_SETTINGS = ['rtp.wireshark_compatible_clock=true'];

export function probeConfig(): ProbeConfig {
  const c = defaultConfig();
  c.hep.enabled = false;
  c.rtp.wiresharkCompatibleClock = true;
  return c;
}

/** Every FINAL/HANGUP report of a replay of `file`. */
export async function probeStreams(file: string): Promise<ProbeStream[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-difftest-'));
  try {
    const config = probeConfig();
    const path = join(dir, 'reports.jsonl');
    config.reports.jsonl.enabled = true;
    config.reports.jsonl.path = path;
    await runReplay([file], config, { realtime: false, print: () => {} }, pino({ level: 'silent' }));
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = ''; // no report at all: the file is never created
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as ProbeStream)
      .filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
