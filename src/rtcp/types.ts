/** Parsed RTCP, raw wire units (RFC 3550 6.4-6.7, RFC 3611). */

export interface RtcpReportBlock {
  ssrc: number;
  /** 8-bit fixed point, fraction * 256. */
  fractionLost: number;
  /** Signed 24-bit cumulative count. */
  cumulativeLost: number;
  extHighestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR from this source, 0 when none. */
  lsr: number;
  /** Delay since that SR in 1/65536 s. */
  dlsr: number;
}

export interface RtcpSenderReport {
  kind: 'SR';
  pt: 200;
  ssrc: number;
  ntpSec: number;
  ntpFrac: number;
  rtpTs: number;
  packets: number;
  octets: number;
  reports: RtcpReportBlock[];
}

export interface RtcpReceiverReport {
  kind: 'RR';
  pt: 201;
  ssrc: number;
  reports: RtcpReportBlock[];
}

export interface SdesItem {
  /** 1 CNAME, 2 NAME, 3 EMAIL, 4 PHONE, 5 LOC, 6 TOOL, 7 NOTE, 8 PRIV. */
  type: number;
  /** Decoded as UTF-8 with replacement characters for invalid bytes. */
  text: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
  cname: string | null;
}

export interface RtcpSdes {
  kind: 'SDES';
  pt: 202;
  chunks: SdesChunk[];
}

export interface RtcpBye {
  kind: 'BYE';
  pt: 203;
  ssrcs: number[];
  reason: string | null;
}

export interface RtcpApp {
  kind: 'APP';
  pt: 204;
  subtype: number;
  ssrc: number;
  /** Four ASCII characters (non-printables replaced by '?'). */
  name: string;
  dataLength: number;
}

export interface XrRrtr {
  kind: 'RRTR';
  bt: 4;
  ntpSec: number;
  ntpFrac: number;
}

export interface XrDlrrItem {
  ssrc: number;
  lrr: number;
  dlrr: number;
}

export interface XrDlrr {
  kind: 'DLRR';
  bt: 5;
  items: XrDlrrItem[];
}

/** RFC 3611 4.7, every field in wire units. */
export interface XrVoipMetrics {
  kind: 'VOIP_METRICS';
  bt: 7;
  ssrc: number;
  lossRate: number;
  discardRate: number;
  burstDensity: number;
  gapDensity: number;
  burstDuration: number;
  gapDuration: number;
  roundTripDelay: number;
  endSystemDelay: number;
  /** Signed dBm (127 = unavailable). */
  signalLevel: number;
  noiseLevel: number;
  rerl: number;
  gmin: number;
  rFactor: number;
  extRFactor: number;
  /** MOS x 10, 127 = unavailable. */
  mosLq: number;
  mosCq: number;
  rxConfig: number;
  /** rxConfig decoded: PLC 0 unspecified, 1 disabled, 2 enhanced, 3 standard; JB adaptive 0..3; JB rate. */
  plc: number;
  jba: number;
  jbRate: number;
  jbNominal: number;
  jbMaximum: number;
  jbAbsMax: number;
}

/** Any other XR block type, skipped by its length. */
export interface XrOther {
  kind: 'OTHER';
  bt: number;
  typeSpecific: number;
  length: number;
}

export type XrBlock = XrRrtr | XrDlrr | XrVoipMetrics | XrOther;

export interface RtcpXr {
  kind: 'XR';
  pt: 207;
  ssrc: number;
  blocks: XrBlock[];
}

/** RTPFB/PSFB and anything else: recognised by its header only, and for RTPFB/PSFB its sender's SSRC. */
export interface RtcpOther {
  kind: 'OTHER';
  pt: number;
  count: number;
  length: number;
  /** RTPFB/PSFB (RFC 4585 6.1): SSRC of the packet sender, when the packet holds one. */
  ssrc?: number;
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpApp | RtcpXr | RtcpOther;

export interface RtcpCompound {
  packets: RtcpPacket[];
  /** True when a sub-packet failed a length or version check; packets before it are kept. */
  malformed: boolean;
  /** Why the walk stopped, or null. */
  error: string | null;
  /** Zero bytes (fewer than 4) tolerated after the last packet. */
  trailingBytes: number;
}

/** Counters a caller keeps across calls; the parser only increments them. */
export interface RtcpParseStats {
  compounds: number;
  packets: number;
  malformed: number;
  /** Compounds not parsed at all: the SDP of their address names a secure profile (SRTCP). */
  srtcp: number;
}

export function newRtcpParseStats(): RtcpParseStats {
  return { compounds: 0, packets: 0, malformed: 0, srtcp: 0 };
}
