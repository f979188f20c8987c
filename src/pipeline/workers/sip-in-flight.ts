import { SIP_WAITING_LIMIT } from '../../sip/index.js';

const MESSAGES = 0;
const BYTES = 1;

/**
 * SIP the media workers forwarded and the main thread has not handled yet (in its message queue, or held
 * by SipOrder for capture order), counted in memory the pool and its workers share. A worker refuses SIP
 * while SIP_WAITING_LIMIT is reached, so a flood the main thread cannot parse as fast as it arrives costs
 * SIP (counted) instead of memory. Each worker may pass the limit by the one message it is adding.
 */
export class SipInFlight {
  private readonly counts: Int32Array;

  constructor(
    /** From SipInFlight.memory(), shared with the workers. */
    memory: SharedArrayBuffer,
    readonly maxMessages: number = SIP_WAITING_LIMIT.messages,
    readonly maxBytes: number = SIP_WAITING_LIMIT.bytes,
  ) {
    this.counts = new Int32Array(memory);
  }

  static memory(): SharedArrayBuffer {
    return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Worker: counts a message of `bytes` in; false (nothing counted) when the limit is reached. */
  take(bytes: number): boolean {
    if (Atomics.load(this.counts, MESSAGES) >= this.maxMessages || Atomics.load(this.counts, BYTES) + bytes > this.maxBytes) return false;
    Atomics.add(this.counts, MESSAGES, 1);
    Atomics.add(this.counts, BYTES, bytes);
    return true;
  }

  /** Main thread: a message of `bytes` was handled (or discarded). */
  give(bytes: number): void {
    Atomics.sub(this.counts, MESSAGES, 1);
    Atomics.sub(this.counts, BYTES, bytes);
  }

  get messages(): number {
    return Atomics.load(this.counts, MESSAGES);
  }

  get bytes(): number {
    return Atomics.load(this.counts, BYTES);
  }
}
