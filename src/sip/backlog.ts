/**
 * SIP packets waiting for the call tracker (live capture): a bounded FIFO of copies of the packets'
 * addresses, times and payload bytes, so that SIP beyond its share of a batch is handled after the batch's
 * media instead of delaying the capture. Fixed memory: entry fields in typed arrays, payloads in one byte
 * ring. When either is full the packet is refused (the caller counts it): SIP is given up before media.
 *
 * RTP of no known stream that arrives while SIP waits is queued too (pushMedia), behind that SIP: the SDP
 * that signals it may be among the waiting messages, and handled in capture order the packet is measured
 * as if the SIP had been handled inline. Such entries take at most a quarter of the queue.
 */
import { DecodedPacket } from '../decode/packet.js';

// Per entry, in `meta`: the DecodedPacket fields CallTracker and the SIP output read.
const M_VERSION = 0;
const M_PROTO = 1;
const M_SRC = 2; // 4 words
const M_DST = 6; // 4 words
const M_SRC_PORT = 10;
const M_DST_PORT = 11;
const M_TCP_SEQ = 12;
const M_TCP_FLAGS = 13;
const M_TS_SEC = 14;
const M_TS_NSEC = 15;
const M_OFF = 16;
const M_LEN = 17;
const M_KIND = 18; // KIND_SIP or KIND_MEDIA
const M_VLAN = 19; // vlan + 1 (0: untagged)
const M_WIRE_LEN = 20;
const M_MACS = 21; // ring offset of the source then destination MAC (12 bytes), NO_MACS when none
const M_KEY = 22; // media: the stream key hash the caller gave
const M_MAC_SIDES = 23; // which of the two MACs are there: HAS_SRC | HAS_DST (Linux cooked captures: the source only)
const M_WORDS = 24;

const KIND_SIP = 0;
const KIND_MEDIA = 1;
const NO_MACS = 0xffffffff;
const MAC_BYTES = 12;
const HAS_SRC = 1;
const HAS_DST = 2;

/**
 * SIP a live capture lets wait for the call tracker: 8,192 messages (0.4 s of 20,000 messages/s) in 8 MiB
 * of payload. One thread: the backlog's size. Media workers: SIP forwarded to the main thread and not yet
 * handled there (SipInFlight).
 */
export const SIP_WAITING_LIMIT = { messages: 8192, bytes: 8 << 20 } as const;

export class SipBacklog {
  readonly capacity: number;
  readonly bytes: Buffer;
  private readonly meta: Uint32Array;
  private readonly nowMs: Float64Array;
  private head = 0;
  private lastSlot = 0;
  length = 0;
  /** Entries queued by pushMedia (at most mediaCapacity). */
  mediaLength = 0;
  readonly mediaCapacity: number;
  /** What the last shift() returned: a media entry (true) or SIP. */
  shiftedMedia = false;
  /**
   * Media entries per stream key hash. A Map, not a table of hash buckets: a bucket shared with another
   * stream would hold packets of a running stream behind SIP (and drop them when media fills its share).
   * Used only while SIP waits.
   */
  private readonly mediaByKey = new Map<number, number>();
  // Payload ring: bytes [readAt, writeAt) are in use (wrapping); both 0 when empty.
  private readAt = 0;
  private writeAt = 0;

  constructor(entries: number, bytes: number) {
    this.capacity = Math.max(1, entries | 0);
    this.mediaCapacity = this.capacity >> 2;
    this.meta = new Uint32Array(this.capacity * M_WORDS);
    this.nowMs = new Float64Array(this.capacity);
    this.bytes = Buffer.alloc(Math.max(1, bytes | 0));
  }

  /** Copies the SIP packet in; false when the queue or its byte ring is full (nothing is kept). */
  push(pkt: DecodedPacket, nowMs: number): boolean {
    return this.enqueue(pkt, nowMs, KIND_SIP, null);
  }

  /**
   * Copies an RTP packet in behind the waiting SIP, with its MAC addresses when `frameBuf` holds them (at
   * pkt.srcMacOffset / dstMacOffset) and its stream key hash `key`; false when media entries already fill
   * their share or the queue is full.
   */
  pushMedia(pkt: DecodedPacket, frameBuf: Uint8Array, nowMs: number, key: number): boolean {
    if (this.mediaLength >= this.mediaCapacity) return false;
    if (!this.enqueue(pkt, nowMs, KIND_MEDIA, pkt.srcMacOffset >= 0 || pkt.dstMacOffset >= 0 ? frameBuf : null)) return false;
    this.meta[this.lastSlot * M_WORDS + M_KEY] = key;
    this.mediaByKey.set(key, (this.mediaByKey.get(key) ?? 0) + 1);
    this.mediaLength++;
    return true;
  }

  /**
   * Copies a packet of any kind in, with its MAC addresses as pushMedia keeps them, outside either kind's
   * share (a plain packet queue: shift() reports it as SIP); false when the queue or its byte ring is full.
   */
  pushPacket(pkt: DecodedPacket, frameBuf: Uint8Array, nowMs: number): boolean {
    return this.enqueue(pkt, nowMs, KIND_SIP, pkt.srcMacOffset >= 0 || pkt.dstMacOffset >= 0 ? frameBuf : null);
  }

  /** True when a media entry with this stream key hash is queued. */
  holdsMediaFor(key: number): boolean {
    return this.mediaByKey.has(key);
  }

  private enqueue(pkt: DecodedPacket, nowMs: number, kind: number, macsFrom: Uint8Array | null): boolean {
    if (this.length === this.capacity) return false;
    const len = Math.min(pkt.payloadLength, pkt.payloadBuf.length - pkt.payloadOffset);
    const macs = macsFrom === null ? 0 : MAC_BYTES;
    const at = this.reserve(len + macs);
    if (at < 0) return false;
    let sides = 0;
    if (macsFrom !== null) {
      if (pkt.srcMacOffset >= 0) {
        this.bytes.set(macsFrom.subarray(pkt.srcMacOffset, pkt.srcMacOffset + 6), at);
        sides |= HAS_SRC;
      }
      if (pkt.dstMacOffset >= 0) {
        this.bytes.set(macsFrom.subarray(pkt.dstMacOffset, pkt.dstMacOffset + 6), at + 6);
        sides |= HAS_DST;
      }
    }
    this.bytes.set(pkt.payloadBuf.subarray(pkt.payloadOffset, pkt.payloadOffset + len), at + macs);
    let slot = this.head + this.length;
    if (slot >= this.capacity) slot -= this.capacity;
    const m = this.meta;
    const o = slot * M_WORDS;
    m[o + M_VERSION] = pkt.ipVersion;
    m[o + M_PROTO] = pkt.ipProto;
    m[o + M_SRC] = pkt.src0;
    m[o + M_SRC + 1] = pkt.src1;
    m[o + M_SRC + 2] = pkt.src2;
    m[o + M_SRC + 3] = pkt.src3;
    m[o + M_DST] = pkt.dst0;
    m[o + M_DST + 1] = pkt.dst1;
    m[o + M_DST + 2] = pkt.dst2;
    m[o + M_DST + 3] = pkt.dst3;
    m[o + M_SRC_PORT] = pkt.srcPort;
    m[o + M_DST_PORT] = pkt.dstPort;
    m[o + M_TCP_SEQ] = pkt.tcpSeq;
    m[o + M_TCP_FLAGS] = pkt.tcpFlags;
    m[o + M_TS_SEC] = pkt.tsSec;
    m[o + M_TS_NSEC] = pkt.tsNsec;
    m[o + M_OFF] = at + macs;
    m[o + M_LEN] = len;
    m[o + M_KIND] = kind;
    m[o + M_VLAN] = pkt.vlan + 1;
    m[o + M_WIRE_LEN] = pkt.payloadWireLength;
    m[o + M_MACS] = macsFrom === null ? NO_MACS : at;
    m[o + M_MAC_SIDES] = sides;
    this.nowMs[slot] = nowMs;
    this.lastSlot = slot;
    this.length++;
    return true;
  }

  /**
   * Moves the oldest entry into `out` (its payload, and a media entry's MAC addresses, views of the ring
   * `bytes`, valid until the next push) and returns its capture time; NaN when empty. `shiftedMedia` says
   * which kind it was.
   */
  shift(out: DecodedPacket): number {
    const nowMs = this.peek(out);
    if (nowMs !== nowMs) return nowMs;
    const m = this.meta;
    const o = this.head * M_WORDS;
    this.shiftedMedia = m[o + M_KIND] === KIND_MEDIA;
    if (this.shiftedMedia) {
      this.mediaLength--;
      const key = m[o + M_KEY] | 0;
      const n = this.mediaByKey.get(key) ?? 0;
      if (n > 1) this.mediaByKey.set(key, n - 1);
      else this.mediaByKey.delete(key);
    }
    if (++this.head === this.capacity) this.head = 0;
    if (--this.length === 0) {
      this.head = 0;
      this.readAt = 0;
      this.writeAt = 0;
    } else {
      const next = this.head * M_WORDS;
      this.readAt = this.meta[next + M_MACS] === NO_MACS ? this.meta[next + M_OFF] : this.meta[next + M_MACS];
    }
    return nowMs;
  }

  /** The oldest entry into `out` as shift() gives it, left in the queue; its capture time, NaN when empty. */
  peek(out: DecodedPacket): number {
    if (this.length === 0) return Number.NaN;
    const slot = this.head;
    const m = this.meta;
    const o = slot * M_WORDS;
    out.ipVersion = m[o + M_VERSION];
    out.ipProto = m[o + M_PROTO];
    out.src0 = m[o + M_SRC];
    out.src1 = m[o + M_SRC + 1];
    out.src2 = m[o + M_SRC + 2];
    out.src3 = m[o + M_SRC + 3];
    out.dst0 = m[o + M_DST];
    out.dst1 = m[o + M_DST + 1];
    out.dst2 = m[o + M_DST + 2];
    out.dst3 = m[o + M_DST + 3];
    out.srcPort = m[o + M_SRC_PORT];
    out.dstPort = m[o + M_DST_PORT];
    out.tcpSeq = m[o + M_TCP_SEQ];
    out.tcpFlags = m[o + M_TCP_FLAGS];
    out.tsSec = m[o + M_TS_SEC];
    out.tsNsec = m[o + M_TS_NSEC];
    const at = m[o + M_OFF];
    const len = m[o + M_LEN];
    out.payloadBuf = this.bytes;
    out.payloadOffset = at;
    out.payloadLength = len;
    out.payloadWireLength = m[o + M_WIRE_LEN];
    out.vlan = m[o + M_VLAN] - 1;
    const macs = m[o + M_MACS];
    const sides = m[o + M_MAC_SIDES];
    out.srcMacOffset = macs !== NO_MACS && (sides & HAS_SRC) !== 0 ? macs : -1;
    out.dstMacOffset = macs !== NO_MACS && (sides & HAS_DST) !== 0 ? macs + 6 : -1;
    return this.nowMs[slot];
  }

  /** Start of `len` free ring bytes after the newest payload (wrapping to 0 when the end is short), or -1. */
  private reserve(len: number): number {
    const cap = this.bytes.length;
    if (this.length === 0) {
      if (len > cap) return -1;
      this.readAt = 0;
      this.writeAt = len;
      return 0;
    }
    const r = this.readAt;
    const w = this.writeAt;
    if (w >= r) {
      if (cap - w >= len) {
        this.writeAt = w + len;
        return w;
      }
      if (len < r) {
        // Wrap: the tail end of the ring stays unused until the reader passes it.
        this.writeAt = len;
        return 0;
      }
      return -1;
    }
    if (r - w > len) {
      this.writeAt = w + len;
      return w;
    }
    return -1;
  }
}
