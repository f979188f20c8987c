import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runReplay } from '../../src/probe.js';
import { defaultConfig } from '../../src/ops/config.js';
import type { ProbeConfig } from '../../src/ops/config.js';

/** The report keys the e2e tests read, typed (QosReport itself is a string-or-number record). */
export interface E2eReport {
  [k: string]: string | number;
  TYPE: string; CORRELATION_ID: string; RTP_SIP_CALL_ID: string;
  SRC_IP: string; SRC_PORT: number; DST_IP: string; DST_PORT: number; SSRC: number;
  TOTAL_PK: number; EXPECTED_PK: number; PACKET_LOSS: number; DELTA: number; MAX_DELTA: number; MEAN_JITTER: number; MAX_JITTER: number; MOS: number;
}

export const CAPTURES = new URL('../../../shared/captures/', import.meta.url).pathname;

/** Every capture the e2e tests replay: the public ones and the synth scenarios. */
export function allCaptures(): string[] {
  const list = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.pcap')).map((f) => join(dir, f));
  return [...list(CAPTURES), ...list(join(CAPTURES, 'synth'))];
}

/** The shipped defaults, with HEP off and Wireshark's integer clock for comparisons with tshark. */
export function e2eConfig(edit?: (c: ProbeConfig) => void): ProbeConfig {
  const c = defaultConfig();
  c.hep.enabled = false;
  c.reports.jsonl.enabled = false;
  c.rtp.wiresharkCompatibleClock = true;
  edit?.(c);
  return c;
}

/** Replays `file` through runReplay (the CLI's code path) and returns every report it wrote as JSON lines. */
export async function replayReports(file: string, config: ProbeConfig): Promise<E2eReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-e2e-'));
  try {
    const path = join(dir, 'reports.jsonl');
    config.reports.jsonl.enabled = true;
    config.reports.jsonl.path = path;
    // The stream table is not wanted here: the reports are read from the JSON lines.
    await runReplay([file], config, { realtime: false, print: () => {} }, pino({ level: 'silent' }));
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = ''; // no report at all: the file is never created
    }
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as E2eReport);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function finals(reports: E2eReport[]): E2eReport[] {
  return reports.filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
}

export function reportKey(r: { SRC_IP: string; SRC_PORT: number; DST_IP: string; DST_PORT: number; SSRC: number }): string {
  return `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}#${(r.SSRC >>> 0).toString(16)}`;
}
