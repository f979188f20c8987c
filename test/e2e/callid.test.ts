/**
 * Every reported stream's CORRELATION_ID against tshark's SDP tracking (rtp.setup-frame -> sip.Call-ID,
 * the helper test/sip uses); streams no SIP set up carry the synthetic id.
 */
import { describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import { syntheticCallId } from '../../src/report/index.js';
import { tshark, tsharkTruth } from '../sip/truth.js';
import { allCaptures, e2eConfig, finals, replayReports, reportKey } from './helpers.js';

describe('CORRELATION_ID = the Call-ID tshark attributes the stream to', () => {
  for (const file of allCaptures()) {
    const name = basename(file, '.pcap');
    it(name, async () => {
      const truth = new Map(tsharkTruth(file).map((e) => [`${e.src}:${e.sport}>${e.dst}:${e.dport}`, e.callId]));
      const sipCallIds = new Set(tshark(file, ['-Y', 'sip', '-T', 'fields', '-e', 'sip.Call-ID']).map((f) => f[0]));
      const reports = finals(await replayReports(file, e2eConfig()));
      expect(reports.length).toBeGreaterThan(0);
      for (const r of reports) {
        const tuple = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;
        expect(truth.has(tuple), `${tuple} is RTP for tshark`).toBe(true);
        const want = truth.get(tuple)!;
        expect(r.RTP_SIP_CALL_ID, reportKey(r)).toBe(r.CORRELATION_ID);
        if (want) {
          expect(r.CORRELATION_ID, reportKey(r)).toBe(want);
        } else {
          expect(r.CORRELATION_ID, reportKey(r)).toBe(syntheticCallId({ srcIp: r.SRC_IP, srcPort: r.SRC_PORT, dstIp: r.DST_IP, dstPort: r.DST_PORT, ssrc: r.SSRC }));
          expect(sipCallIds.has(r.CORRELATION_ID)).toBe(false);
        }
      }
    });
  }
});
