import type {
  RtcpCompound, RtcpPacket, RtcpParseStats, RtcpReportBlock, SdesChunk, SdesItem, XrBlock,
} from './types.js';

/**
 * Compound RTCP parser. RTCP is a few packets per stream every few seconds, so it builds objects; it
 * still never throws: every length is checked against the captured bytes, and the first failing
 * sub-packet stops the walk with `malformed` set (earlier sub-packets are kept).
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** True for a plausible RTCP (compound) packet: version 2, PT 200..207, first length within `len`. */
export function isRtcp(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 8 || off < 0 || off + len > buf.length) return false;
  if (buf[off] >> 6 !== 2) return false;
  const pt = buf[off + 1];
  if (pt < 200 || pt > 207) return false;
  return (u16(buf, off + 2) + 1) * 4 <= len;
}

/**
 * rtcp-mux (RFC 5761 4): on a port that carries RTP, a packet whose second byte is 200..223 is RTCP
 * (those values would be RTP PT 72..95 with the marker bit, which RFC 5761 reserves). The length field
 * must also be sane, and for the 200..207 types we know, the stricter `isRtcp` check applies.
 */
export function isRtcpMux(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 8 || off < 0 || off + len > buf.length) return false;
  if (buf[off] >> 6 !== 2) return false;
  const b1 = buf[off + 1];
  if (b1 < 200 || b1 > 223) return false;
  return (u16(buf, off + 2) + 1) * 4 <= len;
}

function reportBlocks(b: Uint8Array, o: number, count: number): RtcpReportBlock[] {
  const out: RtcpReportBlock[] = [];
  for (let i = 0; i < count; i++, o += 24) {
    const cum = (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7];
    out.push({
      ssrc: u32(b, o),
      fractionLost: b[o + 4],
      cumulativeLost: cum & 0x800000 ? cum - 0x1000000 : cum,
      extHighestSeq: u32(b, o + 8),
      jitter: u32(b, o + 12),
      lsr: u32(b, o + 16),
      dlsr: u32(b, o + 20),
    });
  }
  return out;
}

/**
 * SDES item text b[s..e) as UTF-8. An ASCII item (nearly every CNAME) in a Buffer is read in place: the
 * same string, without a view and a decoder call per item.
 */
function itemText(b: Uint8Array, s: number, e: number): string {
  if (Buffer.isBuffer(b)) {
    let i = s;
    while (i < e && b[i] < 0x80) i++;
    if (i === e) return b.toString('latin1', s, e);
  }
  return utf8.decode(b.subarray(s, e));
}

/** Returns the parsed SDES chunks, or a string naming the error. `end` is exclusive. */
function sdesChunks(b: Uint8Array, o: number, end: number, count: number): SdesChunk[] | string {
  const chunks: SdesChunk[] = [];
  for (let c = 0; c < count; c++) {
    const start = o;
    if (o + 4 > end) return 'SDES chunk truncated';
    const ssrc = u32(b, o);
    o += 4;
    const items: SdesItem[] = [];
    let cname: string | null = null;
    for (;;) {
      if (o >= end) return 'SDES item list not terminated';
      const type = b[o];
      if (type === 0) {
        o++;
        break;
      }
      if (o + 2 > end) return 'SDES item header truncated';
      const n = b[o + 1];
      if (o + 2 + n > end) return 'SDES item text exceeds packet';
      const text = itemText(b, o + 2, o + 2 + n);
      items.push({ type, text });
      if (type === 1 && cname === null) cname = text;
      o += 2 + n;
    }
    // Chunks end on a 32-bit boundary relative to the chunk start (the null octets pad it).
    const used = o - start;
    o = start + ((used + 3) & ~3);
    if (o > end) return 'SDES chunk padding exceeds packet';
    chunks.push({ ssrc, items, cname });
  }
  return chunks;
}

function xrBlocks(b: Uint8Array, o: number, end: number): XrBlock[] | string {
  const blocks: XrBlock[] = [];
  while (o < end) {
    if (o + 4 > end) return 'XR block header truncated';
    const bt = b[o];
    const ts = b[o + 1];
    const words = u16(b, o + 2);
    const bodyEnd = o + 4 + words * 4;
    if (bodyEnd > end) return 'XR block exceeds packet';
    const p = o + 4;
    if (bt === 4) {
      if (words !== 2) return 'XR RRTR block length is not 2';
      blocks.push({ kind: 'RRTR', bt: 4, ntpSec: u32(b, p), ntpFrac: u32(b, p + 4) });
    } else if (bt === 5) {
      if (words % 3 !== 0) return 'XR DLRR block length is not a multiple of 3';
      const items = [];
      for (let q = p; q < bodyEnd; q += 12) items.push({ ssrc: u32(b, q), lrr: u32(b, q + 4), dlrr: u32(b, q + 8) });
      blocks.push({ kind: 'DLRR', bt: 5, items });
    } else if (bt === 7) {
      if (words !== 8) return 'XR VoIP metrics block length is not 8';
      blocks.push({
        kind: 'VOIP_METRICS', bt: 7, ssrc: u32(b, p),
        lossRate: b[p + 4], discardRate: b[p + 5], burstDensity: b[p + 6], gapDensity: b[p + 7],
        burstDuration: u16(b, p + 8), gapDuration: u16(b, p + 10),
        roundTripDelay: u16(b, p + 12), endSystemDelay: u16(b, p + 14),
        signalLevel: (b[p + 16] << 24) >> 24, noiseLevel: (b[p + 17] << 24) >> 24, rerl: b[p + 18], gmin: b[p + 19],
        rFactor: b[p + 20], extRFactor: b[p + 21], mosLq: b[p + 22], mosCq: b[p + 23],
        rxConfig: b[p + 24], plc: b[p + 24] >> 6, jba: (b[p + 24] >> 4) & 3, jbRate: b[p + 24] & 0x0f, jbNominal: u16(b, p + 26), jbMaximum: u16(b, p + 28), jbAbsMax: u16(b, p + 30),
      });
    } else {
      blocks.push({ kind: 'OTHER', bt, typeSpecific: ts, length: words });
    }
    o = bodyEnd;
  }
  return blocks;
}

function appName(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[o + i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
}

/**
 * Parses one UDP payload as compound RTCP. `stats`, when given, counts compounds, sub-packets and
 * malformed compounds.
 */
export function parseRtcp(buf: Uint8Array, off: number, len: number, stats?: RtcpParseStats): RtcpCompound {
  const packets: RtcpPacket[] = [];
  const result: RtcpCompound = { packets, malformed: false, error: null, trailingBytes: 0 };
  if (stats) stats.compounds++;
  if (!(off >= 0 && len >= 0 && off + len <= buf.length)) return fail(result, 'range outside buffer', stats);
  if (len < 4) return fail(result, 'shorter than an RTCP header', stats);
  const end = off + len;
  let o = off;
  while (o < end) {
    if (o + 4 > end) {
      // Seen in the wild (an SDES whose length field is 2 bytes short): up to 3 trailing zero bytes are
      // tolerated like Wireshark does; anything else is malformed.
      for (let i = o; i < end; i++) if (buf[i] !== 0) return fail(result, 'trailing bytes shorter than an RTCP header', stats);
      result.trailingBytes = end - o;
      break;
    }
    const b0 = buf[o];
    if (b0 >> 6 !== 2) return fail(result, 'RTCP version is not 2', stats);
    const count = b0 & 0x1f;
    const pt = buf[o + 1];
    const pktLen = (u16(buf, o + 2) + 1) * 4;
    if (o + pktLen > end) return fail(result, `packet type ${pt} length ${pktLen} exceeds the datagram`, stats);
    let contentEnd = o + pktLen;
    if (b0 & 0x20) {
      const padCount = buf[o + pktLen - 1];
      if (padCount === 0 || padCount > pktLen - 4) return fail(result, 'bad RTCP padding count', stats);
      contentEnd -= padCount;
    }
    const p = o + 4;
    const avail = contentEnd - p;
    if (pt === 200) {
      if (avail < 24 + 24 * count) return fail(result, 'SR shorter than its sender info and report blocks', stats);
      packets.push({
        kind: 'SR', pt: 200, ssrc: u32(buf, p), ntpSec: u32(buf, p + 4), ntpFrac: u32(buf, p + 8),
        rtpTs: u32(buf, p + 12), packets: u32(buf, p + 16), octets: u32(buf, p + 20),
        reports: reportBlocks(buf, p + 24, count),
      });
    } else if (pt === 201) {
      if (avail < 4 + 24 * count) return fail(result, 'RR shorter than its report blocks', stats);
      packets.push({ kind: 'RR', pt: 201, ssrc: u32(buf, p), reports: reportBlocks(buf, p + 4, count) });
    } else if (pt === 202) {
      const chunks = sdesChunks(buf, p, contentEnd, count);
      if (typeof chunks === 'string') return fail(result, chunks, stats);
      packets.push({ kind: 'SDES', pt: 202, chunks });
    } else if (pt === 203) {
      if (avail < 4 * count) return fail(result, 'BYE shorter than its SSRC list', stats);
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(u32(buf, p + 4 * i));
      let reason: string | null = null;
      const r = p + 4 * count;
      if (r < contentEnd) {
        const n = buf[r];
        if (r + 1 + n > contentEnd) return fail(result, 'BYE reason exceeds packet', stats);
        reason = utf8.decode(buf.subarray(r + 1, r + 1 + n));
      }
      packets.push({ kind: 'BYE', pt: 203, ssrcs, reason });
    } else if (pt === 204) {
      if (avail < 8) return fail(result, 'APP shorter than SSRC and name', stats);
      packets.push({ kind: 'APP', pt: 204, subtype: count, ssrc: u32(buf, p), name: appName(buf, p + 4), dataLength: avail - 8 });
    } else if (pt === 207) {
      if (avail < 4) return fail(result, 'XR shorter than its SSRC', stats);
      const blocks = xrBlocks(buf, p + 4, contentEnd);
      if (typeof blocks === 'string') return fail(result, blocks, stats);
      packets.push({ kind: 'XR', pt: 207, ssrc: u32(buf, p), blocks });
    } else {
      packets.push({ kind: 'OTHER', pt, count, length: pktLen });
    }
    if (stats) stats.packets++;
    o += pktLen;
  }
  return result;
}

function fail(r: RtcpCompound, error: string, stats: RtcpParseStats | undefined): RtcpCompound {
  r.malformed = true;
  r.error = error;
  if (stats) stats.malformed++;
  return r;
}
