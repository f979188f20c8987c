/**
 * RTP inside GTP-U in a real mobile-core capture (ndpi-false-positives-vlan-gtp.pcapng: QinQ + GTP-U,
 * unsignalled AMR): replayed with the defaults, the tunnelled streams are found and equal tshark's rows
 * (its reference file) in packets, loss and delta. Jitter needs the clock of an unsignalled dynamic type,
 * which tshark does not know (its -1.000 rows); that is the RTP engine's clock inference, tested there.
 */
import { describe, expect, it } from 'vitest';
import { CAPTURES, e2eConfig, finals, replayReports, reportKey } from '../e2e/helpers.js';
import { parseTshark, streamKey } from '../rtp/helpers.js';

const FILE = `${CAPTURES}field/ndpi-false-positives-vlan-gtp.pcapng`;
/** The streams tshark dissects as gtp:ip:udp:rtp (frame.protocols), by their inner addresses. */
const TUNNELLED = ['10.133.32.101:36408>10.110.31.25:1272', '10.133.48.100:21176>10.102.45.249:31046', '10.102.45.249:31046>10.133.48.100:21176'];

describe('GTP-U field capture: tunnelled RTP equals tshark', () => {
  it('every stream tshark finds inside GTP-U is reported with its packets, loss and deltas', async () => {
    const rows = parseTshark(FILE.replace(/\.pcapng$/, '.tshark.txt')).filter((r) => TUNNELLED.includes(`${r.src}:${r.srcPort}>${r.dst}:${r.dstPort}`));
    expect(rows).toHaveLength(3);
    const got = new Map(finals(await replayReports(FILE, e2eConfig())).map((r) => [reportKey(r), r]));
    for (const row of rows) {
      const key = streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc);
      const r = got.get(key);
      expect(r, key).toBeDefined();
      expect([r!.TOTAL_PK, r!.EXPECTED_PK - r!.TOTAL_PK], key).toEqual([row.packets, row.lost]);
      expect(Math.abs(r!.MAX_DELTA - row.maxDelta), key).toBeLessThanOrEqual(0.0005 + 1e-9);
      expect(Math.abs(r!.DELTA - row.meanDelta), key).toBeLessThanOrEqual(0.0005 + 1e-9);
      expect(Math.abs((r!.MIN_DELTA as number) - row.minDelta), key).toBeLessThanOrEqual(0.0005 + 1e-9);
    }
  });
});
