/**
 * SIP area benchmark: the per-packet costs the SIP side adds to the hot path, as ratios against a
 * reference measured in the same run (a Map<string, number> lookup with the key built per call, the
 * naive way to map ip:port to a call).
 *   - findBinding over a populated table (what the integrator calls for a new stream)
 *   - onPacket on an RTP packet (the classification check every UDP packet goes through)
 *   - parsing one INVITE with SDP (signalling cost, per message)
 * Run: node native-bench/out/sip.js
 */
import { DecodedPacket } from '../../dist/decode/packet.js';
import { rtp, sdpBody, sipRequest, text } from '../../dist/gen/index.js';
import { CallTracker, SipParser } from '../../dist/sip/index.js';
import { timePerOp } from './time-per-op.js';

/** The SIP lookups are a few ns: a longer warm-up than the default settles them. */
const timeSip = (label: string, iterations: number, fn: (i: number) => number) => timePerOp(label, iterations, fn, 200_000);

const CALLS = 5000;
const tracker = new CallTracker({}, { maxCalls: CALLS });
const ref = new Map<string, number>();
const pkt = new DecodedPacket();
pkt.ipVersion = 4;
pkt.ipProto = 17;
pkt.src2 = 0xffff;
pkt.dst2 = 0xffff;
pkt.srcPort = 5060;
pkt.dstPort = 5060;
for (let c = 0; c < CALLS; c++) {
  const host = 0x0a000000 + (c >>> 4);
  const port = 10000 + (c & 15) * 2;
  const ip = `10.0.${(c >>> 12) & 255}.${(c >>> 4) & 255}`;
  const msg = text(sipRequest('INVITE', 'sip:b@h', { callId: `call-${c}`, fromTag: 'a', cseq: 1, body: sdpBody({ ip, media: [{ port }] }) }));
  pkt.src3 = host;
  pkt.dst3 = 0x0a640001;
  pkt.payloadBuf = msg;
  pkt.payloadOffset = 0;
  pkt.payloadLength = msg.length;
  tracker.onPacket(pkt, 0);
  ref.set(`${ip}:${port}`, c);
}
console.log(`bindings: ${tracker.activeBindings}, calls: ${tracker.activeCalls}`);

const N = 2_000_000;
const refNs = timeSip('reference: Map<string> with key built per call', N, (i) => {
  const c = i % CALLS;
  return ref.get(`10.0.${(c >>> 12) & 255}.${(c >>> 4) & 255}:${10000 + (c & 15) * 2}`) ?? -1;
});
const findNs = timeSip('findBinding (hit)', N, (i) => {
  const c = i % CALLS;
  return tracker.findBinding(0, 0, 0xffff, 0x0a000000 + (c >>> 4), 10000 + (c & 15) * 2);
});
const missNs = timeSip('findBinding (miss)', N, (i) => tracker.findBinding(0, 0, 0xffff, 0x0b000000 + i, 20001));

const rtpBytes = rtp({ pt: 8, seq: 1, ts: 0, ssrc: 1 });
const rtpPkt = new DecodedPacket();
rtpPkt.ipProto = 17;
rtpPkt.srcPort = 40000;
rtpPkt.dstPort = 20000;
rtpPkt.payloadBuf = rtpBytes;
rtpPkt.payloadLength = rtpBytes.length;
const classifyNs = timeSip('onPacket on an RTP packet (not SIP)', N, () => (tracker.onPacket(rtpPkt, 0) ? 1 : 0));

const parser = new SipParser();
const invite = text(sipRequest('INVITE', 'sip:b@h', { callId: 'x', fromTag: 'a', cseq: 1, headers: [['User-Agent', 'bench']], body: sdpBody({ ip: '10.0.0.1', media: [{ port: 4000 }] }) }));
const parseNs = timeSip('SipParser.parse (INVITE with SDP)', 100_000, () => parser.parse(invite, 0, invite.length, false)!.length);

console.log(`ratios vs reference: findBinding hit ${(findNs / refNs).toFixed(3)}, miss ${(missNs / refNs).toFixed(3)}, onPacket(RTP) ${(classifyNs / refNs).toFixed(3)}, parse INVITE ${(parseNs / refNs).toFixed(1)}`);
