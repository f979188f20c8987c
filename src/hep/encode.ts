import { HEP_AF_INET, HEP_AF_INET6, HEP_MAX_PACKET, HepChunk, HepProtoType, type HepMessage } from './types.js';
import { writeIpv4, writeIpv6 } from './ip.js';

/** Negative results of `encodeHep3(msg, out)`; the buffer-less form throws `HepEncodeError` instead. */
export const HepEncodeStatus = {
  /** Non-SIP message without a correlation id: HOMER (heplify-server, Kamailio) would drop it. */
  EMPTY_CORRELATION_ID: -1,
  /** The packet would exceed the u16 total length (65535 bytes). */
  TOO_BIG: -2,
  /** An address is not a valid IPv4/IPv6 text or byte array of the family's size. */
  BAD_ADDRESS: -3,
  /** A numeric field does not fit its chunk (u8/u16/u32, VLAN 0..4095, MOS 0..655.35). */
  OUT_OF_RANGE: -4,
  /** The caller's buffer is smaller than the encoded packet. */
  OUT_TOO_SMALL: -5,
} as const;
export type HepEncodeStatusCode = (typeof HepEncodeStatus)[keyof typeof HepEncodeStatus];

const STATUS_TEXT: Record<number, string> = {
  [-1]: 'non-SIP HEP message without correlation id (HOMER drops it)',
  [-2]: `HEP packet would exceed ${HEP_MAX_PACKET} bytes (u16 total length)`,
  [-3]: 'invalid IP address for the given family',
  [-4]: 'numeric value does not fit its HEP chunk',
  [-5]: 'output buffer too small for the HEP packet',
};

/** Name of the field that made the last encode fail (a constant string; set only on failure). */
let lastFailedField = '';

export function describeHepEncodeStatus(code: number, field: string = lastFailedField): string {
  return `${STATUS_TEXT[code] ?? `unknown status ${code}`}${field ? ` (field ${field})` : ''}`;
}

export class HepEncodeError extends Error {
  constructor(
    readonly code: HepEncodeStatusCode,
    readonly field: string,
  ) {
    super(`encodeHep3: ${describeHepEncodeStatus(code, field)}`);
    this.name = 'HepEncodeError';
  }
}

const MAGIC_H = 0x48;
const MAGIC_E = 0x45;
const MAGIC_P = 0x50;
const MAGIC_3 = 0x33;
const U32_MAX = 0xffffffff;

function isUInt(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function hdr(out: Buffer, off: number, type: number, len: number): void {
  out.writeUInt16BE(0, off);
  out.writeUInt16BE(type, off + 2);
  out.writeUInt16BE(len, off + 4);
}

function fail(field: string, code: HepEncodeStatusCode): HepEncodeStatusCode {
  lastFailedField = field;
  return code;
}

/**
 * Writes a string chunk at `off`; returns the new offset, or a negative status. UTF-8 byte length is only
 * computed when the remaining room could be too small (Buffer.write truncates silently).
 */
function strChunk(out: Buffer, off: number, cap: number, type: number, s: string, field: string): number {
  const room = cap - off - 6;
  if (room < 0 || s.length * 3 > room) {
    const need = Buffer.byteLength(s, 'utf8');
    if (need > room) {
      const tooBig = off + 6 + need > HEP_MAX_PACKET;
      return fail(field, tooBig ? HepEncodeStatus.TOO_BIG : HepEncodeStatus.OUT_TOO_SMALL);
    }
  }
  const n = s.length === 0 ? 0 : out.write(s, off + 6, 'utf8');
  hdr(out, off, type, 6 + n);
  return off + 6 + n;
}

function bytesChunk(out: Buffer, off: number, cap: number, type: number, b: Uint8Array, field: string): number {
  if (off + 6 + b.length > cap) {
    const tooBig = off + 6 + b.length > HEP_MAX_PACKET;
    return fail(field, tooBig ? HepEncodeStatus.TOO_BIG : HepEncodeStatus.OUT_TOO_SMALL);
  }
  hdr(out, off, type, 6 + b.length);
  out.set(b, off + 6);
  return off + 6 + b.length;
}

function ipChunk(out: Buffer, off: number, type: number, v6: boolean, ip: string | Uint8Array): boolean {
  const size = v6 ? 16 : 4;
  hdr(out, off, type, 6 + size);
  if (typeof ip === 'string') return v6 ? writeIpv6(ip, out, off + 6) : writeIpv4(ip, out, off + 6);
  if (ip.length !== size) return false;
  out.set(ip, off + 6);
  return true;
}

/** Fixed part: header 6, family 7, proto 7, 2 IPs, ports 8+8, ts 10+10, type 7, capture id 10. */
function fixedSize(v6: boolean): number {
  return 6 + 7 + 7 + (v6 ? 44 : 20) + 16 + 20 + 7 + 10;
}

let scratch: Buffer | undefined;

export function encodeHep3(msg: HepMessage): Buffer;
export function encodeHep3(msg: HepMessage, out: Buffer): number;
/**
 * Encodes one HEP v3 packet. With `out`, writes at offset 0 and returns the byte length, or a negative
 * `HepEncodeStatus` (never throws: this is the form the report path uses, and it counts the refusals).
 * Without `out`, returns a new exact-length Buffer or throws `HepEncodeError`.
 *
 * Chunk order: 0x01..0x0c, auth key 0x0e, correlation id 0x11, VLAN 0x12, node name 0x13, MOS 0x20,
 * R-factor 0x21, jitter 0x23, payload 0x0f last. Kamailio's sipcapture reads the auth key and the
 * correlation id with strlen(), i.e. up to the next NUL byte: every chunk we place after them is generic
 * (vendor id 0x0000), so the next byte is always 0 and the strings end exactly where their chunk ends.
 */
export function encodeHep3(msg: HepMessage, out?: Buffer): Buffer | number {
  if (out === undefined) {
    if (scratch === undefined) scratch = Buffer.allocUnsafe(HEP_MAX_PACKET);
    const n = encodeInto(msg, scratch);
    if (n < 0) throw new HepEncodeError(n as HepEncodeStatusCode, lastFailedField);
    return Buffer.from(scratch.subarray(0, n));
  }
  return encodeInto(msg, out);
}

function encodeInto(m: HepMessage, out: Buffer): number {
  const v6 = m.ipFamily === 6;
  if (!v6 && m.ipFamily !== 4) return fail('ipFamily', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.ipProto, 255)) return fail('ipProto', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.srcPort, 65535)) return fail('srcPort', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.dstPort, 65535)) return fail('dstPort', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.tsSec, U32_MAX)) return fail('tsSec', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.tsUsec, 999_999)) return fail('tsUsec', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.protoType, 255)) return fail('protoType', HepEncodeStatus.OUT_OF_RANGE);
  if (!isUInt(m.captureId, U32_MAX)) return fail('captureId', HepEncodeStatus.OUT_OF_RANGE);
  const cid = m.correlationId;
  if (m.protoType !== HepProtoType.SIP && (typeof cid !== 'string' || cid.length === 0)) {
    return fail('correlationId', HepEncodeStatus.EMPTY_CORRELATION_ID);
  }
  if (m.vlan !== undefined && !isUInt(m.vlan, 4095)) return fail('vlan', HepEncodeStatus.OUT_OF_RANGE);
  let mos100 = -1;
  if (m.mos !== undefined) {
    mos100 = Math.round(m.mos * 100);
    if (!isUInt(mos100, 65535)) return fail('mos', HepEncodeStatus.OUT_OF_RANGE);
  }
  let rf = -1;
  if (m.rfactor !== undefined) {
    rf = Math.round(m.rfactor);
    if (!isUInt(rf, 65535)) return fail('rfactor', HepEncodeStatus.OUT_OF_RANGE);
  }
  let jit = -1;
  if (m.jitter !== undefined) {
    jit = Math.round(m.jitter);
    if (!isUInt(jit, U32_MAX)) return fail('jitter', HepEncodeStatus.OUT_OF_RANGE);
  }

  const cap = out.length < HEP_MAX_PACKET ? out.length : HEP_MAX_PACKET;
  if (cap < fixedSize(v6)) return fail('out', HepEncodeStatus.OUT_TOO_SMALL);

  out[0] = MAGIC_H;
  out[1] = MAGIC_E;
  out[2] = MAGIC_P;
  out[3] = MAGIC_3;
  let o = 6;
  hdr(out, o, HepChunk.IP_FAMILY, 7);
  out[o + 6] = v6 ? HEP_AF_INET6 : HEP_AF_INET;
  o += 7;
  hdr(out, o, HepChunk.IP_PROTO, 7);
  out[o + 6] = m.ipProto;
  o += 7;
  if (!ipChunk(out, o, v6 ? HepChunk.IPV6_SRC : HepChunk.IPV4_SRC, v6, m.srcIp)) {
    return fail('srcIp', HepEncodeStatus.BAD_ADDRESS);
  }
  o += v6 ? 22 : 10;
  if (!ipChunk(out, o, v6 ? HepChunk.IPV6_DST : HepChunk.IPV4_DST, v6, m.dstIp)) {
    return fail('dstIp', HepEncodeStatus.BAD_ADDRESS);
  }
  o += v6 ? 22 : 10;
  hdr(out, o, HepChunk.SRC_PORT, 8);
  out.writeUInt16BE(m.srcPort, o + 6);
  o += 8;
  hdr(out, o, HepChunk.DST_PORT, 8);
  out.writeUInt16BE(m.dstPort, o + 6);
  o += 8;
  hdr(out, o, HepChunk.TS_SEC, 10);
  out.writeUInt32BE(m.tsSec, o + 6);
  o += 10;
  hdr(out, o, HepChunk.TS_USEC, 10);
  out.writeUInt32BE(m.tsUsec, o + 6);
  o += 10;
  hdr(out, o, HepChunk.PROTO_TYPE, 7);
  out[o + 6] = m.protoType;
  o += 7;
  hdr(out, o, HepChunk.CAPTURE_ID, 10);
  out.writeUInt32BE(m.captureId, o + 6);
  o += 10;

  if (m.authKey !== undefined && m.authKey.length > 0) {
    o = strChunk(out, o, cap, HepChunk.AUTH_KEY, m.authKey, 'authKey');
    if (o < 0) return o;
  }
  if (typeof cid === 'string' && cid.length > 0) {
    o = strChunk(out, o, cap, HepChunk.CORRELATION_ID, cid, 'correlationId');
    if (o < 0) return o;
  }
  if (m.vlan !== undefined) {
    if (o + 8 > cap) return fail('vlan', o + 8 > HEP_MAX_PACKET ? HepEncodeStatus.TOO_BIG : HepEncodeStatus.OUT_TOO_SMALL);
    hdr(out, o, HepChunk.VLAN, 8);
    out.writeUInt16BE(m.vlan, o + 6);
    o += 8;
  }
  if (m.nodeName !== undefined && m.nodeName.length > 0) {
    o = strChunk(out, o, cap, HepChunk.NODE_NAME, m.nodeName, 'nodeName');
    if (o < 0) return o;
  }
  const qosLen = (mos100 >= 0 ? 8 : 0) + (rf >= 0 ? 8 : 0) + (jit >= 0 ? 10 : 0);
  if (o + qosLen > cap) {
    return fail('mos', o + qosLen > HEP_MAX_PACKET ? HepEncodeStatus.TOO_BIG : HepEncodeStatus.OUT_TOO_SMALL);
  }
  if (mos100 >= 0) {
    hdr(out, o, HepChunk.MOS, 8);
    out.writeUInt16BE(mos100, o + 6);
    o += 8;
  }
  if (rf >= 0) {
    hdr(out, o, HepChunk.RFACTOR, 8);
    out.writeUInt16BE(rf, o + 6);
    o += 8;
  }
  if (jit >= 0) {
    hdr(out, o, HepChunk.JITTER, 10);
    out.writeUInt32BE(jit, o + 6);
    o += 10;
  }
  const p = m.payload;
  o = typeof p === 'string' ? strChunk(out, o, cap, HepChunk.PAYLOAD, p, 'payload') : bytesChunk(out, o, cap, HepChunk.PAYLOAD, p, 'payload');
  if (o < 0) return o;
  out.writeUInt16BE(o, 4);
  return o;
}
