/**
 * RTCP to HOMER follows one rule with the QoS reports: a stream without SIP/SDP has its RTCP sent under
 * the same synthetic id as its reports when reports.unknown_call_id is 'synthetic', and neither is sent
 * otherwise. SRTCP is never read as clear RTCP, and a negative cumulative loss (duplicates) stays signed.
 * Replayed through runReplay (the CLI's path) to a real UDP socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import os from 'node:os';
import path from 'node:path';
import type { HepDecoded } from '../../src/hep/index.js';
import { EtherType, concat, ethernet, generateScenario, ipv4, rtcpBye, rtcpCompound, rtcpRr, rtcpSdes, rtcpSr, rtp, sdpBody, sipRequest, sipResponse, text, udp, udpFrame, writePcapFile, type PcapRecord } from '../../src/gen/index.js';
import { replayToUdp, sipCallId } from './hep-helpers.js';

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const ip = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
/** Ethernet + IPv4 (20 bytes) + UDP: the generator's frames. */
const UDP_PAYLOAD = 42;
const isRtcpFrame = (d: Uint8Array) => d.length > UDP_PAYLOAD + 8 && u16(d, 34) % 2 === 1 && d[UDP_PAYLOAD + 1]! >= 200 && d[UDP_PAYLOAD + 1]! <= 204;
const isSip = (d: Uint8Array) => u16(d, 34) === 5060 || u16(d, 36) === 5060;

/** The same datagram as SRTCP (RFC 3711): first 8 bytes clear, the rest ciphertext, E flag + index, 80-bit tag. */
function asSrtcp(d: Uint8Array, index: number, seed: number): Uint8Array {
  const rtcp = d.subarray(UDP_PAYLOAD);
  const out = new Uint8Array(rtcp.length + 4 + 10);
  out.set(rtcp.subarray(0, 8));
  let x = seed * 2654435761;
  for (let i = 8; i < out.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  const e = rtcp.length;
  out[e] = 0x80 | ((index >>> 24) & 0x7f);
  out[e + 1] = (index >>> 16) & 0xff;
  out[e + 2] = (index >>> 8) & 0xff;
  out[e + 3] = index & 0xff;
  return ethernet(ipv4(ip(d, 26), ip(d, 30), 17, udp(u16(d, 34), u16(d, 36), out)), EtherType.IPV4);
}

interface Capture {
  file: string;
  clearRtcp: number;
  srtcpPorts: Set<number>;
  negativeLossSsrc: number;
}

/** Two calls' media without their SIP: call 0's RTCP in clear plus one RR with cumulative loss -3, call 1's as SRTCP. */
function buildCapture(dir: string): Capture {
  const records: PcapRecord[] = [];
  let clearRtcp = 0;
  const srtcpPorts = new Set<number>();
  let bSide: { rec: PcapRecord; ssrc: number } | undefined;
  let i = 0;
  for (const r of generateScenario({ calls: 2, concurrentCalls: 2, durationS: 0, callDurationS: 16, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 5, startEpochS: 1_760_000_000 })) {
    const d = r.data;
    if (isSip(d)) continue;
    if (isRtcpFrame(d)) {
      const call1 = d[29] === 1; // the generator numbers calls in the last address byte: 10.x.0.<k>
      if (call1) {
        records.push({ tsNs: r.tsNs, data: asSrtcp(d, 1000 + i++, i) });
        srtcpPorts.add(u16(d, 34));
        continue;
      }
      clearRtcp++;
      if (bSide === undefined && ip(d, 26).startsWith('10.128.')) bSide = { rec: r, ssrc: ((d[UDP_PAYLOAD + 4]! << 24) | (d[UDP_PAYLOAD + 5]! << 16) | (d[UDP_PAYLOAD + 6]! << 8) | d[UDP_PAYLOAD + 7]!) >>> 0 };
    }
    records.push(r);
  }
  // Duplicates make the receiver's cumulative loss negative (RFC 3550 6.4.1: signed 24-bit).
  const b = bSide!.rec.data;
  const rr = rtcpRr({ ssrc: bSide!.ssrc, reports: [{ ssrc: 0x1234, fractionLost: 0, cumulativeLost: -3, extHighestSeq: 500, jitter: 7, lsr: 0, dlsr: 0 }] });
  records.push({ tsNs: bSide!.rec.tsNs + 1000n, data: ethernet(ipv4(ip(b, 26), ip(b, 30), 17, udp(u16(b, 34), u16(b, 36), concat(rr))), EtherType.IPV4) });
  clearRtcp++;
  records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
  const file = path.join(dir, 'unsignalled.pcap');
  writePcapFile(file, records);
  return { file, clearRtcp, srtcpPorts, negativeLossSsrc: bSide!.ssrc };
}


describe('RTCP to HOMER: one rule with the QoS reports, never SRTCP, loss signed', () => {
  let dir: string;
  let cap: Capture;
  let synthetic: HepDecoded[];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-rtcp-'));
    cap = buildCapture(dir);
    synthetic = await replayToUdp(cap.file, (c) => (c.reports.unknownCallId = 'synthetic'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("streams without SDP: every clear RTCP packet sent under its stream's synthetic id, the one its reports carry", () => {
    const rtcp = synthetic.filter((d) => d.protoType === 5);
    const qos = synthetic.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as Record<string, string | number>);
    expect(rtcp).toHaveLength(cap.clearRtcp);
    for (const d of rtcp) {
      const j = JSON.parse(d.payload.toString('utf8')) as { ssrc: number };
      const stream = qos.find((r) => r.SRC_IP === d.srcIp && r.SRC_PORT === d.srcPort - 1 && r.SSRC === j.ssrc);
      expect(stream, `${d.srcIp}:${d.srcPort} ssrc ${j.ssrc}`).toBeDefined();
      expect(d.correlationId).toBe(stream!.CORRELATION_ID);
      expect(d.correlationId).toMatch(/^rtpprobe-/);
    }
  });

  it('SRTCP is neither parsed nor forwarded; its streams are still reported', () => {
    expect(synthetic.filter((d) => d.protoType === 5 && cap.srtcpPorts.has(d.srcPort))).toEqual([]);
    const reported = new Set(synthetic.filter((d) => d.protoType === 35).map((d) => d.srcPort));
    for (const p of cap.srtcpPorts) expect(reported.has(p - 1), `RTP ${p - 1}`).toBe(true);
  });

  it('every SRTCP compound without SDP is counted rtcp_malformed, and a rate-limited warning says why and where', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    await replayToUdp(cap.file, (c) => (c.reports.unknownCallId = 'synthetic'), log);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, any>);
    const srtcp = spawnSync('tshark', ['-n', '-r', cap.file, '-Y', [...cap.srtcpPorts].map((p) => `udp.srcport == ${p}`).join(' || ')], { encoding: 'utf8' }).stdout.trim().split('\n').length;
    expect(srtcp).toBeGreaterThan(2);
    expect(logged.find((l) => l.msg === 'run summary')!.rtcpMalformed).toBe(srtcp);
    const warned = logged.filter((l) => l.msg.startsWith('RTCP compound not used'));
    expect(warned.length).toBeGreaterThan(0);
    expect(warned.length).toBeLessThan(srtcp);
    expect(warned[0]).toMatchObject({ level: 40, error: expect.stringMatching(/exceeds the datagram|version is not 2|padding|shorter|truncated|terminated/) });
    expect(cap.srtcpPorts.has(Number(String(warned[0]!.src).split(':').pop()))).toBe(true);
  });

  it('a negative cumulative loss stays negative in packets_lost', () => {
    const rr = synthetic
      .filter((d) => d.protoType === 5)
      .map((d) => JSON.parse(d.payload.toString('utf8')) as { ssrc: number; type: number; report_blocks: Array<{ packets_lost: number }> })
      .filter((j) => j.ssrc === cap.negativeLossSsrc && j.type === 201);
    expect(rr).toHaveLength(1);
    expect(rr[0]!.report_blocks[0]!.packets_lost).toBe(-3);
  });

  // The RR 20 s after the BYE is the capture's last packet: a jump of capture time that no RTP will follow
  // (the call's streams linger after its BYE), so it is taken as time passing, not held as a possible host
  // clock step: the linger is over and the RR has no call.
  it('RTCP arriving while the call lingers after its BYE goes out under the Call-ID; after the linger it does not', async () => {
    const records: PcapRecord[] = [];
    let byeNs = 0n;
    let bRtcp: Uint8Array | undefined;
    for (const r of generateScenario({ calls: 1, durationS: 0, callDurationS: 8, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 9, startEpochS: 1_760_000_100 })) {
      const d = r.data;
      if (isSip(d) && Buffer.from(d.subarray(UDP_PAYLOAD, UDP_PAYLOAD + 4)).toString() === 'BYE ') byeNs = r.tsNs;
      if (isRtcpFrame(d) && ip(d, 26).startsWith('10.128.')) bRtcp = d;
      records.push(r);
    }
    expect(byeNs > 0n && bRtcp !== undefined).toBe(true);
    const b = bRtcp!;
    const ssrc = ((b[UDP_PAYLOAD + 4]! << 24) | (b[UDP_PAYLOAD + 5]! << 16) | (b[UDP_PAYLOAD + 6]! << 8) | b[UDP_PAYLOAD + 7]!) >>> 0;
    const lastRr = (afterMs: number, seq: number) => ({
      tsNs: byeNs + BigInt(afterMs) * 1_000_000n,
      data: ethernet(ipv4(ip(b, 26), ip(b, 30), 17, udp(u16(b, 34), u16(b, 36), rtcpRr({ ssrc, reports: [{ ssrc: 0x77, fractionLost: 0, cumulativeLost: 0, extHighestSeq: seq, jitter: 1, lsr: 0, dlsr: 0 }] }))), EtherType.IPV4),
    });
    records.push(lastRr(1000, 111), lastRr(20_000, 222));
    const file = path.join(dir, 'linger.pcap');
    writePcapFile(file, records);
    const hep = await replayToUdp(file);
    const callId = sipCallId(hep.find((d) => d.protoType === 1)!);
    const lastRtcp = hep
      .filter((d) => d.protoType === 5)
      .map((d) => ({ cid: d.correlationId, j: JSON.parse(d.payload.toString('utf8')) as { type: number; report_blocks: Array<{ highest_seq_no: number }> } }))
      .filter((x) => x.j.type === 201);
    expect(lastRtcp.map((x) => [x.j.report_blocks[0]!.highest_seq_no, x.cid])).toEqual([[111, callId]]);
  });

  it('every compound goes with its own capture time (microseconds as tshark shows them), the one that ends a silence in the call included', async () => {
    // A call whose media stops for 10 s (on hold, nothing else on the link), its first RTCP after the
    // silence, then the media again: capture time holds at that RTCP while the probe tells a host clock
    // step from a silence, but HOMER must get the time the compound was captured, as it gets the SIP's.
    const T0 = 1_760_000_200_000_123n * 1000n; // ns: microseconds that must survive
    const records: PcapRecord[] = [];
    const at = (us: number, data: Uint8Array) => records.push({ tsNs: T0 + BigInt(us) * 1000n, data });
    const A = '10.50.0.1';
    const B = '10.50.0.2';
    const sdp = (ipAddr: string, port: number) => sdpBody({ ip: ipAddr, media: [{ port, formats: [8] }] });
    at(0, udpFrame(A, 5060, B, 5060, text(sipRequest('INVITE', 'sip:b@x', { callId: 'hold@probe', fromTag: 'a', cseq: 1, body: sdp(A, 4000) }))));
    at(1007, udpFrame(B, 5060, A, 5060, text(sipResponse(200, { callId: 'hold@probe', fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: sdp(B, 6000) }))));
    let seq = 0;
    const media = (fromUs: number, n: number) => {
      for (let i = 0; i < n; i++, seq++) at(fromUs + i * 20_000, udpFrame(A, 4000, B, 6000, rtp({ pt: 8, seq, ts: seq * 160, ssrc: 0x51 })));
    };
    const sr = (us: number, packets: number) => at(us, udpFrame(A, 4001, B, 6001, rtcpCompound(rtcpSr({ ssrc: 0x51, ntpSec: 1, ntpFrac: 2, rtpTs: seq * 160, packets, octets: packets * 160 }))));
    media(20_011, 100);
    sr(1_500_333, 75);
    sr(12_000_457, 100); // after 10 s without a packet
    seq += 500;
    media(12_020_011, 50);
    sr(12_900_789, 150);
    at(13_000_000, udpFrame(A, 5060, B, 5060, text(sipRequest('BYE', 'sip:b@x', { callId: 'hold@probe', fromTag: 'a', toTag: 'b', cseq: 2 }))));
    records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
    const file = path.join(dir, 'hold.pcap');
    writePcapFile(file, records);
    const tshark = spawnSync('tshark', ['-n', '-r', file, '-Y', 'rtcp', '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const hep = (await replayToUdp(file)).filter((d) => d.protoType === 5);
    expect(hep.map((d) => `${d.tsSec}.${String(d.tsUsec).padStart(6, '0')}`)).toEqual(tshark.map((t) => t.slice(0, t.indexOf('.') + 7)));
    expect(hep.map((d) => d.correlationId)).toEqual(['hold@probe', 'hold@probe', 'hold@probe']);
  });

  it("streams without SDP: the last compound (SR + SDES + BYE of the sender) goes under the stream's synthetic id too, though its BYE ends the stream", async () => {
    const records: PcapRecord[] = [];
    const T0 = 1_760_000_300n * 1_000_000_000n;
    const A = '10.60.0.1';
    const B = '10.60.0.2';
    const SSRC = 0x6a6b6c6d;
    const compound = (packets: number, bye: boolean) => {
      const parts = [rtcpSr({ ssrc: SSRC, ntpSec: 1, ntpFrac: packets, rtpTs: packets * 160, packets, octets: packets * 160 }), rtcpSdes([{ ssrc: SSRC, items: [{ type: 1, value: 'a@10.60.0.1' }] }])];
      return udpFrame(A, 30001, B, 40001, rtcpCompound(...(bye ? [...parts, rtcpBye({ ssrcs: [SSRC], reason: 'hangup' })] : parts)));
    };
    for (let i = 0; i < 500; i++) {
      const ts = T0 + BigInt(i) * 20_000_000n;
      records.push({ tsNs: ts, data: udpFrame(A, 30000, B, 40000, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc: SSRC })) });
      if (i === 100 || i === 350) records.push({ tsNs: ts + 1000n, data: compound(i, false) });
    }
    records.push({ tsNs: T0 + 500n * 20_000_000n, data: compound(500, true) });
    const file = path.join(dir, 'bye-compound.pcap');
    writePcapFile(file, records);
    const tshark = spawnSync('tshark', ['-n', '-r', file, '-Y', 'rtcp', '-T', 'fields', '-e', 'rtcp.pt'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(tshark).toEqual(['200,202', '200,202', '200,202,203']);
    const hep = await replayToUdp(file, (c) => (c.reports.unknownCallId = 'synthetic'));
    const qos = hep.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as Record<string, string | number>);
    const final = qos.find((r) => r.SSRC === SSRC && r.TYPE === 'FINAL');
    expect(final, 'the BYE ends the stream').toBeDefined();
    const rtcp = hep.filter((d) => d.protoType === 5);
    expect(rtcp.map((d) => (JSON.parse(d.payload.toString('utf8')) as { sender_information: { packets: number } }).sender_information.packets)).toEqual([100, 350, 500]);
    expect(rtcp.map((d) => d.correlationId)).toEqual([final!.CORRELATION_ID, final!.CORRELATION_ID, final!.CORRELATION_ID]);
    expect((JSON.parse(rtcp[2]!.payload.toString('utf8')) as { bye: unknown }).bye).toEqual({ ssrcs: [SSRC], reason: 'hangup' });
  });

  it("streams without SDP: RTCP from another source port than RTP + 1 (a NAT, GStreamer's rtpbin) goes under the stream's synthetic id, to RTP + 1 or rtcp-mux", async () => {
    const records: PcapRecord[] = [];
    const T0 = 1_760_000_400n * 1_000_000_000n;
    const A = '10.61.0.1';
    const B = '10.61.0.2';
    const streams = [{ ssrc: 0x7a000001, rtp: 30000, rtcp: 51234, to: 40000, toRtcp: 40001 }, { ssrc: 0x7a000002, rtp: 30010, rtcp: 44017, to: 40010, toRtcp: 40010 }];
    for (let i = 0; i < 400; i++) {
      const ts = T0 + BigInt(i) * 20_000_000n;
      for (const s of streams) {
        records.push({ tsNs: ts, data: udpFrame(A, s.rtp, B, s.to, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: s.ssrc })) });
        if (i % 100 === 50) records.push({ tsNs: ts + 1000n, data: udpFrame(A, s.rtcp, B, s.toRtcp, rtcpCompound(rtcpSr({ ssrc: s.ssrc, ntpSec: 1, ntpFrac: i, rtpTs: 160 * i, packets: i, octets: 160 * i }))) });
      }
    }
    const file = path.join(dir, 'rtcp-other-port.pcap');
    writePcapFile(file, records);
    const hep = await replayToUdp(file, (c) => (c.reports.unknownCallId = 'synthetic'));
    const qos = hep.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as Record<string, string | number>);
    for (const s of streams) {
      const id = qos.find((r) => r.SSRC === s.ssrc)?.CORRELATION_ID;
      expect(id, `stream ${s.ssrc}`).toMatch(/^rtpprobe-/);
      const rtcp = hep.filter((d) => d.protoType === 5 && d.srcPort === s.rtcp);
      expect(rtcp.map((d) => d.correlationId), `RTCP from port ${s.rtcp}`).toEqual([id, id, id, id]);
    }
  });

  it('streams without SDP: reduced-size RTCP (RFC 5506: a NACK or PLI alone) goes under the synthetic id of its sender\'s stream', async () => {
    const records: PcapRecord[] = [];
    const T0 = 1_760_000_500n * 1_000_000_000n;
    const [A, B, SA, SB] = ['10.62.0.1', '10.62.0.2', 0x7b000001, 0x7b000002];
    const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    // RFC 4585 6.1: V=2, FMT, PT, length; SSRC of packet sender; SSRC of media source; FCI.
    const nack = concat(Uint8Array.of(0x81, 205, 0, 3), u32(SB), u32(SA), u32(0x00640000));
    const pli = concat(Uint8Array.of(0x81, 206, 0, 2), u32(SB), u32(SA));
    for (let i = 0; i < 300; i++) {
      const ts = T0 + BigInt(i) * 20_000_000n;
      records.push({ tsNs: ts, data: udpFrame(A, 30000, B, 40000, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: SA })) });
      records.push({ tsNs: ts + 5000n, data: udpFrame(B, 40000, A, 30000, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: SB })) });
      if (i === 100) records.push({ tsNs: ts + 9000n, data: udpFrame(B, 40001, A, 30001, nack) });
      if (i === 200) records.push({ tsNs: ts + 9000n, data: udpFrame(B, 40001, A, 30001, pli) });
    }
    const file = path.join(dir, 'reduced-size.pcap');
    writePcapFile(file, records);
    const tshark = spawnSync('tshark', ['-n', '-r', file, '-d', 'udp.port==40001,rtcp', '-Y', 'rtcp', '-T', 'fields', '-e', 'rtcp.pt', '-e', 'rtcp.senderssrc'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(tshark).toEqual([`205\t0x${SB.toString(16)}`, `206\t0x${SB.toString(16)}`]);
    const hep = await replayToUdp(file, (c) => (c.reports.unknownCallId = 'synthetic'));
    const id = hep.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as Record<string, string | number>).find((r) => r.SSRC === SB)?.CORRELATION_ID;
    expect(id).toMatch(/^rtpprobe-/);
    const rtcp = hep.filter((d) => d.protoType === 5).map((d) => [d.correlationId, (JSON.parse(d.payload.toString('utf8')) as { type: number; ssrc: number })]);
    expect(rtcp).toEqual([[id, expect.objectContaining({ type: 205, ssrc: SB })], [id, expect.objectContaining({ type: 206, ssrc: SB })]]);
  });

  it("unknown_call_id 'log': neither the reports nor the RTCP of those streams go to HOMER", async () => {
    const hep = await replayToUdp(cap.file, (c) => (c.reports.unknownCallId = 'log'));
    expect(hep.filter((d) => d.protoType === 5 || d.protoType === 35)).toEqual([]);
  });
});

describe('RTCP to HOMER from a mirror port that copies packets', () => {
  let dir: string;
  beforeAll(() => void (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-rtcp-dup-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a copy of an RTCP compound on the same addresses within hep.sip.duplicate_window_ms is sent once (0: every copy), and the run summary counts it so', async () => {
    // One call with its SIP; every RTCP datagram seen twice, 30 us apart (ingress and egress of a mirrored port).
    const records: PcapRecord[] = [];
    let rtcp = 0;
    for (const r of generateScenario({ calls: 1, concurrentCalls: 1, durationS: 0, callDurationS: 16, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 7, startEpochS: 1_760_000_000 })) {
      records.push(r);
      if (isRtcpFrame(r.data)) {
        rtcp++;
        records.push({ tsNs: r.tsNs + 30_000n, data: r.data });
      }
    }
    records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
    const file = path.join(dir, 'mirrored.pcap');
    writePcapFile(file, records);
    expect(rtcp).toBeGreaterThan(4);

    // The run summary counts the packets as tshark does, copies included, and the compounds as HEP sends them.
    const tsharkRtcp = spawnSync('tshark', ['-n', '-r', file, '-Y', 'rtcp'], { encoding: 'utf8' }).stdout.trim().split('\n').length;
    expect(tsharkRtcp).toBe(2 * rtcp);
    const summary = (): Record<string, any> => lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === 'run summary')!;
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    const once = (await replayToUdp(file, () => {}, log)).filter((d) => d.protoType === 5);
    expect(once).toHaveLength(rtcp);
    expect(summary().rtcp).toBe(tsharkRtcp);
    expect(summary().reports).toMatchObject({ rtcpSent: once.length, rtcpDuplicates: rtcp, rtcpUncorrelated: 0 });
    expect(new Set(once.map((d) => `${d.srcIp}:${d.srcPort}>${d.dstIp}:${d.dstPort} ${d.payload.toString()}`)).size).toBe(rtcp);
    expect(once.every((d) => d.correlationId === 'scn7-0@rtpprobe.gen')).toBe(true);
    lines.length = 0;
    const every = (await replayToUdp(file, (c) => (c.hep.sip.duplicateWindowMs = 0), log)).filter((d) => d.protoType === 5);
    expect(every).toHaveLength(2 * rtcp);
    expect(summary().reports).toMatchObject({ rtcpSent: every.length, rtcpDuplicates: 0 });
  });

  it('two different compounds whose JSON is the same (an RR and a NACK of other packets, 20 ms apart) are both sent; only their copies are not', async () => {
    const records: PcapRecord[] = [];
    let b: Uint8Array | undefined;
    for (const r of generateScenario({ calls: 1, concurrentCalls: 1, durationS: 0, callDurationS: 8, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 8, startEpochS: 1_760_000_600 })) {
      records.push(r);
      if (b === undefined && isRtcpFrame(r.data) && ip(r.data, 26).startsWith('10.128.')) b = r.data;
    }
    const d = b!;
    const ssrc = ((d[UDP_PAYLOAD + 4]! << 24) | (d[UDP_PAYLOAD + 5]! << 16) | (d[UDP_PAYLOAD + 6]! << 8) | d[UDP_PAYLOAD + 7]!) >>> 0;
    const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    // RFC 4585 6.2.1 generic NACK: the FCI names the lost packet (PID) and the 16 after it (BLP).
    const nack = (pid: number) => concat(rtcpRr({ ssrc }), Uint8Array.of(0x81, 205, 0, 3), u32(ssrc), u32(0x1234), u32(pid << 16));
    const at = records[Math.floor(records.length / 2)]!.tsNs;
    for (const [k, pid] of [[0, 100], [1, 117]] as const) {
      const frame = ethernet(ipv4(ip(d, 26), ip(d, 30), 17, udp(u16(d, 34), u16(d, 36), nack(pid))), EtherType.IPV4);
      const t = at + BigInt(k) * 20_000_000n;
      records.push({ tsNs: t, data: frame }, { tsNs: t + 30_000n, data: frame });
    }
    records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
    const file = path.join(dir, 'nacks.pcap');
    writePcapFile(file, records);
    const tshark = spawnSync('tshark', ['-n', '-r', file, '-Y', 'rtcp.rtpfb.nack_pid', '-T', 'fields', '-e', 'rtcp.rtpfb.nack_pid'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(tshark).toEqual(['100', '100', '117', '117']);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    const nacks = (await replayToUdp(file, () => {}, log)).filter((h) => h.protoType === 5 && (JSON.parse(h.payload.toString('utf8')) as { report_count: number; sender_information: { packets: number } }).sender_information.packets === 0 && h.srcPort === u16(d, 34));
    const summary = lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === 'run summary')!;
    expect(nacks).toHaveLength(2);
    expect(summary.reports.rtcpDuplicates).toBe(2);
  });
});
