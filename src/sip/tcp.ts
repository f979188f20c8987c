/**
 * SIP over TCP: per-connection byte stream reassembly, framed by Content-Length (RFC 3261 18.3).
 *
 * Bounded: at most `maxConnections` connections (the least recently active one is dropped when full)
 * and `maxBuffer` bytes buffered per connection. A message whose Content-Length makes it longer than that
 * is passed over to its last byte (counted as too long) and framing goes on with the next message (or
 * from a segment that begins with a start line before then); a header block that does not end within
 * `maxBuffer` drops the buffer and resyncs.
 * Out of order: ONE segment beyond the next expected sequence number is held (copied) per connection,
 * which covers the usual mirror-port swap of two adjacent segments. If a second one arrives while one is
 * held, the bytes in between are taken as lost: the connection drops what it buffered and resyncs on
 * the next segment that begins with a SIP start line (counted as 'gaps'). Holding more would cost
 * memory per connection for a case where the lost bytes rarely come back (the mirror does not see
 * the retransmissions it dropped). Retransmitted bytes already consumed are skipped.
 *
 * A message that arrives a few bytes per segment is parsed again only once a segment can complete it
 * (its length reached, or a blank line ending its header block): parsed at every segment, a message of
 * n bytes sent one byte a segment would cost n^2 / 2 bytes of parsing.
 */
import { couldStartSip, looksLikeSip } from './detect.js';
import { findHeaderEnd } from './message.js';

export interface TcpStats {
  connections: number;
  gaps: number;
  overflows: number;
  evicted: number;
  /** Stream content that was not SIP at a message boundary (buffer dropped, resync). */
  desyncs: number;
  /** Out-of-order segments held until the gap before them filled (or was given up). */
  held: number;
}

class TcpConnection {
  s0 = 0; s1 = 0; s2 = 0; s3 = 0; d0 = 0; d1 = 0; d2 = 0; d3 = 0; sp = 0; dp = 0;
  buf: Uint8Array;
  len = 0;
  /** Next expected sequence number; -1 = waiting to resync on a SIP start line. */
  nextSeq = 0;
  /** One held out-of-order segment (length 0 = none). */
  held: Uint8Array = new Uint8Array(0);
  heldSeq = 0;
  heldLen = 0;
  /**
   * What the buffered (incomplete) message needs before it is worth parsing again: its length once its
   * header block told it, AWAIT_HEADER_END while that block is open (the first `scanned` bytes hold no
   * blank line), 0 when not known.
   */
  need = 0;
  scanned = 0;
  /** Bytes still to pass over of a message longer than the buffer (its Content-Length told where it ends). */
  skip = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  /** Grows the buffer (doubling, up to `max`) so it can hold `need` bytes; false when it cannot. */
  reserve(need: number, max: number): boolean {
    if (need <= this.buf.length) return true;
    if (need > max) return false;
    let size = this.buf.length;
    while (size < need) size *= 2;
    const b = new Uint8Array(Math.min(size, max));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    return true;
  }
}

/**
 * Called for each buffered region that may hold complete messages; returns bytes consumed, -1 when the
 * bytes are not SIP (the connection then resyncs), or 0 when the message is incomplete, with need[0] set
 * to what it takes: its length in bytes once its header block told it, AWAIT_HEADER_END while that block
 * has not ended, or left 0 when not known.
 */
export type ConsumeFn = (buf: Uint8Array, off: number, len: number, need: Int32Array) => number;

/** need[0] of a message whose header block has not ended: only a blank line can complete it. */
export const AWAIT_HEADER_END = -1;

/**
 * Why stream bytes were not handed on: 'tcp-too-long', a message longer than the buffer; 'tcp-gap', bytes
 * missing from the capture (the message they were part of is lost); 'tcp-desync', the stream did not go on
 * with a SIP message where the last one ended (a wrong Content-Length: what follows is lost up to a
 * segment that starts a message); 'tcp-incomplete', the connection ended or was forgotten halfway through one.
 */
export type TcpLoss = 'tcp-too-long' | 'tcp-gap' | 'tcp-desync' | 'tcp-incomplete';

export class SipTcpReassembler {
  private readonly conns = new Map<number, TcpConnection>();
  private readonly spare: TcpConnection[] = [];
  readonly stats: TcpStats = { connections: 0, gaps: 0, overflows: 0, evicted: 0, desyncs: 0, held: 0 };
  /** Set by drain() when consume() rejected the bytes. */
  private desync = false;
  /** The current segment is on a configured SIP port. */
  private sipPort = false;
  /** ConsumeFn's need, and what it said of the message the last drain left incomplete (0: none left). */
  private readonly need = new Int32Array(1);
  private lastNeed = 0;

  /** `onLost`: stream bytes were not handed on as a message, and why (see TcpLoss). */
  constructor(
    private readonly maxConnections = 1024,
    private readonly maxBuffer = 65536,
    private readonly onLost: (why: TcpLoss) => void = () => {},
  ) {}

  private static key(s3: number, d3: number, s0: number, d0: number, sp: number, dp: number): number {
    let h = Math.imul(s3 ^ 0x2545f491, 0x9e3779b1);
    h = Math.imul(h ^ d3 ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ s0 ^ (h >>> 13), 0xc2b2ae3d);
    h = Math.imul(h ^ d0 ^ (h >>> 16), 0x27d4eb2f);
    // Ports go in whole (32 bits) and the hash fills 21 more bits: one number up to 2^53.
    return (((sp << 16) | dp) >>> 0) + (h & 0x1fffff) * 4294967296;
  }

  private static same(c: TcpConnection, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sp: number, dp: number): boolean {
    return c.s0 === s0 && c.s1 === s1 && c.s2 === s2 && c.s3 === s3 && c.d0 === d0 && c.d1 === d1 && c.d2 === d2 && c.d3 === d3 && c.sp === sp && c.dp === dp;
  }

  /** True when the 4-tuple is a tracked connection. */
  has(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sp: number, dp: number): boolean {
    const c = this.conns.get(SipTcpReassembler.key(s3, d3, s0, d0, sp, dp));
    return c !== undefined && SipTcpReassembler.same(c, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
  }

  /**
   * Feeds one segment. A connection is created when the payload begins with a SIP start line, or, on
   * a configured SIP port (`sipPort`), with the beginning of one (a first segment cut inside the first
   * line). Returns true when the segment belonged to a tracked (or newly tracked) SIP connection.
   */
  segment(
    s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sp: number, dp: number,
    seq: number, flags: number, buf: Uint8Array, off: number, len: number, sipPort: boolean, consume: ConsumeFn,
  ): boolean {
    this.sipPort = sipPort;
    const key = SipTcpReassembler.key(s3, d3, s0, d0, sp, dp);
    let c = this.conns.get(key);
    if (c !== undefined && !SipTcpReassembler.same(c, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp)) {
      // Hash collision with another live connection: the newcomer wins only if it carries SIP.
      if (!this.startsSip(buf, off, len)) return false;
      this.drop(key, c);
      c = undefined;
    }
    if (c === undefined) {
      if (!this.startsSip(buf, off, len)) return false;
      c = this.open(key, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
      c.nextSeq = seq >>> 0;
    } else {
      // Touch: Map iteration order is insertion order, so re-inserting keeps LRU order for eviction.
      this.conns.delete(key);
      this.conns.set(key, c);
    }
    if ((flags & 0x05) !== 0) {
      // FIN or RST: deliver what this segment completes, then forget the connection.
      if (len > 0) this.append(c, seq >>> 0, buf, off, len, consume);
      this.drop(key, c);
      return true;
    }
    if (len > 0) {
      this.append(c, seq >>> 0, buf, off, len, consume);
      this.releaseHeld(c, consume);
    }
    return true;
  }

  /** Feeds the held segment once the stream has reached it (overlap is trimmed as a retransmission). */
  private releaseHeld(c: TcpConnection, consume: ConsumeFn): void {
    if (c.heldLen === 0 || c.nextSeq < 0) return;
    if (((c.heldSeq - c.nextSeq) | 0) > 0) return;
    const len = c.heldLen;
    c.heldLen = 0;
    // Copy out: append() may hold a new segment into c.held.
    const bytes = c.held.slice(0, len);
    this.append(c, c.heldSeq, bytes, 0, len, consume);
  }

  private startsSip(buf: Uint8Array, off: number, len: number): boolean {
    return len > 0 && (looksLikeSip(buf, off, len) || (this.sipPort && couldStartSip(buf, off, len)));
  }

  private append(c: TcpConnection, seq: number, buf: Uint8Array, off: number, len: number, consume: ConsumeFn): void {
    if (c.nextSeq < 0) {
      if (!this.startsSip(buf, off, len)) return;
      c.nextSeq = seq;
      c.len = 0;
      c.skip = 0;
    }
    const ahead = (seq - c.nextSeq) | 0; // serial-number arithmetic over 2^32
    if (ahead > 0) {
      if (c.heldLen === 0 && len <= this.maxBuffer) {
        if (c.held.length < len) c.held = new Uint8Array(Math.max(len, 2048));
        c.held.set(buf.subarray(off, off + len), 0);
        c.heldLen = len;
        c.heldSeq = seq;
        this.stats.held++;
        return;
      }
      this.stats.gaps++;
      this.onLost('tcp-gap');
      c.len = 0;
      c.skip = 0;
      if (c.heldLen > 0 && ((c.heldSeq - seq) | 0) < 0 && this.startsSip(c.held, 0, c.heldLen)) {
        // The bytes before the held segment are lost; resume at the held segment, then take this one.
        const bytes = c.held.slice(0, c.heldLen);
        c.heldLen = 0;
        c.nextSeq = c.heldSeq;
        this.append(c, c.heldSeq, bytes, 0, bytes.length, consume);
        this.append(c, seq, buf, off, len, consume);
        return;
      }
      c.heldLen = 0;
      if (!this.startsSip(buf, off, len)) {
        c.nextSeq = -1;
        return;
      }
      c.nextSeq = seq;
    } else if (ahead < 0) {
      // Retransmission: skip bytes already taken.
      if (-ahead >= len) return;
      off += -ahead;
      len -= -ahead;
      seq = c.nextSeq;
    }
    c.nextSeq = (seq + len) >>> 0;
    // A segment that begins with a start line while a long message is passed over: its Content-Length was
    // wrong (a bogus one would blind the connection for as many bytes); go on from this message.
    if (c.skip > 0 && looksLikeSip(buf, off, len)) c.skip = 0;
    if (c.skip > 0) {
      const n = Math.min(c.skip, len);
      c.skip -= n;
      if (n === len) return;
      off += n;
      len -= n;
    }
    if (c.len > 0 && !c.reserve(c.len + len, this.maxBuffer)) {
      this.stats.overflows++;
      this.onLost('tcp-too-long');
      c.len = 0;
      if (!this.startsSip(buf, off, len)) {
        c.nextSeq = -1;
        return;
      }
    }
    if (c.len === 0) {
      // Fast path: parse straight from the packet, buffer only the unconsumed tail.
      const used = this.drain(buf, off, len, consume);
      if (this.resyncIfRejected(c)) return;
      this.keep(c, buf, off + used, len - used);
      this.awaitRest(c);
      return;
    }
    c.buf.set(buf.subarray(off, off + len), c.len);
    c.len += len;
    if (!this.mayComplete(c)) return;
    const used = this.drain(c.buf, 0, c.len, consume);
    if (this.resyncIfRejected(c)) return;
    if (used > 0) {
      c.buf.copyWithin(0, used, c.len);
      c.len -= used;
    }
    this.awaitRest(c);
  }

  /** The buffer now starts with the message the drain left incomplete (if any): what it needs. */
  private awaitRest(c: TcpConnection): void {
    c.need = c.len > 0 ? this.lastNeed : 0;
    c.scanned = c.len;
    if (c.need > this.maxBuffer) {
      // Too long to buffer, but its end is known: pass over it and stay in step with the messages after it.
      this.stats.overflows++;
      this.onLost('tcp-too-long');
      c.skip = c.need - c.len;
      c.len = 0;
      c.need = 0;
      c.scanned = 0;
    }
  }

  /** False while the buffered message cannot be complete: fewer bytes than its length, no blank line since the last look. */
  private mayComplete(c: TcpConnection): boolean {
    if (c.need > 0) return c.len >= c.need;
    if (c.need !== AWAIT_HEADER_END) return true;
    // A blank line ending in the new bytes may begin up to 2 bytes before them (LF CR LF).
    if (findHeaderEnd(c.buf, Math.max(0, c.scanned - 2), c.len) >= 0) return true;
    c.scanned = c.len;
    return false;
  }

  private resyncIfRejected(c: TcpConnection): boolean {
    if (!this.desync) return false;
    this.desync = false;
    this.stats.desyncs++;
    this.onLost('tcp-desync');
    c.len = 0;
    c.nextSeq = -1;
    return true;
  }

  private keep(c: TcpConnection, buf: Uint8Array, off: number, len: number): void {
    if (!c.reserve(len, this.maxBuffer)) {
      this.stats.overflows++;
      this.onLost('tcp-too-long');
      c.len = 0;
      c.nextSeq = -1;
      return;
    }
    c.buf.set(buf.subarray(off, off + len), 0);
    c.len = len;
  }

  /** Hands complete messages to `consume` until it needs more bytes; skips CRLF keep-alives between messages. */
  private drain(buf: Uint8Array, off: number, len: number, consume: ConsumeFn): number {
    let used = 0;
    this.lastNeed = 0;
    while (used < len) {
      const ch = buf[off + used];
      if (ch === 13 || ch === 10) {
        used++;
        continue;
      }
      this.need[0] = 0;
      const n = consume(buf, off + used, len - used, this.need);
      if (n < 0) this.desync = true;
      if (n === 0) this.lastNeed = this.need[0];
      if (n <= 0) break;
      used += n;
    }
    return used;
  }

  private open(key: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, sp: number, dp: number): TcpConnection {
    if (this.conns.size >= this.maxConnections) {
      for (const [k, old] of this.conns) {
        this.drop(k, old);
        this.stats.evicted++;
        break;
      }
    }
    const c = this.spare.pop() ?? new TcpConnection(Math.min(4096, this.maxBuffer));
    c.s0 = s0; c.s1 = s1; c.s2 = s2; c.s3 = s3; c.d0 = d0; c.d1 = d1; c.d2 = d2; c.d3 = d3; c.sp = sp; c.dp = dp;
    c.len = 0;
    c.heldLen = 0;
    c.need = 0;
    c.skip = 0;
    this.conns.set(key, c);
    this.stats.connections = this.conns.size;
    return c;
  }

  /** Forgets a connection (FIN, RST, evicted, its key taken): a message it held part of is lost. */
  private drop(key: number, c: TcpConnection): void {
    if (c.heldLen > 0) this.onLost('tcp-gap');
    else if (c.len > 0) this.onLost('tcp-incomplete');
    this.conns.delete(key);
    c.len = 0;
    c.heldLen = 0;
    if (this.spare.length < 16) this.spare.push(c);
    this.stats.connections = this.conns.size;
  }

  get size(): number {
    return this.conns.size;
  }
}
