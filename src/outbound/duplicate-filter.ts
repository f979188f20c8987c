import { hash } from 'node:crypto';
import type { Envelope } from './events.js';

/**
 * SPAN duplicates: a mirror port often delivers the same packet twice (ingress and egress of the mirrored
 * port, two VLANs, a tunnel and its inner copy) within microseconds. A SIP retransmission is a new send
 * after at least T1 (500 ms), an RTCP compound repeats its content seconds later at the earliest: both are
 * kept. A message (SIP bytes, an RTCP datagram's bytes) is a duplicate when the same content between the same
 * addresses and ports was seen less than `windowMs` ago.
 */
export class DuplicateFilter {
  /**
   * Fingerprint -> capture time (ms) it was last seen; pruned in insertion order. The fingerprint is the
   * content's SHA-256: a shorter hash makes two different messages of a busy address pair collide by chance
   * (32 bits: one pair in 4.3 billion), and anyone able to send SIP past the mirror could make a message
   * collide with an earlier one on purpose, hiding it from HOMER as a "copy".
   */
  private readonly seen = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    private readonly maxEntries = 65_536,
  ) {}

  /** True when this message is a copy of one seen within the window (then it is not to be sent again). */
  isDuplicate(bytes: Uint8Array | string, env: Envelope): boolean {
    if (this.windowMs <= 0) return false;
    const tsMs = env.tsMs;
    const key = `${hash('sha256', bytes, 'base64')}:${env.srcIp}:${env.srcPort}:${env.dstIp}:${env.dstPort}`;
    this.prune(tsMs);
    const at = this.seen.get(key);
    if (at !== undefined && Math.abs(tsMs - at) < this.windowMs) return true;
    this.seen.delete(key);
    this.seen.set(key, tsMs);
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  private prune(tsMs: number): void {
    for (const [k, at] of this.seen) {
      if (tsMs - at < this.windowMs) break;
      this.seen.delete(k);
    }
  }
}
