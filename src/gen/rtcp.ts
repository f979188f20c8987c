/**
 * RTCP builders (RFC 3550 6.4-6.7, RFC 3611) for the project's fixtures. Clarity over speed: each call
 * returns a fresh buffer with correct length fields; `rtcpCompound` concatenates packets.
 */
import type { RtcpReportBlock, XrVoipMetrics } from '../rtcp/types.js';
import { concat, writeU16, writeU32 } from './packets.js';

/** A report block as the builders take it: the parsed form's fields, raw wire units. */
export type RtcpReportBlockFields = RtcpReportBlock;

export interface RtcpSrFields {
  ssrc: number;
  ntpSec: number;
  ntpFrac: number;
  rtpTs: number;
  packets: number;
  octets: number;
  reports?: RtcpReportBlockFields[];
  /** Padding bytes to append (multiple of 4), sets the P bit. */
  padding?: number;
}

function header(count: number, pt: number, bodyLen: number, padding = 0): Uint8Array {
  const total = 4 + bodyLen + padding;
  if (total % 4) throw new Error('RTCP packet length must be a multiple of 4');
  const h = new Uint8Array(4);
  h[0] = 0x80 | (padding ? 0x20 : 0) | (count & 0x1f);
  h[1] = pt;
  writeU16(h, 2, total / 4 - 1);
  return h;
}

function pad(n: number): Uint8Array {
  const p = new Uint8Array(n);
  if (n) p[n - 1] = n;
  return p;
}

function reportBlock(r: RtcpReportBlockFields): Uint8Array {
  const b = new Uint8Array(24);
  writeU32(b, 0, r.ssrc);
  b[4] = r.fractionLost & 0xff;
  const cum = r.cumulativeLost & 0xffffff;
  b[5] = (cum >>> 16) & 0xff;
  b[6] = (cum >>> 8) & 0xff;
  b[7] = cum & 0xff;
  writeU32(b, 8, r.extHighestSeq);
  writeU32(b, 12, r.jitter);
  writeU32(b, 16, r.lsr);
  writeU32(b, 20, r.dlsr);
  return b;
}

export function rtcpSr(f: RtcpSrFields): Uint8Array {
  const reports = f.reports ?? [];
  const body = new Uint8Array(24);
  writeU32(body, 0, f.ssrc);
  writeU32(body, 4, f.ntpSec);
  writeU32(body, 8, f.ntpFrac);
  writeU32(body, 12, f.rtpTs);
  writeU32(body, 16, f.packets);
  writeU32(body, 20, f.octets);
  const blocks = reports.map(reportBlock);
  const len = 24 + 24 * reports.length;
  return concat(header(reports.length, 200, len, f.padding ?? 0), body, ...blocks, pad(f.padding ?? 0));
}

export function rtcpRr(f: { ssrc: number; reports?: RtcpReportBlockFields[]; padding?: number }): Uint8Array {
  const reports = f.reports ?? [];
  const s = new Uint8Array(4);
  writeU32(s, 0, f.ssrc);
  return concat(header(reports.length, 201, 4 + 24 * reports.length, f.padding ?? 0), s, ...reports.map(reportBlock), pad(f.padding ?? 0));
}

export interface SdesItemFields {
  /** 1 CNAME, 2 NAME, 3 EMAIL, 4 PHONE, 5 LOC, 6 TOOL, 7 NOTE, 8 PRIV. */
  type: number;
  /** Text (UTF-8 encoded) or raw bytes (to build invalid UTF-8). */
  value: string | Uint8Array;
}

export function rtcpSdes(chunks: Array<{ ssrc: number; items: SdesItemFields[] }>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const c of chunks) {
    const items: Uint8Array[] = [];
    const s = new Uint8Array(4);
    writeU32(s, 0, c.ssrc);
    items.push(s);
    let n = 4;
    for (const it of c.items) {
      const v = typeof it.value === 'string' ? new TextEncoder().encode(it.value) : it.value;
      if (v.length > 255) throw new Error('SDES item longer than 255 bytes');
      items.push(Uint8Array.of(it.type, v.length), v);
      n += 2 + v.length;
    }
    // End of list: at least one null octet, then pad the chunk to a 32-bit boundary.
    const end = 4 - (n % 4);
    items.push(new Uint8Array(end));
    parts.push(concat(...items));
  }
  const body = concat(...parts);
  return concat(header(chunks.length, 202, body.length), body);
}

export function rtcpBye(f: { ssrcs: number[]; reason?: string }): Uint8Array {
  const s = new Uint8Array(4 * f.ssrcs.length);
  f.ssrcs.forEach((x, i) => writeU32(s, i * 4, x));
  let reason = new Uint8Array(0);
  if (f.reason !== undefined) {
    const t = new TextEncoder().encode(f.reason);
    const r = new Uint8Array((1 + t.length + 3) & ~3);
    r[0] = t.length;
    r.set(t, 1);
    reason = r;
  }
  return concat(header(f.ssrcs.length, 203, s.length + reason.length), s, reason);
}

export function rtcpApp(f: { subtype: number; ssrc: number; name: string; data?: Uint8Array }): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  if (data.length % 4) throw new Error('APP data must be a multiple of 4 bytes');
  const b = new Uint8Array(8);
  writeU32(b, 0, f.ssrc);
  for (let i = 0; i < 4; i++) b[4 + i] = f.name.charCodeAt(i) & 0xff;
  return concat(header(f.subtype, 204, 8 + data.length), b, data);
}

/** One XR report block: BT, type-specific byte, body (multiple of 4). */
export function xrBlock(bt: number, typeSpecific: number, body: Uint8Array): Uint8Array {
  if (body.length % 4) throw new Error('XR block body must be a multiple of 4 bytes');
  const h = new Uint8Array(4);
  h[0] = bt;
  h[1] = typeSpecific;
  writeU16(h, 2, body.length / 4);
  return concat(h, body);
}

/** RFC 3611 4.4 Receiver Reference Time. */
export function xrRrtr(ntpSec: number, ntpFrac: number): Uint8Array {
  const b = new Uint8Array(8);
  writeU32(b, 0, ntpSec);
  writeU32(b, 4, ntpFrac);
  return xrBlock(4, 0, b);
}

/** RFC 3611 4.5 DLRR: one sub-block per receiver. */
export function xrDlrr(items: Array<{ ssrc: number; lrr: number; dlrr: number }>): Uint8Array {
  const b = new Uint8Array(12 * items.length);
  items.forEach((it, i) => {
    writeU32(b, i * 12, it.ssrc);
    writeU32(b, i * 12 + 4, it.lrr);
    writeU32(b, i * 12 + 8, it.dlrr);
  });
  return xrBlock(5, 0, b);
}

/** The VoIP metrics block's wire fields: what the parser returns, less its tags and the decoded rxConfig. */
export type XrVoipMetricsFields = Omit<XrVoipMetrics, 'kind' | 'bt' | 'plc' | 'jba' | 'jbRate'>;

/** RFC 3611 4.7 VoIP Metrics (BT 7, 32-byte body). */
export function xrVoipMetrics(f: XrVoipMetricsFields): Uint8Array {
  const b = new Uint8Array(32);
  writeU32(b, 0, f.ssrc);
  b[4] = f.lossRate; b[5] = f.discardRate; b[6] = f.burstDensity; b[7] = f.gapDensity;
  writeU16(b, 8, f.burstDuration); writeU16(b, 10, f.gapDuration);
  writeU16(b, 12, f.roundTripDelay); writeU16(b, 14, f.endSystemDelay);
  b[16] = f.signalLevel & 0xff; b[17] = f.noiseLevel & 0xff; b[18] = f.rerl; b[19] = f.gmin;
  b[20] = f.rFactor; b[21] = f.extRFactor; b[22] = f.mosLq; b[23] = f.mosCq;
  b[24] = f.rxConfig; b[25] = 0; writeU16(b, 26, f.jbNominal);
  writeU16(b, 28, f.jbMaximum); writeU16(b, 30, f.jbAbsMax);
  return xrBlock(7, 0, b);
}

export function rtcpXr(f: { ssrc: number; blocks: Uint8Array[] }): Uint8Array {
  const s = new Uint8Array(4);
  writeU32(s, 0, f.ssrc);
  const body = concat(s, ...f.blocks);
  return concat(header(0, 207, body.length), body);
}

export function rtcpCompound(...packets: Uint8Array[]): Uint8Array {
  return concat(...packets);
}
