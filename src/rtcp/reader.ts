import type { RtcpParseStats } from './types.js';

/**
 * Compound RTCP walked into reused tables (RFC 3550 6.4-6.7, RFC 3611): the probe reads every RTCP
 * packet it sees, and objects per packet would be garbage per packet. `read` checks every length against
 * the captured bytes and records where each sub-packet, XR block and SDES chunk and item lies; fields are
 * read from the bytes where they are used (rtt.ts, and parse.ts, which makes the objects of RtcpCompound
 * from these tables when something needs them). It never throws: the first failing sub-packet stops the
 * walk with `malformed` set, the sub-packets before it kept. The tables grow to the largest compound seen,
 * at most one entry per 2 bytes of a datagram (64 KiB).
 */
export class RtcpReader {
  /** The bytes of the compound last read (fields are read from them). */
  buf: Uint8Array = EMPTY;
  /** Sub-packets read. */
  packets = 0;
  /** True when a sub-packet failed a length or version check; the sub-packets before it are kept. */
  malformed = false;
  /** Why the walk stopped, or null. */
  error: string | null = null;
  /** Zero bytes (fewer than 4) tolerated after the last packet. */
  trailingBytes = 0;

  // ---- per sub-packet i < packets
  /** Packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 207 XR, others by their header only). */
  pt = new Uint8Array(8);
  /** The header's 5-bit count (report blocks, SDES chunks, BYE SSRCs, APP subtype). */
  count = new Uint8Array(8);
  /** Offset of the word after the header, and of the end of the content (padding excluded). */
  body = new Int32Array(8);
  end = new Int32Array(8);
  /** Length field in bytes, header included. */
  length = new Int32Array(8);
  /** XR: first of its blocks in the block table; SDES: first of its chunks in the chunk table. */
  first = new Int32Array(8);
  /** XR: its blocks; SDES: its chunks (= count). */
  entries = new Int32Array(8);

  // ---- XR blocks (bt, type-specific byte, length in words, offset of the body)
  xrBlocks = 0;
  xrBt = new Uint8Array(8);
  xrTypeSpecific = new Uint8Array(8);
  xrWords = new Int32Array(8);
  xrBody = new Int32Array(8);

  // ---- SDES chunks (offset of the SSRC, first item, items) and items (type, text offset and length)
  chunks = 0;
  chunkAt = new Int32Array(8);
  chunkFirst = new Int32Array(8);
  chunkItems = new Int32Array(8);
  items = 0;
  itemType = new Uint8Array(8);
  itemAt = new Int32Array(8);
  itemLength = new Uint8Array(8);

  /** Reads one UDP payload as compound RTCP; `stats`, when given, counts compounds, sub-packets and malformed ones. False when malformed. */
  read(buf: Uint8Array, off: number, len: number, stats?: RtcpParseStats): boolean {
    this.buf = buf;
    this.packets = 0;
    this.xrBlocks = 0;
    this.chunks = 0;
    this.items = 0;
    this.malformed = false;
    this.error = null;
    this.trailingBytes = 0;
    if (stats) stats.compounds++;
    if (!(off >= 0 && len >= 0 && off + len <= buf.length)) return this.fail('range outside buffer', stats);
    if (len < 4) return this.fail('shorter than an RTCP header', stats);
    const end = off + len;
    let o = off;
    while (o < end) {
      if (o + 4 > end) {
        // Seen in the wild (an SDES whose length field is 2 bytes short): up to 3 trailing zero bytes are
        // tolerated like Wireshark does; anything else is malformed.
        for (let i = o; i < end; i++) if (buf[i] !== 0) return this.fail('trailing bytes shorter than an RTCP header', stats);
        this.trailingBytes = end - o;
        break;
      }
      const b0 = buf[o];
      if (b0 >> 6 !== 2) return this.fail('RTCP version is not 2', stats);
      const count = b0 & 0x1f;
      const pt = buf[o + 1];
      const pktLen = (u16(buf, o + 2) + 1) * 4;
      if (o + pktLen > end) return this.fail(`packet type ${pt} length ${pktLen} exceeds the datagram`, stats);
      let contentEnd = o + pktLen;
      if (b0 & 0x20) {
        const padCount = buf[o + pktLen - 1];
        if (padCount === 0 || padCount > pktLen - 4) return this.fail('bad RTCP padding count', stats);
        contentEnd -= padCount;
      }
      const p = o + 4;
      const avail = contentEnd - p;
      const i = this.packets;
      if (i === this.pt.length) this.growPackets();
      let first = 0;
      let entries = 0;
      if (pt === 200) {
        if (avail < 24 + 24 * count) return this.fail('SR shorter than its sender info and report blocks', stats);
      } else if (pt === 201) {
        if (avail < 4 + 24 * count) return this.fail('RR shorter than its report blocks', stats);
      } else if (pt === 202) {
        first = this.chunks;
        const error = this.sdesChunks(buf, p, contentEnd, count, contentEnd === end);
        if (error !== null) return this.fail(error, stats);
        entries = count;
      } else if (pt === 203) {
        if (avail < 4 * count) return this.fail('BYE shorter than its SSRC list', stats);
        const r = p + 4 * count;
        if (r < contentEnd && r + 1 + buf[r] > contentEnd) return this.fail('BYE reason exceeds packet', stats);
      } else if (pt === 204) {
        if (avail < 8) return this.fail('APP shorter than SSRC and name', stats);
      } else if (pt === 207) {
        if (avail < 4) return this.fail('XR shorter than its SSRC', stats);
        first = this.xrBlocks;
        const error = this.xrBlockList(buf, p + 4, contentEnd);
        if (error !== null) return this.fail(error, stats);
        entries = this.xrBlocks - first;
      }
      this.pt[i] = pt;
      this.count[i] = count;
      this.body[i] = p;
      this.end[i] = contentEnd;
      this.length[i] = pktLen;
      this.first[i] = first;
      this.entries[i] = entries;
      this.packets = i + 1;
      if (stats) stats.packets++;
      o += pktLen;
    }
    return true;
  }

  /** Unsigned 32-bit word at byte offset o of the compound. */
  u32(o: number): number {
    const b = this.buf;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  /**
   * Sender SSRC of sub-packet i (SR, RR, APP, XR, and RTPFB/PSFB, RFC 4585 6.1, when it holds one: the word
   * after the header); -1 for the others.
   */
  senderSsrc(i: number): number {
    const pt = this.pt[i];
    if (pt === 200 || pt === 201 || pt === 204 || pt === 207) return this.u32(this.body[i]);
    return (pt === 205 || pt === 206) && this.end[i] - this.body[i] >= 4 ? this.u32(this.body[i]) : -1;
  }

  /** Offset of report block k of SR or RR sub-packet i (24 bytes each). */
  reportBlock(i: number, k: number): number {
    return this.body[i] + (this.pt[i] === 200 ? 24 : 4) + 24 * k;
  }

  /** The SSRCs BYE sub-packet i lists, as a new array (for objects that outlive the read: HOMER's JSON, worker facts). */
  byeSsrcs(i: number): number[] {
    const ssrcs: number[] = [];
    for (let k = 0; k < this.count[i]; k++) ssrcs.push(this.byeSsrc(i, k));
    return ssrcs;
  }

  /** SSRC k (< count[i]) that BYE sub-packet i lists. */
  byeSsrc(i: number, k: number): number {
    return this.u32(this.body[i] + 4 * k);
  }

  private fail(error: string, stats: RtcpParseStats | undefined): boolean {
    this.malformed = true;
    this.error = error;
    if (stats) stats.malformed++;
    return false;
  }

  /**
   * Records SDES chunks in b[o..end): null, or the error. `endsDatagram`: the packet is the datagram's
   * last, unpadded. Then the last chunk's items may run to its end without their null item, as Wireshark
   * reads them (Janus sent its CNAME so when the item ended on a 32-bit boundary): the compound is kept.
   */
  private sdesChunks(b: Uint8Array, o: number, end: number, count: number, endsDatagram: boolean): string | null {
    for (let c = 0; c < count; c++) {
      const start = o;
      if (o + 4 > end) return 'SDES chunk truncated';
      const chunk = this.chunks;
      if (chunk === this.chunkAt.length) this.growChunks();
      this.chunkAt[chunk] = o;
      this.chunkFirst[chunk] = this.items;
      o += 4;
      for (;;) {
        if (o === end && endsDatagram && c === count - 1) break;
        if (o >= end) return 'SDES item list not terminated';
        const type = b[o];
        if (type === 0) {
          o++;
          break;
        }
        if (o + 2 > end) return 'SDES item header truncated';
        const n = b[o + 1];
        if (o + 2 + n > end) return 'SDES item text exceeds packet';
        const item = this.items;
        if (item === this.itemAt.length) this.growItems();
        this.itemType[item] = type;
        this.itemAt[item] = o + 2;
        this.itemLength[item] = n;
        this.items = item + 1;
        o += 2 + n;
      }
      // Chunks end on a 32-bit boundary relative to the chunk start (the null octets pad it).
      const used = o - start;
      o = start + ((used + 3) & ~3);
      if (o > end) return 'SDES chunk padding exceeds packet';
      this.chunkItems[chunk] = this.items - this.chunkFirst[chunk];
      this.chunks = chunk + 1;
    }
    return null;
  }

  /** Records XR blocks in b[o..end): null, or the error. */
  private xrBlockList(b: Uint8Array, o: number, end: number): string | null {
    while (o < end) {
      if (o + 4 > end) return 'XR block header truncated';
      const bt = b[o];
      const words = u16(b, o + 2);
      const bodyEnd = o + 4 + words * 4;
      if (bodyEnd > end) return 'XR block exceeds packet';
      if (bt === 4 && words !== 2) return 'XR RRTR block length is not 2';
      if (bt === 5 && words % 3 !== 0) return 'XR DLRR block length is not a multiple of 3';
      if (bt === 7 && words !== 8) return 'XR VoIP metrics block length is not 8';
      const k = this.xrBlocks;
      if (k === this.xrBt.length) this.growXr();
      this.xrBt[k] = bt;
      this.xrTypeSpecific[k] = b[o + 1];
      this.xrWords[k] = words;
      this.xrBody[k] = o + 4;
      this.xrBlocks = k + 1;
      o = bodyEnd;
    }
    return null;
  }

  private growPackets(): void {
    const n = this.pt.length * 2;
    this.pt = grow8(this.pt, n);
    this.count = grow8(this.count, n);
    this.body = grow32(this.body, n);
    this.end = grow32(this.end, n);
    this.length = grow32(this.length, n);
    this.first = grow32(this.first, n);
    this.entries = grow32(this.entries, n);
  }

  private growXr(): void {
    const n = this.xrBt.length * 2;
    this.xrBt = grow8(this.xrBt, n);
    this.xrTypeSpecific = grow8(this.xrTypeSpecific, n);
    this.xrWords = grow32(this.xrWords, n);
    this.xrBody = grow32(this.xrBody, n);
  }

  private growChunks(): void {
    const n = this.chunkAt.length * 2;
    this.chunkAt = grow32(this.chunkAt, n);
    this.chunkFirst = grow32(this.chunkFirst, n);
    this.chunkItems = grow32(this.chunkItems, n);
  }

  private growItems(): void {
    const n = this.itemAt.length * 2;
    this.itemType = grow8(this.itemType, n);
    this.itemAt = grow32(this.itemAt, n);
    this.itemLength = grow8(this.itemLength, n);
  }
}

const EMPTY = new Uint8Array(0);

export function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function grow8(a: Uint8Array, n: number) {
  const next = new Uint8Array(n);
  next.set(a);
  return next;
}

function grow32(a: Int32Array, n: number) {
  const next = new Int32Array(n);
  next.set(a);
  return next;
}
