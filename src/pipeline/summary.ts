import type { QosReport } from '../report/index.js';

/**
 * The replay's closing table: one row per stream from its FINAL/HANGUP report, in the order and units
 * of `tshark -z rtp,streams` so the two can be read side by side, plus MOS and the Call-ID.
 */
export function formatStreamTable(finals: QosReport[]): string {
  const head = ['Src', 'Dst', 'SSRC', 'Codec', 'Pkts', 'Lost', 'MaxDelta', 'MeanJit', 'MaxJit', 'MaxSkew', 'MOS', 'Call-ID'];
  const rows = finals.map((r) => [
    `${r.SRC_IP}:${r.SRC_PORT}`,
    `${r.DST_IP}:${r.DST_PORT}`,
    `0x${(Number(r.SSRC) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
    String(r.CODEC_NAME),
    String(r.TOTAL_PK),
    `${r.PACKET_LOSS} (${pct(Number(r.PACKET_LOSS), Number(r.EXPECTED_PK))})`,
    fix3(r.MAX_DELTA),
    fix3(r.MEAN_JITTER),
    fix3(r.MAX_JITTER),
    fix3(r.MAX_SKEW),
    Number(r.MOS) > 0 ? Number(r.MOS).toFixed(2) : '-',
    String(r.CORRELATION_ID),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 4 && i <= 10 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function fix3(v: unknown): string {
  return Number(v).toFixed(3);
}

function pct(lost: number, expected: number): string {
  return expected > 0 ? `${((100 * lost) / expected).toFixed(1)}%` : '0.0%';
}
