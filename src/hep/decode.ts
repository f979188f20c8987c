import { HEP_AF_INET, HEP_AF_INET6, HepChunk, HepProtoType, type HepDecoded } from './types.js';
import { formatIpv4, formatIpv6 } from './ip.js';

export type HepDecodeErrorCode =
  | 'SHORT'
  | 'BAD_MAGIC'
  | 'LENGTH_MISMATCH'
  | 'CHUNK_TRUNCATED'
  | 'CHUNK_SIZE'
  | 'VENDOR_TYPE_COLLISION'
  | 'DUPLICATE_CHUNK'
  | 'BAD_FAMILY'
  | 'MISSING_CHUNK'
  | 'NO_CORRELATION_ID'
  | 'COMPRESSED_PAYLOAD';

export class HepDecodeError extends Error {
  constructor(
    readonly code: HepDecodeErrorCode,
    message: string,
    /** Byte offset of the offending chunk (or 0 for header problems). */
    readonly offset: number = 0,
  ) {
    super(`HEP3 ${code}: ${message}`);
    this.name = 'HepDecodeError';
  }
}

/** Exact body sizes heplify-server enforces (decoder/hep.go), plus ours for the numeric QoS chunks. */
function fixedBodySize(type: number): number {
  switch (type) {
    case HepChunk.IP_FAMILY:
    case HepChunk.IP_PROTO:
    case HepChunk.PROTO_TYPE:
      return 1;
    case HepChunk.SRC_PORT:
    case HepChunk.DST_PORT:
    case HepChunk.VLAN:
    case HepChunk.KEEP_ALIVE:
    case HepChunk.MOS:
    case HepChunk.RFACTOR:
      return 2;
    case HepChunk.IPV4_SRC:
    case HepChunk.IPV4_DST:
    case HepChunk.TS_SEC:
    case HepChunk.TS_USEC:
    case HepChunk.CAPTURE_ID:
    case HepChunk.JITTER:
      return 4;
    case HepChunk.IPV6_SRC:
    case HepChunk.IPV6_DST:
      return 16;
    default:
      return -1;
  }
}

const GENERIC_IDS = new Set<number>(Object.values(HepChunk));

/**
 * Strict HEP v3 decoder with heplify-server's acceptance rules: a packet this accepts is one HOMER
 * stores; a packet it rejects is one HOMER would drop (or mis-read). Throws `HepDecodeError` naming the
 * exact rule. Stricter than heplify-server on purpose where a receiver would silently mis-read:
 * vendor chunks reusing a generic type id (heplify-server ignores the vendor id), duplicate chunks,
 * addresses that do not match the family, compressed payload (no HOMER receiver inflates it), and a
 * missing correlation id on non-SIP types (HOMER drops those rows).
 */
export function decodeHep3Strict(buf: Uint8Array): HepDecoded {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 6) throw new HepDecodeError('SHORT', `packet of ${b.length} bytes is shorter than the 6-byte header`);
  if (b[0] !== 0x48 || b[1] !== 0x45 || b[2] !== 0x50 || b[3] !== 0x33) {
    throw new HepDecodeError('BAD_MAGIC', `magic is ${b.subarray(0, 4).toString('hex')}, expected 48455033 ("HEP3")`);
  }
  const total = b.readUInt16BE(4);
  if (total !== b.length) {
    throw new HepDecodeError('LENGTH_MISMATCH', `total length field ${total} != datagram length ${b.length}`);
  }
  const seen = new Set<number>();
  const order: number[] = [];
  let family = -1;
  let ipProto = -1;
  let src4: string | undefined, dst4: string | undefined, src6: string | undefined, dst6: string | undefined;
  let srcPort = -1, dstPort = -1, tsSec = -1, tsUsec = -1, protoType = -1, captureId = -1;
  let authKey: string | undefined, correlationId: string | undefined, nodeName: string | undefined;
  let vlan: number | undefined, mos: number | undefined, rfactor: number | undefined, jitter: number | undefined;
  let payload: Buffer | undefined;

  let o = 6;
  while (o < total) {
    if (total - o < 6) throw new HepDecodeError('CHUNK_TRUNCATED', `${total - o} trailing bytes, a chunk header needs 6`, o);
    const vendor = b.readUInt16BE(o);
    const type = b.readUInt16BE(o + 2);
    const len = b.readUInt16BE(o + 4);
    if (len < 6 || o + len > total) {
      throw new HepDecodeError('CHUNK_TRUNCATED', `chunk 0x${type.toString(16)} length ${len} at ${o} overruns ${total} (or < 6)`, o);
    }
    const body = b.subarray(o + 6, o + len);
    if (vendor !== 0) {
      if (GENERIC_IDS.has(type)) {
        throw new HepDecodeError(
          'VENDOR_TYPE_COLLISION',
          `vendor 0x${vendor.toString(16)} chunk uses generic type id 0x${type.toString(16)} (heplify-server ignores vendor ids)`,
          o,
        );
      }
      order.push(((vendor << 16) | type) >>> 0);
      o += len;
      continue;
    }
    const size = fixedBodySize(type);
    if (size >= 0 && body.length !== size) {
      throw new HepDecodeError('CHUNK_SIZE', `chunk 0x${type.toString(16)} body is ${body.length} bytes, must be ${size}`, o);
    }
    if (GENERIC_IDS.has(type)) {
      if (seen.has(type)) throw new HepDecodeError('DUPLICATE_CHUNK', `chunk 0x${type.toString(16)} appears twice`, o);
      seen.add(type);
    }
    order.push(type);
    switch (type) {
      case HepChunk.IP_FAMILY: family = body[0]!; break;
      case HepChunk.IP_PROTO: ipProto = body[0]!; break;
      case HepChunk.IPV4_SRC: src4 = formatIpv4(body, 0); break;
      case HepChunk.IPV4_DST: dst4 = formatIpv4(body, 0); break;
      case HepChunk.IPV6_SRC: src6 = formatIpv6(body, 0); break;
      case HepChunk.IPV6_DST: dst6 = formatIpv6(body, 0); break;
      case HepChunk.SRC_PORT: srcPort = body.readUInt16BE(0); break;
      case HepChunk.DST_PORT: dstPort = body.readUInt16BE(0); break;
      case HepChunk.TS_SEC: tsSec = body.readUInt32BE(0); break;
      case HepChunk.TS_USEC: tsUsec = body.readUInt32BE(0); break;
      case HepChunk.PROTO_TYPE: protoType = body[0]!; break;
      case HepChunk.CAPTURE_ID: captureId = body.readUInt32BE(0); break;
      case HepChunk.AUTH_KEY: authKey = body.toString('utf8'); break;
      case HepChunk.PAYLOAD: payload = Buffer.from(body); break;
      case HepChunk.COMPRESSED_PAYLOAD:
        throw new HepDecodeError('COMPRESSED_PAYLOAD', 'compressed payload (0x10): no HOMER receiver inflates it', o);
      case HepChunk.CORRELATION_ID: correlationId = body.toString('utf8'); break;
      case HepChunk.VLAN: vlan = body.readUInt16BE(0); break;
      case HepChunk.NODE_NAME: nodeName = body.toString('utf8'); break;
      case HepChunk.MOS: mos = body.readUInt16BE(0) / 100; break;
      case HepChunk.RFACTOR: rfactor = body.readUInt16BE(0); break;
      case HepChunk.JITTER: jitter = body.readUInt32BE(0); break;
      default: break; // unknown generic chunks are skipped, as heplify-server and Kamailio do
    }
    o += len;
  }

  if (family !== HEP_AF_INET && family !== HEP_AF_INET6) {
    if (family < 0) throw new HepDecodeError('MISSING_CHUNK', 'no IP family chunk 0x01');
    throw new HepDecodeError('BAD_FAMILY', `IP family ${family} is neither 2 (IPv4) nor 10 (IPv6)`);
  }
  const v6 = family === HEP_AF_INET6;
  const srcIp = v6 ? src6 : src4;
  const dstIp = v6 ? dst6 : dst4;
  if ((v6 && (src4 !== undefined || dst4 !== undefined)) || (!v6 && (src6 !== undefined || dst6 !== undefined))) {
    throw new HepDecodeError('BAD_FAMILY', `family ${family} with addresses of the other family`);
  }
  const missing: string[] = [];
  if (ipProto < 0) missing.push('0x02 ip proto');
  if (srcIp === undefined) missing.push(v6 ? '0x05 IPv6 src' : '0x03 IPv4 src');
  if (dstIp === undefined) missing.push(v6 ? '0x06 IPv6 dst' : '0x04 IPv4 dst');
  if (srcPort < 0) missing.push('0x07 src port');
  if (dstPort < 0) missing.push('0x08 dst port');
  if (tsSec < 0) missing.push('0x09 ts sec');
  if (tsUsec < 0) missing.push('0x0a ts usec');
  if (protoType < 0) missing.push('0x0b proto type');
  if (captureId < 0) missing.push('0x0c capture id');
  if (payload === undefined) missing.push('0x0f payload');
  if (missing.length > 0) throw new HepDecodeError('MISSING_CHUNK', `missing ${missing.join(', ')}`);
  if (protoType !== HepProtoType.SIP && (correlationId === undefined || correlationId.length === 0)) {
    throw new HepDecodeError('NO_CORRELATION_ID', `proto type ${protoType} without correlation id (HOMER drops it)`);
  }

  const out: HepDecoded = {
    ipFamily: v6 ? 6 : 4,
    ipProto,
    srcIp: srcIp!,
    dstIp: dstIp!,
    srcPort,
    dstPort,
    tsSec,
    tsUsec,
    protoType,
    captureId,
    correlationId: correlationId ?? '',
    payload: payload!,
    chunkOrder: order,
  };
  if (authKey !== undefined) out.authKey = authKey;
  if (nodeName !== undefined) out.nodeName = nodeName;
  if (vlan !== undefined) out.vlan = vlan;
  if (mos !== undefined) out.mos = mos;
  if (rfactor !== undefined) out.rfactor = rfactor;
  if (jitter !== undefined) out.jitter = jitter;
  return out;
}
