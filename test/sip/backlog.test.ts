import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodedPacket } from '../../src/decode/packet.js';
import { SipBacklog } from '../../src/sip/index.js';

/** A packet whose every field the backlog keeps is derived from `n`, with `len` payload bytes. */
function packet(n: number, len: number): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = n & 1 ? 6 : 4;
  p.ipProto = n & 2 ? 6 : 17;
  [p.src0, p.src1, p.src2, p.src3] = [n, 0xffffffff - n, 0xffff, 0x0a000000 + n];
  [p.dst0, p.dst1, p.dst2, p.dst3] = [0, n * 7, 0xffff, 0xc0000201];
  p.srcPort = 5060 + (n % 100);
  p.dstPort = 40000 + (n % 1000);
  p.tcpSeq = (0x80000000 + n * 1013) >>> 0;
  p.tcpFlags = n & 0x3f;
  p.tsSec = 1_700_000_000 + n;
  p.tsNsec = (n * 7919) % 1_000_000_000;
  // The payload sits inside a larger buffer (as in a capture batch).
  const buf = new Uint8Array(len + 10);
  for (let i = 0; i < len; i++) buf[5 + i] = (n + i * 31) & 0xff;
  p.payloadBuf = buf;
  p.payloadOffset = 5;
  p.payloadLength = len;
  // Every third cut short by the snap length: the tracker counts those.
  p.payloadWireLength = n % 3 === 0 ? len + 500 : len;
  return p;
}

const FIELDS = ['ipVersion', 'ipProto', 'src0', 'src1', 'src2', 'src3', 'dst0', 'dst1', 'dst2', 'dst3', 'srcPort', 'dstPort', 'tcpSeq', 'tcpFlags', 'tsSec', 'tsNsec', 'payloadWireLength'] as const;
const view = (p: DecodedPacket) => ({ ...Object.fromEntries(FIELDS.map((f) => [f, p[f]])), payload: Array.from(p.payloadBuf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)) });

describe('SipBacklog', () => {
  it('gives back what went in, in order, and refuses (keeping nothing) when entries or payload bytes run out', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1200 }), fc.constant(-1)), { maxLength: 300 }),
        (entries, bytes, ops) => {
          const q = new SipBacklog(entries, bytes);
          const model: Array<{ view: ReturnType<typeof view>; now: number }> = [];
          let n = 0;
          const out = new DecodedPacket();
          for (const op of ops) {
            if (op < 0) {
              const now = q.shift(out);
              const want = model.shift();
              if (want === undefined) expect(now).toBeNaN();
              else {
                expect(now).toBe(want.now);
                expect(view(out)).toEqual(want.view);
              }
            } else {
              const p = packet(++n, op);
              const used = model.reduce((s, m) => s + m.view.payload.length, 0);
              const ok = q.push(p, n * 1.5);
              if (ok) model.push({ view: view(p), now: n * 1.5 });
              // Never refused while the payloads, even laid out worst case (wrapped), fit twice over.
              if (model.length < entries && 2 * (used + op) < bytes && !ok) throw new Error(`refused ${op} B with ${used} of ${bytes} used`);
              if (model.length > entries) throw new Error('more entries than its capacity');
            }
            expect(q.length).toBe(model.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SipBacklog media entries', () => {
  it("keep the frame's link-layer addresses: both (Ethernet), the source alone (Linux cooked), or none (raw IP)", () => {
    const q = new SipBacklog(16, 4096); // media may take a quarter of the entries
    const frame = Uint8Array.from({ length: 40 }, (_, i) => 100 + i);
    const sides: Array<[number, number]> = [[6, 0], [6, -1], [-1, -1]];
    for (const [src, dst] of sides) {
      const p = packet(1, 20);
      p.srcMacOffset = src;
      p.dstMacOffset = dst;
      expect(q.pushMedia(p, frame, 1, 7)).toBe(true);
    }
    const out = new DecodedPacket();
    const mac = (off: number) => (off < 0 ? null : Array.from(out.payloadBuf.subarray(off, off + 6)));
    for (const [src, dst] of sides) {
      q.shift(out);
      expect(q.shiftedMedia).toBe(true);
      expect([mac(out.srcMacOffset), mac(out.dstMacOffset)]).toEqual([src < 0 ? null : Array.from(frame.subarray(src, src + 6)), dst < 0 ? null : Array.from(frame.subarray(dst, dst + 6))]);
    }
  });
});
