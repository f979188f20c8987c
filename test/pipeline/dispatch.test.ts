/**
 * The pipeline takes the usual RTP packet from its first two payload bytes without running the SIP
 * content screen and the RTCP check; every other UDP datagram goes through SIP screen, RTCP check and RTP
 * screen in that order. Over every value of the first two payload bytes, on plain and on SIP ports, with
 * payloads long enough for an RTP header and too short for one, the counts of SIP, RTCP and other UDP
 * must be those of that sequence of screens (src/sip/detect.ts, src/rtcp/parse.ts, src/rtp/rtp-header.ts),
 * whichever decode path (IPv4 fast path, 802.1Q, IPv6) delivered the packet.
 */
import { describe, expect, it } from 'vitest';
import { udpFrame } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import { isRtcp } from '../../src/rtcp/index.js';
import { isRtpCandidate } from '../../src/rtp/index.js';
import { SipPortSet, looksLikeSip } from '../../src/sip/index.js';
import { recordsBatch } from './batches.js';

const SIP_PORT = 5060;
const T0_NS = 1_700_000_000n * 1_000_000_000n;

interface Case {
  payload: Uint8Array;
  srcPort: number;
  dstPort: number;
}

/** A payload of `len` bytes starting b0 b1, with an RTCP length word that fits it (so isRtcp can say yes). */
function payload(b0: number, b1: number, len: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = b0;
  p[1] = b1;
  p[3] = len / 4 - 1;
  return p;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (let b0 = 0; b0 < 256; b0++) {
    for (let b1 = 0; b1 < 256; b1++) {
      for (const len of [8, 20]) out.push({ payload: payload(b0, b1, len), srcPort: 40000, dstPort: 40002 });
      // RTP-shaped datagrams on a SIP port belong to SIP (keep-alives, junk, anything else sent there).
      if (b0 >> 6 === 2) {
        out.push({ payload: payload(b0, b1, 20), srcPort: SIP_PORT, dstPort: 40002 });
        out.push({ payload: payload(b0, b1, 20), srcPort: 40000, dstPort: SIP_PORT });
      }
    }
  }
  return out;
}

/** What the screens say, one after the other: the SIP screen, then the RTCP check, then the RTP screen. */
function expected(all: Case[]): { sip: number; rtcp: number; otherUdp: number; rtp: number } {
  const ports = new SipPortSet([SIP_PORT]);
  const n = { sip: 0, rtcp: 0, otherUdp: 0, rtp: 0 };
  for (const c of all) {
    const p = c.payload;
    if (ports.has(c.srcPort) || ports.has(c.dstPort) || looksLikeSip(p, 0, p.length)) n.sip++;
    else if (isRtcp(p, 0, p.length)) n.rtcp++;
    else if (!isRtpCandidate(p, 0, p.length)) n.otherUdp++;
    else n.rtp++;
  }
  return n;
}

describe('per-packet dispatch', () => {
  const all = cases();
  const want = expected(all);

  it('the cases reach every class', () => {
    expect(want.sip).toBeGreaterThan(0);
    expect(want.rtcp).toBeGreaterThan(0);
    expect(want.otherUdp).toBeGreaterThan(0);
    expect(want.rtp).toBeGreaterThan(0);
  });

  const paths: Array<[string, (c: Case) => Uint8Array]> = [
    ['IPv4 (the decoder fast path)', (c) => udpFrame('10.0.0.1', c.srcPort, '10.0.0.2', c.dstPort, c.payload)],
    ['IPv4 behind two 802.1Q tags (the general path)', (c) => udpFrame('10.0.0.1', c.srcPort, '10.0.0.2', c.dstPort, c.payload, { vlans: [10, 20] })],
    ['IPv6', (c) => udpFrame('2001:db8::1', c.srcPort, '2001:db8::2', c.dstPort, c.payload)],
  ];
  for (const [name, frame] of paths) {
    it(`gives the counts of the screens in sequence: ${name}`, () => {
      const batch = recordsBatch(all.map((c, i) => ({ tsNs: T0_NS + BigInt(i) * 1000n, data: frame(c) })));
      const p = new Pipeline(defaultConfig(), new ReportSink([], {}));
      p.processBatch(batch);
      const c = p.counts;
      expect({ packets: c.packets, sip: c.sip, rtcp: c.rtcp, otherUdp: c.otherUdp }).toEqual({ packets: all.length, sip: want.sip, rtcp: want.rtcp, otherUdp: want.otherUdp });
      // The rest reached the RTP engine: each RTP candidate is counted there once (the heuristic sees them all).
      const e = p.engine.counters;
      expect(e.packets + e.notRtp + e.malformed + e.heuristicPending + e.heuristicRejected + e.heldBack).toBe(want.rtp);
    });
  }
});
