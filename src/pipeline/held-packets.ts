import type { DecodedPacket } from '../decode/index.js';
import { SipBacklog } from '../sip/index.js';

/** A transport payload is at most an IP datagram (65,535 bytes), plus the two MAC addresses kept beside it. */
const LARGEST_PACKET_BYTES = 65_535 + 12;

/**
 * Packets that come while capture time holds at a jump (Pipeline.clockJump), kept until the jump is judged
 * a host clock step or time that passed, then handled in the order they came. Copies: a live batch's memory
 * is reused once it is handled. At most `maxPackets` packets and `maxBytes` of payload are held; room for
 * one more packet beyond those is kept for the packet that ends the hold (keepLast). The memory is taken at
 * the first hold: most runs never hold.
 */
export class HeldPackets {
  private queue: SipBacklog | null = null;
  /** Payload (and MAC) bytes held by hold(). */
  private held = 0;

  constructor(
    readonly maxPackets: number,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.queue === null ? 0 : this.queue.length;
  }

  /** The bytes the packets shift() gives point into (their payload and MAC offsets). */
  get bytes(): Uint8Array | null {
    return this.queue === null ? null : this.queue.bytes;
  }

  /** Keeps a copy of the packet (its MACs from `frameBuf`); false when that would pass a bound: nothing is kept. */
  hold(pkt: DecodedPacket, frameBuf: Uint8Array): boolean {
    const q = this.queue ?? (this.queue = new SipBacklog(this.maxPackets + 1, this.maxBytes + LARGEST_PACKET_BYTES));
    if (q.length === 0) this.held = 0;
    const size = Math.min(pkt.payloadLength, pkt.payloadBuf.length - pkt.payloadOffset) + 12;
    if (q.length >= this.maxPackets || this.held + size > this.maxBytes) return false;
    this.held += size;
    return q.pushPacket(pkt, frameBuf, 0);
  }

  /**
   * Keeps a copy of the packet that ended the hold, behind the held ones, while they are being handled (none
   * is held meanwhile): the room kept beyond the bounds takes it.
   */
  keepLast(pkt: DecodedPacket, frameBuf: Uint8Array): void {
    if (!this.queue!.pushPacket(pkt, frameBuf, 0)) throw new Error('held packets: no room kept for the last packet');
  }

  /** The oldest held packet into `out`, left in the queue (see SipBacklog.peek). */
  peek(out: DecodedPacket): void {
    this.queue!.peek(out);
  }

  /** Takes the oldest held packet out into `out` (its bytes valid until the next hold). */
  shift(out: DecodedPacket): void {
    this.queue!.shift(out);
  }
}
