/**
 * Small SIP call scenarios as capture records: the dialog shapes real networks produce and that decide
 * which Call-ID a stream gets and where it ends (media after BYE, a refused re-offer, B2BUA legs naming
 * the same media addresses, early media of a rejected call, an INVITE flood beside live calls). Each
 * returns its records in capture order plus what the scenario means for tests to check.
 */
import { rtp, text, udpFrame } from './packets.js';
import { classicPcap, type PcapRecord } from './pcap-writer.js';
import { rtcpCompound, rtcpSdes, rtcpSr } from './rtcp.js';
import { sdpBody, sipRequest, sipResponse, type SdpSpec } from './sip.js';

/** Collects frames at capture times (ms since the epoch, fractional allowed) and writes them in order. */
export class CaptureTimeline {
  private readonly frames: Array<{ ms: number; n: number; data: Uint8Array }> = [];

  add(ms: number, data: Uint8Array): void {
    this.frames.push({ ms, n: this.frames.length, data });
  }

  /** A UDP SIP message between two hosts on port 5060. */
  sip(ms: number, src: string, dst: string, message: string): void {
    this.add(ms, udpFrame(src, 5060, dst, 5060, text(message)));
  }

  /**
   * `count` RTP packets of 20 ms PCMA from `first` on, one every 20 ms; returns the next sequence number
   * and timestamp so a stream can be continued.
   */
  rtp(first: number, src: string, srcPort: number, dst: string, dstPort: number, s: { ssrc: number; seq: number; ts: number; count: number }): { seq: number; ts: number } {
    let { seq, ts } = s;
    for (let i = 0; i < s.count; i++) {
      this.add(first + i * 20, udpFrame(src, srcPort, dst, dstPort, rtp({ pt: 8, seq, ts, ssrc: s.ssrc })));
      seq = (seq + 1) & 0xffff;
      ts = (ts + 160) >>> 0;
    }
    return { seq, ts };
  }

  /** One RTCP SR + SDES from the RTP sender (port + 1 to port + 1). */
  rtcp(ms: number, src: string, srcPort: number, dst: string, dstPort: number, ssrc: number, packets: number): void {
    const sr = rtcpSr({ ssrc, ntpSec: Math.floor(ms / 1000) + 2208988800, ntpFrac: 0, rtpTs: packets * 160, packets, octets: packets * 160 });
    this.add(ms, udpFrame(src, srcPort, dst, dstPort, rtcpCompound(sr, rtcpSdes([{ ssrc, items: [{ type: 1, value: 'gen' }] }]))));
  }

  records(): PcapRecord[] {
    return [...this.frames].sort((a, b) => a.ms - b.ms || a.n - b.n).map((f) => ({ tsNs: BigInt(Math.round(f.ms * 1000)) * 1000n, data: f.data }));
  }

  pcap(): Buffer {
    return classicPcap(this.records());
  }
}

/** One SIP dialog's messages with consistent tags and CSeqs: caller side 'a', callee side 'b'. */
export class DialogWriter {
  private cseq = 1;

  constructor(
    private readonly t: CaptureTimeline,
    readonly callId: string,
    private readonly caller: string,
    private readonly callee: string,
    private readonly headers: Array<[string, string]> = [],
  ) {}

  /** INVITE (initial when no To tag is known yet, re-INVITE otherwise) from `fromCaller`'s side. */
  invite(ms: number, sdp: SdpSpec | null, o: { fromCaller?: boolean; reinvite?: boolean } = {}): number {
    const cseq = o.reinvite ? ++this.cseq : this.cseq;
    this.request(ms, 'INVITE', cseq, o.fromCaller ?? true, o.reinvite ?? false, sdp);
    return cseq;
  }

  /** A response to the INVITE (or other method) with CSeq `cseq`, sent by the side that did not send it. */
  respond(ms: number, status: number, cseq: number, sdp: SdpSpec | null, o: { toCaller?: boolean; method?: string } = {}): void {
    const toCaller = o.toCaller ?? true;
    const [src, dst] = toCaller ? [this.callee, this.caller] : [this.caller, this.callee];
    const tags = toCaller ? { fromTag: 'a', toTag: 'b' } : { fromTag: 'b', toTag: 'a' };
    this.t.sip(ms, src, dst, sipResponse(status, { callId: this.callId, ...tags, cseq, cseqMethod: o.method ?? 'INVITE', body: sdp ? sdpBody(sdp) : '', headers: this.headers }));
  }

  ack(ms: number, cseq: number, fromCaller = true): void {
    this.request(ms, 'ACK', cseq, fromCaller, true, null);
  }

  bye(ms: number, fromCaller = true): number {
    const cseq = ++this.cseq;
    this.request(ms, 'BYE', cseq, fromCaller, true, null);
    return cseq;
  }

  /** CANCEL of the INVITE with CSeq `cseq` (in the dialog when `inDialog`: a re-INVITE's). */
  cancel(ms: number, cseq: number, o: { fromCaller?: boolean; inDialog?: boolean } = {}): void {
    this.request(ms, 'CANCEL', cseq, o.fromCaller ?? true, o.inDialog ?? false, null);
  }

  private request(ms: number, method: string, cseq: number, fromCaller: boolean, inDialog: boolean, sdp: SdpSpec | null): void {
    const [src, dst] = fromCaller ? [this.caller, this.callee] : [this.callee, this.caller];
    const tags = fromCaller ? { fromTag: 'a', toTag: inDialog ? 'b' : undefined } : { fromTag: 'b', toTag: 'a' };
    this.t.sip(ms, src, dst, sipRequest(method, 'sip:peer@example.com', { callId: this.callId, ...tags, cseq, body: sdp ? sdpBody(sdp) : '', headers: this.headers }));
  }
}

const audio = (ip: string, port: number): SdpSpec => ({ ip, media: [{ port, formats: [8] }] });

export interface ScenarioParty {
  ip: string;
  port: number;
  ssrc: number;
}

export interface SipScenario {
  records: PcapRecord[];
  callId: string;
  /** Parties of the media: a (caller) and b (callee). */
  a: ScenarioParty;
  b: ScenarioParty;
  /** RTP packets written per direction (a->b, b->a), trailing ones included. */
  packets: { ab: number; ba: number };
}

/**
 * A call of `media` 20 ms packets each way, ended by BYE; `trailing` more packets each way (and one RTCP
 * SR each way) arrive 0.2-18 ms after the BYE, as in real captures. With `moveAfter`, a re-INVITE from the
 * caller moves its media to port + 100 after that many packets, and packets to the old port keep arriving
 * for a few ms after the 200 OK.
 */
export function callWithTrailingMedia(o: { t0Ms: number; media: number; trailing: number; moveAfter?: number }): SipScenario & { movedPort: number } {
  const t = new CaptureTimeline();
  const a = { ip: '10.1.0.10', port: 40000, ssrc: 0x1111aaaa };
  const b = { ip: '10.2.0.20', port: 50000, ssrc: 0x2222bbbb };
  const d = new DialogWriter(t, 'trailing-media@gen', a.ip, b.ip);
  const c = d.invite(o.t0Ms, audio(a.ip, a.port));
  d.respond(o.t0Ms + 50, 200, c, audio(b.ip, b.port));
  d.ack(o.t0Ms + 60, c);
  const start = o.t0Ms + 100;
  let ab = { seq: 100, ts: 1000 };
  let ba = { seq: 500, ts: 9000 };
  const movedPort = a.port + 100;
  let toA = a.port;
  let sent = 0;
  if (o.moveAfter !== undefined) {
    ab = t.rtp(start, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, ...ab, count: o.moveAfter });
    ba = t.rtp(start + 5, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, ...ba, count: o.moveAfter });
    const at = start + o.moveAfter * 20;
    const r = d.invite(at - 15, audio(a.ip, movedPort), { reinvite: true });
    d.respond(at - 10, 200, r, audio(b.ip, b.port));
    d.ack(at - 8, r);
    // In flight towards the old port when the answer was seen: still the old stream.
    ba = t.rtp(at - 5, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, ...ba, count: 1 });
    toA = movedPort;
    sent = o.moveAfter;
  }
  const rest = o.media - sent;
  const from = start + sent * 20 + 10;
  ab = t.rtp(from, a.ip, toA, b.ip, b.port, { ssrc: a.ssrc, ...ab, count: rest });
  ba = t.rtp(from + 5, b.ip, b.port, a.ip, toA, { ssrc: b.ssrc, ...ba, count: rest });
  const byeAt = from + rest * 20;
  const bc = d.bye(byeAt);
  d.respond(byeAt + 1, 200, bc, null, { method: 'BYE', toCaller: true });
  for (let i = 0; i < o.trailing; i++) {
    t.add(byeAt + 0.2 + i * 6, udpFrame(a.ip, toA, b.ip, b.port, rtp({ pt: 8, seq: ab.seq + i, ts: ab.ts + i * 160, ssrc: a.ssrc })));
    t.add(byeAt + 0.5 + i * 6, udpFrame(b.ip, b.port, a.ip, toA, rtp({ pt: 8, seq: ba.seq + i, ts: ba.ts + i * 160, ssrc: b.ssrc })));
  }
  t.rtcp(byeAt + 18, a.ip, toA + 1, b.ip, b.port + 1, a.ssrc, o.media + o.trailing);
  t.rtcp(byeAt + 18, b.ip, b.port + 1, a.ip, toA + 1, b.ssrc, o.media + o.trailing);
  const moved = o.moveAfter !== undefined;
  return {
    records: t.records(),
    callId: 'trailing-media@gen',
    a,
    b,
    movedPort,
    packets: { ab: o.media + o.trailing, ba: o.media + o.trailing + (moved ? 1 : 0) },
  };
}

/**
 * An answered audio call with `before` packets each way, then `reoffer` (a re-INVITE at `at` that does
 * not move the media), `after` more packets each way from 10 ms after it, then BYE.
 */
function callAroundReoffer(o: { t0Ms: number; before: number; after: number }, callId: string, a: ScenarioParty, b: ScenarioParty, reoffer: (d: DialogWriter, at: number) => void): SipScenario {
  const t = new CaptureTimeline();
  const d = new DialogWriter(t, callId, a.ip, b.ip);
  const c = d.invite(o.t0Ms, audio(a.ip, a.port));
  d.respond(o.t0Ms + 50, 200, c, audio(b.ip, b.port));
  d.ack(o.t0Ms + 60, c);
  const start = o.t0Ms + 100;
  const ab = t.rtp(start, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, seq: 1, ts: 0, count: o.before });
  const ba = t.rtp(start + 5, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: o.before });
  const at = start + o.before * 20;
  reoffer(d, at);
  t.rtp(at + 10, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, ...ab, count: o.after });
  t.rtp(at + 15, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, ...ba, count: o.after });
  const byeAt = at + 10 + o.after * 20 + 40;
  const bc = d.bye(byeAt);
  d.respond(byeAt + 1, 200, bc, null, { method: 'BYE' });
  return { records: t.records(), callId, a, b, packets: { ab: o.before + o.after, ba: o.before + o.after } };
}

/**
 * An audio call in which the callee offers T.38 (m=image udptl) by re-INVITE, the caller answers 488,
 * and the audio carries on both ways: the refused offer moves nothing.
 */
export function rejectedT38Reinvite(o: { t0Ms: number; before: number; after: number }): SipScenario {
  const a = { ip: '10.1.0.11', port: 40010, ssrc: 0x3333cccc };
  const b = { ip: '10.2.0.21', port: 50010, ssrc: 0x4444dddd };
  return callAroundReoffer(o, 'refused-t38@gen', a, b, (d, at) => {
    const t38: SdpSpec = { ip: b.ip, media: [{ kind: 'image', port: b.port + 2, proto: 'udptl', formats: [] }] };
    const r = d.invite(at, t38, { fromCaller: false, reinvite: true });
    d.respond(at + 30, 488, r, null, { toCaller: false });
    d.ack(at + 31, r, false);
  });
}

/**
 * An answered call whose caller offers hold by re-INVITE and CANCELs it before any answer: the callee
 * answers the CANCEL 200 and the re-INVITE 487, and the audio carries on both ways until the BYE (a
 * cancelled re-INVITE leaves the dialog and its session as they were, RFC 3261 14.1).
 */
export function cancelledReinvite(o: { t0Ms: number; before: number; after: number }): SipScenario {
  const a = { ip: '10.1.0.14', port: 40020, ssrc: 0x7777aaaa };
  const b = { ip: '10.2.0.24', port: 50020, ssrc: 0x8888bbbb };
  return callAroundReoffer(o, 'cancelled-reinvite@gen', a, b, (d, at) => {
    const r = d.invite(at, { ip: a.ip, media: [{ port: a.port, formats: [8], direction: 'sendonly' }] }, { reinvite: true });
    d.cancel(at + 500, r, { inDialog: true });
    d.respond(at + 510, 200, r, null, { method: 'CANCEL' });
    d.respond(at + 520, 487, r, null);
    d.ack(at + 530, r);
  });
}

/**
 * Parallel forking seen at the proxy: one INVITE (one Call-ID) goes to two branches; branch 1 is busy
 * (486 at once), branch 2 rings for `ringMs` and answers with SDP; the caller and branch 2 then talk
 * directly, `packets` each way, until the BYE. The 486 ends one early dialog, not the call. With
 * `earlyMedia`, branch 2 rings with a 183 with SDP and plays that many packets of ringback (SSRC b + 1).
 * With `firstRings`, branch 1 rings (180) instead of being busy, and the proxy CANCELs it once branch 2
 * has answered (200 to the CANCEL, 487, ACK).
 */
export function forkedCallOneBranchBusy(o: { t0Ms: number; ringMs: number; packets: number; earlyMedia?: number; firstRings?: boolean }): SipScenario {
  const t = new CaptureTimeline();
  const callId = 'forked@gen';
  const a = { ip: '10.1.0.15', port: 40030, ssrc: 0x9999aaaa };
  const b = { ip: '10.2.0.26', port: 50030, ssrc: 0xaaaa9999 };
  const proxy = '10.9.0.2';
  const busy = '10.2.0.25';
  const offer = sdpBody(audio(a.ip, a.port));
  // The proxy's INVITE to each target is a transaction of its own (RFC 3261 16.6 step 8: a branch each).
  const invite = (branch: string) => sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'a', cseq: 1, body: offer, branch });
  const reply = (status: number, toTag: string, method = 'INVITE', body = '') =>
    sipResponse(status, { callId, fromTag: 'a', toTag, cseq: 1, cseqMethod: method, body, branch: toTag === 'b1' ? 'z9hG4bK-fork1' : 'z9hG4bK-fork2' });
  t.sip(o.t0Ms, proxy, busy, invite('z9hG4bK-fork1'));
  t.sip(o.t0Ms + 1, proxy, b.ip, invite('z9hG4bK-fork2'));
  const failFirst = (ms: number, status: number) => {
    t.sip(ms, busy, proxy, reply(status, 'b1'));
    t.sip(ms + 1, proxy, busy, sipRequest('ACK', 'sip:bob@example.com', { callId, fromTag: 'a', toTag: 'b1', cseq: 1, branch: 'z9hG4bK-fork1' }));
  };
  if (o.firstRings) t.sip(o.t0Ms + 30, busy, proxy, reply(180, 'b1'));
  else failFirst(o.t0Ms + 30, 486);
  ringing(t, o.t0Ms + 60, a, b, proxy, o.earlyMedia, (status, body) => reply(status, 'b2', 'INVITE', body));
  const answerAt = o.t0Ms + 60 + o.ringMs;
  answeredAtProxy(t, { callId, uri: 'sip:bob@example.com', toTag: 'b2', answerAt, packets: o.packets, branch: 'z9hG4bK-fork2' }, a, b, proxy);
  if (o.firstRings) {
    t.sip(answerAt + 11, proxy, busy, sipRequest('CANCEL', 'sip:bob@example.com', { callId, fromTag: 'a', cseq: 1, branch: 'z9hG4bK-fork1' }));
    t.sip(answerAt + 20, busy, proxy, reply(200, 'b1', 'CANCEL'));
    failFirst(answerAt + 21, 487);
  }
  return { records: t.records(), callId, a, b, packets: { ab: o.packets, ba: o.packets } };
}

/**
 * The callee `b` (To tag `toTag`) answers the proxy's INVITE (CSeq 1) with SDP at `answerAt`; the proxy
 * ACKs; `packets` each way between the caller `a` and b; then the proxy's BYE and b's 200.
 */
function answeredAtProxy(t: CaptureTimeline, o: { callId: string; uri: string; toTag: string; answerAt: number; packets: number; branch: string }, a: ScenarioParty, b: ScenarioParty, proxy: string): void {
  const tags = { callId: o.callId, fromTag: 'a', toTag: o.toTag };
  t.sip(o.answerAt, b.ip, proxy, sipResponse(200, { ...tags, cseq: 1, cseqMethod: 'INVITE', body: sdpBody(audio(b.ip, b.port)), branch: o.branch }));
  t.sip(o.answerAt + 10, proxy, b.ip, sipRequest('ACK', o.uri, { ...tags, cseq: 1 }));
  t.rtp(o.answerAt + 50, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, seq: 1, ts: 0, count: o.packets });
  t.rtp(o.answerAt + 55, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: o.packets });
  const byeAt = o.answerAt + 100 + o.packets * 20;
  t.sip(byeAt, proxy, b.ip, sipRequest('BYE', o.uri, { ...tags, cseq: 2 }));
  t.sip(byeAt + 5, b.ip, proxy, sipResponse(200, { ...tags, cseq: 2, cseqMethod: 'BYE' }));
}

/**
 * The callee `b` rings towards `proxy`: a 180, or with `earlyMedia` a 183 with SDP and that many packets
 * of ringback from b to the caller `a` (SSRC b + 1).
 */
function ringing(t: CaptureTimeline, ms: number, a: ScenarioParty, b: ScenarioParty, proxy: string, earlyMedia: number | undefined, reply: (status: number, body: string) => string): void {
  if (earlyMedia === undefined) {
    t.sip(ms, b.ip, proxy, reply(180, ''));
    return;
  }
  t.sip(ms, b.ip, proxy, reply(183, sdpBody(audio(b.ip, b.port))));
  t.rtp(ms + 20, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc + 1, seq: 1, ts: 0, count: earlyMedia });
}

/**
 * Serial forking at a proxy (least-cost-routing failover): the INVITE goes to a first gateway, which
 * answers 503; the proxy sends the same INVITE (same Call-ID and CSeq, a new branch) to a second gateway,
 * which rings and answers with SDP; `packets` each way between the caller and the second gateway, then
 * BYE. With `earlyMedia`, the second gateway rings with a 183 with SDP and that many packets of ringback.
 * With `callerLeg`, the caller's INVITE to the proxy and the proxy's 200 to it are captured too (a mirror
 * of the proxy's port): the caller's transaction stays open through the failover.
 */
export function failoverToSecondGateway(o: { t0Ms: number; packets: number; earlyMedia?: number; callerLeg?: boolean }): SipScenario {
  const t = new CaptureTimeline();
  const callId = 'failover@gen';
  const a = { ip: '10.1.0.16', port: 40040, ssrc: 0xbbbb1111 };
  const b = { ip: '10.2.0.28', port: 50040, ssrc: 0x1111bbbb };
  const proxy = '10.9.0.3';
  const first = '10.2.0.27';
  // A new client transaction of the proxy for each gateway: a branch each (RFC 3261 16.6 step 8).
  const invite = (branch: string) => sipRequest('INVITE', 'sip:+15551234@example.com', { callId, fromTag: 'a', cseq: 1, body: sdpBody(audio(a.ip, a.port)), branch });
  const reply = (status: number, toTag: string, body = '') => sipResponse(status, { callId, fromTag: 'a', toTag, cseq: 1, cseqMethod: 'INVITE', body, branch: `z9hG4bK-${toTag}` });
  if (o.callerLeg) t.sip(o.t0Ms - 5, a.ip, proxy, invite('z9hG4bK-caller'));
  t.sip(o.t0Ms, proxy, first, invite('z9hG4bK-gw1'));
  t.sip(o.t0Ms + 40, first, proxy, reply(503, 'gw1'));
  t.sip(o.t0Ms + 41, proxy, first, sipRequest('ACK', 'sip:+15551234@example.com', { callId, fromTag: 'a', toTag: 'gw1', cseq: 1, branch: 'z9hG4bK-gw1' }));
  t.sip(o.t0Ms + 45, proxy, b.ip, invite('z9hG4bK-gw2'));
  ringing(t, o.t0Ms + 300, a, b, proxy, o.earlyMedia, (status, body) => reply(status, 'gw2', body));
  const answerAt = o.t0Ms + 800 + (o.earlyMedia ?? 160) * 20;
  answeredAtProxy(t, { callId, uri: 'sip:+15551234@example.com', toTag: 'gw2', answerAt, packets: o.packets, branch: 'z9hG4bK-gw2' }, a, b, proxy);
  if (o.callerLeg) t.sip(answerAt + 1, proxy, a.ip, sipResponse(200, { callId, fromTag: 'a', toTag: 'gw2', cseq: 1, cseqMethod: 'INVITE', body: sdpBody(audio(b.ip, b.port)), branch: 'z9hG4bK-caller' }));
  return { records: t.records(), callId, a, b, packets: { ab: o.packets, ba: o.packets } };
}

/**
 * A call already running when the capture starts: `before` packets each way with no SIP seen, then a
 * re-INVITE (in the dialog) naming the same media addresses, its 200 OK and ACK, `after` more packets
 * each way, BYE. The probe learns the call at the re-INVITE. a sends Opus (dynamic PT 96, named only by
 * the SDP), b PCMA.
 */
export function callLearnedAtReinvite(o: { t0Ms: number; before: number; after: number }): SipScenario {
  const t = new CaptureTimeline();
  const a = { ip: '10.1.0.17', port: 40050, ssrc: 0xcccc1111 };
  const b = { ip: '10.2.0.29', port: 50050, ssrc: 0x1111cccc };
  const d = new DialogWriter(t, 'running-before-capture@gen', a.ip, b.ip);
  const n = o.before + o.after;
  for (let i = 0; i < n; i++) t.add(o.t0Ms + i * 20, udpFrame(a.ip, a.port, b.ip, b.port, rtp({ pt: 96, seq: i + 1, ts: i * 960, ssrc: a.ssrc })));
  t.rtp(o.t0Ms + 5, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: n });
  const at = o.t0Ms + o.before * 20;
  const sdp = (ip: string, port: number): SdpSpec => ({ ip, media: [{ port, formats: [96, 8], rtpmap: [[96, 'opus/48000/2']] }] });
  const r = d.invite(at, sdp(a.ip, a.port), { reinvite: true });
  d.respond(at + 10, 200, r, sdp(b.ip, b.port));
  d.ack(at + 11, r);
  const bc = d.bye(o.t0Ms + n * 20 + 40);
  d.respond(o.t0Ms + n * 20 + 41, 200, bc, null, { method: 'BYE' });
  return { records: t.records(), callId: 'running-before-capture@gen', a, b, packets: { ab: n, ba: n } };
}

/**
 * A B2BUA between a and b: leg 1 (a <-> B2BUA) and leg 2 (B2BUA <-> b) first anchor the media on the
 * B2BUA, then each leg is re-INVITEd so a and b send to each other directly: both legs' SDP name a's
 * and b's media addresses. `lastLeg` says which leg's re-INVITE completes last. `net` (third octet of
 * every address) and `tag` (in both Call-IDs) tell several such calls in one capture apart. `xCid`: every
 * message of leg 2 names leg 1's Call-ID in an X-CID header, as B2BUAs write it.
 */
export function b2buaSharedMedia(o: { t0Ms: number; packets: number; lastLeg: 1 | 2; net?: number; tag?: string; xCid?: boolean }): SipScenario & { leg1: string; leg2: string } {
  const t = new CaptureTimeline();
  const net = o.net ?? 0;
  const tag = o.tag === undefined ? '' : `-${o.tag}`;
  const a = { ip: `10.1.${net}.12`, port: 7078, ssrc: 0x5555eeee };
  const b = { ip: `10.2.${net}.22`, port: 7078, ssrc: 0x6666ffff };
  const pbx = `10.9.${net}.1`;
  const leg1 = new DialogWriter(t, `leg-one${tag}@gen`, a.ip, pbx);
  const leg2 = new DialogWriter(t, `leg-two${tag}@gen`, pbx, b.ip, o.xCid ? [['X-CID', leg1.callId]] : []);
  const c1 = leg1.invite(o.t0Ms, audio(a.ip, a.port));
  const c2 = leg2.invite(o.t0Ms + 10, audio(pbx, 30000));
  leg2.respond(o.t0Ms + 100, 200, c2, audio(b.ip, b.port));
  leg2.ack(o.t0Ms + 101, c2);
  leg1.respond(o.t0Ms + 102, 200, c1, audio(pbx, 30002));
  leg1.ack(o.t0Ms + 103, c1);
  // Direct media: leg 1 tells a to send to b; leg 2 tells b to send to a (the B2BUA sends both offers).
  const legs: Array<[DialogWriter, string, SdpSpec, SdpSpec]> = [
    [leg1, 'leg1', audio(b.ip, b.port), audio(a.ip, a.port)],
    [leg2, 'leg2', audio(a.ip, a.port), audio(b.ip, b.port)],
  ];
  if (o.lastLeg === 1) legs.reverse();
  let at = o.t0Ms + 200;
  for (const [leg, , offer, answer] of legs) {
    const fromPbxIsCaller = leg === leg2;
    const r = leg.invite(at, offer, { reinvite: true, fromCaller: fromPbxIsCaller });
    leg.respond(at + 10, 200, r, answer, { toCaller: fromPbxIsCaller });
    leg.ack(at + 11, r, fromPbxIsCaller);
    at += 20;
  }
  t.rtp(at + 10, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, seq: 1, ts: 0, count: o.packets });
  t.rtp(at + 15, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: o.packets });
  const byeAt = at + 40 + o.packets * 20;
  const b1 = leg1.bye(byeAt);
  leg1.respond(byeAt + 1, 200, b1, null, { method: 'BYE', toCaller: true });
  const b2 = leg2.bye(byeAt + 2);
  leg2.respond(byeAt + 3, 200, b2, null, { method: 'BYE', toCaller: true });
  const last = o.lastLeg === 1 ? leg1.callId : leg2.callId;
  return { records: t.records(), callId: last, leg1: leg1.callId, leg2: leg2.callId, a, b, packets: { ab: o.packets, ba: o.packets } };
}

/**
 * Two unrelated calls between the same media addresses: the first (`first@gen`) is answered and sends
 * `packets` each way, and its BYE is not captured; `gapMs` after its media stops, a second call
 * (`second@gen`, its own tags) offers and answers the same addresses (a media server's port pool coming
 * round again), sends `packets` each way with new SSRCs and ends with BYE. A third call between other
 * parties (`other@gen`) sends media all along, as the other calls of a link do: capture time runs through
 * the gap instead of jumping. `net` (third octet of every address) tells several such sets apart.
 */
export function missedByeThenPortReuse(o: { t0Ms: number; packets: number; gapMs: number; net?: number }): SipScenario & { firstCallId: string } {
  const t = new CaptureTimeline();
  const net = o.net ?? 0;
  const a = { ip: `10.1.${net}.30`, port: 41000, ssrc: 0x7777aaaa };
  const b = { ip: `10.2.${net}.40`, port: 51000, ssrc: 0xaaaa7777 };
  const first = new DialogWriter(t, 'first@gen', a.ip, b.ip);
  const c1 = first.invite(o.t0Ms, audio(a.ip, a.port));
  first.respond(o.t0Ms + 50, 200, c1, audio(b.ip, b.port));
  first.ack(o.t0Ms + 60, c1);
  t.rtp(o.t0Ms + 100, a.ip, a.port, b.ip, b.port, { ssrc: 0x1234, seq: 1, ts: 0, count: o.packets });
  t.rtp(o.t0Ms + 105, b.ip, b.port, a.ip, a.port, { ssrc: 0x4321, seq: 1, ts: 0, count: o.packets });
  const at = o.t0Ms + 100 + o.packets * 20 + o.gapMs;
  const c = { ip: `10.3.${net}.50`, port: 42000 };
  const d = { ip: `10.4.${net}.60`, port: 52000 };
  const other = new DialogWriter(t, 'other@gen', c.ip, d.ip);
  const c3 = other.invite(o.t0Ms - 500, audio(c.ip, c.port));
  other.respond(o.t0Ms - 450, 200, c3, audio(d.ip, d.port));
  other.ack(o.t0Ms - 440, c3);
  const otherPackets = Math.ceil((at + 200 + o.packets * 20 - o.t0Ms) / 20);
  t.rtp(o.t0Ms - 400, c.ip, c.port, d.ip, d.port, { ssrc: 0x5678, seq: 1, ts: 0, count: otherPackets });
  const otherBye = other.bye(o.t0Ms - 400 + otherPackets * 20 + 40);
  other.respond(o.t0Ms - 400 + otherPackets * 20 + 41, 200, otherBye, null, { method: 'BYE' });
  const second = new DialogWriter(t, 'second@gen', a.ip, b.ip);
  const c2 = second.invite(at, audio(a.ip, a.port));
  second.respond(at + 50, 200, c2, audio(b.ip, b.port));
  second.ack(at + 60, c2);
  t.rtp(at + 100, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, seq: 1, ts: 0, count: o.packets });
  t.rtp(at + 105, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: o.packets });
  const byeAt = at + 150 + o.packets * 20;
  const bye = second.bye(byeAt);
  second.respond(byeAt + 1, 200, bye, null, { method: 'BYE' });
  return { records: t.records(), callId: 'second@gen', firstCallId: 'first@gen', a, b, packets: { ab: 2 * o.packets, ba: 2 * o.packets } };
}

/**
 * A call from `a` to `b` with INVITE at `at`, answered (200 OK) 50 ms later, `packets` RTP packets each way
 * from 100 ms after the INVITE, and BYE `byeAfterMediaMs` after the media ends (a packet time past its
 * callee's last packet; no BYE when null).
 */
function answeredWithMedia(t: CaptureTimeline, callId: string, a: ScenarioParty, b: ScenarioParty, at: number, packets: number, byeAfterMediaMs: number | null): SipScenario {
  const d = new DialogWriter(t, callId, a.ip, b.ip);
  const c = d.invite(at, audio(a.ip, a.port));
  d.respond(at + 50, 200, c, audio(b.ip, b.port));
  d.ack(at + 60, c);
  t.rtp(at + 100, a.ip, a.port, b.ip, b.port, { ssrc: a.ssrc, seq: 1, ts: 0, count: packets });
  t.rtp(at + 105, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: packets });
  if (byeAfterMediaMs !== null) {
    const byeAt = at + 105 + packets * 20 + byeAfterMediaMs;
    d.respond(byeAt + 1, 200, d.bye(byeAt), null, { method: 'BYE' });
  }
  return { records: [], callId, a, b, packets: { ab: packets, ba: packets } };
}

/**
 * Two calls end before a packet-less gap of `gapMs`, then a third call: the first hangs up 40 ms after its
 * media (its lingering media retires with it, inside the gap), the second 28 s after its media stopped
 * (the streams' 30 s silence timeout comes before its 3 s linger ends, inside the gap too).
 */
export function hangupsBeforeGap(o: { t0Ms: number; packets: number; gapMs: number }): { records: PcapRecord[]; hungUp: SipScenario; timedOut: SipScenario; after: SipScenario } {
  const t = new CaptureTimeline();
  const call = (callId: string, net: number, at: number, byeAfterMediaMs: number): SipScenario =>
    answeredWithMedia(t, callId, { ip: `10.1.${net}.70`, port: 44000, ssrc: 0x70000000 + net }, { ip: `10.2.${net}.80`, port: 54000, ssrc: 0x80000000 + net }, at, o.packets, byeAfterMediaMs);
  const timedOut = call('timed-out@gen', 1, o.t0Ms, 28_000);
  const hungUp = call('hung-up@gen', 2, o.t0Ms + 28_000, 40);
  const after = call('after-gap@gen', 3, o.t0Ms + 28_000 + 105 + o.packets * 20 + 41 + o.gapMs, 40);
  return { records: t.records(), hungUp, timedOut, after };
}

/**
 * Two captures of different times merged into one file (mergecap): the earlier ends while its call
 * (`earlier@gen`) still sends media both ways (no BYE captured), and `gapMs` after its last packet the
 * later one starts with a new call between other parties (`later@gen`): INVITE, 200 OK and ACK first,
 * then `packets` each way, then BYE. Nothing runs through the gap.
 */
export function capturesMergedMidStream(o: { t0Ms: number; packets: number; gapMs: number }): { records: PcapRecord[]; earlier: SipScenario; later: SipScenario } {
  const t = new CaptureTimeline();
  const call = (callId: string, net: number, at: number, byeAfterMediaMs: number | null): SipScenario =>
    answeredWithMedia(t, callId, { ip: `10.1.${net}.90`, port: 46000, ssrc: 0x90000000 + net }, { ip: `10.2.${net}.91`, port: 56000, ssrc: 0x91000000 + net }, at, o.packets, byeAfterMediaMs);
  const earlier = call('earlier@gen', 1, o.t0Ms, null);
  const later = call('later@gen', 2, o.t0Ms + 105 + (o.packets - 1) * 20 + o.gapMs, 40);
  return { records: t.records(), earlier, later };
}

/**
 * A host clock step (NTP) while a call (`running@gen`) sends media both ways: the capture clock jumps by
 * `stepMs` (either way) 1 ms after one of its packets, and the first packets past the step, in the 9 ms
 * before its next RTP packet measures the step, are another call's (`set-up@gen`, rung before the step)
 * 200 OK and ACK, an RTCP report of the running call and the answering side's first RTP packet. The
 * running call ends by BYE after `packets` each way, the other after `packets` each way too. `reference`:
 * the same records without the step; `stepAtMs`: the capture time (before the step) from which it applies.
 */
export function clockStepAtCallSetup(o: { t0Ms: number; packets: number; stepMs: number }): { records: PcapRecord[]; reference: PcapRecord[]; stepAtMs: number; running: SipScenario; setUp: SipScenario } {
  const t = new CaptureTimeline();
  const call = (callId: string, net: number): { s: SipScenario; d: DialogWriter } => {
    const a = { ip: `10.1.${net}.95`, port: 48000, ssrc: 0x95000000 + net };
    const b = { ip: `10.2.${net}.96`, port: 58000, ssrc: 0x96000000 + net };
    return { s: { records: [], callId, a, b, packets: { ab: o.packets, ba: o.packets } }, d: new DialogWriter(t, callId, a.ip, b.ip) };
  };
  const bye = (d: DialogWriter, at: number) => d.respond(at + 1, 200, d.bye(at), null, { method: 'BYE' });
  const running = call('running@gen', 1);
  const ra = running.s.a;
  const rb = running.s.b;
  const c = running.d.invite(o.t0Ms, audio(ra.ip, ra.port));
  running.d.respond(o.t0Ms + 50, 200, c, audio(rb.ip, rb.port));
  running.d.ack(o.t0Ms + 60, c);
  t.rtp(o.t0Ms + 100, ra.ip, ra.port, rb.ip, rb.port, { ssrc: ra.ssrc, seq: 1, ts: 0, count: o.packets });
  t.rtp(o.t0Ms + 110, rb.ip, rb.port, ra.ip, ra.port, { ssrc: rb.ssrc, seq: 1, ts: 0, count: o.packets });
  bye(running.d, o.t0Ms + 150 + o.packets * 20);
  // The step comes 1 ms after a packet of the running call's callee, 9 ms before its caller's next one.
  const stepAt = o.t0Ms + 110 + 20 * Math.floor(o.packets / 2) + 1;
  const setUp = call('set-up@gen', 2);
  const sa = setUp.s.a;
  const sb = setUp.s.b;
  const s = setUp.d.invite(stepAt - 500, audio(sa.ip, sa.port));
  setUp.d.respond(stepAt + 1, 200, s, audio(sb.ip, sb.port));
  setUp.d.ack(stepAt + 2, s);
  t.rtcp(stepAt + 3, ra.ip, ra.port + 1, rb.ip, rb.port + 1, ra.ssrc, Math.floor(o.packets / 2));
  t.rtp(stepAt + 4, sb.ip, sb.port, sa.ip, sa.port, { ssrc: sb.ssrc, seq: 1, ts: 0, count: o.packets });
  t.rtp(stepAt + 24, sa.ip, sa.port, sb.ip, sb.port, { ssrc: sa.ssrc, seq: 1, ts: 0, count: o.packets });
  bye(setUp.d, stepAt + 50 + o.packets * 20);
  const reference = t.records();
  const atNs = BigInt(stepAt) * 1_000_000n;
  const stepNs = BigInt(o.stepMs) * 1_000_000n;
  const records = reference.map((r) => (r.tsNs >= atNs ? { ...r, tsNs: r.tsNs + stepNs } : r));
  return { records, reference, stepAtMs: stepAt, running: running.s, setUp: setUp.s };
}

/**
 * Early media of a rejected call: INVITE, 183 with SDP, the callee's announcement (RTP towards the
 * caller) starting `mediaDelayMs` after the 183, then 480 while or before it plays.
 */
export function rejectedCallEarlyMedia(o: { t0Ms: number; packets: number; rejectAfterMs: number; mediaDelayMs: number }): SipScenario {
  const t = new CaptureTimeline();
  const a = { ip: '10.1.0.13', port: 30000, ssrc: 0 };
  const b = { ip: '10.2.0.23', port: 40392, ssrc: 0x3796cb71 };
  const d = new DialogWriter(t, 'early-rejected@gen', a.ip, b.ip);
  const c = d.invite(o.t0Ms, audio(a.ip, a.port));
  d.respond(o.t0Ms + 100, 183, c, audio(b.ip, b.port));
  t.rtp(o.t0Ms + 100 + o.mediaDelayMs, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 28590, ts: 1000, count: o.packets });
  d.respond(o.t0Ms + 100 + o.rejectAfterMs, 480, c, null);
  d.ack(o.t0Ms + 101 + o.rejectAfterMs, c);
  return { records: t.records(), callId: 'early-rejected@gen', a, b, packets: { ab: 0, ba: o.packets } };
}

/**
 * `liveCalls` answered calls with media both ways for `seconds`, while `floodPerSecond` INVITEs with new
 * Call-IDs (never answered) arrive from a flooder. The live calls start first and send RTP all along.
 */
export function inviteFloodBesideCalls(o: { t0Ms: number; liveCalls: number; floodPerSecond: number; seconds: number }): { records: PcapRecord[]; liveCallIds: string[]; liveStreams: Array<{ src: string; srcPort: number; callId: string; packets: number }> } {
  const t = new CaptureTimeline();
  const liveCallIds: string[] = [];
  const liveStreams: Array<{ src: string; srcPort: number; callId: string; packets: number }> = [];
  const packets = (o.seconds * 1000) / 20;
  for (let i = 0; i < o.liveCalls; i++) {
    const a = `10.3.${i >> 8}.${i & 255}`;
    const b = `10.4.${i >> 8}.${i & 255}`;
    const id = `live-${i}@gen`;
    const d = new DialogWriter(t, id, a, b);
    const at = o.t0Ms + i * 5;
    const c = d.invite(at, audio(a, 20000));
    d.respond(at + 20, 200, c, audio(b, 30000));
    d.ack(at + 21, c);
    t.rtp(at + 30, a, 20000, b, 30000, { ssrc: 0x10000 + i, seq: 1, ts: 0, count: packets });
    t.rtp(at + 35, b, 30000, a, 20000, { ssrc: 0x20000 + i, seq: 1, ts: 0, count: packets });
    liveCallIds.push(id);
    liveStreams.push({ src: a, srcPort: 20000, callId: id, packets }, { src: b, srcPort: 30000, callId: id, packets });
  }
  const floodStart = o.t0Ms + o.liveCalls * 5 + 100;
  const n = Math.floor(o.floodPerSecond * o.seconds * 0.9);
  const gap = 1000 / o.floodPerSecond;
  for (let i = 0; i < n; i++) {
    const sdp = audio(`172.16.${(i >> 8) & 255}.${i & 255}`, 10000 + (i % 20000) * 2);
    t.sip(floodStart + i * gap, '172.31.0.1', '10.9.0.9', sipRequest('INVITE', 'sip:x@victim', { callId: `flood-${i}@attacker`, fromTag: `f${i}`, cseq: 1, body: sdpBody(sdp) }));
  }
  return { records: t.records(), liveCallIds, liveStreams };
}
