/**
 * The slots of a conversation (every leg of a call the probe sees) stay in the order they were attached
 * when one leaves from the middle, the start or the end: the delay estimate walks the legs in that order.
 */
import { describe, expect, it } from 'vitest';
import { StreamContexts } from '../../src/pipeline/stream-context.js';
import type { MediaBinding } from '../../src/sip/index.js';

/** The fields of a binding that attach reads: leg `callId` of the conversation `aLeg` ('' on the A leg). */
function binding(id: number, callId: string, aLeg: string): MediaBinding {
  return { id, callId, aLegCallId: aLeg, xcid: '', otherLegCallId: '', side: 0, payloads: new Map([[8, { name: 'PCMA', clockRate: 8000 }]]) } as unknown as MediaBinding;
}

describe('StreamContexts conversations', () => {
  it('keep the order of their slots when one is cleared', () => {
    const ctx = new StreamContexts(16);
    const a = binding(1, 'a', '');
    const b = binding(2, 'b', 'a');
    for (const [slot, bind] of [[3, a], [7, b], [5, a], [9, b], [2, b]] as const) ctx.attach(slot, bind, true, 8);
    expect(ctx.slotsOfConversation('a')).toEqual([3, 7, 5, 9, 2]);
    ctx.clear(5);
    expect(ctx.slotsOfConversation('a')).toEqual([3, 7, 9, 2]);
    ctx.clear(3);
    expect(ctx.slotsOfConversation('a')).toEqual([7, 9, 2]);
    ctx.clear(2);
    expect(ctx.slotsOfConversation('a')).toEqual([7, 9]);
    ctx.clear(4); // never attached: nothing moves
    expect(ctx.slotsOfConversation('a')).toEqual([7, 9]);
    ctx.clear(7);
    ctx.clear(9);
    expect(ctx.slotsOfConversation('a')).toEqual([]);
    expect(ctx.attachedSlots).toBe(0);
  });
});
