import { PayloadKind, isRepairEncoding, payloadKindOfEncoding } from '../rtp/index.js';
import type { MediaBinding } from '../sip/index.js';
import { SlotLists } from './slot-lists.js';

/**
 * What the pipeline remembers about each RTP stream slot beyond the engine's numbers: the SIP leg it
 * belongs to, copied when the stream is attached, because SIP bindings are retired (and their ids
 * reused) before the stream's final report is built.
 */
export class StreamContexts {
  readonly callId: (string | null)[];
  readonly xcid: (string | null)[];
  readonly codecName: (string | null)[];
  /** 1 when codecName is a repair format (RTX, FEC): the media-fault checks ask it of every stream each tick. */
  readonly repair: Uint8Array;
  /** Binding id the stream is attached to, -1 when none (mirrors the engine's callRef column). */
  readonly binding: Int32Array;
  /** RTPAgent DIR: 0 when the stream flows towards the SDP address (matched by destination), 1 when from it. */
  readonly dir: Uint8Array;
  /** RTPAgent PARTY: the SIP side (0 caller, 1 callee) whose SDP announced the matched address. */
  readonly party: Uint8Array;
  /** The slots attached to each binding id: SIP ends a binding's streams without scanning all. */
  private readonly ofBinding: SlotLists;
  /** Slots attached to some binding. */
  attachedSlots = 0;
  /**
   * The conversation of each attached slot: the A-leg Call-ID of its call (its own Call-ID on an A leg
   * or a call without B2BUA), null when not attached; and the slots of each conversation, every leg of
   * the call the probe sees (the delay estimate sums them), in the order they were attached: a list from
   * `firstOfConversation` through `convNext` (no array per call), its last slot in `convLast` at its first.
   */
  readonly conversation: (string | null)[];
  private readonly firstOfConversation = new Map<string, number>();
  private readonly convNext: Int32Array;
  private readonly convPrev: Int32Array;
  private readonly convLast: Int32Array;
  /**
   * The slots attached to each call, by the call index of their binding (which a binding keeps for its
   * life, lingering after the call's end included): a fault of one call finds its streams without walking
   * every active stream.
   */
  private readonly ofCall: SlotLists;

  constructor(maxStreams: number) {
    this.callId = new Array<string | null>(maxStreams).fill(null);
    this.xcid = new Array<string | null>(maxStreams).fill(null);
    this.codecName = new Array<string | null>(maxStreams).fill(null);
    this.conversation = new Array<string | null>(maxStreams).fill(null);
    this.repair = new Uint8Array(maxStreams);
    this.binding = new Int32Array(maxStreams).fill(-1);
    this.dir = new Uint8Array(maxStreams);
    this.party = new Uint8Array(maxStreams);
    this.ofBinding = new SlotLists(maxStreams);
    this.convNext = new Int32Array(maxStreams).fill(-1);
    this.convPrev = new Int32Array(maxStreams).fill(-1);
    this.convLast = new Int32Array(maxStreams).fill(-1);
    this.ofCall = new SlotLists(maxStreams);
  }

  attach(slot: number, b: MediaBinding, byDestination: boolean, pt: number): void {
    this.detach(slot);
    this.binding[slot] = b.id;
    this.ofBinding.add(b.id, slot);
    this.attachedSlots++;
    this.callId[slot] = b.callId;
    this.xcid[slot] = b.aLegCallId || b.xcid || b.otherLegCallId || null;
    this.setCodec(slot, b.payloads.get(pt)?.name ?? null);
    this.dir[slot] = byDestination ? 0 : 1;
    this.party[slot] = b.side;
    const conv = b.aLegCallId || b.xcid || b.callId;
    this.conversation[slot] = conv;
    this.joinConversation(conv, slot);
    this.ofCall.add(b.callIndex, slot);
  }

  /** The first slot attached to a binding of call `callIndex`, -1 when none. */
  firstSlotOfCall(callIndex: number): number {
    return this.ofCall.first(callIndex);
  }

  /** The slot after `slot` attached to the same call (walking from firstSlotOfCall), -1 after the last. */
  nextInCall(slot: number): number {
    return this.ofCall.after(slot);
  }

  /** The first attached slot of a conversation (see `conversation`), -1 when none. */
  firstSlotOf(conv: string): number {
    return this.firstOfConversation.get(conv) ?? -1;
  }

  /** The slot attached after `slot` to its conversation, -1 after the last. */
  nextInConversation(slot: number): number {
    return this.convNext[slot];
  }

  private joinConversation(conv: string, slot: number): void {
    const first = this.firstOfConversation.get(conv);
    this.convNext[slot] = -1;
    if (first === undefined) {
      this.firstOfConversation.set(conv, slot);
      this.convPrev[slot] = -1;
      this.convLast[slot] = slot;
      return;
    }
    const last = this.convLast[first];
    this.convNext[last] = slot;
    this.convPrev[slot] = last;
    this.convLast[first] = slot;
  }

  private leaveConversation(conv: string, slot: number): void {
    const first = this.firstOfConversation.get(conv);
    if (first === undefined) return;
    const prev = this.convPrev[slot];
    const next = this.convNext[slot];
    if (slot === first) {
      if (next < 0) this.firstOfConversation.delete(conv);
      else {
        this.firstOfConversation.set(conv, next);
        this.convLast[next] = this.convLast[slot];
      }
    } else {
      this.convNext[prev] = next;
      if (next >= 0) this.convPrev[next] = prev;
      else this.convLast[first] = prev;
    }
    this.convNext[slot] = -1;
    this.convPrev[slot] = -1;
    this.convLast[slot] = -1;
  }

  /**
   * Payload type changed mid-stream: the codec name follows it when the SDP mapped it to audio. Telephone
   * events and comfort noise ride on the stream's SSRC between its audio packets: the stream's codec (its
   * CODEC_NAME, the E-model's codec) stays the audio one, even for an interval that ends in them.
   */
  updateCodec(slot: number, b: MediaBinding | null, pt: number): void {
    const name = b?.payloads.get(pt)?.name;
    if (name && (this.codecName[slot] === null || payloadKindOfEncoding(name) === PayloadKind.media)) this.setCodec(slot, name);
  }

  private setCodec(slot: number, name: string | null): void {
    this.codecName[slot] = name;
    this.repair[slot] = isRepairEncoding(name) ? 1 : 0;
  }

  /** True when some slot is attached to binding `id`. */
  hasStreams(id: number): boolean {
    return this.ofBinding.first(id) >= 0;
  }

  /** A slot attached to binding `id`, -1 when none. */
  anySlotOf(id: number): number {
    return this.ofBinding.first(id);
  }

  /** The slot after `slot` attached to the same binding (walking from anySlotOf), -1 when none. */
  nextSlotOf(slot: number): number {
    return this.ofBinding.after(slot);
  }

  clear(slot: number): void {
    this.detach(slot);
    this.callId[slot] = null;
    this.xcid[slot] = null;
    this.setCodec(slot, null);
    this.dir[slot] = 0;
    this.party[slot] = 0;
  }

  private detach(slot: number): void {
    const id = this.binding[slot];
    if (id < 0) return;
    this.binding[slot] = -1;
    const conv = this.conversation[slot];
    if (conv !== null) {
      this.conversation[slot] = null;
      this.leaveConversation(conv, slot);
    }
    this.ofCall.remove(slot);
    this.ofBinding.remove(slot);
    this.attachedSlots--;
  }
}
