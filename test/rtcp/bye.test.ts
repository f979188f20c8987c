/**
 * RTCP BYE ends the sender's stream of the SSRC it lists: the stream on the RTCP flow's RTP addresses (ports
 * one below each, the RTP address of an SDP whose a=rtcp names the RTCP port and host, or the same with
 * rtcp-mux). A forged BYE naming a real stream's SSRC from elsewhere ends
 * nothing, and a flood of BYEs costs each a few index lookups, not a walk over every stream.
 */
import { describe, expect, it } from 'vitest';
import { type PcapRecord, rtcpBye, rtcpCompound, rtcpRr, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { recordsBatch } from '../pipeline/batches.js';
import { nonPeriodicReports } from '../pipeline/targets.js';

const T0_NS = 1_750_000_000_000_000_000n;
const A = '10.1.0.1';
const B = '10.1.0.2';
const SSRC = 0x5eed0001;

function pipeline() {
  const { target, reports } = nonPeriodicReports();
  return { p: new Pipeline(defaultConfig(), target), finals: reports };
}

/** 100 packets A:20000 -> B:30000 every 20 ms, and `bye` (a UDP frame) after the 50th. */
function streamWithBye(bye: Uint8Array): PcapRecord[] {
  const out: PcapRecord[] = [];
  for (let k = 0; k < 100; k++) {
    out.push({ tsNs: T0_NS + BigInt(k * 20_000_000), data: udpFrame(A, 20000, B, 30000, rtp({ pt: 8, seq: 100 + k, ts: k * 160, ssrc: SSRC })) });
    if (k === 49) out.push({ tsNs: T0_NS + BigInt(k * 20_000_000 + 5_000_000), data: bye });
  }
  return out;
}

/** The packets of the closing reports of A's streams, in order. */
function closings(records: PcapRecord[]): number[] {
  const { p, finals } = pipeline();
  p.processBatch(recordsBatch(records));
  p.finish();
  return finals.filter((r) => r.SRC_IP === A && r.SSRC === SSRC).map((r) => Number(r.TOTAL_PK));
}

const byeOf = (ssrc: number) => rtcpCompound(rtcpRr({ ssrc }), rtcpBye({ ssrcs: [ssrc] }));

/**
 * An INVITE from A and its 200 OK from B, each SDP naming its RTP port (A 20000, B 30000) and an RTCP
 * port of its own by a=rtcp (RFC 3605: A 20555, B 30777), before `records`.
 */
function signalledWithRtcpPorts(records: PcapRecord[], rtcpHosts: { a?: string; b?: string } = {}): PcapRecord[] {
  const tags = { callId: 'a-rtcp@gen', fromTag: 'a', cseq: 1 };
  const offer = sdpBody({ ip: A, media: [{ port: 20000, formats: [8], rtcp: rtcpHosts.a ? { port: 20555, ip: rtcpHosts.a } : 20555 }] });
  const answer = sdpBody({ ip: B, media: [{ port: 30000, formats: [8], rtcp: rtcpHosts.b ? { port: 30777, ip: rtcpHosts.b } : 30777 }] });
  const t = records[0]!.tsNs;
  return [
    { tsNs: t - 20_000_000n, data: udpFrame(A, 5060, B, 5060, text(sipRequest('INVITE', 'sip:bob@example.com', { ...tags, body: offer }))) },
    { tsNs: t - 10_000_000n, data: udpFrame(B, 5060, A, 5060, text(sipResponse(200, { ...tags, toTag: 'b', cseqMethod: 'INVITE', body: answer }))) },
    ...records,
  ];
}

describe('RTCP BYE', () => {
  it("from the stream's RTCP port (RTP port + 1) to its peer's, or on the RTP ports (rtcp-mux): the stream ends there", () => {
    // The packets after the BYE start a stream of their own.
    expect(closings(streamWithBye(udpFrame(A, 20001, B, 30001, byeOf(SSRC))))).toEqual([50, 50]);
    expect(closings(streamWithBye(udpFrame(A, 20000, B, 30000, byeOf(SSRC))))).toEqual([50, 50]);
  });

  it('between the RTCP ports the SDP declared by a=rtcp (RFC 3605), not RTP port + 1: the stream ends there', () => {
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 20555, B, 30777, byeOf(SSRC)))))).toEqual([50, 50]);
    // One side declared, the other on RTP port + 1.
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 20555, B, 30001, byeOf(SSRC)))))).toEqual([50, 50]);
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 20001, B, 30777, byeOf(SSRC)))))).toEqual([50, 50]);
  });

  it('from an a=rtcp address on another host than the RTP (a=rtcp:PORT IN IP4 OTHER-IP): the stream ends there', () => {
    const hosts = { a: '10.1.0.9', b: '10.1.0.8' };
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.1.0.9', 20555, '10.1.0.8', 30777, byeOf(SSRC))), hosts))).toEqual([50, 50]);
    // To the peer's RTCP on its RTP host (port + 1, or its RTP port).
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.1.0.9', 20555, B, 30001, byeOf(SSRC))), { a: '10.1.0.9' }))).toEqual([50, 50]);
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.1.0.9', 20555, B, 30000, byeOf(SSRC))), { a: '10.1.0.9' }))).toEqual([50, 50]);
    // The same port on the RTP host is not where A's SDP said its RTCP is; nor is another port of the RTCP host.
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 20555, '10.1.0.8', 30777, byeOf(SSRC))), hosts))).toEqual([100]);
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.1.0.9', 20557, '10.1.0.8', 30777, byeOf(SSRC))), hosts))).toEqual([100]);
    // B's declared RTCP address sending A's SSRC: B's flow, not A's.
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.1.0.8', 30777, '10.1.0.9', 20555, byeOf(SSRC))), hosts))).toEqual([100]);
  });

  it('to or from a declared a=rtcp port but not from the sender\'s RTCP flow, ends nothing', () => {
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame('10.6.6.6', 20555, B, 30777, byeOf(SSRC)))))).toEqual([100]);
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 40001, B, 30777, byeOf(SSRC)))))).toEqual([100]);
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(A, 20555, B, 50001, byeOf(SSRC)))))).toEqual([100]);
    // B's declared RTCP port sending A's SSRC: B's flow, not A's.
    expect(closings(signalledWithRtcpPorts(streamWithBye(udpFrame(B, 30777, A, 20555, byeOf(SSRC)))))).toEqual([100]);
  });

  it("naming a real stream's SSRC from another host, or from the sender's host on other ports, ends nothing", () => {
    expect(closings(streamWithBye(udpFrame('10.6.6.6', 20001, B, 30001, byeOf(SSRC))))).toEqual([100]);
    expect(closings(streamWithBye(udpFrame(A, 40001, B, 30001, byeOf(SSRC))))).toEqual([100]);
    expect(closings(streamWithBye(udpFrame(A, 20001, B, 50001, byeOf(SSRC))))).toEqual([100]);
  });

  it('a flood of BYEs beside 10,000 streams costs about what as many receiver reports cost', () => {
    const { p } = pipeline();
    const ip = (i: number) => `10.2.${i >> 8}.${i & 255}`;
    let t = T0_NS;
    const at = () => (t += 20_000n);
    const setup: PcapRecord[] = [];
    for (let s = 0; s < 10_000; s++) for (let k = 0; k < 5; k++) setup.push({ tsNs: at(), data: udpFrame(ip(s % 40), 20000 + 2 * Math.floor(s / 40), B, 30000, rtp({ pt: 0, seq: k, ts: k * 160, ssrc: 0x1000 + s })) });
    p.processBatch(recordsBatch(setup));
    expect(p.engine.activeStreams).toBe(10_000);
    // Alternating rounds of 10,000 compounds each, from a host with no stream, naming SSRCs of no stream.
    const round = (bye: boolean) => {
      const recs: PcapRecord[] = [];
      for (let i = 0; i < 10_000; i++) recs.push({ tsNs: at(), data: udpFrame('10.9.0.1', 7001, B, 30001, bye ? byeOf(0x7000000 + i) : rtcpCompound(rtcpRr({ ssrc: 0x7000000 + i }))) });
      const batch = recordsBatch(recs);
      const c0 = process.cpuUsage();
      p.processBatch(batch);
      const c = process.cpuUsage(c0);
      return c.user + c.system;
    };
    round(false); // compiled, both
    round(true);
    const rr: number[] = [];
    const bye: number[] = [];
    for (let r = 0; r < 5; r++) {
      rr.push(round(false));
      bye.push(round(true));
    }
    const median = (x: number[]) => [...x].sort((a, b) => a - b)[2];
    expect(p.engine.activeStreams).toBe(10_000);
    expect(median(bye) / median(rr), `CPU us per round: BYE ${bye.join(' ')}, RR ${rr.join(' ')}`).toBeLessThan(4);
  });
});
