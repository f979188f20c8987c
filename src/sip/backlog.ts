/**
 * SIP packets waiting for the call tracker (live capture): a bounded FIFO of copies of the packets'
 * addresses, times and payload bytes, so that SIP beyond its share of a batch is handled after the batch's
 * media instead of delaying the capture. Fixed memory: entry fields in typed arrays, payloads in one byte
 * ring. When either is full the packet is refused (the caller counts it): SIP is given up before media.
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
const M_WORDS = 18;

export class SipBacklog {
  readonly capacity: number;
  readonly bytes: Buffer;
  private readonly meta: Uint32Array;
  private readonly nowMs: Float64Array;
  private head = 0;
  length = 0;
  // Payload ring: bytes [readAt, writeAt) are in use (wrapping); both 0 when empty.
  private readAt = 0;
  private writeAt = 0;

  constructor(entries: number, bytes: number) {
    this.capacity = Math.max(1, entries | 0);
    this.meta = new Uint32Array(this.capacity * M_WORDS);
    this.nowMs = new Float64Array(this.capacity);
    this.bytes = Buffer.alloc(Math.max(1, bytes | 0));
  }

  /** Copies the packet in; false when the queue or its byte ring is full (nothing is kept). */
  push(pkt: DecodedPacket, nowMs: number): boolean {
    if (this.length === this.capacity) return false;
    const len = Math.min(pkt.payloadLength, pkt.payloadBuf.length - pkt.payloadOffset);
    const at = this.reserve(len);
    if (at < 0) return false;
    this.bytes.set(pkt.payloadBuf.subarray(pkt.payloadOffset, pkt.payloadOffset + len), at);
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
    m[o + M_OFF] = at;
    m[o + M_LEN] = len;
    this.nowMs[slot] = nowMs;
    this.length++;
    return true;
  }

  /**
   * Moves the oldest entry into `out` (its payload a view of the ring, valid until the next push) and
   * returns its capture time; NaN when empty.
   */
  shift(out: DecodedPacket): number {
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
    out.payloadWireLength = len;
    if (++this.head === this.capacity) this.head = 0;
    if (--this.length === 0) {
      this.head = 0;
      this.readAt = 0;
      this.writeAt = 0;
    } else {
      this.readAt = this.meta[this.head * M_WORDS + M_OFF];
    }
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
