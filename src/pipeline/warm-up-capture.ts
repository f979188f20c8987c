/**
 * The capture a replay's warm-up runs (src/pipeline/warm-up.ts): about four seconds of traffic that take
 * the packet loop's rare branches besides its common one, so V8 has type feedback for all of them before
 * it optimises the loop. Three SIP calls (IPv4, IPv4 in an 802.1Q VLAN, IPv6), each INVITE / 100 / 180 /
 * 200 with SDP / ACK, G.711 both ways with a loss, a burst, a reordered pair, a duplicate, a late run,
 * a DTMF event, comfort noise, sequence and timestamp wrap-around; RTCP SR, RR, SDES and BYE; BYE / 200
 * with media lingering after it; an unsignalled stream found by the heuristic (with its RTCP); UDP that
 * is neither. Classic pcap bytes, built with the traffic generator's packet builders.
 */
import { classicPcap, type PcapRecord } from '../gen/pcap-writer.js';
import { rtp, text, udpFrame } from '../gen/packets.js';
import { rtcpBye, rtcpCompound, rtcpRr, rtcpSdes, rtcpSr } from '../gen/rtcp.js';
import { sdpBody, sipRequest, sipResponse } from '../gen/sip.js';

const EPOCH_S = 1_600_000_000;
/** EPOCH_S as NTP seconds (since 1900), for sender reports. */
const EPOCH_NTP_S = 3_808_988_800;
const PTIME_MS = 20;
/** RTP packets per direction of a call. */
const CALL_PACKETS = 50;
/**
 * RTP packets of the unsignalled stream: more than the sequence numbers' reorder window (128), whose
 * sliding is what most packets of a long stream do.
 */
const UNSIGNALLED_PACKETS = 200;
/** G.711 A-law silence, one 20 ms frame. */
const G711_FRAME = new Uint8Array(160).fill(0xd5);

interface Call {
  a: string;
  b: string;
  vlans: number[];
}

const CALLS: Call[] = [
  { a: '10.20.0.1', b: '10.20.0.2', vlans: [] },
  { a: '10.20.1.1', b: '10.20.1.2', vlans: [100] },
  { a: '2001:db8::a1', b: '2001:db8::b1', vlans: [] },
];

/** The warm-up capture as classic pcap bytes (microsecond, little-endian, Ethernet). */
export function warmUpCapture(): Uint8Array {
  const recs: Array<[number, Uint8Array]> = []; // [capture time in µs after EPOCH_S, frame]
  CALLS.forEach((c, k) => addCall(recs, c, k));
  addUnsignalled(recs);
  recs.sort((x, y) => x[0] - y[0]);
  const records: PcapRecord[] = recs.map(([us, data]) => ({ tsNs: BigInt(EPOCH_S) * 1_000_000_000n + BigInt(us) * 1000n, data }));
  return classicPcap(records);
}

function addCall(recs: Array<[number, Uint8Array]>, c: Call, k: number): void {
  const t0 = k * 100_000;
  const aRtp = 20_000 + 2 * k;
  const bRtp = 30_000 + 2 * k;
  const callId = `warm-up-${k}@rtpprobe`;
  const base = { callId, fromTag: `a${k}`, via: c.a.includes(':') ? `[${c.a}]:5060` : `${c.a}:5060` };
  const uri = `sip:bob@${c.b.includes(':') ? `[${c.b}]` : c.b}`;
  const sdp = (ip: string, port: number) => sdpBody({ ip, media: [{ port, formats: [8, 0, 101], ptime: PTIME_MS, rtpmap: [[101, 'telephone-event/8000']] }] });
  const sip = (us: number, fromA: boolean, msg: string) =>
    recs.push([us, fromA ? udpFrame(c.a, 5060, c.b, 5060, text(msg), { vlans: c.vlans }) : udpFrame(c.b, 5060, c.a, 5060, text(msg), { vlans: c.vlans })]);
  const toTag = `b${k}`;
  sip(t0, true, sipRequest('INVITE', uri, { ...base, cseq: 1, body: sdp(c.a, aRtp) }));
  sip(t0 + 5_000, false, sipResponse(100, { ...base, cseq: 1, cseqMethod: 'INVITE' }));
  sip(t0 + 50_000, false, sipResponse(180, { ...base, toTag, cseq: 1, cseqMethod: 'INVITE' }));
  sip(t0 + 300_000, false, sipResponse(200, { ...base, toTag, cseq: 1, cseqMethod: 'INVITE', body: sdp(c.b, bRtp) }));
  sip(t0 + 305_000, true, sipRequest('ACK', uri, { ...base, toTag, cseq: 1 }));

  const mediaUs = t0 + 310_000;
  const ssrcA = 0x1000 + k;
  const ssrcB = 0x2000 + k;
  // Call 0's caller wraps its sequence number and its timestamp.
  addRtp(recs, c, c.a, aRtp, c.b, bRtp, ssrcA, mediaUs, k === 0 ? 65_511 : 100, k === 0 ? 0xffff_f100 : 5000);
  addRtp(recs, c, c.b, bRtp, c.a, aRtp, ssrcB, mediaUs + 7_000, 2000, 90_000);

  // RTCP from each side's RTP port + 1: SR + SDES with a report block on the other side, later an RR.
  const block = (ssrc: number) => [{ ssrc, fractionLost: 3, cumulativeLost: 4, extHighestSeq: 70_000, jitter: 12, lsr: 0x1234_5678, dlsr: 0x0001_0000 }];
  const rtcp = (us: number, fromA: boolean, payload: Uint8Array) =>
    recs.push([us, fromA ? udpFrame(c.a, aRtp + 1, c.b, bRtp + 1, payload, { vlans: c.vlans }) : udpFrame(c.b, bRtp + 1, c.a, aRtp + 1, payload, { vlans: c.vlans })]);
  for (const [i, us] of [mediaUs + 300_000, mediaUs + 700_000].entries()) {
    const ntpSec = EPOCH_NTP_S + Math.floor(us / 1e6);
    rtcp(us, true, rtcpCompound(rtcpSr({ ssrc: ssrcA, ntpSec, ntpFrac: 0x8000_0000, rtpTs: 8 * (us / 1000), packets: 50 * (i + 1), octets: 8000 * (i + 1), reports: block(ssrcB) }), rtcpSdes([{ ssrc: ssrcA, items: [{ type: 1, value: `a${k}@warm-up` }] }])));
    rtcp(us + 40_000, false, rtcpCompound(rtcpSr({ ssrc: ssrcB, ntpSec, ntpFrac: 0x4000_0000, rtpTs: 8 * (us / 1000), packets: 50 * (i + 1), octets: 8000 * (i + 1), reports: block(ssrcA) }), rtcpSdes([{ ssrc: ssrcB, items: [{ type: 1, value: `b${k}@warm-up` }] }])));
  }
  rtcp(mediaUs + 900_000, false, rtcpCompound(rtcpRr({ ssrc: ssrcB, reports: block(ssrcA) }), rtcpSdes([{ ssrc: ssrcB, items: [{ type: 1, value: `b${k}@warm-up` }] }])));

  // The call ends: BYE / 200 part-way through the media, whose rest lingers; call 2's callee also says RTCP BYE.
  const byeUs = mediaUs + (CALL_PACKETS - 4) * PTIME_MS * 1000;
  sip(byeUs, true, sipRequest('BYE', uri, { ...base, toTag, cseq: 2 }));
  sip(byeUs + 10_000, false, sipResponse(200, { ...base, toTag, cseq: 2, cseqMethod: 'BYE' }));
  if (k === 2) rtcp(byeUs + 20_000, false, rtcpCompound(rtcpRr({ ssrc: ssrcB }), rtcpBye({ ssrcs: [ssrcB], reason: 'bye' })));
}

/**
 * One RTP direction of `packets` G.711 packets from `startUs`, impaired: packet 8 lost, 14-16 lost, 20/21
 * swapped, 26 twice, 30-33 60 ms late, 36-38 a DTMF event, 41 comfort noise, a talkspurt marker after each.
 * Plain packets are a copy of one frame with sequence number, timestamp and marker patched.
 */
function addRtp(recs: Array<[number, Uint8Array]>, c: Call, src: string, sp: number, dst: string, dp: number, ssrc: number, startUs: number, seq0: number, ts0: number, packets = CALL_PACKETS): void {
  const template = udpFrame(src, sp, dst, dp, rtp({ pt: 8, seq: 0, ts: 0, ssrc, payload: G711_FRAME }), { vlans: c.vlans });
  const at = template.length - 12 - G711_FRAME.length;
  for (let i = 0; i < packets; i++) {
    if (i === 8 || (i >= 14 && i <= 16)) continue;
    let us = startUs + i * PTIME_MS * 1000;
    if (i === 20) us += PTIME_MS * 1000 + 500; // after 21
    if (i >= 30 && i <= 33) us += 60_000;
    const seq = (seq0 + i) & 0xffff;
    const marker = i === 0 || i === 36 || i === 39 || i === 42;
    let frame: Uint8Array;
    if ((i >= 36 && i <= 38) || i === 41) {
      const dtmf = i !== 41;
      const payload = dtmf ? Uint8Array.of(5, i === 38 ? 0x8a : 0x0a, 0, 160 * (i - 35)) : Uint8Array.of(40);
      frame = udpFrame(src, sp, dst, dp, rtp({ pt: dtmf ? 101 : 13, seq, ts: (ts0 + (dtmf ? 36 : i) * 160) >>> 0, ssrc, marker, payload }), { vlans: c.vlans });
    } else {
      frame = template.slice();
      const v = new DataView(frame.buffer);
      frame[at + 1] = (marker ? 0x80 : 0) | 8;
      v.setUint16(at + 2, seq);
      v.setUint32(at + 4, (ts0 + i * 160) >>> 0);
    }
    recs.push([us, frame]);
    if (i === 26) recs.push([us + 300, frame]);
  }
}

/**
 * RTP without SIP for the whole capture (the heuristic's candidate, then a stream), keeping capture time
 * moving past the calls' media linger; its RTCP; and UDP that is neither.
 */
function addUnsignalled(recs: Array<[number, Uint8Array]>): void {
  const c: Call = { a: '10.30.0.1', b: '10.30.0.2', vlans: [] };
  addRtp(recs, c, c.a, 40_000, c.b, 40_002, 0x3000, 100_000, 7, 0, UNSIGNALLED_PACKETS);
  const ntpSec = EPOCH_NTP_S + 1;
  recs.push([1_000_000, udpFrame(c.a, 40_001, c.b, 40_003, rtcpCompound(rtcpSr({ ssrc: 0x3000, ntpSec, ntpFrac: 0, rtpTs: 8000, packets: 50, octets: 8000 }), rtcpSdes([{ ssrc: 0x3000, items: [{ type: 1, value: 'u@warm-up' }] }])))]);
  for (let i = 0; i < 3; i++) recs.push([500_000 + i * 1_000_000, udpFrame(c.a, 53_000, c.b, 53, text(`\u0012\u0034query ${i}`))]);
}
