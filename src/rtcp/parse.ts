import type {
  RtcpCompound, RtcpPacket, RtcpParseStats, RtcpReportBlock, SdesChunk, XrBlock,
} from './types.js';
import { RtcpReader, u16 } from './reader.js';

/**
 * Compound RTCP as objects (RtcpCompound), for what needs them: HOMER's JSON (homer.ts), tests and
 * tools. The walk and its checks are RtcpReader's; this makes the objects from its tables. Never throws.
 */

const utf8 = new TextDecoder('utf-8', { fatal: false });

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

function appName(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[o + i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return s;
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

function reportBlocks(r: RtcpReader, i: number): RtcpReportBlock[] {
  const b = r.buf;
  const out: RtcpReportBlock[] = [];
  for (let k = 0; k < r.count[i]; k++) {
    const o = r.reportBlock(i, k);
    const cum = (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7];
    out.push({
      ssrc: r.u32(o),
      fractionLost: b[o + 4],
      cumulativeLost: cum & 0x800000 ? cum - 0x1000000 : cum,
      extHighestSeq: r.u32(o + 8),
      jitter: r.u32(o + 12),
      lsr: r.u32(o + 16),
      dlsr: r.u32(o + 20),
    });
  }
  return out;
}

function sdesChunks(r: RtcpReader, i: number): SdesChunk[] {
  const chunks: SdesChunk[] = [];
  for (let c = r.first[i]; c < r.first[i] + r.entries[i]; c++) {
    const items = [];
    let cname: string | null = null;
    for (let k = r.chunkFirst[c]; k < r.chunkFirst[c] + r.chunkItems[c]; k++) {
      const type = r.itemType[k];
      const text = itemText(r.buf, r.itemAt[k], r.itemAt[k] + r.itemLength[k]);
      items.push({ type, text });
      if (type === 1 && cname === null) cname = text;
    }
    chunks.push({ ssrc: r.u32(r.chunkAt[c]), items, cname });
  }
  return chunks;
}

function xrBlocks(r: RtcpReader, i: number): XrBlock[] {
  const b = r.buf;
  const blocks: XrBlock[] = [];
  for (let k = r.first[i]; k < r.first[i] + r.entries[i]; k++) {
    const bt = r.xrBt[k];
    const p = r.xrBody[k];
    if (bt === 4) {
      blocks.push({ kind: 'RRTR', bt: 4, ntpSec: r.u32(p), ntpFrac: r.u32(p + 4) });
    } else if (bt === 5) {
      const items = [];
      for (let q = p; q < p + 4 * r.xrWords[k]; q += 12) items.push({ ssrc: r.u32(q), lrr: r.u32(q + 4), dlrr: r.u32(q + 8) });
      blocks.push({ kind: 'DLRR', bt: 5, items });
    } else if (bt === 7) {
      blocks.push({
        kind: 'VOIP_METRICS', bt: 7, ssrc: r.u32(p),
        lossRate: b[p + 4], discardRate: b[p + 5], burstDensity: b[p + 6], gapDensity: b[p + 7],
        burstDuration: u16(b, p + 8), gapDuration: u16(b, p + 10),
        roundTripDelay: u16(b, p + 12), endSystemDelay: u16(b, p + 14),
        signalLevel: (b[p + 16] << 24) >> 24, noiseLevel: (b[p + 17] << 24) >> 24, rerl: b[p + 18], gmin: b[p + 19],
        rFactor: b[p + 20], extRFactor: b[p + 21], mosLq: b[p + 22], mosCq: b[p + 23],
        rxConfig: b[p + 24], plc: b[p + 24] >> 6, jba: (b[p + 24] >> 4) & 3, jbRate: b[p + 24] & 0x0f, jbNominal: u16(b, p + 26), jbMaximum: u16(b, p + 28), jbAbsMax: u16(b, p + 30),
      });
    } else {
      blocks.push({ kind: 'OTHER', bt, typeSpecific: r.xrTypeSpecific[k], length: r.xrWords[k] });
    }
  }
  return blocks;
}

/** The objects of what `r` read last (its bytes must not have changed since). */
export function compoundOf(r: RtcpReader): RtcpCompound {
  const b = r.buf;
  const packets: RtcpPacket[] = [];
  for (let i = 0; i < r.packets; i++) {
    const pt = r.pt[i];
    const p = r.body[i];
    const count = r.count[i];
    if (pt === 200) {
      packets.push({
        kind: 'SR', pt: 200, ssrc: r.u32(p), ntpSec: r.u32(p + 4), ntpFrac: r.u32(p + 8),
        rtpTs: r.u32(p + 12), packets: r.u32(p + 16), octets: r.u32(p + 20), reports: reportBlocks(r, i),
      });
    } else if (pt === 201) {
      packets.push({ kind: 'RR', pt: 201, ssrc: r.u32(p), reports: reportBlocks(r, i) });
    } else if (pt === 202) {
      packets.push({ kind: 'SDES', pt: 202, chunks: sdesChunks(r, i) });
    } else if (pt === 203) {
      const at = p + 4 * count;
      const reason = at < r.end[i] ? utf8.decode(b.subarray(at + 1, at + 1 + b[at])) : null;
      packets.push({ kind: 'BYE', pt: 203, ssrcs: r.byeSsrcs(i), reason });
    } else if (pt === 204) {
      packets.push({ kind: 'APP', pt: 204, subtype: count, ssrc: r.u32(p), name: appName(b, p + 4), dataLength: r.end[i] - p - 8 });
    } else if (pt === 207) {
      packets.push({ kind: 'XR', pt: 207, ssrc: r.u32(p), blocks: xrBlocks(r, i) });
    } else {
      const ssrc = r.senderSsrc(i);
      packets.push(ssrc >= 0 ? { kind: 'OTHER', pt, count, length: r.length[i], ssrc } : { kind: 'OTHER', pt, count, length: r.length[i] });
    }
  }
  return { packets, malformed: r.malformed, error: r.error, trailingBytes: r.trailingBytes };
}

const reader = new RtcpReader();

/**
 * Parses one UDP payload as compound RTCP. `stats`, when given, counts compounds, sub-packets and
 * malformed compounds.
 */
export function parseRtcp(buf: Uint8Array, off: number, len: number, stats?: RtcpParseStats): RtcpCompound {
  reader.read(buf, off, len, stats);
  const c = compoundOf(reader);
  reader.buf = EMPTY; // the module's reader keeps no capture buffer alive
  return c;
}

const EMPTY = new Uint8Array(0);
