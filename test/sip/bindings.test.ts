import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BindingTable, type MediaBinding } from '../../src/sip/index.js';

// A binding object with only the fields the table itself uses mattering.
const stub = () => ({ id: -1 }) as unknown as MediaBinding;

describe('BindingTable', () => {
  it('agrees with a Map under random set/remove sequences (backward-shift deletion keeps probe chains)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 })), { maxLength: 300 }),
        (ops) => {
          const t = new BindingTable(8); // 64 hash slots: dense enough for collisions and wrap-around
          const ref = new Map<string, number>();
          const ip = new Uint32Array(4);
          for (const [set, host, port, id] of ops) {
            ip[2] = 0xffff;
            ip[3] = (0xc0000200 + host) >>> 0;
            const k = `${host}:${port}`;
            if (set) {
              if (ref.size >= 60 && !ref.has(k)) continue;
              t.setKey(ip, port, id);
              ref.set(k, id);
            } else {
              t.removeKey(ip, port, id);
              if (ref.get(k) === id) ref.delete(k);
            }
          }
          for (let host = 0; host < 8; host++)
            for (let port = 0; port <= 40; port++) {
              const got = t.find(0, 0, 0xffff, (0xc0000200 + host) >>> 0, port);
              expect(got).toBe(ref.get(`${host}:${port}`) ?? -1);
            }
          expect(t.keyCount).toBe(ref.size);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands out and recycles ids, refuses when full', () => {
    const t = new BindingTable(2);
    const a = t.add(stub())!;
    const b = t.add(stub())!;
    expect(t.add(stub())).toBeNull();
    expect(new Set([a.id, b.id]).size).toBe(2);
    t.release(a.id);
    expect(t.get(a.id)).toBeNull();
    expect(t.add(stub())!.id).toBe(a.id);
  });
});
