/** HEP v3 chunk type ids (generic vendor 0), from the sipcapture HEP spec rev 37. */
export const HepChunk = {
  IP_FAMILY: 0x0001,
  IP_PROTO: 0x0002,
  IPV4_SRC: 0x0003,
  IPV4_DST: 0x0004,
  IPV6_SRC: 0x0005,
  IPV6_DST: 0x0006,
  SRC_PORT: 0x0007,
  DST_PORT: 0x0008,
  TS_SEC: 0x0009,
  TS_USEC: 0x000a,
  PROTO_TYPE: 0x000b,
  CAPTURE_ID: 0x000c,
  KEEP_ALIVE: 0x000d,
  AUTH_KEY: 0x000e,
  PAYLOAD: 0x000f,
  COMPRESSED_PAYLOAD: 0x0010,
  CORRELATION_ID: 0x0011,
  VLAN: 0x0012,
  NODE_NAME: 0x0013,
  MOS: 0x0020,
  RFACTOR: 0x0021,
  JITTER: 0x0023,
} as const;

/** Values of chunk 0x000b. QoS report type is configurable by the caller (99 default, 34 for heplify-server). */
export const HepProtoType = {
  SIP: 1,
  RTCP_JSON: 5,
  MOS_FULL_REPORT: 34,
  MOS_SHORT_REPORT: 35,
  QOS_REPORT: 99,
  LOG_JSON: 100,
} as const;

/** Family values carried in chunk 0x0001 (Linux AF_INET / AF_INET6). */
export const HEP_AF_INET = 2;
export const HEP_AF_INET6 = 10;

/** The whole packet length is a u16 that counts the 6-byte header too. */
export const HEP_MAX_PACKET = 65535;

export interface HepMessage {
  ipFamily: 4 | 6;
  /** IP protocol number of the described flow (17 UDP, 6 TCP). */
  ipProto: number;
  /** Dotted IPv4 / textual IPv6, or the raw 4 / 16 bytes. */
  srcIp: string | Uint8Array;
  dstIp: string | Uint8Array;
  srcPort: number;
  dstPort: number;
  tsSec: number;
  tsUsec: number;
  protoType: number;
  captureId: number;
  authKey?: string;
  /** SIP Call-ID of the leg. Required (non-empty) for every non-SIP type: HOMER drops it otherwise. */
  correlationId: string;
  nodeName?: string;
  vlan?: number;
  /** MOS on the 1..5 scale; sent as u16 MOS x 100 (chunk 0x20). */
  mos?: number;
  /** R-factor, sent rounded as u16 (chunk 0x21). */
  rfactor?: number;
  /** Jitter as an integer in the caller's unit (the probe uses microseconds), u32 (chunk 0x23). */
  jitter?: number;
  payload: string | Uint8Array;
}

/** A received HEP packet: the message's fields as decoded (addresses as text, MOS x 100 back on the 1..5 scale). */
export interface HepDecoded extends Omit<HepMessage, 'srcIp' | 'dstIp' | 'payload'> {
  srcIp: string;
  dstIp: string;
  payload: Buffer;
  /** Chunk type ids in wire order (vendor chunks as vendor<<16|type). */
  chunkOrder: number[];
}
