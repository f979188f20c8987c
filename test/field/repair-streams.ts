/**
 * Calls with repair streams (RTX, FEC: their own SSRC beside the stream they repair) against tshark: the
 * checks every kind shares.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { finals, replayReports, reportKey, type E2eReport } from '../e2e/helpers.js';
import { streamKey, type TsharkRow } from '../rtp/helpers.js';
import { fieldConfig, fieldMismatches } from './helpers.js';
import { FIX, fixturePcap, tsharkStreams, type FixturePacket } from './fixtures.js';

export const A = { ip: FIX.src, port: FIX.srcPort };
export const B = { ip: FIX.dst, port: FIX.dstPort };

/** An INVITE from A with `sdp(A)`, its 200 OK from B with `sdp(B)`, then `media` in capture order. */
export function sdpCall(callId: string, sdp: (ip: string, port: number) => string, media: FixturePacket[]): FixturePacket[] {
  const sip = { callId, fromTag: 'a1', cseq: 1 };
  return [
    { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(sipRequest('INVITE', `sip:bob@${B.ip}`, { ...sip, body: sdp(A.ip, A.port) })) },
    { ms: -100, seq: 0, ts: 0, src: B.ip, srcPort: 5060, dst: A.ip, dstPort: 5060, raw: text(sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: sdp(B.ip, B.port) })) },
    ...media.sort((x, y) => x.ms - y.ms),
  ];
}

/**
 * Replays the call with a rule that any scored stream fires (mos < 5) and checks each of tshark's streams:
 * a final report with tshark's numbers under the call's Call-ID, on its own 5-tuple's SSRC (no SSRC
 * change: a repair stream runs beside its original); a repair stream's (`repair(ssrc)`) MOS fields 0 and
 * its CODEC_NAME `codec(ssrc)`, every other stream scored. Returns tshark's rows and the ALERT reports.
 */
export async function checkRepairCall(packets: FixturePacket[], callId: string, repair: (ssrc: number) => boolean, codec: (ssrc: number) => string): Promise<{ rows: TsharkRow[]; alerts: E2eReport[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-repair-'));
  try {
    const file = join(dir, 'repair.pcap');
    writeFileSync(file, fixturePcap(packets));
    const rows = tsharkStreams(file);
    const reports = await replayReports(file, fieldConfig((c) => (c.reports.rules = [{ name: 'any-mos', when: 'mos < 5', intervalS: 5 }])));
    const byKey = new Map(finals(reports).map((r) => [reportKey(r), r]));
    for (const row of rows) {
      const rep = byKey.get(streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc));
      expect(rep, `a report for SSRC ${row.ssrc.toString(16)}`).toBeDefined();
      expect(fieldMismatches(rep!, row)).toEqual([]);
      expect([rep!.CORRELATION_ID, rep!.SSRC_CHG], row.ssrc.toString(16)).toEqual([callId, 0]);
      if (repair(row.ssrc)) expect([rep!.CODEC_NAME, rep!.MOS, rep!.MIN_MOS, rep!.RFACTOR, rep!.MOS_INTERVALS]).toEqual([codec(row.ssrc), 0, 0, 0, 0]);
      else expect(rep!.MOS_INTERVALS).toBeGreaterThan(0);
    }
    const alerts = reports.filter((r) => r.TYPE === 'ALERT');
    expect(alerts.filter((r) => repair(r.SSRC >>> 0)).map((r) => r.ALERT_RULE)).toEqual([]);
    return { rows, alerts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
