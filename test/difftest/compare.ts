/**
 * Stream-by-stream comparison of the probe's final reports with tshark's rtp,streams rows: packets, lost,
 * min/mean/max delta and jitter at tshark's printed precision, and the Call-ID.
 */
import { syntheticCallId } from '../../src/report/index.js';
import type { ProbeStream } from './probe.js';
import { streamKey, type TsharkStream } from './tshark.js';

/**
 * tshark prints %.3f and the report rounds to 3 decimals. The two sides sum in different orders, so a value
 * within a rounding error of a half unit prints one unit apart: equal within one unit of the last digit.
 */
export function same3(ours: number, printed: number): boolean {
  return Math.abs(ours - printed) <= 0.001 + 1e-9;
}

export interface StreamDiff {
  key: string;
  problems: string[];
}

export function probeKey(r: ProbeStream): string {
  return streamKey(r.SRC_IP, r.SRC_PORT, r.DST_IP, r.DST_PORT, r.SSRC);
}

/** What differs for one stream tshark lists; `ours` are the probe's finals with the same key. */
export function compareStream(row: TsharkStream, ours: ProbeStream[]): string[] {
  // Deviation: a lone packet of another SSRC inside a stream is counted (held, discarded) but gets no
  // report of its own, where tshark lists a 1-packet stream.
  if (ours.length === 0) return row.packets === 1 ? [] : ['missing: tshark lists it, the probe reported nothing'];
  const errs: string[] = [];
  if (ours.length > 1) errs.push(`${ours.length} final reports for one stream`);
  const r = ours[0];
  if (r.TOTAL_PK !== row.packets) errs.push(`packets ${r.TOTAL_PK} != ${row.packets}`);
  // Documented deviation (README, "Loss"): the report counts to the highest sequence number (RFC 3550),
  // tshark to the last one seen; they differ when the last packet arrived late.
  const lost = r.EXPECTED_PK - r.TOTAL_PK;
  if (lost !== row.lost && lost !== row.lostToMaxSeq) errs.push(`lost ${lost} != ${row.lost}${row.lostToMaxSeq !== row.lost ? ` (RFC 3550: ${row.lostToMaxSeq})` : ''}`);
  // tshark prints -1 for a minimum it never set: no packet was measured (a stream of one packet, or every
  // later one excluded), where the report says 0; or, for jitter alone, it knows no clock for the type.
  const min = (printed: number) => (printed === -1 ? 0 : printed);
  const pairs: Array<[string, number, number]> = [
    ['min delta', r.MIN_DELTA, min(row.minDelta)], ['mean delta', r.DELTA, row.meanDelta], ['max delta', r.MAX_DELTA, row.maxDelta],
  ];
  if (row.minJitter !== -1 || row.minDelta === -1) {
    pairs.push(['min jitter', r.MIN_JITTER, min(row.minJitter)], ['mean jitter', r.MEAN_JITTER, row.meanJitter], ['max jitter', r.MAX_JITTER, row.maxJitter]);
  }
  for (const [name, a, b] of pairs) if (!same3(a, b)) errs.push(`${name} ${a} != ${b}`);
  const want = row.callId || syntheticCallId({ srcIp: r.SRC_IP, srcPort: r.SRC_PORT, dstIp: r.DST_IP, dstPort: r.DST_PORT, ssrc: r.SSRC });
  // Deviation: when B2BUA legs share media addresses, the leg whose answer came last owns both directions
  // and the displaced leg's Call-ID (the one tshark may name) is carried as X_CID.
  if (r.CORRELATION_ID !== want && r.X_CID !== want) errs.push(`Call-ID ${r.CORRELATION_ID} != ${want}${row.callId ? '' : ' (no SIP set it up)'}`);
  return errs;
}

/** Every stream of either side that differs; `compared` counts tshark's streams. */
export function compareStreams(theirs: TsharkStream[], ours: ProbeStream[]): { compared: number; diffs: StreamDiff[] } {
  const byKey = new Map<string, ProbeStream[]>();
  for (const r of ours) {
    const k = probeKey(r);
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  const diffs: StreamDiff[] = [];
  const listed = new Set<string>();
  for (const row of theirs) {
    const key = streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc);
    listed.add(key);
    const problems = compareStream(row, byKey.get(key) ?? []);
    if (problems.length) diffs.push({ key, problems });
  }
  for (const [key, list] of byKey) {
    if (!listed.has(key)) diffs.push({ key, problems: [`extra: the probe reported ${list[0].TOTAL_PK} packets, tshark lists no such stream`] });
  }
  return { compared: theirs.length, diffs };
}
