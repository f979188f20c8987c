import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder, ipToString } from '../../src/decode/index.js';
import { QosReporter, round3 } from '../../src/report/index.js';
import type { QosReport, StreamReportInput } from '../../src/report/index.js';
import { RtcpReader, RttTracker, isRtcp } from '../../src/rtcp/index.js';
import { RtpEngine, createStreamSnapshot } from '../../src/rtp/index.js';
import { mosFromR, R_DEFAULT } from '../../src/qos/index.js';

// The report stage driven by the project's real reader, decoder and RTP engine over a public capture;
// FINAL reports are checked against tshark's `-z rtp,streams` figures for the same file.
const CAPTURES = new URL('../../../shared/captures/', import.meta.url);

interface Row { key: string; packets: number; lost: number; meanDelta: number; maxDelta: number; meanJitter: number; maxJitter: number }

function tsharkRows(file: string): Row[] {
  const re = /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+\S+\s+(\d+)\s+(-?\d+) \(.*?\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/;
  const rows: Row[] = [];
  for (const line of readFileSync(new URL(file, CAPTURES), 'utf8').split('\n')) {
    const m = re.exec(line);
    if (m) rows.push({ key: `${m[1]}:${m[2]}>${m[3]}:${m[4]}#${parseInt(m[5], 16)}`, packets: +m[6], lost: +m[7], meanDelta: +m[9], maxDelta: +m[10], meanJitter: +m[12], maxJitter: +m[13] });
  }
  return rows;
}

function run(file: string, intervalS: number) {
  const bytes = new Uint8Array(readFileSync(new URL(file, CAPTURES)));
  const reporter = new QosReporter({ maxStreams: 64, unknownCallId: 'synthetic', schedule: { baseIntervalS: intervalS, rules: [{ name: 'lossy', when: 'loss_pct > 2', intervalS: 1 }] } });
  const rtt = new RttTracker();
  const rtcp = new RtcpReader();
  const reports: QosReport[] = [];
  const snap = createStreamSnapshot();
  const input = (): StreamReportInput => {
    // Round trip for this stream's far end, plus the opposite direction's when both are known.
    const a = rtt.latestRttMs(snap.ssrc);
    return { callId: null, xcid: null, codecName: null, nodeName: 'test', dir: 0, party: 0, hostTimestamps: false, rttMs: Number.isNaN(a) ? null : a };
  };
  const engine: RtpEngine = new RtpEngine({ maxStreams: 64 }, {
    onStreamStart: (slot) => reporter.streamStarted(slot, engine.nowMs),
    onStreamEnd: (slot) => {
      engine.snapshot(slot, snap);
      for (const out of reporter.onStreamEnd(snap, input(), 'FINAL', engine.nowMs)) reports.push(out.report);
    },
  });
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  let rtcpCompounds = 0;
  for (const batch of readCaptureBuffer(bytes, file)) {
    for (let i = 0; i < batch.count; i++) {
      if (!decoder.decode(batch, i, pkt) || pkt.ipProto !== 17) continue;
      const buf = pkt.payloadBuf!;
      if (isRtcp(buf, pkt.payloadOffset, pkt.payloadLength)) {
        const tMs = pkt.tsSec * 1000 + pkt.tsNsec / 1e6;
        rtcp.read(buf, pkt.payloadOffset, pkt.payloadLength);
        rtt.observe(rtcp, tMs);
        rtcpCompounds++;
        continue;
      }
      engine.onRtp(pkt, true, batch.buf);
      const now = engine.nowMs;
      const n = reporter.scheduler.due(now);
      for (let k = 0; k < n; k++) {
        const slot = reporter.scheduler.dueSlots[k];
        engine.snapshot(slot, snap);
        for (const o of reporter.onInterval(snap, input(), now)) reports.push(o.report);
        engine.resetInterval(slot);
      }
    }
  }
  engine.endAll(5);
  return { reports, rtcpCompounds };
}

describe('report stage over SIP_CALL_RTP_G711.pcap', () => {
  const { reports, rtcpCompounds } = run('SIP_CALL_RTP_G711.pcap', 5);
  const rows = tsharkRows('SIP_CALL_RTP_G711.tshark.txt');
  const keyOf = (r: QosReport) => `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}#${r.SSRC}`;

  it('FINAL reports agree with tshark rtp,streams for every stream', () => {
    expect(rows.length).toBe(5);
    const finals = new Map(reports.filter((r) => r.TYPE === 'FINAL').map((r) => [keyOf(r), r]));
    for (const row of rows) {
      const f = finals.get(row.key);
      expect(f, row.key).toBeDefined();
      expect(f!.TOTAL_PK, row.key).toBe(row.packets);
      expect(f!.PACKET_LOSS, row.key).toBe(row.lost);
      // Both sides print the same value rounded to 3 decimals; allow one unit of the last digit.
      for (const [k, v] of [['DELTA', row.meanDelta], ['MAX_DELTA', row.maxDelta], ['MEAN_JITTER', row.meanJitter], ['MAX_JITTER', row.maxJitter]] as const) {
        expect(Math.abs((f![k] as number) - v), `${row.key} ${k} ${f![k]} vs ${v}`).toBeLessThanOrEqual(0.001 + 1e-9);
      }
    }
  });

  it('periodic reports cover the stream: interval packet counts add up to the total', () => {
    for (const row of rows) {
      const mine = reports.filter((r) => keyOf(r) === row.key);
      const periodic = mine.filter((r) => r.TYPE === 'PERIODIC');
      const final = mine.find((r) => r.TYPE === 'FINAL')!;
      // The FINAL's last partial interval is not a PERIODIC report: its packets are total - sum(periodic).
      const sum = periodic.reduce((a, r) => a + (r.TOTAL_PK as number), 0);
      expect(sum).toBeLessThanOrEqual(row.packets);
      if (row.packets > 300) expect(periodic.length).toBeGreaterThan(1);
      expect(periodic.every((r) => (r.TOTAL_PK as number) > 0 && (r.REPORT_START as number) >= (final.RTP_START as number))).toBe(true);
      expect(final.MOS_INTERVALS).toBeGreaterThanOrEqual(periodic.length);
      expect(mine.some((r) => r.TYPE === 'ALERT')).toBe(false); // no loss in this call
    }
  });

  it('loss-free call: every interval MOS is the E-model value for no loss and the RTCP-derived delay', () => {
    // tshark dissects 26 RTCP frames; frames 531 and 2646 are the same SR+RR+SDES relayed on the other
    // leg (40379 -> 4801) that tshark leaves as plain UDP because no SDP set that conversation up.
    expect(rtcpCompounds).toBe(28);
    for (const r of reports) {
      const expected = round3(mosFromR(R_DEFAULT - (r.ID as number)));
      expect(Math.abs((r.MOS as number) - expected)).toBeLessThanOrEqual(0.002);
      expect(r.MOS).toBeGreaterThan(4.3);
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    }
    // The RTCP of this call gives round trips, so some reports used an RTCP-derived delay.
    expect(reports.some((r) => r.DELAY_SOURCE === 'rtcp')).toBe(true);
  });
});
