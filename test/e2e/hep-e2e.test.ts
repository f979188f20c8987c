/**
 * Replay with HEP to a real UDP socket on 127.0.0.1: every datagram received is decoded by the project's
 * strict decoder (heplify-server's rules) and by hep-js (sipcapture's library), and checked against the
 * JSON-lines reports of the same run and against tshark's view of the capture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { decodeHep3Strict } from '../../src/hep/index.js';
import type { HepDecoded } from '../../src/hep/index.js';
import { parseTshark, streamKey } from '../rtp/helpers.js';
import { startUdpSink, sleep, type UdpSink } from '../hep/helpers.js';
import { tshark, tsharkTruth } from '../sip/truth.js';
import { CAPTURES, type E2eReport, e2eConfig, finals, replayReports, reportKey } from './helpers.js';
import { hepJsDecode } from '../hep/hep-js.js';
import { sipCallId } from './hep-helpers.js';

const FILE = `${CAPTURES}SIP_CALL_RTP_G711.pcap`;

describe('HEP end to end: SIP_CALL_RTP_G711 replayed to a UDP collector', () => {
  let sink: UdpSink;
  let hep: HepDecoded[];
  let jsonl: E2eReport[];

  beforeAll(async () => {
    sink = await startUdpSink();
    const cfg = e2eConfig((c) => {
      c.hep.enabled = true;
      c.hep.collectors = [{ ...c.hep.collectors[0], host: '127.0.0.1', port: sink.port, transport: 'udp' }];
    });
    jsonl = await replayReports(FILE, cfg);
    // runReplay drains the sender before returning; loopback delivery needs a moment more at most.
    let n = -1;
    while (n !== sink.packets.length) {
      n = sink.packets.length;
      await sleep(150);
    }
    hep = sink.packets.map((p) => decodeHep3Strict(p));
  });
  afterAll(async () => sink?.close());

  it('every datagram passes the strict decoder and hep-js decodes it to the same values', () => {
    expect(sink.packets.length).toBeGreaterThan(0);
    sink.packets.forEach((p, i) => {
      const d = hep[i];
      const r = hepJsDecode(p);
      expect(r.rcinfo).toMatchObject({
        protocolFamily: 2, protocol: 17, srcIp: d.srcIp, dstIp: d.dstIp, srcPort: d.srcPort, dstPort: d.dstPort,
        payloadType: d.protoType,
      });
      // SIP goes without a correlation id (the collector derives it, as for heplify's SIP).
      expect(r.rcinfo.correlation_id).toBe(d.protoType === 1 ? undefined : d.correlationId);
      expect(Buffer.from(r.payload ?? '').toString('hex')).toBe(d.payload.toString('hex'));
      if (d.protoType !== 1) expect(d.correlationId.length, 'HOMER drops non-SIP HEP without a correlation id').toBeGreaterThan(0);
      expect(d.nodeName, 'node name defaults to the host name').toBe(hostname());
      if (d.protoType === 1) expect(d.payload.toString('utf8')).toMatch(/^(?:[A-Z]+ sip:|SIP\/2\.0 \d{3} )/);
      else expect(() => JSON.parse(d.payload.toString('utf8'))).not.toThrow();
    });
    expect(new Set(hep.map((d) => d.protoType))).toEqual(new Set([1, 5, 35]));
  });

  it('type 1 SIP: every SIP message tshark sees, once, with its bytes, capture time, addresses and Call-ID', () => {
    const want = tshark(FILE, ['-Y', 'sip', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'sip.Call-ID', '-e', 'udp.payload']);
    const sip = hep.filter((d) => d.protoType === 1);
    expect(want.length).toBeGreaterThan(0);
    expect(sip.map((d) => [`${d.tsSec}.${String(d.tsUsec).padStart(6, '0')}`, d.srcIp, String(d.srcPort), d.dstIp, String(d.dstPort), sipCallId(d), d.payload.toString('hex'), d.ipProto])).toEqual(
      want.map(([t, s, sp, dst, dp, cid, payload]) => [t!.slice(0, -3), s, sp, dst, dp, cid, payload!.replace(/:/g, ''), 17]),
    );
  });

  it('type 35 QoS reports (the default): Call-ID, the RTP stream as envelope, MOS chunk = MOS*100, one FINAL per tshark stream', () => {
    const qos = hep.filter((d) => d.protoType === 35);
    expect(qos.length).toBe(jsonl.length); // every report went out over HEP too
    const truth = new Map(tsharkTruth(FILE).map((e) => [`${e.src}:${e.sport}>${e.dst}:${e.dport}`, e.callId]));
    const finalKeys: string[] = [];
    for (const d of qos) {
      const rep = JSON.parse(d.payload.toString('utf8')) as E2eReport;
      expect([d.srcIp, d.srcPort, d.dstIp, d.dstPort]).toEqual([rep.SRC_IP, rep.SRC_PORT, rep.DST_IP, rep.DST_PORT]);
      expect(d.correlationId).toBe(rep.CORRELATION_ID);
      const callId = truth.get(`${rep.SRC_IP}:${rep.SRC_PORT}>${rep.DST_IP}:${rep.DST_PORT}`);
      expect(callId, reportKey(rep)).toBeDefined();
      if (callId) expect(d.correlationId, reportKey(rep)).toBe(callId);
      // The MOS chunk carries MOS x 100 as an integer (the decoder divides it back).
      if (d.mos !== undefined) expect(Math.round(d.mos * 100)).toBe(Math.round(rep.MOS * 100));
      else expect(rep.MOS).toBe(0);
      if (rep.TYPE === 'FINAL' || rep.TYPE === 'HANGUP') finalKeys.push(reportKey(rep));
    }
    const rows = parseTshark(FILE.replace(/\.pcap$/, '.tshark.txt'));
    expect(finalKeys.sort()).toEqual(rows.map((w) => streamKey(w.src, w.srcPort, w.dst, w.dstPort, w.ssrc)).sort());
    expect(finals(jsonl).length).toBe(rows.length);
    expect(qos.some((d) => d.mos !== undefined)).toBe(true);
  });

  it('type 5 RTCP JSON carries the Call-ID tshark attributes the RTCP to (rtcp.setup-frame -> sip.Call-ID)', () => {
    const sipIds = new Map(tshark(FILE, ['-Y', 'sip', '-T', 'fields', '-e', 'frame.number', '-e', 'sip.Call-ID']).map((f) => [f[0], f[1]]));
    const rtcpRows = tshark(FILE, ['-Y', 'rtcp', '-T', 'fields', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'rtcp.setup-frame']);
    const want = new Map<string, { callId: string; frames: number }>();
    for (const [s, sp, d, dp, setup] of rtcpRows) {
      const key = `${s}:${sp}>${d}:${dp}`;
      const callId = sipIds.get(setup.split(',')[0]) ?? '';
      const w = want.get(key) ?? { callId, frames: 0 };
      w.frames++;
      want.set(key, w);
    }
    expect([...want.values()].filter((w) => w.callId).length, 'the capture has SIP-set-up RTCP').toBeGreaterThan(0);
    const rtcp = hep.filter((d) => d.protoType === 5);
    expect(rtcp.length).toBeGreaterThan(0);
    const seen = new Map<string, number>();
    for (const d of rtcp) {
      const key = `${d.srcIp}:${d.srcPort}>${d.dstIp}:${d.dstPort}`;
      const w = want.get(key);
      expect(w, `${key} is RTCP for tshark`).toBeDefined();
      if (w!.callId) expect(d.correlationId, key).toBe(w!.callId);
      const j = JSON.parse(d.payload.toString('utf8')) as { ssrc?: number; type?: number };
      expect(typeof j.ssrc).toBe('number');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // Every RTCP packet of the SIP-set-up call went out, one HEP message per captured packet.
    for (const [key, w] of want) if (w.callId) expect(seen.get(key) ?? 0, key).toBe(w.frames);
  });
});
