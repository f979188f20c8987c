/**
 * SIP area benchmark: the per-packet costs the SIP side adds to the hot path, as ratios against a
 * reference measured in the same run (a Map<string, number> lookup with the key built per call, the
 * naive way to map ip:port to a call).
 *   - findBinding over a populated table (what the integrator calls for a new stream)
 *   - onPacket on an RTP packet (the classification check every UDP packet goes through)
 *   - parsing one INVITE with SDP (signalling cost, per message)
 *   - parse + track at wire speed: typical INVITE / 200 OK with SDP of new calls through
 *     CallTracker.onPacket (what the probe runs per SIP datagram), in messages per second of CPU time;
 *     hostile messages (20 m= lines, 30 KB of headers) in us each
 *   - the parse alone into a reused message, a call's 7 messages (what the tracker's parse costs)
 * Run: node native-bench/out/sip.js
 */
import { DecodedPacket } from '../../dist/decode/packet.js';
import { rtp, sdpBody, sipRequest, sipResponse, text } from '../../dist/gen/index.js';
import { CallTracker, ParsedSipMessage, SipParser } from '../../dist/sip/index.js';
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

// ------------------------------------------------------------------ parse + track at wire speed

type DialogMessage = 'invite' | 'trying' | 'ringing' | 'ok' | 'ack' | 'bye' | 'byeOk';

/** A typical softphone INVITE / 200 OK with SDP (3 codecs + telephone-event), Call-ID with 8 hex digits to patch. */
function dialogTemplate(kind: DialogMessage): { bytes: Uint8Array; idAt: number } {
  const headers: Array<[string, string]> = [
    ['Contact', '<sip:alice@198.51.100.7:5060;transport=udp>'],
    ['Allow', 'INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, UPDATE, PRACK, INFO'],
    ['Supported', 'replaces, timer, 100rel'],
    ['User-Agent', 'Softphone 7.2.1'],
    ['Session-Expires', '1800'],
  ];
  const sdp = (ip: string, port: number) =>
    sdpBody({ ip, media: [{ port, formats: [8, 0, 18, 101], rtpmap: [[8, 'PCMA/8000'], [0, 'PCMU/8000'], [18, 'G729/8000'], [101, 'telephone-event/8000']], ptime: 20 }] });
  const spec = { callId: 'c0000000@bench.example.com', fromTag: 'f81d4fae', cseq: 1, headers, via: '198.51.100.7:5060' };
  const inDialog = { ...spec, toTag: '314159' };
  const msg = {
    invite: () => sipRequest('INVITE', 'sip:bob@203.0.113.9', { ...spec, body: sdp('198.51.100.7', 16384) }),
    trying: () => sipResponse(100, { ...spec, cseqMethod: 'INVITE' }),
    ringing: () => sipResponse(180, { ...inDialog, cseqMethod: 'INVITE' }),
    ok: () => sipResponse(200, { ...inDialog, cseqMethod: 'INVITE', body: sdp('203.0.113.9', 30000) }),
    ack: () => sipRequest('ACK', 'sip:bob@203.0.113.9', inDialog),
    bye: () => sipRequest('BYE', 'sip:bob@203.0.113.9', { ...inDialog, cseq: 2 }),
    byeOk: () => sipResponse(200, { ...inDialog, cseq: 2, cseqMethod: 'BYE' }),
  }[kind]();
  const bytes = text(msg);
  return { bytes, idAt: msg.indexOf('c0000000@') + 1 };
}

const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
function patchId(b: Uint8Array, at: number, n: number): void {
  for (let k = 6; k >= 0; k--) {
    b[at + k] = HEX[n & 15];
    n >>>= 4;
  }
}

const sipPkt = new DecodedPacket();
sipPkt.ipVersion = 4;
sipPkt.ipProto = 17;
sipPkt.src2 = sipPkt.dst2 = 0xffff;
sipPkt.src3 = 0xc6336407;
sipPkt.dst3 = 0xcb007109;
sipPkt.srcPort = sipPkt.dstPort = 5060;

/** Messages per second through one tracker (default capacity), a new call every two messages, 10 us of capture time per message. */
function trackRate(label: string, msgs: Array<{ bytes: Uint8Array; idAt: number }>, total: number): number {
  const t = new CallTracker({}, {});
  let now = 1_700_000_000_000;
  const run = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) {
      const m = msgs[i % msgs.length];
      if (m.idAt > 0) patchId(m.bytes, m.idAt, i >>> 1);
      sipPkt.payloadBuf = m.bytes;
      sipPkt.payloadOffset = 0;
      sipPkt.payloadLength = m.bytes.length;
      t.onPacket(sipPkt, now);
      now += 0.01;
      if ((i & 1023) === 0) t.expire(now);
    }
  };
  run(0, Math.min(total, 200_000)); // warm-up (JIT, table filled)
  // CPU time of this process (one thread), not wall time: on a shared machine the wall clock counts
  // other processes' turns.
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  run(200_000, total);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const rate = total / cpu;
  console.log(
    `${label.padEnd(48)} ${(1e6 / rate).toFixed(2).padStart(10)} us/msg CPU  ${Math.round(rate).toLocaleString('en-US')} msg/s per core  (wall ${Math.round(total / wall).toLocaleString('en-US')} msg/s; calls ${t.activeCalls}, evicted ${t.stats.callsEvicted})`,
  );
  return rate;
}

/**
 * The parse alone as the tracker runs it (into one reused message): a call's 7 messages, 512 calls' worth
 * laid out in one buffer as in a capture batch; ns per message, median of 7 rounds of CPU time.
 */
function dialogParseNs(): number {
  const kinds: DialogMessage[] = ['invite', 'trying', 'ringing', 'ok', 'ack', 'bye', 'byeOk'];
  const dialog = kinds.map((k) => dialogTemplate(k).bytes);
  const calls = 512;
  const batch = Buffer.alloc(calls * dialog.reduce((n, m) => n + m.length, 0));
  const offsets: number[] = [];
  const lengths: number[] = [];
  for (let c = 0, o = 0; c < calls; c++) {
    for (const m of dialog) {
      batch.set(m, o);
      offsets.push(o);
      lengths.push(m.length);
      o += m.length;
    }
  }
  const p = new SipParser();
  const into = new ParsedSipMessage();
  let sink = 0;
  const pass = () => {
    for (let i = 0; i < offsets.length; i++) sink += p.parse(batch, offsets[i], lengths[i], false, into)!.length;
  };
  for (let r = 0; r < 200; r++) pass();
  const ns: number[] = [];
  for (let r = 0; r < 7; r++) {
    const c0 = process.cpuUsage();
    for (let k = 0; k < 100; k++) pass();
    const c = process.cpuUsage(c0);
    ns.push(((c.user + c.system) * 1000) / (100 * offsets.length));
  }
  ns.sort((a, b) => a - b);
  console.log(`${"parse into a reused message (a call's 7 messages)".padEnd(48)} ${ns[3].toFixed(0).padStart(10)} ns/msg CPU  (range ${ns[0].toFixed(0)}-${ns[6].toFixed(0)}; ${sink > 0 ? 'parsed' : 'none'})`);
  return ns[3];
}
dialogParseNs();

const typical = trackRate('track INVITE + 200 OK with SDP (new calls)', [dialogTemplate('invite'), dialogTemplate('ok')], 1_000_000);

const manyM = text(
  sipRequest('INVITE', 'sip:bob@h', {
    callId: 'c0000000@hostile',
    fromTag: 'a',
    cseq: 1,
    body: sdpBody({ ip: '10.0.0.1', media: Array.from({ length: 20 }, (_, i) => ({ port: 4000 + i * 2, formats: [96, 97, 98, 99, 100, 101, 0, 8, 18, 9], rtpmap: [[96, 'opus/48000/2'], [97, 'AMR-WB/16000'], [98, 'AMR/8000'], [99, 'H264/90000'], [100, 'VP8/90000'], [101, 'telephone-event/8000']] as Array<[number, string]> })) }),
  }),
);
const hugeHeaders = text(
  sipRequest('INVITE', 'sip:bob@h', {
    callId: 'c0000000@hostile',
    fromTag: 'a',
    cseq: 1,
    headers: Array.from({ length: 300 }, (_, i) => [`X-Junk-${i}`, 'x'.repeat(100)] as [string, string]),
    body: sdpBody({ ip: '10.0.0.1', media: [{ port: 4000 }] }),
  }),
);
const idOf = (b: Uint8Array) => Buffer.from(b).indexOf('c0000000@') + 1;
const hostileM = trackRate(`hostile: 20 m= lines (${manyM.length} B)`, [{ bytes: manyM, idAt: idOf(manyM) }, { bytes: manyM, idAt: idOf(manyM) }], 100_000);
const hostileH = trackRate(`hostile: 300 headers (${hugeHeaders.length} B)`, [{ bytes: hugeHeaders, idAt: idOf(hugeHeaders) }, { bytes: hugeHeaders, idAt: idOf(hugeHeaders) }], 50_000);
console.log(`parse + track: typical ${Math.round(typical).toLocaleString('en-US')} msg/s (target >= 100,000); hostile ${(1e6 / hostileM).toFixed(1)} us (20 m=), ${(1e6 / hostileH).toFixed(1)} us (300 headers); ratio hostile/typical ${(typical / hostileM).toFixed(1)}x, ${(typical / hostileH).toFixed(1)}x`);
