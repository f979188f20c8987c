/**
 * The slots of a conversation (every leg of a call the probe sees) stay in the order they were attached
 * when one leaves from the middle, the start or the end: the delay estimate walks the legs in that order.
 * The slots of each call (what a one-way fault pages) are exactly those attached to its bindings.
 * A slot's repair flag (RTX, FEC: no media-fault checks) follows its codec name wherever that is set.
 */
import { describe, expect, it } from 'vitest';
import { StreamContexts } from '../../src/pipeline/stream-context.js';
import type { MediaBinding } from '../../src/sip/index.js';

/**
 * The fields of a binding that attach reads: leg `callId` of the conversation `aLeg` ('' on the A leg),
 * of the call at index `callIndex` in the tracker.
 */
function binding(id: number, callId: string, aLeg: string, callIndex = 0): MediaBinding {
  const payloads = new Map([[8, { name: 'PCMA', clockRate: 8000 }], [97, { name: 'rtx', clockRate: 8000 }], [101, { name: 'telephone-event', clockRate: 8000 }], [98, { name: 'FlexFEC-03', clockRate: 8000 }]]);
  return { id, callId, callIndex, aLegCallId: aLeg, xcid: '', otherLegCallId: '', side: 0, payloads } as unknown as MediaBinding;
}

/** The attached slots of a call, ascending (a list that loops shows as more slots than there are). */
function slotsOfCall(ctx: StreamContexts, callIndex: number): number[] {
  const out: number[] = [];
  for (let s = ctx.firstSlotOfCall(callIndex); s >= 0 && out.length <= 1000; s = ctx.nextInCall(s)) out.push(s);
  return out.sort((p, q) => p - q);
}

/** The attached slots of a binding, ascending (as slotsOfCall). */
function slotsOfBinding(ctx: StreamContexts, id: number): number[] {
  const out: number[] = [];
  for (let s = ctx.anySlotOf(id); s >= 0 && out.length <= 1000; s = ctx.nextSlotOf(s)) out.push(s);
  return out.sort((p, q) => p - q);
}

/** The attached slots of a conversation in order, walked as the report path walks them. */
function slotsOf(ctx: StreamContexts, conv: string): number[] {
  const out: number[] = [];
  for (let s = ctx.firstSlotOf(conv); s >= 0; s = ctx.nextInConversation(s)) out.push(s);
  return out;
}

describe('StreamContexts conversations', () => {
  it('keep the order of their slots when one is cleared', () => {
    const ctx = new StreamContexts(16);
    const a = binding(1, 'a', '');
    const b = binding(2, 'b', 'a');
    for (const [slot, bind] of [[3, a], [7, b], [5, a], [9, b], [2, b]] as const) ctx.attach(slot, bind, true, 8);
    expect(slotsOf(ctx, 'a')).toEqual([3, 7, 5, 9, 2]);
    ctx.clear(5);
    expect(slotsOf(ctx, 'a')).toEqual([3, 7, 9, 2]);
    ctx.clear(3);
    expect(slotsOf(ctx, 'a')).toEqual([7, 9, 2]);
    ctx.clear(2);
    expect(slotsOf(ctx, 'a')).toEqual([7, 9]);
    ctx.clear(4); // never attached: nothing moves
    expect(slotsOf(ctx, 'a')).toEqual([7, 9]);
    ctx.clear(7);
    ctx.clear(9);
    expect(slotsOf(ctx, 'a')).toEqual([]);
    expect(ctx.attachedSlots).toBe(0);
  });

  it('match a list kept in attach order over random attaches, moves and clears; each call and binding has its slots', () => {
    const slots = 64;
    const ctx = new StreamContexts(slots);
    // Bindings of four conversations: two legs each (the B leg names the A leg's Call-ID), each leg a call
    // of its own with two bindings (two media lines or a moved address).
    const bindings = [0, 1, 2, 3].flatMap((c) => [
      binding(4 * c, `c${c}`, '', 2 * c), binding(4 * c + 1, `c${c}`, '', 2 * c),
      binding(4 * c + 2, `c${c}-b`, `c${c}`, 2 * c + 1), binding(4 * c + 3, `c${c}-b`, `c${c}`, 2 * c + 1),
    ]);
    const callOf = new Map<number, number>();
    const bindingOf = new Map<number, number>();
    const model = new Map<string, number[]>();
    const where = new Map<number, string>();
    const leave = (slot: number) => {
      const conv = where.get(slot);
      if (conv === undefined) return;
      where.delete(slot);
      const list = model.get(conv)!;
      list.splice(list.indexOf(slot), 1);
    };
    let x = 0x2545f491;
    const next = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    for (let op = 0; op < 20000; op++) {
      const slot = next(slots);
      if (next(3) === 0) {
        ctx.clear(slot);
        leave(slot);
        callOf.delete(slot);
        bindingOf.delete(slot);
      } else {
        const b = bindings[next(bindings.length)];
        ctx.attach(slot, b, true, 8); // a slot already attached moves: it leaves its list first
        leave(slot);
        const conv = b.aLegCallId || b.callId;
        where.set(slot, conv);
        model.set(conv, [...(model.get(conv) ?? []), slot]);
        callOf.set(slot, b.callIndex);
        bindingOf.set(slot, b.id);
      }
      if (op % 97 === 0 || op > 19900) {
        for (const c of [0, 1, 2, 3]) expect(slotsOf(ctx, `c${c}`)).toEqual(model.get(`c${c}`) ?? []);
        for (let call = 0; call < 8; call++) {
          const want = [...callOf].filter(([, k]) => k === call).map(([slot]) => slot).sort((p, q) => p - q);
          expect(slotsOfCall(ctx, call)).toEqual(want);
        }
        for (const b of bindings) {
          const want = [...bindingOf].filter(([, id]) => id === b.id).map(([slot]) => slot).sort((p, q) => p - q);
          expect(slotsOfBinding(ctx, b.id)).toEqual(want);
          expect(ctx.hasStreams(b.id)).toBe(want.length > 0);
        }
      }
    }
    expect(ctx.attachedSlots).toBe(where.size);
  });

  it('keep the repair flag of each slot with its codec name', () => {
    const ctx = new StreamContexts(8);
    const a = binding(1, 'a', '');
    ctx.attach(1, a, true, 8);
    ctx.attach(2, a, true, 97);
    ctx.attach(3, a, true, 42); // a payload type the SDP does not map: no codec name
    expect([ctx.codecName[1], ctx.repair[1]]).toEqual(['PCMA', 0]);
    expect([ctx.codecName[2], ctx.repair[2]]).toEqual(['rtx', 1]);
    expect([ctx.codecName[3], ctx.repair[3]]).toEqual([null, 0]);
    ctx.updateCodec(3, a, 98);
    expect([ctx.codecName[3], ctx.repair[3]]).toEqual(['FlexFEC-03', 1]);
    ctx.updateCodec(3, a, 101); // an event rides on the stream: its codec stays
    expect([ctx.codecName[3], ctx.repair[3]]).toEqual(['FlexFEC-03', 1]);
    ctx.updateCodec(3, a, 8);
    expect([ctx.codecName[3], ctx.repair[3]]).toEqual(['PCMA', 0]);
    ctx.clear(2);
    expect([ctx.codecName[2], ctx.repair[2]]).toEqual([null, 0]);
  });
});
