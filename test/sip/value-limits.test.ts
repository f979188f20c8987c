/**
 * What the call tracker keeps of SIP text is bounded (SIP_VALUE_LIMITS, SDP_TEXT_LIMITS): a flood of
 * messages with huge Call-IDs, tags, User-Agents or SDP tokens holds no more memory than ordinary calls.
 * A Call-ID, X-CID or tag past its bound is refused with the message (counted as 'value-too-long'), never
 * truncated: two calls whose ids share their first bytes never merge. A User-Agent is only shown, so it
 * is cut. Heap is measured after full collections.
 */
import { describe, expect, it } from 'vitest';
import { heapAfterGc as heap } from '../heap.js';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { sdpBody, sipRequest, sipResponse, tcpFrame, TcpFlags, text, udpFrame } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { CallTracker, MAX_MEDIA_PER_SIDE, parseSdp, SDP_TEXT_LIMITS, SIP_VALUE_LIMITS } from '../../src/sip/index.js';
import { eachPacket, pcapOf } from './helpers.js';


const T0 = 1_750_000_000_000;
const A = '10.0.0.1';
const B = '192.0.2.20';

const offer = (port: number) => sdpBody({ ip: A, media: [{ port, formats: [8] }] });
const invite = (callId: string, o: { fromTag?: string; headers?: Array<[string, string]>; body?: string } = {}) =>
  text(sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: o.fromTag ?? 'caller', cseq: 1, headers: o.headers, body: o.body ?? offer(4000) }));

function feed(tracker: CallTracker, payloads: Uint8Array[]): void {
  eachPacket(pcapOf(payloads.map((p, i) => [T0 + i, udpFrame(A, 5060, B, 5060, p)])), (pkt, nowMs) => tracker.onPacket(pkt, nowMs));
}

/** `n` characters of `c` after `prefix` (distinct prefixes, same tail). */
const long = (prefix: string, n: number, c = 'x') => prefix + c.repeat(n - prefix.length);

describe('SIP values the call tracker keeps', () => {
  it('5,000 INVITEs with 30 KB Call-IDs are refused and counted: no call, no binding, the heap does not grow by their ids', () => {
    const tracker = new CallTracker();
    feed(tracker, [invite('warm@x')]); // code compiled, tables touched
    const h0 = heap();
    // In parts of 100 messages (the whole flood at once would be 150 MB of frames on a shared machine).
    for (let part = 0; part < 50; part++) feed(tracker, Array.from({ length: 100 }, (_, i) => invite(long(`${part}-${i}-`, 30_000), { body: offer(6000 + 2 * i) })));
    const grown = heap() - h0;
    expect(tracker.stats.malformed['value-too-long']).toBe(5000);
    expect(tracker.activeCalls).toBe(1);
    expect(tracker.activeBindings).toBe(1);
    expect(grown, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(8 * 2 ** 20);
  });

  it('the pipeline tells its integrator of each refused message (the live run warns, rate-limited)', () => {
    let refused = 0;
    const p = new Pipeline(defaultConfig(), { qos: () => {}, rtcp: () => {} }, { sipValueTooLong: () => refused++ });
    const frames: Array<[number, Uint8Array]> = [invite(long('a-', 1000)), invite('ok@x'), invite('b@x', { fromTag: long('t', 500) })].map((m, i) => [T0 + i, udpFrame(A, 5060, B, 5060, m)]);
    for (const batch of readCaptureBuffer(pcapOf(frames))) p.processBatch(batch);
    expect(refused).toBe(2);
    expect(p.calls.activeCalls).toBe(1);
  });

  it('a Call-ID at the bound is tracked exactly; two past it that share their first bytes are both refused, never merged', () => {
    const tracker = new CallTracker();
    const atBound = long('edge-', SIP_VALUE_LIMITS.callIdBytes);
    const past1 = long('past-', SIP_VALUE_LIMITS.callIdBytes) + '1';
    const past2 = long('past-', SIP_VALUE_LIMITS.callIdBytes) + '2';
    feed(tracker, [invite(atBound), invite(past1, { body: offer(4100) }), invite(past2, { body: offer(4200) })]);
    expect(tracker.callIndexOf(atBound)).toBeGreaterThanOrEqual(0);
    expect(tracker.call(tracker.callIndexOf(atBound))!.callId).toBe(atBound);
    expect(tracker.activeCalls).toBe(1);
    expect(tracker.stats.malformed['value-too-long']).toBe(2);
  });

  it('an X-CID or a tag past its bound refuses the message; a User-Agent past its bound is cut', () => {
    const tracker = new CallTracker();
    feed(tracker, [
      invite('xcid@x', { headers: [['X-CID', long('a-', SIP_VALUE_LIMITS.callIdBytes + 1)]] }),
      invite('tag@x', { fromTag: long('t', SIP_VALUE_LIMITS.tagBytes + 1), body: offer(4100) }),
      invite('ua@x', { headers: [['User-Agent', long('Phone ', 10_000)]], body: offer(4200) }),
    ]);
    expect(tracker.stats.malformed['value-too-long']).toBe(2);
    expect(tracker.callIndexOf('xcid@x')).toBe(-1);
    expect(tracker.callIndexOf('tag@x')).toBe(-1);
    const ua = tracker.call(tracker.callIndexOf('ua@x'))!.userAgents[0];
    expect(ua).toBe(long('Phone ', SIP_VALUE_LIMITS.userAgentBytes));
  });

  it('a refused message over TCP is skipped whole: the next message on the connection is read', () => {
    const tracker = new CallTracker();
    const stream = Buffer.concat([invite(long('tcp-', 2000)), invite('after@x', { body: offer(4300) })]);
    const frames: Array<[number, Uint8Array]> = [
      [T0, tcpFrame(A, 40000, B, 5060, 999, new Uint8Array(0), TcpFlags.SYN)],
      [T0 + 1, tcpFrame(A, 40000, B, 5060, 1000, stream, TcpFlags.ACK | TcpFlags.PSH)],
    ];
    eachPacket(pcapOf(frames), (pkt, nowMs) => tracker.onPacket(pkt, nowMs));
    expect(tracker.stats.malformed['value-too-long']).toBe(1);
    expect(tracker.callIndexOf('after@x')).toBeGreaterThanOrEqual(0);
  });

  it('a full table of calls with every kept value at its bound and the most SDP a call keeps costs under 24 KB per call', () => {
    const calls = 4096;
    const tracker = new CallTracker({}, { maxCalls: calls });
    feed(tracker, [invite('warm@x')]);
    // Each side: MAX_MEDIA_PER_SIDE m= lines of every payload type, each one not static named by an rtpmap
    // (one name at the length bound); the binding table holds 4 per call.
    const formats = Array.from({ length: 128 }, (_, k) => k);
    const rtpmap = formats.filter((k) => k >= 35).map((k): [number, string] => [k, `${k === 127 ? 'E'.repeat(SDP_TEXT_LIMITS.tokenChars - 3) : 'E'}${k}/8000`]);
    const sdp = (ip: string) => sdpBody({ ip, media: Array.from({ length: MAX_MEDIA_PER_SIDE }, (_, m) => ({ port: 2000 + 2 * m, formats, rtpmap })) });
    const h0 = heap();
    for (let part = 0; part < calls / 128; part++) {
      const frames: Array<[number, Uint8Array]> = [];
      for (let i = 0; i < 128; i++) {
        const c = part * 128 + i;
        const tags = { callId: long(`${c}-`, SIP_VALUE_LIMITS.callIdBytes), fromTag: long(`f${c}-`, SIP_VALUE_LIMITS.tagBytes), cseq: 1 };
        const ua: Array<[string, string]> = [['User-Agent', long(`ua${c}-`, SIP_VALUE_LIMITS.userAgentBytes)], ['X-CID', long(`x${c}-`, SIP_VALUE_LIMITS.callIdBytes)]];
        const ip = `10.${c >> 16}.${(c >> 8) & 255}.${c & 255}`;
        frames.push([T0 + c, udpFrame(A, 5060, B, 5060, text(sipRequest('INVITE', 'sip:bob@example.com', { ...tags, headers: ua, body: sdp(ip) })))]);
        const answer = sipResponse(183, { ...tags, toTag: long(`t${c}-`, SIP_VALUE_LIMITS.tagBytes), cseqMethod: 'INVITE', headers: [['Server', long(`s${c}-`, SIP_VALUE_LIMITS.userAgentBytes)]], body: sdp(`172.16.${(c >> 8) & 255}.${c & 255}`) });
        frames.push([T0 + c, udpFrame(B, 5060, A, 5060, text(answer))]);
      }
      eachPacket(pcapOf(frames), (pkt, nowMs) => tracker.onPacket(pkt, nowMs));
    }
    const perCall = (heap() - h0) / calls;
    console.log(`${Math.round(perCall)} B per call, every value at its bound, ${tracker.activeBindings} bindings`);
    expect(tracker.activeCalls).toBe(calls);
    expect(perCall).toBeLessThan(24 * 1024);
  });

  it('SDP keeps no token past its bound: encoding names, media types and transports; formats once each', () => {
    const name = 'N'.repeat(10_000);
    const sdp = parseSdp(
      `v=0\r\nc=IN IP4 ${A}\r\nm=${'k'.repeat(10_000)} 4000 RTP/${'P'.repeat(10_000)} ${'96 '.repeat(20_000)}8\r\na=rtpmap:96 ${name}/8000\r\n`,
    )!;
    const m = sdp.media[0]!;
    expect(m.kind.length).toBeLessThanOrEqual(SDP_TEXT_LIMITS.tokenChars);
    expect(m.proto.length).toBeLessThanOrEqual(SDP_TEXT_LIMITS.tokenChars);
    expect(m.formats).toEqual([96, 8]);
    expect(m.payloads.get(96)).toBeUndefined(); // its name is no encoding name: the type stays unknown
    expect(m.payloads.get(8)?.name).toBe('PCMA');
  });
});
