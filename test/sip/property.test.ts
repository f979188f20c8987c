import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/index.js';
import { sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { CallTracker, MAX_MEDIA_PER_SIDE } from '../../src/sip/index.js';

/**
 * Random dialogs (methods, statuses, SDP moves, port 0, hold, truncation, byte mutations) through a small
 * tracker: it never throws, the binding table always matches what the calls own, every retired binding
 * was announced, and endAll leaves nothing behind.
 */
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'PRACK', 'UPDATE', 'OPTIONS', 'REGISTER'];
const STATUSES = [100, 180, 183, 200, 401, 486, 488, 603];

/** null 80 % of the time: damaged messages are the exception, or dialogs would never progress. */
function rarely<T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });
}

const step = fc.record({
  call: fc.integer({ min: 0, max: 5 }),
  request: fc.boolean(),
  method: fc.constantFrom(...METHODS),
  status: fc.constantFrom(...STATUSES),
  fromCallee: fc.boolean(),
  cseq: fc.integer({ min: 1, max: 4 }),
  sdp: fc.option(
    fc.record({
      host: fc.integer({ min: 1, max: 4 }),
      ports: fc.array(fc.constantFrom(0, 4000, 4002, 4004, 5000), { minLength: 1, maxLength: MAX_MEDIA_PER_SIDE + 2 }),
      direction: fc.constantFrom(undefined, 'sendonly', 'inactive', 'sendrecv' as const),
      zero: fc.integer({ min: 0, max: 9 }).map((v) => v === 0),
      mux: fc.boolean(),
    }),
  ),
  mutate: rarely(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
  cut: rarely(fc.nat()),
  dtMs: fc.integer({ min: 0, max: 120_000 }),
});

describe('CallTracker under random dialogs', () => {
  it('keeps its invariants and never throws', () => {
    let created = 0;
    let moved = 0;
    const reasons: Record<string, number> = {};
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const live = new Set<number>();
        let retiredUnknown = 0;
        const tracker = new CallTracker(
          {
            onBinding: (id) => live.add(id),
            onBindingRetired: (id, reason) => {
              if (reason === 'moved') moved++;
              reasons[reason] = (reasons[reason] ?? 0) + 1;
              if (!live.delete(id)) retiredUnknown++;
            },
          },
          { maxCalls: 3, maxBindings: 12, idleMs: 100_000, maxAgeMs: 300_000, endedLingerMs: 5000, mediaLingerMs: 2000 },
        );
        const pkt = new DecodedPacket();
        pkt.ipVersion = 4;
        pkt.ipProto = 17;
        pkt.src2 = pkt.dst2 = 0xffff;
        pkt.src3 = 0xcb007105;
        pkt.dst3 = 0xc0000201;
        pkt.srcPort = pkt.dstPort = 5060;
        let now = 1_700_000_000_000;
        for (const s of steps) {
          now += s.dtMs;
          const tags = s.fromCallee ? { fromTag: 'b', toTag: 'a' } : { fromTag: 'a', toTag: s.cseq > 1 ? 'b' : undefined };
          const body = s.sdp
            ? sdpBody({ ip: s.sdp.zero ? '0.0.0.0' : `192.168.0.${s.sdp.host}`, direction: s.sdp.direction, media: s.sdp.ports.map((port) => ({ port, rtcpMux: s.sdp!.mux })) })
            : '';
          const callId = `call-${s.call}`;
          const raw = s.request
            ? sipRequest(s.method, 'sip:x@y', { callId, ...tags, cseq: s.cseq, body })
            : sipResponse(s.status, { callId, ...tags, cseq: s.cseq, cseqMethod: s.method, body });
          let bytes = text(raw);
          if (s.cut !== null) bytes = bytes.subarray(0, s.cut % (bytes.length + 1));
          if (s.mutate !== null && bytes.length > 0) bytes[s.mutate[0] % bytes.length] = s.mutate[1];
          pkt.payloadBuf = bytes;
          pkt.payloadOffset = 0;
          pkt.payloadLength = bytes.length;
          expect(tracker.onPacket(pkt, now)).toBe(true); // SIP port: always consumed
          tracker.expire(now);
          // Every live binding is owned by a live call slot and findable at its SDP address.
          expect(tracker.activeBindings).toBe(live.size);
          // A retired binding lingers (mediaLingerMs) in its call's list, never past the call's slot.
          for (const id of live) {
            const b = tracker.binding(id)!;
            expect(b).not.toBeNull();
            const call = tracker.call(b.callIndex)!;
            expect(call.callId).toBe(b.callId);
            if (b.retireAtMs > 0) {
              expect(call.lingering).toContain(b);
              expect(b.retireAtMs).toBeGreaterThan(now);
            } else {
              expect(call.state).not.toBe('ended');
              expect(call.bindings[b.side * MAX_MEDIA_PER_SIDE + b.mediaIndex]).toBe(id);
            }
          }
          expect(tracker.activeCalls).toBeLessThanOrEqual(3);
        }
        created += tracker.stats.bindingsCreated;
        tracker.endAll(now);
        expect(tracker.activeBindings).toBe(0);
        expect(live.size).toBe(0);
        expect(retiredUnknown).toBe(0);
      }),
      { numRuns: 300, seed: 3 } // fixed seed: the coverage counts below must not depend on luck,
    );
    // The generator really reaches the interesting paths.
    expect(created).toBeGreaterThan(300);
    expect(moved).toBeGreaterThan(5); // fewer than rejections: a re-offer moves media only with its 2xx
    expect(reasons.rejected).toBeGreaterThan(2);
  });
});
