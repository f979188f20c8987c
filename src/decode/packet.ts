/**
 * The result of decoding one packet down to its transport payload. One instance is created per decoder
 * and overwritten for every packet: consumers read the numbers, never keep the object.
 *
 * Addresses are four 32-bit words each so IPv4 and IPv6 share one code path: IPv4 is stored as the
 * IPv4-mapped IPv6 address ::ffff:a.b.c.d (words 0,0,0x0000ffff,addr).
 */
export class DecodedPacket {
  /** 4 or 6; 0 when no IP layer was found. */
  ipVersion = 0;
  /** IP protocol of the transport layer: 17 UDP, 6 TCP, 0 none. */
  ipProto = 0;
  src0 = 0; src1 = 0; src2 = 0; src3 = 0;
  dst0 = 0; dst1 = 0; dst2 = 0; dst3 = 0;
  srcPort = 0;
  dstPort = 0;
  /** Outermost 802.1Q VLAN id, -1 when untagged. */
  vlan = -1;
  /** Offset of the Ethernet source / destination MAC inside `buf`, -1 when the link has none. */
  srcMacOffset = -1;
  dstMacOffset = -1;
  /** TCP only: sequence number and flags (SYN 0x02, FIN 0x01, RST 0x04, ACK 0x10). */
  tcpSeq = 0;
  tcpFlags = 0;
  /**
   * Where the transport payload (UDP/TCP data) is: payloadBuf is the batch buffer, or the reassembly
   * buffer when the packet completed an IP fragment chain.
   */
  payloadBuf: Uint8Array = EMPTY;
  payloadOffset = 0;
  payloadLength = 0;
  /**
   * Payload length the headers announce (UDP length - 8, IP length - TCP header); larger than
   * payloadLength when the capture's snap length cut the packet.
   */
  payloadWireLength = 0;
  /** Innermost tunnel the packet came out of (TunnelType in ./counters.ts), 0 when none. */
  tunnel = 0;
  /** True when the payload was reassembled from IP fragments (payloadBuf is then the reassembly buffer). */
  reassembled = false;
  /** Capture time: seconds since the epoch and nanoseconds within the second. */
  tsSec = 0;
  tsNsec = 0;
}

const EMPTY = new Uint8Array(0);
