import { describe, expect, it } from 'vitest';
import { multipartBody, rtp, sdpBody, sipRequest, sipResponse, tcpFrame, TcpFlags, text, udpFrame, type SdpSpec } from '../../src/gen/index.js';
import { CallTracker, type CallTrackerOptions } from '../../src/sip/index.js';
import { eachPacket, pcapOf, words } from './helpers.js';

const T0 = 1_700_000_000_000;

/** A tracker with every hook recorded as text, fed through the real pcap reader and decoder. */
/** Bindings retire at once unless a test sets mediaLingerMs (the linger has its own tests). */
function harness(opts: CallTrackerOptions = {}) {
  const o = { mediaLingerMs: 0, ...opts };
  const events: string[] = [];
  const tracker = new CallTracker(
    {
      onCallStart: (i, id) => events.push(`start ${i} ${id}`),
      onCallEnd: (i, r) => events.push(`end ${i} ${r}`),
      onBinding: (id, a, b, c, d, port) => events.push(`bind ${id} ${d >>> 24}.${(d >>> 16) & 255}.${(d >>> 8) & 255}.${d & 255}:${port}`),
      onBindingRetired: (id, r) => events.push(`retire ${id} ${r}`),
    },
    o,
  );
  const sipFlags: boolean[] = [];
  const feed = (frames: Array<[number, Uint8Array]>) =>
    eachPacket(pcapOf(frames), (pkt, nowMs) => {
      sipFlags.push(tracker.onPacket(pkt, nowMs));
    });
  const callIdAt = (ip: string, port: number) => {
    const id = tracker.findBinding(...words(ip), port);
    return id < 0 ? null : tracker.binding(id)!.callId;
  };
  return { tracker, events, feed, callIdAt, sipFlags };
}

const A = '10.0.0.1';
const B = '192.0.2.20';

function invite(callId: string, sdp: SdpSpec | null, o: { cseq?: number; headers?: Array<[string, string]>; toTag?: string } = {}) {
  return text(sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'caller', toTag: o.toTag, cseq: o.cseq ?? 1, headers: o.headers, body: sdp ? sdpBody(sdp) : '' }));
}
function resp(callId: string, status: number, sdp: SdpSpec | null, cseqMethod = 'INVITE', cseq = 1) {
  return text(sipResponse(status, { callId, fromTag: 'caller', toTag: 'callee', cseq, cseqMethod, body: sdp ? sdpBody(sdp) : '' }));
}
function req(method: string, callId: string, cseq: number, fromCallee = false, sdp: SdpSpec | null = null) {
  return text(
    sipRequest(method, 'sip:x@example.com', fromCallee ? { callId, fromTag: 'callee', toTag: 'caller', cseq, body: sdp ? sdpBody(sdp) : '' } : { callId, fromTag: 'caller', toTag: 'callee', cseq, body: sdp ? sdpBody(sdp) : '' }),
  );
}
const up = (payload: Uint8Array, t: number): [number, Uint8Array] => [T0 + t, udpFrame(A, 5060, B, 5060, payload)];
const down = (payload: Uint8Array, t: number): [number, Uint8Array] => [T0 + t, udpFrame(B, 5060, A, 5060, payload)];

describe('CallTracker dialogs', () => {
  it('binds offer and answer, RTCP port+1, ends on BYE and retires everything', () => {
    const h = harness();
    h.feed([
      up(invite('c1', { ip: A, media: [{ port: 4000 }] }), 0),
      down(resp('c1', 180, null), 10),
      down(resp('c1', 200, { ip: B, media: [{ port: 6000, rtcp: 6100 }] }), 20),
      up(req('ACK', 'c1', 1), 30),
    ]);
    expect(h.sipFlags).toEqual([true, true, true, true]);
    expect(h.callIdAt(A, 4000)).toBe('c1');
    expect(h.callIdAt(A, 4001)).toBe('c1');
    expect(h.callIdAt(B, 6000)).toBe('c1');
    expect(h.callIdAt(B, 6100)).toBe('c1');
    expect(h.callIdAt(B, 6001)).toBeNull();
    const b = h.tracker.binding(h.tracker.findBinding(...words(B), 6000))!;
    expect(b).toMatchObject({ side: 1, mediaIndex: 0, kind: 'audio', port: 6000, rtcpPort: 6100, direction: 'sendrecv', onHold: false });
    expect(b.payloads.get(8)?.name).toBe('PCMA');
    expect(b.payloads.get(0)?.clockRate).toBe(8000);
    h.feed([up(req('BYE', 'c1', 2), 5000), down(resp('c1', 200, null, 'BYE', 2), 5010)]);
    expect(h.callIdAt(A, 4000)).toBeNull();
    expect(h.callIdAt(B, 6000)).toBeNull();
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 0 bye']);
    expect(h.events.filter((e) => e.startsWith('retire')).length).toBe(2);
    expect(h.tracker.activeBindings).toBe(0);
  });

  it('a BYE (or its 2xx) whose tags name neither side of the dialog ends nothing, and is counted', () => {
    // A BYE for every Call-ID seen, from another host with tags of its own: the UAs answer 481 and talk on,
    // so the call, its bindings and its streams go on too.
    const h = harness();
    h.feed([up(invite('fb', { ip: A, media: [{ port: 4000 }] }), 0), down(resp('fb', 200, { ip: B, media: [{ port: 6000 }] }), 10), up(req('ACK', 'fb', 1), 20)]);
    const forged = (m: Uint8Array, t: number): [number, Uint8Array] => [T0 + t, udpFrame('198.51.100.9', 5060, B, 5060, m)];
    h.feed([
      forged(text(sipRequest('BYE', 'sip:x@example.com', { callId: 'fb', fromTag: 'forger', toTag: 'other', cseq: 99 })), 1000),
      forged(text(sipRequest('BYE', 'sip:x@example.com', { callId: 'fb', fromTag: 'forger', cseq: 100 })), 1001),
      forged(text(sipResponse(200, { callId: 'fb', fromTag: 'forger', toTag: 'other', cseq: 99, cseqMethod: 'BYE' })), 1002),
    ]);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual([]);
    expect(h.callIdAt(B, 6000)).toBe('fb');
    expect(h.tracker.stats.malformed['other-dialog']).toBe(3);
    // The dialog's own BYE, from the callee (its tags the other way round), still ends the call.
    h.feed([down(req('BYE', 'fb', 2, true), 2000)]);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 0 bye']);
    expect(h.callIdAt(B, 6000)).toBeNull();
  });

  it('a re-INVITE and its 200 with tags of their own move nothing in a confirmed call, and are counted', () => {
    const h = harness();
    h.feed([up(invite('fr', { ip: A, media: [{ port: 4000 }] }), 0), down(resp('fr', 200, { ip: B, media: [{ port: 6000 }] }), 10), up(req('ACK', 'fr', 1), 20)]);
    const forger = '198.51.100.9';
    const tags = { callId: 'fr', fromTag: 'forger', toTag: 'other', cseq: 5 };
    h.feed([
      [T0 + 1000, udpFrame(forger, 5060, B, 5060, text(sipRequest('INVITE', 'sip:x@example.com', { ...tags, body: sdpBody({ ip: forger, media: [{ port: 7000 }] }) })))],
      [T0 + 1001, udpFrame(B, 5060, forger, 5060, text(sipResponse(200, { ...tags, cseqMethod: 'INVITE', body: sdpBody({ ip: forger, media: [{ port: 7002 }] }) })))],
    ]);
    expect(h.callIdAt(A, 4000)).toBe('fr');
    expect(h.callIdAt(B, 6000)).toBe('fr');
    expect(h.callIdAt(forger, 7000)).toBeNull();
    expect(h.callIdAt(forger, 7002)).toBeNull();
    expect(h.events.filter((e) => e.startsWith('retire'))).toEqual([]);
    expect(h.tracker.stats.malformed['other-dialog']).toBe(2);
    // The dialog's own re-INVITE (from the callee: its tags the other way round) still moves media.
    h.feed([down(req('INVITE', 'fr', 6, true, { ip: B, media: [{ port: 6400 }] }), 2000), up(text(sipResponse(200, { callId: 'fr', fromTag: 'callee', toTag: 'caller', cseq: 6, cseqMethod: 'INVITE', body: sdpBody({ ip: A, media: [{ port: 4000 }] }) })), 2010)]);
    expect(h.callIdAt(B, 6400)).toBe('fr');
    expect(h.callIdAt(B, 6000)).toBeNull();
  });

  it('a CANCEL whose From tag is not the caller\'s ends no attempt, and is counted', () => {
    // RFC 3261 9.1: a CANCEL's From (tag included) is its INVITE's; one with a tag of its own is forged.
    const h = harness();
    h.feed([up(invite('fc', { ip: A, media: [{ port: 4000 }] }), 0), down(resp('fc', 183, { ip: B, media: [{ port: 6000 }] }), 10)]);
    h.feed([[T0 + 500, udpFrame('198.51.100.9', 5060, B, 5060, text(sipRequest('CANCEL', 'sip:bob@example.com', { callId: 'fc', fromTag: 'forger', cseq: 1 })))]]);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual([]);
    expect(h.callIdAt(B, 6000)).toBe('fc');
    expect(h.tracker.stats.malformed['other-dialog']).toBe(1);
    h.feed([up(text(sipRequest('CANCEL', 'sip:bob@example.com', { callId: 'fc', fromTag: 'caller', cseq: 1 })), 600)]);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 0 cancel']);
  });

  it('re-INVITE moving media retires the old binding and binds the new address', () => {
    const h = harness();
    h.feed([up(invite('mv', { ip: A, media: [{ port: 4000 }] }), 0), down(resp('mv', 200, { ip: B, media: [{ port: 6000 }] }), 10), up(req('ACK', 'mv', 1), 20)]);
    const oldId = h.tracker.findBinding(...words(B), 6000);
    h.events.length = 0;
    // Callee sends the re-INVITE: its SDP is side 1's new receive address.
    h.feed([down(req('INVITE', 'mv', 5, true, { ip: '192.0.2.21', media: [{ port: 7000 }] }), 1000), up(text(sipResponse(200, { callId: 'mv', fromTag: 'callee', toTag: 'caller', cseq: 5, cseqMethod: 'INVITE', body: sdpBody({ ip: A, media: [{ port: 4000 }] }) })), 1010)]);
    expect(h.events).toContain(`retire ${oldId} moved`);
    expect(h.events).toContain(`bind ${h.tracker.findBinding(...words('192.0.2.21'), 7000)} 192.0.2.21:7000`);
    expect(h.callIdAt(B, 6000)).toBeNull();
    expect(h.callIdAt('192.0.2.21', 7000)).toBe('mv');
    expect(h.callIdAt(A, 4000)).toBe('mv'); // unchanged answer keeps its binding
    expect(h.events.filter((e) => e.includes('retire')).length).toBe(1);
  });

  it('records hold (sendonly, c=0.0.0.0) and resume without losing the binding', () => {
    const h = harness();
    h.feed([up(invite('hold', { ip: A, media: [{ port: 4000 }] }), 0), down(resp('hold', 200, { ip: B, media: [{ port: 6000 }] }), 10)]);
    const id = h.tracker.findBinding(...words(A), 4000);
    // Each re-offer counts once its 200 is seen.
    h.feed([up(invite('hold', { ip: A, media: [{ port: 4000, direction: 'sendonly' }] }, { cseq: 2, toTag: 'callee' }), 100)]);
    expect(h.tracker.binding(id)).toMatchObject({ direction: 'sendrecv', onHold: false });
    h.feed([down(resp('hold', 200, { ip: B, media: [{ port: 6000, direction: 'recvonly' }] }, 'INVITE', 2), 110)]);
    expect(h.tracker.binding(id)).toMatchObject({ direction: 'sendonly', onHold: true });
    // The callee's binding knows its peer holds the m-line (its own SDP says recvonly here).
    const callee = h.tracker.findBinding(...words(B), 6000);
    expect(h.tracker.binding(callee)).toMatchObject({ direction: 'recvonly', onHold: false, peerHeld: true });
    // RFC 2543 hold answered with an ordinary sendrecv SDP: the callee's own SDP is sendrecv, its peer holds.
    h.feed([up(invite('hold', { ip: '0.0.0.0', media: [{ port: 4000 }] }, { cseq: 3, toTag: 'callee' }), 200), down(resp('hold', 200, { ip: B, media: [{ port: 6000 }] }, 'INVITE', 3), 210)]);
    expect(h.tracker.findBinding(...words(A), 4000)).toBe(id);
    expect(h.tracker.binding(id)!.onHold).toBe(true);
    expect(h.tracker.binding(callee)).toMatchObject({ direction: 'sendrecv', onHold: false, peerHeld: true });
    h.feed([up(invite('hold', { ip: A, media: [{ port: 4000 }] }, { cseq: 4, toTag: 'callee' }), 300), down(resp('hold', 200, null, 'INVITE', 4), 310)]);
    expect(h.tracker.binding(id)).toMatchObject({ direction: 'sendrecv', onHold: false, peerHeld: false });
    expect(h.tracker.binding(callee)).toMatchObject({ direction: 'sendrecv', onHold: false, peerHeld: false });
    expect(h.events.some((e) => e.startsWith('retire'))).toBe(false);
  });

  it('CANCEL and a 486 final response end the call; 407 does not', () => {
    const h = harness();
    h.feed([up(invite('cx', { ip: A, media: [{ port: 4100 }] }), 0), down(resp('cx', 180, null), 5), up(req('CANCEL', 'cx', 1), 10), down(resp('cx', 487, null), 15)]);
    expect(h.events).toContain('end 0 cancel');
    expect(h.callIdAt(A, 4100)).toBeNull();
    h.feed([up(invite('busy', { ip: A, media: [{ port: 4200 }] }), 100), down(resp('busy', 407, null), 105)]);
    expect(h.callIdAt(A, 4200)).toBe('busy');
    h.feed([up(invite('busy', { ip: A, media: [{ port: 4200 }] }, { cseq: 2 }), 110), down(resp('busy', 486, null, 'INVITE', 2), 120), up(req('ACK', 'busy', 2), 125)]);
    expect(h.callIdAt(A, 4200)).toBeNull();
    const idx = h.tracker.callIndexOf('busy');
    expect(h.tracker.call(idx)).toMatchObject({ state: 'ended', endReason: 'rejected', endStatus: 486 });
    // A failed re-INVITE (488) on a confirmed call leaves it alone.
    h.feed([up(invite('ok', { ip: A, media: [{ port: 4300 }] }), 200), down(resp('ok', 200, { ip: B, media: [{ port: 6300 }] }), 210), up(invite('ok', { ip: A, media: [{ port: 4300 }] }, { cseq: 2, toTag: 'callee' }), 300), down(resp('ok', 488, null, 'INVITE', 2), 310)]);
    expect(h.callIdAt(B, 6300)).toBe('ok');
  });

  it('after a fork fails, only its own late messages are ignored: another fork ringing or answering reopens the call', () => {
    const h = harness({ mediaLingerMs: 3000 }); // the offer's binding, still lingering, is the call's again
    const fork = (status: number, toTag: string, sdp: SdpSpec | null = null) => text(sipResponse(status, { callId: 'fk', fromTag: 'caller', toTag, cseq: 1, cseqMethod: 'INVITE', body: sdp ? sdpBody(sdp) : '' }));
    h.feed([up(invite('fk', { ip: A, media: [{ port: 4400 }] }), 0), down(fork(486, 'busy'), 5), up(req('ACK', 'fk', 1), 6), down(fork(180, 'busy'), 7)]);
    const idx = h.tracker.callIndexOf('fk');
    expect(h.tracker.call(idx)).toMatchObject({ state: 'ended', endReason: 'rejected', endStatus: 486 });
    h.feed([down(fork(180, 'ringing'), 20)]);
    expect(h.tracker.call(idx)).toMatchObject({ state: 'early', endReason: null, endStatus: 0 });
    h.feed([down(fork(200, 'ringing', { ip: B, media: [{ port: 6400 }] }), 30)]);
    expect(h.tracker.call(idx)!.state).toBe('confirmed');
    expect([h.callIdAt(A, 4400), h.callIdAt(B, 6400)]).toEqual(['fk', 'fk']);
    h.feed([up(text(sipRequest('BYE', 'sip:x@example.com', { callId: 'fk', fromTag: 'caller', toTag: 'ringing', cseq: 2 })), 40)]);
    expect(h.events.filter((e) => e.startsWith('end') || e.startsWith('start'))).toEqual(['start 0 fk', 'end 0 rejected', 'end 0 bye']);
  });

  it('a reopened call ended again lingers from its new end; media of other calls retires on time meanwhile', () => {
    const h = harness({ mediaLingerMs: 3000 });
    const fork = (status: number, toTag: string) => text(sipResponse(status, { callId: 'x', fromTag: 'caller', toTag, cseq: 1, cseqMethod: 'INVITE' }));
    h.feed([
      up(invite('x', { ip: A, media: [{ port: 4500 }] }), 0),
      up(invite('y', { ip: A, media: [{ port: 4600 }] }), 1),
      down(fork(486, 'first'), 10), // x ends: its binding lingers to 3010
      down(resp('y', 486, null), 100), // y ends: to 3100
      down(fork(180, 'second'), 500), // x goes on
      down(fork(480, 'second'), 1000), // and ends again: to 4000
    ]);
    h.tracker.expire(T0 + 3200);
    expect([h.callIdAt(A, 4500), h.callIdAt(A, 4600)]).toEqual(['x', null]);
    h.tracker.expire(T0 + 4000);
    expect(h.callIdAt(A, 4500)).toBeNull();
  });

  it('early media in 183 and SDP in PRACK/UPDATE bind; a port-0 answer rejects the stream', () => {
    const h = harness();
    h.feed([
      up(invite('early', { ip: A, media: [{ port: 4000 }, { kind: 'video', port: 4002, formats: [96], rtpmap: [[96, 'H264/90000']] }] }), 0),
      down(resp('early', 183, { ip: B, media: [{ port: 6000 }, { kind: 'video', port: 0, formats: [96] }] }), 10),
    ]);
    expect(h.callIdAt(B, 6000)).toBe('early');
    expect(h.callIdAt(A, 4002)).toBeNull(); // video rejected by the 183's port 0
    h.feed([up(req('UPDATE', 'early', 2, false, { ip: A, media: [{ port: 4010 }] }), 20)]);
    expect(h.callIdAt(A, 4000)).toBeNull();
    expect(h.callIdAt(A, 4010)).toBe('early');
  });

  it('announces bindings so streams seen before their SDP can be attached', () => {
    const h = harness();
    // RTP flows to B:6000 before any SIP (missed INVITE): not SIP, no binding yet.
    h.feed([[T0, udpFrame(A, 4000, B, 6000, rtp({ pt: 8, seq: 1, ts: 160, ssrc: 0x1234 }))]]);
    expect(h.sipFlags).toEqual([false]);
    expect(h.callIdAt(B, 6000)).toBeNull();
    h.feed([down(resp('late', 200, { ip: B, media: [{ port: 6000, rtcpMux: true }] }), 100)]);
    const id = h.tracker.findBinding(...words(B), 6000);
    expect(h.events).toEqual(['start 0 late', `bind ${id} ${B}:6000`]); // rtcp-mux: one address for both
    expect(h.tracker.binding(id)!.rtcpPort).toBe(6000);
  });

  it('NAT: a private SDP address also binds the SIP packet source with the SDP ports', () => {
    const h = harness();
    h.feed([[T0, udpFrame('203.0.113.5', 5060, B, 5060, invite('nat', { ip: '192.168.1.10', media: [{ port: 8000 }] }))]]);
    expect(h.callIdAt('192.168.1.10', 8000)).toBe('nat');
    expect(h.callIdAt('203.0.113.5', 8000)).toBe('nat');
    expect(h.callIdAt('203.0.113.5', 8001)).toBe('nat');
    const off = harness({ natBindSource: false });
    off.feed([[T0, udpFrame('203.0.113.5', 5060, B, 5060, invite('nat', { ip: '192.168.1.10', media: [{ port: 8000 }] }))]]);
    expect(off.callIdAt('203.0.113.5', 8000)).toBeNull();
    // A public SDP address is trusted as is.
    const pub = harness();
    pub.feed([[T0, udpFrame('203.0.113.5', 5060, B, 5060, invite('pub', { ip: '198.51.100.1', media: [{ port: 8000 }] }))]]);
    expect(pub.callIdAt('203.0.113.5', 8000)).toBeNull();
  });

  it('B2BUA: each leg keeps its Call-ID; X-CID and the _b2b-1 suffix give the A leg', () => {
    const h = harness({ aLegHeaders: ['X-Leg', 'X-CID'] });
    h.feed([
      up(invite('aleg', { ip: A, media: [{ port: 4000 }] }), 0),
      [T0 + 5, udpFrame(B, 5060, '198.51.100.9', 5060, invite('bleg', { ip: B, media: [{ port: 20000 }] }, { headers: [['X-CID', 'aleg']] }))],
      [T0 + 6, udpFrame(B, 5060, '198.51.100.9', 5060, invite('aleg_b2b-1', { ip: B, media: [{ port: 20002 }] }))],
    ]);
    const b = h.tracker.binding(h.tracker.findBinding(...words(B), 20000))!;
    expect(b).toMatchObject({ callId: 'bleg', xcid: 'aleg', aLegCallId: 'aleg' });
    expect(h.tracker.aLegIndexOf(b.callIndex)).toBe(h.tracker.callIndexOf('aleg'));
    const s = h.tracker.binding(h.tracker.findBinding(...words(B), 20002))!;
    expect(s).toMatchObject({ callId: 'aleg_b2b-1', xcid: '', aLegCallId: 'aleg' });
    expect(h.callIdAt(A, 4000)).toBe('aleg');
  });

  it('IPv6 signalling and media', () => {
    const h = harness();
    const a6 = '2001:db8::1';
    const b6 = '2001:db8::2';
    h.feed([
      [T0, udpFrame(a6, 5060, b6, 5060, invite('v6', { ip: a6, media: [{ port: 4000 }] }))],
      [T0 + 10, udpFrame(b6, 5060, a6, 5060, resp('v6', 200, { ip: b6, media: [{ port: 6000 }] }))],
    ]);
    expect(h.callIdAt(a6, 4000)).toBe('v6');
    expect(h.callIdAt(b6, 6001)).toBe('v6');
    expect(h.callIdAt('2001:db8::3', 6000)).toBeNull();
  });

  it('multipart SDP binds', () => {
    const h = harness();
    const mp = multipartBody([['application/sdp', sdpBody({ ip: A, media: [{ port: 4500 }] })], ['application/isup', 'x']]);
    h.feed([up(text(sipRequest('INVITE', 'sip:b@h', { callId: 'mp', fromTag: 'caller', cseq: 1, body: mp.body, contentType: mp.contentType, compact: true })), 0)]);
    expect(h.callIdAt(A, 4500)).toBe('mp');
  });

  it('expires idle and too old calls by capture time, evicts the least recent call when full', () => {
    const h = harness({ idleMs: 60_000, maxAgeMs: 600_000, endedLingerMs: 1000, maxCalls: 2 });
    h.feed([up(invite('x1', { ip: A, media: [{ port: 4000 }] }), 0), up(invite('x2', { ip: A, media: [{ port: 4002 }] }), 1000)]);
    h.tracker.expire(T0 + 30_000);
    expect(h.tracker.activeCalls).toBe(2);
    h.tracker.touch(h.tracker.callIndexOf('x1'), T0 + 30_000);
    h.tracker.expire(T0 + 61_500);
    expect(h.events).toContain('end 1 idle-timeout'); // x2 (slot 1) idle; x1 was touched by its media
    expect(h.callIdAt(A, 4002)).toBeNull();
    expect(h.callIdAt(A, 4000)).toBe('x1');
    // Full: x3 and x4 arrive; x3 (never answered) is evicted when x4 needs room, not x1 (media flowing)
    // although x1 was less recently active.
    h.feed([up(invite('x3', { ip: A, media: [{ port: 4004 }] }), 62_000), up(invite('x4', { ip: A, media: [{ port: 4006 }] }), 63_000)]);
    expect(h.tracker.stats.callsEvicted).toBe(1);
    expect(h.tracker.stats.callsEvictedByKind).toEqual({ ended: 0, unanswered: 1, answered: 0, media: 0, refused: 0 });
    expect(h.callIdAt(A, 4000)).toBe('x1');
    expect(h.callIdAt(A, 4004)).toBeNull();
    expect(h.callIdAt(A, 4006)).toBe('x4');
    h.tracker.expire(T0 + 700_000);
    expect(h.tracker.activeCalls).toBe(0);
    expect(h.tracker.activeBindings).toBe(0);
    expect(h.events.filter((e) => e.endsWith('max-age') || e.endsWith('idle-timeout')).length).toBe(3);
  });

  it('garbage on the SIP port is consumed and counted, never thrown', () => {
    const h = harness();
    h.feed([
      up(text('\r\n\r\n'), 0),
      up(text('INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n'), 1),
      up(text('NOT SIP AT ALL'), 2),
      up(text(sipRequest('INVITE', 'sip:b@h', { callId: 'bad-sdp', fromTag: 'f', cseq: 1, body: 'v=0\r\nc=IN IP4 999.1.1.1\r\nm=audio 4000 RTP/AVP 0\r\n' })), 3),
      up(text(sipRequest('REGISTER', 'sip:h', { callId: 'reg', fromTag: 'f', cseq: 1 })), 4),
      [T0 + 5, udpFrame(A, 7777, B, 8888, text('random udp'))],
    ]);
    expect(h.sipFlags).toEqual([true, true, true, true, true, false]);
    expect(h.tracker.stats.keepalives).toBe(1);
    expect(h.tracker.stats.malformed['missing-call-id']).toBe(1);
    expect(h.tracker.stats.malformed['bad-start-line']).toBe(1);
    expect(h.tracker.stats.sdpWithoutAddress).toBe(1);
    expect(h.tracker.stats.ignoredNoCall).toBe(1);
  });
});

describe('SIP over TCP', () => {
  const sdpA: SdpSpec = { ip: A, media: [{ port: 4000 }] };
  const msgs = [invite('t1', sdpA), invite('t2', { ip: A, media: [{ port: 4002 }] }), invite('t3', { ip: A, media: [{ port: 4004 }] })];
  const stream = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let o = 0;
  for (const m of msgs) {
    stream.set(m, o);
    o += m.length;
  }

  function segments(cuts: number[], seq0 = 1000): Array<[number, Uint8Array]> {
    const out: Array<[number, Uint8Array]> = [];
    let prev = 0;
    for (const c of [...cuts, stream.length]) {
      out.push([T0 + out.length, tcpFrame(A, 40000, B, 5060, seq0 + prev, stream.subarray(prev, c))]);
      prev = c;
    }
    return out;
  }

  it('reassembles messages split across segments and several per segment', () => {
    const cuts = [10, msgs[0].length + 40, msgs[0].length + msgs[1].length + 3, stream.length - 7];
    const h = harness();
    h.feed(segments(cuts));
    expect(h.callIdAt(A, 4000)).toBe('t1');
    expect(h.callIdAt(A, 4002)).toBe('t2');
    expect(h.callIdAt(A, 4004)).toBe('t3');
    expect(h.tracker.stats.sipTcp).toBe(3);
    expect(h.sipFlags.every((f) => f)).toBe(true);
  });

  it('every split point of the stream gives the same three calls (sequence wrap included)', () => {
    for (let cut = 1; cut < stream.length; cut += 7) {
      const h = harness();
      h.feed(segments([cut], 0xffffff00));
      expect([h.callIdAt(A, 4000), h.callIdAt(A, 4002), h.callIdAt(A, 4004)], `cut ${cut}`).toEqual(['t1', 't2', 't3']);
    }
  });

  it('skips retransmissions and resyncs after a gap at the next message start', () => {
    const h = harness();
    const s = segments([msgs[0].length - 50, msgs[0].length, msgs[0].length + msgs[1].length]);
    // Retransmit segment 0, lose segment 1 (tail of t1), then t2 and t3 arrive intact.
    h.feed([s[0], s[0], s[2], s[3]]);
    expect(h.callIdAt(A, 4000)).toBeNull();
    expect(h.callIdAt(A, 4002)).toBe('t2');
    expect(h.callIdAt(A, 4004)).toBe('t3');
    expect(h.tracker.tcpStats.gaps).toBe(1);
    // t1, its tail lost, is a message not used.
    expect(h.tracker.stats.malformed['tcp-gap']).toBe(1);
  });

  it('ignores non-SIP TCP, forgets connections on FIN, and bounds connections and buffers', () => {
    const h = harness({ maxTcpConnections: 2, maxTcpBuffer: 2048 });
    h.feed([
      [T0, tcpFrame(A, 1234, B, 80, 1, text('GET / HTTP/1.1\r\n\r\n'))],
      [T0 + 1, tcpFrame(A, 40001, B, 5060, 1, stream.subarray(0, 30))],
      [T0 + 2, tcpFrame(A, 40002, B, 5060, 1, stream.subarray(0, 30))],
      [T0 + 3, tcpFrame(A, 40003, B, 5060, 1, stream.subarray(0, 30))],
    ]);
    expect(h.sipFlags[0]).toBe(false);
    expect(h.tracker.tcpStats.evicted).toBe(1);
    expect(h.tracker.tcpStats.connections).toBe(2);
    // A header block that never ends overflows the per-connection buffer and is dropped.
    const huge = text('INVITE sip:x SIP/2.0\r\n' + 'X-Pad: y\r\n'.repeat(300));
    h.feed([[T0 + 4, tcpFrame(A, 40004, B, 5060, 1, huge)]]);
    expect(h.tracker.tcpStats.overflows).toBe(1);
    expect(h.tracker.stats.malformed['tcp-too-long']).toBe(1);
    h.feed([[T0 + 5, tcpFrame(A, 40004, B, 5060, 1 + huge.length, new Uint8Array(0), TcpFlags.FIN | TcpFlags.ACK)]]);
    expect(h.tracker.tcpStats.connections).toBe(1);
  });
});

describe('SIP over TCP a few bytes per segment (a slow or hostile sender)', () => {
  /** Feeds `msg` from A:40000 in segments of `size` bytes; the bytes the SIP parser was handed in all. */
  function trickle(msg: Uint8Array, size: number) {
    const h = harness();
    const parser = (h.tracker as unknown as { parser: { parse: (b: Uint8Array, off: number, len: number, stream: boolean) => unknown } }).parser;
    const parse = parser.parse.bind(parser);
    let parsed = 0;
    parser.parse = (b, off, len, stream) => {
      parsed += len;
      return parse(b, off, len, stream);
    };
    const frames: Array<[number, Uint8Array]> = [];
    for (let at = 0; at < msg.length; at += size) frames.push([T0 + frames.length, tcpFrame(A, 40000, B, 5060, 1 + at, msg.subarray(at, Math.min(msg.length, at + size)))]);
    h.feed(frames);
    return { h, parsed };
  }
  const padded = invite('slow', { ip: A, media: [{ port: 4000 }] }, { headers: Array.from({ length: 80 }, (_, k) => [`X-Pad-${k}`, 'p'.repeat(100)] as [string, string]) });

  it('an INVITE of 9 KB one byte per segment: the call is read, each byte parsed about once, not once per segment', () => {
    expect(padded.length).toBeGreaterThan(9000);
    for (const size of [1, 3, 40]) {
      const { h, parsed } = trickle(padded, size);
      expect(h.callIdAt(A, 4000), `${size} B per segment`).toBe('slow');
      expect(parsed, `${size} B per segment`).toBeLessThan(3 * padded.length);
    }
  });

  it('a header block that never ends, one byte per segment up to the buffer limit: parsed about once, then dropped', () => {
    const endless = text('INVITE sip:b@h SIP/2.0\r\n' + 'X-Pad: p\r\n'.repeat(7000));
    const { h, parsed } = trickle(endless, 1);
    expect(h.tracker.tcpStats.overflows).toBe(1);
    expect(h.tracker.stats.malformed['tcp-too-long']).toBe(1);
    expect(parsed).toBeLessThan(3 * endless.length);
  });
});

describe('SIP over TCP: a message longer than the connection buffer (64 KiB)', () => {
  const huge = text(sipRequest('MESSAGE', 'sip:b@h', { callId: 'huge', fromTag: 'a', cseq: 1, contentType: 'text/plain', body: 'x'.repeat(70_000) }));
  const next = invite('after-huge', { ip: A, media: [{ port: 4010 }] });
  const stream = Uint8Array.from([...huge, ...next]);

  it('is passed over to its last byte by its Content-Length and counted (tcp-too-long); the message after it on the connection is read, whatever the segment sizes', () => {
    for (const size of [7, 1400, 60_000]) {
      const h = harness();
      const frames: Array<[number, Uint8Array]> = [];
      for (let at = 0; at < stream.length; at += size) frames.push([T0 + frames.length, tcpFrame(A, 40000, B, 5060, 1 + at, stream.subarray(at, Math.min(stream.length, at + size)))]);
      // A retransmission of a segment inside the long message changes nothing.
      frames.splice(3, 0, frames[1]!);
      h.feed(frames);
      expect(h.callIdAt(A, 4010), `${size} B per segment`).toBe('after-huge');
      expect(h.tracker.stats.malformed['tcp-too-long'], `${size} B per segment`).toBe(1);
      expect(h.tracker.tcpStats.gaps, `${size} B per segment`).toBe(0);
    }
  });

  it('a bogus Content-Length (10 MB on a short message) blinds the connection only up to the next segment that begins with a start line', () => {
    const h = harness();
    const bogus = text(sipRequest('MESSAGE', 'sip:b@h', { callId: 'bogus', fromTag: 'a', cseq: 1, contentType: 'text/plain', body: 'hello' }).replace('Content-Length: 5', 'Content-Length: 10000000'));
    h.feed([
      [T0, tcpFrame(A, 40000, B, 5060, 1, bogus)],
      [T0 + 1, tcpFrame(A, 40000, B, 5060, 1 + bogus.length, next)],
    ]);
    expect(h.callIdAt(A, 4010)).toBe('after-huge');
    expect(h.tracker.stats.malformed['tcp-too-long']).toBe(1);
  });
});

describe('SIP over TCP out of order', () => {
  const msgs = [1, 2, 3].map((n) => text(sipRequest('INVITE', 'sip:b@h', { callId: `o${n}`, fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.0.0.1', media: [{ port: 4000 + n * 2 }] }) })));
  const stream = Uint8Array.from(msgs.flatMap((m) => [...m]));
  const seg = (from: number, to: number, t: number): [number, Uint8Array] => [T0 + t, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5060, 5000 + from, stream.subarray(from, to))];
  const c1 = msgs[0].length + 25;
  const c2 = msgs[0].length + msgs[1].length + 9;

  it('holds one segment that arrives early (adjacent swap) and loses nothing', () => {
    const h = harness();
    h.feed([seg(0, c1, 0), seg(c2, stream.length, 1), seg(c1, c2, 2)]);
    expect(['o1', 'o2', 'o3'].map((id, i) => h.callIdAt('10.0.0.1', 4002 + i * 2))).toEqual(['o1', 'o2', 'o3']);
    expect(h.tracker.tcpStats.held).toBe(1);
    expect(h.tracker.tcpStats.gaps).toBe(0);
  });

  it('a real loss resumes at the held segment when it starts a message', () => {
    const b1 = msgs[0].length;
    const b2 = msgs[0].length + msgs[1].length;
    const h = harness();
    // Segment [b1-40, b1) is lost; [b1, b2) is held; [b2, end) shows the gap is real.
    h.feed([seg(0, b1 - 40, 0), seg(b1, b2, 1), seg(b2, stream.length, 2)]);
    expect(h.callIdAt('10.0.0.1', 4002)).toBeNull();
    expect(h.callIdAt('10.0.0.1', 4004)).toBe('o2');
    expect(h.callIdAt('10.0.0.1', 4006)).toBe('o3');
    expect(h.tracker.tcpStats.gaps).toBe(1);
    expect(h.tracker.stats.malformed['tcp-gap']).toBe(1);
  });

  it('a Content-Length shorter than the body: the stream is out of step (tcp-desync) until a segment starts a message', () => {
    const h = harness();
    const short = text(sipRequest('MESSAGE', 'sip:b@h', { callId: 'short', fromTag: 'a', cseq: 1, contentType: 'text/plain', body: 'x'.repeat(50) }).replace('Content-Length: 50', 'Content-Length: 10'));
    const lost = msgs[0];
    h.feed([
      [T0, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5060, 1, Uint8Array.from([...short, ...lost]))],
      [T0 + 1, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5060, 1 + short.length + lost.length, msgs[1])],
    ]);
    expect(h.callIdAt('10.0.0.1', 4002)).toBeNull();
    expect(h.callIdAt('10.0.0.1', 4004)).toBe('o2');
    expect(h.tracker.stats.malformed['tcp-desync']).toBe(1);
  });

  it('a connection that ends (FIN) or is forgotten (table full) with a message half received counts it (tcp-incomplete)', () => {
    const h = harness({ maxTcpConnections: 1 });
    const m = msgs[0];
    h.feed([[T0, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5060, 1, m.subarray(0, 100))]]);
    h.feed([[T0 + 1, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5060, 101, m.subarray(100, 200), TcpFlags.FIN | TcpFlags.ACK)]]);
    expect(h.tracker.stats.malformed['tcp-incomplete']).toBe(1);
    // The only slot taken by a connection with half a message; another connection evicts it.
    h.feed([[T0 + 2, tcpFrame('10.0.0.1', 40001, '192.0.2.20', 5060, 1, m.subarray(0, 100))]]);
    h.feed([[T0 + 3, tcpFrame('10.0.0.1', 40002, '192.0.2.20', 5060, 1, m)]]);
    expect(h.callIdAt('10.0.0.1', 4002)).toBe('o1');
    expect(h.tracker.stats.malformed['tcp-incomplete']).toBe(2);
  });
});

describe('RTP and RTCP address priority', () => {
  it('an implicit RTCP port never takes another call RTP address; RTP takes a stale RTCP address', () => {
    const h = harness();
    h.feed([up(invite('r1', { ip: A, media: [{ port: 4001 }] }), 0)]); // RTP 4001, RTCP 4002
    h.feed([up(invite('r2', { ip: A, media: [{ port: 4000 }] }), 10)]); // RTP 4000, RTCP 4001 would collide
    expect(h.callIdAt(A, 4001)).toBe('r1');
    expect(h.tracker.isRtcpAddress(...words(A), 4001)).toBe(false);
    expect(h.tracker.stats.rtcpKeysYielded).toBe(1);
    h.feed([up(invite('r3', { ip: A, media: [{ port: 4002 }] }), 20)]); // RTP 4002 takes r1's RTCP address
    expect(h.callIdAt(A, 4002)).toBe('r3');
    expect(h.tracker.isRtcpAddress(...words(A), 4003)).toBe(true);
    expect(h.tracker.stats.keysTakenOver).toBe(1);
  });
});
