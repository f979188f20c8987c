import type { Envelope } from './events.js';

/**
 * SPAN duplicates: a mirror port often delivers the same packet twice (ingress and egress of the mirrored
 * port, two VLANs, a tunnel and its inner copy) within microseconds. A SIP retransmission is a new send
 * after at least T1 (500 ms), an RTCP compound repeats its content seconds later at the earliest: both are
 * kept. A message (SIP bytes, RTCP as its JSON) is a duplicate when the same content between the same
 * addresses and ports was seen less than `windowMs` ago.
 */
export class DuplicateFilter {
  /** Fingerprint -> capture time (ms) it was last seen; pruned in insertion order. */
  private readonly seen = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    private readonly maxEntries = 65_536,
  ) {}

  /** True when this message is a copy of one seen within the window (then it is not to be sent again). */
  isDuplicate(bytes: Uint8Array | string, env: Envelope): boolean {
    if (this.windowMs <= 0) return false;
    const tsMs = env.tsMs;
    const key = `${fnv1a(bytes)}:${bytes.length}:${env.srcIp}:${env.srcPort}:${env.dstIp}:${env.dstPort}`;
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

/** 32-bit FNV-1a over the bytes (of a string: over its UTF-16 code units). */
function fnv1a(b: Uint8Array | string): number {
  let h = 0x811c9dc5;
  if (typeof b === 'string') {
    for (let i = 0; i < b.length; i++) {
      h ^= b.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  }
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
