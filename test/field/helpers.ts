/**
 * The field captures (../shared/captures/field): each replayed through the whole probe with the shipped
 * defaults, each reported stream compared with tshark's `-z rtp,streams` row for it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseTshark, streamKey, type TsharkRow } from '../rtp/helpers.js';
import { CAPTURES, finals, replayReports, reportKey, type E2eReport } from '../e2e/helpers.js';
import { defaultConfig } from '../../src/ops/config.js';
import type { ProbeConfig } from '../../src/ops/config.js';

export const FIELD = join(CAPTURES, 'field');

/** Capture names (file name without extension) and their paths. */
export function fieldCaptures(): Array<{ name: string; file: string }> {
  return readdirSync(FIELD)
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => ({ name: f.replace(/\.pcap(ng)?$/, ''), file: join(FIELD, f) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * tshark's rows for a capture, by stream key: NAME.tshark.txt, with the rows of NAME.tshark-clock.txt
 * (the same table recomputed with the true clock of streams tshark could not know) where it exists.
 */
export function referenceRows(name: string, trueClock = true): Map<string, TsharkRow & { trueClock: boolean }> {
  const rows = new Map<string, TsharkRow & { trueClock: boolean }>();
  const key = (r: TsharkRow) => streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc);
  for (const r of parseTshark(join(FIELD, `${name}.tshark.txt`))) rows.set(key(r), { ...r, trueClock: false });
  const clockFile = join(FIELD, `${name}.tshark-clock.txt`);
  if (trueClock && existsSync(clockFile)) {
    for (const r of parseTshark(clockFile)) {
      const old = rows.get(key(r));
      rows.set(key(r), { ...r, trueClock: old !== undefined && old.minJitter < 0 && r.minJitter >= 0 });
    }
  }
  return rows;
}

/** The shipped defaults with the outputs a test reads (JSON lines), HEP off. */
export function fieldConfig(edit?: (c: ProbeConfig) => void): ProbeConfig {
  const c = defaultConfig();
  c.hep.enabled = false;
  c.reports.jsonl.enabled = false;
  edit?.(c);
  return c;
}

/** Final reports of a replay by stream key (a second final for one key is kept under key + '/2', ...). */
export async function replayFinals(file: string, config = fieldConfig()): Promise<Map<string, E2eReport>> {
  const m = new Map<string, E2eReport>();
  for (const r of finals(await replayReports(file, config))) {
    let k = reportKey(r);
    for (let i = 2; m.has(k); i++) k = `${reportKey(r)}/${i}`;
    m.set(k, r);
  }
  return m;
}

/** tshark prints %.3f; the report rounds to 3 decimals. */
// Both sides are rounded to 3 decimals independently: a value on a rounding tie (x.xxx5) may print either way.
const same3 = (ours: number, printed: number) => Math.abs(ours - printed) <= 0.001 + 1e-9;

/**
 * Differences between a final report and tshark's row. Lost is compared as tshark's raw figure
 * (WS_LOST); a row with Min Jitter -1 (no jitter: clock unknown, or events only) must come with no jitter.
 */
export function fieldMismatches(r: E2eReport, row: TsharkRow): string[] {
  const errs: string[] = [];
  if (r.TOTAL_PK !== row.packets) errs.push(`packets ${r.TOTAL_PK} != ${row.packets}`);
  const lost = r.EXPECTED_PK - r.TOTAL_PK;
  if (lost !== row.lost) errs.push(`lost ${lost} != ${row.lost}`);
  const pairs: Array<[string, number, number]> = [
    ['minDelta', r.MIN_DELTA as number, row.minDelta], ['meanDelta', r.DELTA, row.meanDelta], ['maxDelta', r.MAX_DELTA, row.maxDelta],
    ['meanJitter', r.MEAN_JITTER, row.meanJitter], ['maxJitter', r.MAX_JITTER, row.maxJitter],
  ];
  if (row.minJitter >= 0) pairs.push(['minJitter', r.MIN_JITTER as number, row.minJitter]);
  for (const [n, a, b] of pairs) if (!same3(a, b)) errs.push(`${n} ${a} != ${b}`);
  return errs;
}
